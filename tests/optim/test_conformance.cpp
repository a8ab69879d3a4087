// One conformance suite over all nine named optimizers (Optax's habit): the concepts, no
// allocation after the first step, composition in a chain, schedules, a save/load round trip,
// and convergence on a quadratic and on Rosenbrock's function.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <sstream>
#include <vector>

#include "common.hpp"
#include "support/numeric.hpp"

// ---- every allocation of the program is counted here ----------------------------------------
// (The replacements allocate with malloc and free with free; GCC cannot see that they pair.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  ++allocations;
  const auto al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  ++allocations;
  const auto al = static_cast<std::size_t>(a);
  return std::aligned_alloc(al, (n + al - 1) / al * al);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return ::operator new(n, a, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace po = pare::optim;

// ---- the rules model the protocol --------------------------------------------------------------

template <class T>
constexpr bool all_model = po::gradient_transform<po::scale, T> &&
                           po::gradient_transform<po::scale_by_learning_rate<double>, T> &&
                           po::gradient_transform<po::add_weight_decay, T> &&
                           po::gradient_transform<po::add_decayed_weights, T> &&
                           po::gradient_transform<po::clip_by_value, T> &&
                           po::gradient_transform<po::clip_by_global_norm, T> &&
                           po::gradient_transform<po::skip_non_finite, T> &&
                           po::gradient_transform<po::keep_mask<>, T> &&
                           po::gradient_transform<po::scale_by_momentum, T> &&
                           po::gradient_transform<po::scale_by_adagrad, T> &&
                           po::gradient_transform<po::scale_by_adadelta, T> &&
                           po::gradient_transform<po::scale_by_adam, T> &&
                           po::gradient_transform<po::scale_by_rms, T> &&
                           po::gradient_transform<po::scale_by_nadam, T>;
static_assert(all_model<float> && all_model<double>);
static_assert(pare::sched::schedule<decltype([](std::int64_t) { return 0.1; })>);
struct not_a_transform {};
static_assert(!po::gradient_transform<not_a_transform, float>);

namespace {

using optim_test::for_each_kind;

template <class T>
struct model {
  std::vector<T> w, b, gw, gb;
  model() : w(pare_test::random_normal<T>(3 * 8192 + 77, 1)), b(pare_test::random_normal<T>(33, 2)),
            gw(w.size()), gb(b.size()) {}
  void gradient(int t) {
    for (std::size_t i = 0; i < w.size(); ++i) gw[i] = w[i] * T(0.5) + T(0.001) * T(t);
    for (std::size_t i = 0; i < b.size(); ++i) gb[i] = b[i] - T(0.3);
  }
};

}  // namespace

TEMPLATE_TEST_CASE("conformance: no allocation in step() after the first", "[optim][conformance]", float, double) {
  using T = TestType;
  for_each_kind<T>([]<class Opt>() {
    INFO(Opt().kind());
    model<T> m;
    Opt opt;
    opt.add(m.w, m.gw);
    opt.add(m.b, m.gb, typename Opt::group_type{.lr = 1e-4});
    opt.set_schedule([](std::int64_t t) { return 1e-3 / (1.0 + static_cast<double>(t)); });
    m.gradient(0);
    opt.step();
    const long before = allocations.load();
    for (int t = 1; t < 6; ++t) {
      m.gradient(t);
      opt.step();
    }
    opt.set_lr(1e-4);
    opt.step();
    CHECK(allocations.load() - before == 0);
  });
  // A user chain with every kind of transform: global reductions, masks, a regularizer-free
  // schedule, the skip.
  model<T> m;
  std::vector<std::uint8_t> mask(m.w.size(), 1);
  mask[5] = 0;
  auto opt = po::chain<T>(po::skip_non_finite{}, po::clip_by_global_norm{.max_norm = 1.0},
                          po::keep_mask({pare::optim::mask_view(mask.data(), {static_cast<std::int64_t>(mask.size())}), {}}),
                          po::scale_by_adam{}, po::add_decayed_weights{.weight_decay = 0.01},
                          po::scale_by_learning_rate{.lr = [](std::int64_t t) { return 1e-3 * std::pow(0.99, t); }});
  opt.add(m.w, m.gw);
  opt.add(m.b, m.gb);
  opt.step();
  const long before = allocations.load();
  for (int t = 1; t < 6; ++t) {
    m.gradient(t);
    opt.step();
  }
  m.gb[0] = std::numeric_limits<T>::quiet_NaN();
  CHECK_FALSE(opt.step());
  CHECK(allocations.load() - before == 0);
  CHECK(m.w[5] == T(0));
}

TEMPLATE_TEST_CASE("conformance: each named optimizer is its chain; composed with more transforms it still is",
                   "[optim][conformance]", float, double) {
  using T = TestType;
  for_each_kind<T>([]<class Opt>() {
    INFO(Opt().kind());
    model<T> a, b;
    Opt named;
    named.add(a.w, a.gw);
    named.add(a.b, a.gb);
    // A clip that never triggers and a skip that never skips change nothing.
    auto composed = po::chain<T>(po::skip_non_finite{}, po::clip_by_global_norm{.max_norm = 1e30},
                                 po::as_chain(named.options()));
    composed.add(b.w, b.gw);
    composed.add(b.b, b.gb);
    for (int t = 0; t < 5; ++t) {
      a.gradient(t);
      b.gradient(t);
      named.step();
      REQUIRE(composed.step());
    }
    CHECK(a.w == b.w);
    CHECK(a.b == b.b);
  });
}

TEMPLATE_TEST_CASE("conformance: a schedule is the same as setting the lr before each step", "[optim][conformance]",
                   float, double) {
  using T = TestType;
  for_each_kind<T>([]<class Opt>() {
    INFO(Opt().kind());
    auto s = [](std::int64_t t) { return 0.01 * std::pow(0.9, static_cast<double>(t)); };
    model<T> a, b;
    Opt scheduled, manual;
    scheduled.add(a.w, a.gw);
    manual.add(b.w, b.gw);
    scheduled.set_schedule(s);
    for (int t = 0; t < 5; ++t) {
      a.gradient(t);
      b.gradient(t);
      manual.set_lr(s(t));
      scheduled.step();
      manual.step();
    }
    CHECK(a.w == b.w);
    CHECK(scheduled.lr() == manual.lr());
  });
}

TEMPLATE_TEST_CASE("conformance: save/load round trip", "[optim][conformance]", float, double) {
  using T = TestType;
  for_each_kind<T>([]<class Opt>() {
    INFO(Opt().kind());
    model<T> a;
    Opt opt;
    opt.add(a.w, a.gw);
    opt.add(a.b, a.gb, {.weight_decay = 0.5});
    a.gradient(0);
    opt.step();
    std::stringstream s1, s2;
    opt.save(s1);
    model<T> b;
    Opt copy;
    copy.add(b.w, b.gw);
    copy.add(b.b, b.gb);
    copy.load(s1);
    CHECK(copy.options(1).weight_decay == 0.5);
    copy.save(s2);
    CHECK(s1.str() == s2.str());
  });
}

namespace {

// f(x) = ½ Σ a_i (x_i − c_i)², minimum at c.
struct quadratic {
  std::vector<double> a, c;
  quadratic() {
    for (int i = 0; i < 10; ++i) {
      a.push_back(0.5 + 0.15 * i);
      c.push_back(std::sin(i + 1.0));
    }
  }
  double value(const std::vector<double>& x) const {
    double f = 0;
    for (std::size_t i = 0; i < x.size(); ++i) f += 0.5 * a[i] * (x[i] - c[i]) * (x[i] - c[i]);
    return f;
  }
  template <class T>
  void gradient(const std::vector<T>& x, std::vector<T>& g) const {
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = static_cast<T>(a[i] * (static_cast<double>(x[i]) - c[i]));
  }
};

// Rosenbrock (1960): f(x, y) = (1 − x)² + 100 (y − x²)², minimum at (1, 1).
struct rosenbrock {
  double value(const std::vector<double>& v) const {
    return (1 - v[0]) * (1 - v[0]) + 100 * (v[1] - v[0] * v[0]) * (v[1] - v[0] * v[0]);
  }
  template <class T>
  void gradient(const std::vector<T>& v, std::vector<T>& g) const {
    const double x = v[0], y = v[1];
    g[0] = static_cast<T>(-2 * (1 - x) - 400 * x * (y - x * x));
    g[1] = static_cast<T>(200 * (y - x * x));
  }
};

// lr and its decay 1/(1 + d·t) per optimizer (KINDS order), for each problem.
struct setting {
  double lr, decay;
};
constexpr setting quadratic_settings[] = {{0.1, 0.01}, {0.05, 0.01}, {0.05, 0.01}, {0.5, 0.01}, {10.0, 0.01},
                                          {0.05, 0.01}, {0.05, 0.01}, {0.01, 0.01}, {0.05, 0.01}};
constexpr setting rosenbrock_settings[] = {{1e-3, 0}, {3e-4, 0}, {3e-4, 0}, {0.5, 0}, {1.0, 1e-3},
                                           {0.01, 1e-3}, {0.01, 1e-3}, {3e-3, 3e-3}, {0.01, 1e-3}};

template <class Opt, class Problem>
double minimize(const Problem& f, std::vector<double> x, setting s, int steps, typename Opt::options_type o) {
  std::vector<double> g(x.size());
  o.lr = s.lr;
  Opt opt(o);
  opt.add(x, g);
  opt.set_schedule([s](std::int64_t t) { return s.lr / (1 + s.decay * static_cast<double>(t)); });
  for (int t = 0; t < steps; ++t) {
    f.gradient(x, g);
    opt.step();
  }
  return f.value(x);
}

}  // namespace

TEST_CASE("the test problems' gradients match central differences") {
  const quadratic q;
  const rosenbrock r;
  for (const auto& x : {std::vector<double>{-1.2, 1.0}, std::vector<double>{0.3, -0.7}}) {
    std::vector<double> g(2);
    r.gradient(x, g);
    const auto fd = pare_test::numeric_gradient([&](const std::vector<double>& v) { return r.value(v); }, x);
    CHECK(g[0] == pare_test::Approx(fd[0]).epsilon(1e-7));
    CHECK(g[1] == pare_test::Approx(fd[1]).epsilon(1e-7));
  }
  std::vector<double> x = pare_test::random_normal(10, 4), g(10);
  q.gradient(x, g);
  const auto fd = pare_test::numeric_gradient([&](const std::vector<double>& v) { return q.value(v); }, x);
  for (int i = 0; i < 10; ++i) CHECK(g[i] == pare_test::Approx(fd[i]).epsilon(1e-7));
}

TEST_CASE("conformance: all nine minimize a quadratic and Rosenbrock's function", "[optim][conformance]") {
  const quadratic q;
  const rosenbrock r;
  std::vector<double> x0(10);
  for (int i = 0; i < 10; ++i) x0[i] = 2 * std::cos(3.0 * i);
  int k = 0;
  for_each_kind<double>([&]<class Opt>() {
    INFO(Opt().kind());
    typename Opt::options_type o{};
    if constexpr (requires { o.weight_decay = 0.0; }) o.weight_decay = 0.0;  // AdamW: no decay here
    if constexpr (std::is_same_v<Opt, po::adadelta<double>>) o.rho = 0.99;
    const double fq = minimize<Opt>(q, x0, quadratic_settings[k], 2000, o);
    CHECK(fq < 1e-9 * q.value(x0));
    const double fr = minimize<Opt>(r, {-1.2, 1.0}, rosenbrock_settings[k], 20000, o);
    CHECK(fr < 1e-4);  // from f = 24.2 at (−1.2, 1): within ~1e-2 of (1, 1)
    ++k;
  });
  CHECK(k == 9);
}
