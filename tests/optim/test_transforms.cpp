// The transforms one by one: clipping, weight decay, scaling and schedules, masks, regularizers,
// the non-finite skip, chain composition, and what NaN and Inf gradients do.
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <type_traits>
#include <vector>

#include "common.hpp"
#include "support/numeric.hpp"

namespace po = pare::optim;
using pare::tensor_view;
using optim_test::tolerance;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();

// A plain "add the update to the parameter" ending: u ← −1·u.
po::scale_by_learning_rate<double> unit_lr() { return {.lr = 1.0}; }
}  // namespace

TEMPLATE_TEST_CASE("clip_by_global_norm is PyTorch's clip_grad_norm_: max_norm / (norm + 1e-6), capped at 1",
                   "[optim][clip]", float, double) {
  using T = TestType;
  // Gradients (3, 4) and (12): global norm 13 (anchors-mission 2.10).
  std::vector<T> a(2, T(0)), b(1, T(0)), ga = {3, 4}, gb = {12};
  auto opt = po::chain<T>(po::clip_by_global_norm{.max_norm = 1.0}, unit_lr());
  opt.add(a, ga);
  opt.add(b, gb);
  REQUIRE(opt.step());
  const double f = 1.0 / (13.0 + 1e-6);
  CHECK(opt.template status<po::clip_by_global_norm>().norm == pare_test::Approx(13.0).epsilon(1e-7));
  CHECK(opt.template status<po::clip_by_global_norm>().factor == pare_test::Approx(f).epsilon(1e-7));
  CHECK(a[0] == pare_test::Approx(-3 * f).epsilon(tolerance<T>));
  CHECK(a[1] == pare_test::Approx(-4 * f).epsilon(tolerance<T>));
  CHECK(b[0] == pare_test::Approx(-12 * f).epsilon(tolerance<T>));
  // The clipped norm lands just below max_norm, by 1e-6 / 13 relative.
  const double clipped = std::sqrt(double(a[0]) * a[0] + double(a[1]) * a[1] + double(b[0]) * b[0]);
  CHECK(clipped < 1.0);
  CHECK(clipped == pare_test::Approx(13.0 / (13.0 + 1e-6)).epsilon(tolerance<T>));
}

TEST_CASE("clip_by_global_norm with eps = 0 is Optax's: exactly max_norm, and a norm below it passes untouched") {
  std::vector<double> a = {0, 0}, ga = {3, 4};
  auto opt = po::chain<double>(po::clip_by_global_norm{.max_norm = 2.5, .eps = 0}, unit_lr());
  opt.add(a, ga);
  opt.step();
  CHECK(a[0] == pare_test::Approx(-1.5).epsilon(1e-15));
  CHECK(a[1] == pare_test::Approx(-2.0).epsilon(1e-15));
  ga = {0.3, 0.4};  // norm 0.5 < 2.5
  opt.step();
  CHECK(opt.template status<po::clip_by_global_norm>().factor == 1.0);
  CHECK(a[0] == -1.5 - 0.3);
  // Zero gradients with eps = 0: nothing to clip, no 0/0.
  ga = {0, 0};
  opt.step();
  CHECK(opt.template status<po::clip_by_global_norm>().factor == 1.0);
  CHECK(a[0] == -1.8);
}

TEST_CASE("clip_by_global_norm measures the updates as they arrive: after a mask, pruned gradients do not count") {
  std::vector<double> w = {1, 1}, g = {3, 4};
  std::vector<std::uint8_t> m = {1, 0};
  auto opt = po::chain<double>(po::keep_mask({po::mask_view(m.data(), {2})}),
                               po::clip_by_global_norm{.max_norm = 1.0, .eps = 0}, unit_lr());
  opt.add(w, g);
  opt.step();
  CHECK(opt.template status<po::clip_by_global_norm>().norm == 3.0);
  CHECK(w[0] == pare_test::Approx(0.0).margin(1e-15));  // 1 − 3/3
  CHECK(w[1] == 0.0);  // pruned
}

TEST_CASE("clip_by_global_norm with a non-finite gradient propagates like PyTorch") {
  std::vector<double> w = {1, 1, 1}, g = {inf, 1, 2};
  auto opt = po::chain<double>(po::clip_by_global_norm{.max_norm = 1.0}, unit_lr());
  opt.add(w, g);
  opt.step();
  // norm = Inf → factor 0 → Inf·0 = NaN where the gradient was Inf, no change elsewhere.
  CHECK(std::isnan(w[0]));
  CHECK(w[1] == 1.0);
  CHECK(w[2] == 1.0);
  g = {std::nan(""), 1, 2};
  std::vector<double> v = {1, 1, 1};
  auto opt2 = po::chain<double>(po::clip_by_global_norm{.max_norm = 1.0}, unit_lr());
  opt2.add(v, g);
  opt2.step();
  CHECK(std::isnan(v[0]));
  CHECK(std::isnan(v[1]));  // a NaN norm makes every update NaN
}

TEMPLATE_TEST_CASE("clip_by_value clamps to [-v, v] and keeps NaN", "[optim][clip]", float, double) {
  using T = TestType;
  std::vector<T> w(5, T(0)), g = {T(-2), T(-0.25), T(0.5), T(3), std::numeric_limits<T>::quiet_NaN()};
  auto opt = po::chain<T>(po::clip_by_value{.clip_value = 0.5}, unit_lr());
  opt.add(w, g);
  opt.step();
  CHECK(w[0] == T(0.5));
  CHECK(w[1] == T(0.25));
  CHECK(w[2] == T(-0.5));
  CHECK(w[3] == T(-0.5));
  CHECK(std::isnan(w[4]));
}

TEMPLATE_TEST_CASE("coupled weight decay goes through the rule, decoupled only through the lr", "[optim][decay]",
                   float, double) {
  using T = TestType;
  const double lr = 0.1, wd = 0.5, p0 = 2.0, g0 = 0.3;
  std::vector<T> a = {T(p0)}, b = {T(p0)}, g = {T(g0)};
  auto coupled = po::chain<T>(po::add_weight_decay{.weight_decay = wd}, po::scale_by_adam{},
                              po::scale_by_learning_rate{.lr = lr});
  auto decoupled = po::chain<T>(po::scale_by_adam{}, po::add_decayed_weights{.weight_decay = wd},
                                po::scale_by_learning_rate{.lr = lr});
  coupled.add(a, g);
  decoupled.add(b, g);
  coupled.step();
  decoupled.step();
  // First Adam step: m̂/√v̂ = x/|x| (eps aside) for the gradient x it sees.
  const double x = g0 + wd * p0;
  CHECK(a[0] == pare_test::Approx(p0 - lr * x / (std::abs(x) + 1e-8)).epsilon(tolerance<T>));
  CHECK(b[0] == pare_test::Approx(p0 * (1 - lr * wd) - lr * g0 / (g0 + 1e-8)).epsilon(tolerance<T>));
}

TEST_CASE("scale_by_learning_rate takes a schedule read at the completed-step count") {
  std::vector<double> w = {0.0}, g = {1.0};
  std::vector<std::int64_t> seen;
  auto s = [&seen](std::int64_t t) {
    seen.push_back(t);
    return 1.0 / static_cast<double>(t + 1);
  };
  auto opt = po::chain<double>(po::scale_by_learning_rate{.lr = s});
  opt.add(w, g);
  double expect = 0;
  for (int t = 0; t < 3; ++t) {
    opt.step();
    expect -= 1.0 / (t + 1);
  }
  CHECK(w[0] == pare_test::Approx(expect).epsilon(1e-15));
  CHECK(seen == std::vector<std::int64_t>{0, 1, 2});
}

TEST_CASE("a schedule value out of range stops the step before anything changes") {
  std::vector<double> w = {1.0}, g = {1.0};
  auto opt = po::chain<double>(po::scale_by_adam{},
                               po::scale_by_learning_rate{.lr = [](std::int64_t t) { return t < 1 ? 0.1 : -0.1; }});
  opt.add(w, g);
  opt.step();
  const double after_one = w[0];
  std::stringstream before;
  opt.save(before);
  PARE_REQUIRE_ERROR(opt.step(), "pare::optim::scale_by_learning_rate", "lr must be >= 0, got -0.1", "step 1");
  CHECK(w[0] == after_one);
  CHECK(opt.steps() == 1);
  std::stringstream after;
  opt.save(after);
  CHECK(before.str() == after.str());  // the Adam moments did not move either
  auto bad = po::chain<double>(po::scale_by_schedule{.schedule = [](std::int64_t) { return std::nan(""); }});
  bad.add(w, g);
  PARE_REQUIRE_ERROR(bad.step(), "pare::optim::scale_by_schedule", "finite", "nan");
}

TEST_CASE("scale_by_schedule multiplies by s(t) without a sign change (Optax)") {
  std::vector<double> w = {0.0}, g = {2.0};
  auto opt = po::chain<double>(po::scale_by_schedule{.schedule = [](std::int64_t t) { return t == 0 ? 0.5 : 0.25; }},
                               po::scale{.factor = -1.0});
  opt.add(w, g);
  opt.step();
  CHECK(w[0] == -1.0);
  opt.step();
  CHECK(w[0] == -1.5);
}

TEMPLATE_TEST_CASE("keep_mask zeroes pruned weights and their updates, and resets their state", "[optim][mask]",
                   float, double) {
  using T = TestType;
  std::vector<T> w = {1, 1, 1, 1}, g = {1, 1, 1, 1};
  std::vector<std::uint8_t> m = {1, 0, 1, 1};
  auto opt = po::chain<T>(po::as_chain(po::momentum_options{.lr = 0.1, .momentum = 0.5}),
                          po::keep_mask({po::mask_view(m.data(), {4})}));
  opt.add(w, g);
  opt.step();
  CHECK(w[0] == pare_test::Approx(0.9).epsilon(tolerance<T>));
  CHECK(w[1] == T(0));  // pruned: exactly zero
  opt.step();           // momentum: b = 0.5·1 + 1
  CHECK(w[0] == pare_test::Approx(0.9 - 0.1 * 1.5).epsilon(tolerance<T>));
  CHECK(w[1] == T(0));
  // Masks are read at every step: prune element 2 in place, revive element 1.
  m[2] = 0;
  m[1] = 1;
  opt.step();
  CHECK(w[2] == T(0));
  // Element 1 was pruned, so its momentum was reset: b = 0.5·0 + 1, not a stale 0.5·1.5 + 1.
  CHECK(w[1] == pare_test::Approx(-0.1).epsilon(tolerance<T>));
  CHECK(w[0] == pare_test::Approx(0.75 - 0.1 * 1.75).epsilon(tolerance<T>));
}

TEST_CASE("keep_mask: an empty view means no mask; a short list or a wrong shape is an error at add") {
  std::vector<float> w(4, 1.0f), g(4, 1.0f), v(3, 1.0f), gv(3, 1.0f), x(4, 1.0f), gx(4, 1.0f);
  std::vector<std::uint8_t> m(4, 0);
  auto opt = po::chain<float>(po::keep_mask({po::mask_view{}, po::mask_view(m.data(), {2, 2})}), unit_lr());
  opt.add(w, g);
  PARE_REQUIRE_ERROR(opt.add(v, gv), "pare::optim::keep_mask", "its mask must have the shape of parameter 1 [3], got [2, 2]");
  opt.add(tensor_view<float>(x.data(), {2, 2}), tensor_view<const float>(gx.data(), {2, 2}));
  PARE_REQUIRE_ERROR(opt.add(v, gv), "pare::optim::keep_mask", "one entry per parameter", "got 2 masks");
  CHECK(opt.size() == 2);
  x = {7, 7, 7, 7};
  opt.step();
  CHECK(w[0] == 0.0f);  // no mask: 1 − 1
  CHECK(x == std::vector<float>{0, 0, 0, 0});
}

namespace {
// What pare::prune's pruner offers: the mask of a parameter, looked up by its data address.
struct fake_pruner {
  const float* data = nullptr;
  std::vector<std::uint8_t> mask;
  pare::optim::mask_view mask_of(const float* p) const {
    if (p != data) return {};
    return pare::optim::mask_view(mask.data(), {static_cast<std::int64_t>(mask.size())});
  }
};
static_assert(po::mask_provider<fake_pruner>);
static_assert(po::mask_provider_for<fake_pruner, float>);
static_assert(!po::mask_provider_for<fake_pruner, double>);
}  // namespace

TEST_CASE("keep_mask asks a mask provider at every step and checks the size") {
  std::vector<float> w = {1, 1, 1}, g = {1, 1, 1}, b = {1}, gb = {1};
  fake_pruner pruner{w.data(), {1, 1, 0}};
  auto opt = po::chain<float>(po::keep_mask(pruner), unit_lr());
  opt.add(w, g);
  opt.add(b, gb);  // the provider has no mask for it
  opt.step();
  CHECK(w == std::vector<float>{0, 0, 0});
  CHECK(b[0] == 0.0f);
  w = {1, 1, 1};
  pruner.mask = {0, 1, 1};
  opt.step();
  CHECK(w == std::vector<float>{0, 0, 0});
  pruner.mask = {1, 1};
  w = {5, 5, 5};
  PARE_REQUIRE_ERROR(opt.step(), "pare::optim::keep_mask", "mask of parameter 0 must have its size 3, got 2");
  CHECK(w == std::vector<float>{5, 5, 5});
  CHECK(opt.steps() == 2);
}

TEMPLATE_TEST_CASE("skip_non_finite skips the whole step on NaN or Inf and counts it", "[optim][finite]", float, double) {
  using T = TestType;
  std::vector<T> w = {1, 2}, g = {0.5, 0.5}, b = {3}, gb = {1};
  auto opt = po::chain<T>(po::skip_non_finite{}, po::as_chain(po::adam_options{.lr = 0.1}));
  opt.add(w, g);
  opt.add(b, gb);
  REQUIRE(opt.step());
  const std::vector<T> w1 = w, b1 = b;
  std::stringstream s1;
  opt.save(s1);
  for (T bad : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                -std::numeric_limits<T>::infinity()}) {
    gb[0] = bad;
    CHECK_FALSE(opt.step());
    CHECK(opt.template status<po::skip_non_finite>().last_skipped);
    CHECK(w == w1);  // the finite parameter did not move either
    CHECK(b == b1);
  }
  CHECK(opt.template status<po::skip_non_finite>().skipped == 3);
  CHECK(opt.steps() == 1);
  gb[0] = 1;
  REQUIRE(opt.step());
  CHECK_FALSE(opt.template status<po::skip_non_finite>().last_skipped);
  CHECK(opt.steps() == 2);
  // The continuation is the one without the skipped steps: same as a fresh run of two steps.
  std::vector<T> w2 = {1, 2}, b2 = {3};
  auto ref = po::chain<T>(po::skip_non_finite{}, po::as_chain(po::adam_options{.lr = 0.1}));
  ref.add(w2, g);
  ref.add(b2, gb);
  ref.step();
  ref.step();
  CHECK(w == w2);
  CHECK(b == b2);
}

TEST_CASE("without skip_non_finite a NaN gradient element spoils only its own weight and state (as PyTorch)") {
  std::vector<double> w = {1, 1, 1}, g = {0.1, std::nan(""), 0.2};
  pare::optim::adam<double> opt({.lr = 0.1});
  opt.add(w, g);
  opt.step();
  CHECK(std::isfinite(w[0]));
  CHECK(std::isnan(w[1]));
  CHECK(std::isfinite(w[2]));
  g[1] = 0.1;
  opt.step();
  CHECK(std::isnan(w[1]));  // its moments stay NaN
  CHECK(std::isfinite(w[0]));
  std::vector<double> s = {1}, gs = {inf};
  pare::optim::sgd<double> sgd({.lr = 0.1});
  sgd.add(s, gs);
  sgd.step();
  CHECK(s[0] == -inf);
}

namespace {
// An elastic-net penalty in Keras's convention, as pare::reg::l1_l2 has it.
struct elastic_net {
  double l1 = 0, l2 = 0;
  double penalty(const std::vector<double>& w) const {
    double s = 0;
    for (double x : w) s += l1 * std::abs(x) + l2 * x * x;
    return s;
  }
  template <class T>
  void add_grad(tensor_view<const T> w, tensor_view<T> g) const {
    for (std::int64_t i = 0; i < w.size(); ++i)
      g[i] += static_cast<T>(l1 * ((w[i] > 0) - (w[i] < 0)) + 2 * l2 * w[i]);
  }
};
static_assert(po::regularizer_for<elastic_net, float>);
}  // namespace

TEST_CASE("add_regularizer adds the penalty's gradient to the update, chunk by chunk") {
  const elastic_net r{.l1 = 0.01, .l2 = 0.1};
  const std::int64_t n = 3 * pare::optim::detail::optim_chunk<double> + 5;  // several chunks
  std::vector<double> w = pare_test::random_normal(static_cast<std::size_t>(n), 11), w0 = w;
  std::vector<double> g(w.size(), 0.25);
  w[7] = 0.0;
  w0[7] = 0.0;
  auto opt = po::chain<double>(po::add_regularizer{.regularizer = r}, po::scale_by_learning_rate{.lr = 0.5});
  opt.add(w, g);
  opt.step();
  // The penalty's gradient, checked by central differences on a few coordinates.
  std::vector<double> probe = {w0[0], w0[1], w0[2]};
  const auto fd = pare_test::numeric_gradient([&](const std::vector<double>& x) { return r.penalty(x); }, probe);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK((w0[i] - w[i]) / 0.5 - 0.25 == pare_test::Approx(fd[i]).epsilon(1e-7));
  }
  for (std::int64_t i = 0; i < n; i += 1237) {
    const double sign = (w0[i] > 0) - (w0[i] < 0);
    CHECK(w[i] == pare_test::Approx(w0[i] - 0.5 * (0.25 + 0.01 * sign + 0.2 * w0[i])).epsilon(1e-15));
  }
  CHECK(w[7] == -0.5 * 0.25);  // sign(0) = 0
}

TEST_CASE("chain flattens nested chains and the named optimizers' chains compose") {
  using A = decltype(po::chain(po::clip_by_value{}, po::chain(po::scale_by_adam{}, po::scale{})));
  static_assert(std::is_same_v<A, po::transform_chain<po::clip_by_value, po::scale_by_adam, po::scale>>);
  using O = decltype(po::chain<float>(po::skip_non_finite{}, po::as_chain(po::adamw_options{})));
  static_assert(std::is_same_v<O, po::optimizer<float, po::skip_non_finite, po::scale, po::scale_by_adam,
                                                po::add_decayed_weights, po::scale_by_learning_rate<double>>>);
  auto opt = po::chain<float>(po::clip_by_global_norm{}, po::as_chain(po::adamw_options{}));
  CHECK(opt.kind() ==
        "pare::optim::chain<float>(pare::optim::clip_by_global_norm, pare::optim::scale, pare::optim::scale_by_adam, "
        "pare::optim::add_decayed_weights, pare::optim::scale_by_learning_rate)");
}

namespace {
// docs/optim.md's example of a user transform with an element kernel: sign SGD.
struct scale_by_sign {
  static constexpr std::string_view name = "my::scale_by_sign";
  void validate() const {}
  template <class T>
  auto kernel(std::int64_t) const {
    return [](T u, T, std::int64_t) { return T((u > 0) - (u < 0)); };
  }
};
static_assert(po::gradient_transform<scale_by_sign, float>);

// A user transform that works on the whole chunk instead (it splits the fused loop).
struct halve_update {
  static constexpr std::string_view name = "my::halve_update";
  void validate() const {}
  template <class T>
  void update(po::chunk<T>& c) const {
    c.u *= T(0.5);
  }
};
static_assert(po::gradient_transform<halve_update, double>);
}  // namespace

TEST_CASE("user transforms: an element kernel fuses, a chunk update splits the loop, results agree") {
  std::vector<float> w = {1, 2, 3}, g = {0.5f, -0.25f, 0.0f};
  auto sign_sgd = po::chain<float>(scale_by_sign{}, po::scale_by_learning_rate{.lr = 0.25});
  sign_sgd.add(w, g);
  sign_sgd.step();
  CHECK(w == std::vector<float>{0.75f, 2.25f, 3.0f});

  const auto n = static_cast<std::size_t>(2 * po::detail::optim_chunk<double> + 3);
  std::vector<double> a = pare_test::random_normal(n, 8), b = a, gd = pare_test::random_normal(n, 9);
  std::vector<std::uint8_t> m(n, 1);
  m[4] = 0;
  const po::mask_view mv(m.data(), {static_cast<std::int64_t>(n)});
  auto split = po::chain<double>(po::scale_by_adam{}, halve_update{}, po::add_decayed_weights{.weight_decay = 0.1},
                                 po::scale_by_learning_rate{.lr = 0.01}, po::keep_mask({mv}));
  auto fused = po::chain<double>(po::scale_by_adam{}, po::scale{.factor = 0.5}, po::add_decayed_weights{.weight_decay = 0.1},
                                 po::scale_by_learning_rate{.lr = 0.01}, po::keep_mask({mv}));
  split.add(a, gd);
  fused.add(b, gd);
  for (int t = 0; t < 3; ++t) {
    split.step();
    fused.step();
  }
  CHECK(a == b);
  CHECK(a[4] == 0.0);
}
