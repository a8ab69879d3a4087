// Audit: early_stopping against Keras 3's callback over a grid of every option (mode, min_delta
// of either sign, patience, baseline, restore_best, start_from_epoch) on sequences with plateaus,
// exact repeats, NaN and infinities (tests/reference/reg/audit_generate.py); the penalties'
// gradient at w = ±0 (sign(0) = 0); dropout at rate 0.
#include <pare/reg.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/reference.hpp"
#include "keras_early_stopping.hpp"

TEST_CASE("audit: early_stopping follows Keras 3 over a grid of every option", "[reg][early_stopping][audit]") {
  const pare_test::reference ref("reg/audit.txt");
  REQUIRE(ref.scalar("es/count") == 432);
  reg_test::check_keras_scenarios(ref, 432);
}

TEMPLATE_TEST_CASE("audit: l1, l2 and l1_l2 at w = ±0 add nothing from the l1 term (sign(0) = 0)",
                   "[reg][penalty][audit]", float, double) {
  using T = TestType;
  std::vector<T> w{T(0), -T(0), T(2), T(-0.5)};
  std::vector<T> g{T(1), T(1), T(1), T(1)};
  pare::tensor_view<const T> wv(w.data(), {4});
  pare::tensor_view<T> gv(g.data(), {4});
  const pare::reg::l1_l2 r{.l1 = 0.3, .l2 = 0.2};
  CHECK(r.penalty(wv) == pare_test::Approx(0.3 * 2.5 + 0.2 * 4.25).epsilon(1e-6));
  r.add_grad(wv, gv);
  CHECK(g[0] == T(1));
  CHECK(g[1] == T(1));
  CHECK(g[2] == pare_test::Approx(1 + 0.3 + 0.8).epsilon(1e-6));
  CHECK(g[3] == pare_test::Approx(1 - 0.3 - 0.2).epsilon(1e-6));
  std::vector<T> h{T(5), T(5)};
  pare::reg::l1{.l1 = 1.0}.add_grad(pare::tensor_view<const T>(w.data(), {2}), pare::tensor_view<T>(h.data(), {2}));
  CHECK(h[0] == T(5));
  CHECK(h[1] == T(5));
  CHECK(pare::reg::l2{.l2 = 1.0}.penalty(pare::tensor_view<const T>(w.data(), {2})) == 0.0);
}

TEMPLATE_TEST_CASE("audit: dropout with rate 0 is the identity in training, and so is its backward",
                   "[reg][dropout][audit]", float, double) {
  using T = TestType;
  pare::reg::dropout<T> d({.rate = 0.0, .seed = 3});
  std::vector<T> x(1000), y(1000, T(-7)), dy(1000), dx(1000, T(-7));
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<T>(std::sin(static_cast<double>(i)));
    dy[i] = static_cast<T>(std::cos(static_cast<double>(i)));
  }
  d.forward(pare::tensor_view<const T>(x.data(), {1000}), pare::tensor_view<T>(y.data(), {1000}));
  d.backward(pare::tensor_view<const T>(dy.data(), {1000}), pare::tensor_view<T>(dx.data(), {1000}));
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(y[i] == x[i]);
    CHECK(dx[i] == dy[i]);
  }
}
