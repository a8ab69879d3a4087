// l1, l2, l1_l2: torch 1.13 autograd values and gradients (added to an existing gradient),
// sign(0) = 0, finite differences, NaN, chunked use, errors, the regularizer concept.
#include <pare/reg/penalty.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/catch.hpp"
#include "support/numeric.hpp"
#include "support/reference.hpp"

namespace {

template <class T>
constexpr double tol = std::is_same_v<T, double> ? 1e-12 : 1e-6;

// Runs penalty and add_grad through the concrete type chosen by (l1, l2): l1 alone, l2 alone,
// or l1_l2 — so each of the three structs is checked against the same torch record.
template <class T>
double apply(double a, double b, pare::tensor_view<const T> w, pare::tensor_view<T> g, int which) {
  if (which == 0 && b == 0) { pare::reg::l1 r{.l1 = a}; r.add_grad(w, g); return r.penalty(w); }
  if (which == 1 && a == 0) { pare::reg::l2 r{.l2 = b}; r.add_grad(w, g); return r.penalty(w); }
  pare::reg::l1_l2 r{.l1 = a, .l2 = b};
  r.add_grad(w, g);
  return r.penalty(w);
}

}  // namespace

static_assert(pare::reg::regularizer<pare::reg::l1_l2, float>);
static_assert(!pare::reg::regularizer<int, float>);

TEMPLATE_TEST_CASE("penalties match torch autograd and add their gradient to g", "[reg][penalty]",
                   float, double) {
  using T = TestType;
  const pare_test::reference ref("reg/reg.txt");
  const auto wd = ref["pen/w"], g0 = ref["pen/g0"], cases = ref["pen/cases"];
  const std::vector<T> w(wd.begin(), wd.end());
  for (std::size_t c = 0; c < cases.size(); c += 2) {
    const double a = cases[c], b = cases[c + 1];
    const std::string key = "pen/" + pare::detail::to_text(a) + (a == 0 ? ".0" : "") + "_" +
                            pare::detail::to_text(b) + (b == 0 ? ".0" : "");
    for (int which = 0; which < 3; ++which) {
      INFO(key << " via " << (which == 0 ? "l1" : which == 1 ? "l2" : "l1_l2"));
      std::vector<T> g(g0.begin(), g0.end());
      const double v = apply<T>(a, b, pare::tensor_view<const T>(w.data(), {4, 5}),
                                pare::tensor_view<T>(g.data(), {4, 5}), which);
      CHECK(v == pare_test::Approx(ref.scalar(key + "/value")).epsilon(tol<T>).margin(tol<T>));
      const auto& want = ref[key + "/g"];
      for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == pare_test::Approx(want[i]).epsilon(tol<T>).margin(tol<T>));
    }
  }
}

TEST_CASE("penalty gradients agree with finite differences away from zero, and sign(0) = 0", "[reg][penalty]") {
  const std::uint64_t seed = 17;
  INFO("seed " << seed);
  auto w = pare_test::random_normal(50, seed);
  const pare::reg::l1_l2 r{.l1 = 0.3, .l2 = 0.7};
  std::vector<double> g(w.size(), 0.0);
  r.add_grad(pare::tensor_view<const double>(w), pare::tensor_view<double>(g));
  const auto fd = pare_test::numeric_gradient([&](const std::vector<double>& x) { return r.penalty(pare::tensor_view<const double>(x)); }, w);
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(g[i] == pare_test::Approx(fd[i]).epsilon(1e-7));
  std::vector<double> z = {0.0, -0.0}, gz = {1.0, 1.0};
  r.add_grad(pare::tensor_view<const double>(z), pare::tensor_view<double>(gz));
  CHECK(gz[0] == 1.0);
  CHECK(gz[1] == 1.0);
}

TEMPLATE_TEST_CASE("penalties work chunk by chunk, over many chunks, and on NaN", "[reg][penalty]", float, double) {
  using T = TestType;
  const std::size_t n = 30000;
  const auto w = pare_test::random_normal<T>(n, 23);
  const pare::reg::l1_l2 r{.l1 = 1e-3, .l2 = 2e-3};
  std::vector<T> whole(n, T(0.5)), pieces(n, T(0.5));
  r.add_grad(pare::tensor_view<const T>(w), pare::tensor_view<T>(whole));
  double parts = 0;
  for (std::size_t b = 0; b < n; b += 1000) {  // as an optimizer's fused step calls it
    const auto len = static_cast<std::int64_t>(std::min<std::size_t>(1000, n - b));
    const pare::tensor_view<const T> wc(w.data() + b, {len});
    r.add_grad(wc, pare::tensor_view<T>(pieces.data() + b, {len}));
    parts += r.penalty(wc);
  }
  CHECK(whole == pieces);
  CHECK(parts == pare_test::Approx(r.penalty(pare::tensor_view<const T>(w))).epsilon(1e-10));
  double direct = 0;
  for (T x : w) direct += 1e-3 * std::abs(double(x)) + 2e-3 * double(x) * double(x);
  CHECK(r.penalty(pare::tensor_view<const T>(w)) == pare_test::Approx(direct).epsilon(1e-10));

  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> bad = {1, nan, -1}, gb(3, T(0));
  CHECK(std::isnan(pare::reg::l1{}.penalty(pare::tensor_view<const T>(bad))));
  pare::reg::l1{}.add_grad(pare::tensor_view<const T>(bad), pare::tensor_view<T>(gb));
  CHECK(gb[0] == T(0.01));
  CHECK(std::isnan(gb[1]));
  CHECK(gb[2] == T(-0.01));
  // a zero coefficient skips its term: l2 = 0 does not turn an infinite weight into NaN
  std::vector<T> inf = {std::numeric_limits<T>::infinity()}, gi = {T(0)};
  CHECK(pare::reg::l1_l2{.l1 = 0.1, .l2 = 0}.penalty(pare::tensor_view<const T>(inf)) == std::numeric_limits<double>::infinity());
  pare::reg::l1_l2{.l1 = 0.1, .l2 = 0}.add_grad(pare::tensor_view<const T>(inf), pare::tensor_view<T>(gi));
  CHECK(gi[0] == T(0.1));
}

TEST_CASE("penalties reject negative or non-finite coefficients and mismatched gradients", "[reg][penalty][errors]") {
  std::vector<float> w(4, 1.0f), g(4, 2.0f), g3(3);
  const pare::tensor_view<const float> wv(w);
  PARE_REQUIRE_ERROR(pare::reg::l1{.l1 = -1}.penalty(wv), "pare::reg::l1", "l1 must be finite and >= 0, got -1");
  PARE_REQUIRE_ERROR(pare::reg::l2{.l2 = std::nan("")}.penalty(wv), "pare::reg::l2", "l2", "got nan");
  PARE_REQUIRE_ERROR((pare::reg::l1_l2{.l1 = 0.1, .l2 = INFINITY}.add_grad(wv, pare::tensor_view<float>(g))),
                     "pare::reg::l1_l2", "l2 must be finite and >= 0, got inf");
  PARE_REQUIRE_ERROR(pare::reg::l1{}.add_grad(wv, pare::tensor_view<float>(g3)), "pare::reg::l1",
                     "g must have the shape of w [4], got [3]");
  PARE_REQUIRE_ERROR(pare::reg::l1_l2{.l1 = -0.5}.validate(), "pare::reg::l1_l2", "l1", "got -0.5");
  for (float x : g) CHECK(x == 2.0f);
}
