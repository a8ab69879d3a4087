// dropout: statistics (rate within 1% on 1e6 values, scale 1/(1 − rate)), reproducibility,
// forward/backward sharing the mask, evaluation mode, rate 0, NaN, in-place use, errors.
#include <pare/reg/dropout.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/catch.hpp"

using pare::reg::dropout;

TEMPLATE_TEST_CASE("dropout drops the rate within 1% on 1e6 values and scales by 1/(1 - rate)",
                   "[reg][dropout]", float, double) {
  using T = TestType;
  const std::int64_t n = 1'000'000;
  std::vector<T> x(static_cast<std::size_t>(n), T(2)), y(x.size());
  for (double rate : {0.1, 0.25, 0.5, 0.9}) {
    INFO("rate " << rate);
    dropout<T> d({.rate = rate, .seed = 1234});
    CHECK((d.options().rate == rate && d.options().seed == 1234));
    d.forward(pare::tensor_view<const T>(x), pare::tensor_view<T>(y));
    const auto m = d.mask();
    REQUIRE(m.size() == n);
    std::int64_t dropped = 0, wrong = 0;
    double sum = 0;
    const T kept_value = T(2) * static_cast<T>(1.0 / (1.0 - rate));
    for (std::int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      wrong += y[k] != (m[i] ? kept_value : T(0));
      dropped += m[i] == 0;
      sum += static_cast<double>(y[k]);
    }
    CHECK(wrong == 0);
    CHECK(std::abs(static_cast<double>(dropped) / n - rate) <= 0.01 * rate);
    CHECK(sum / n == pare_test::Approx(2.0).epsilon(0.01));  // inverted: the mean is kept
  }
}

TEMPLATE_TEST_CASE("the same seed gives the same masks; backward reuses the forward's mask", "[reg][dropout]",
                   float, double) {
  using T = TestType;
  const std::int64_t n = 20000;
  std::vector<T> x(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(i % 7) - 3;
  dropout<T> a({.rate = 0.3, .seed = 77}), b({.rate = 0.3, .seed = 77}), c({.rate = 0.3, .seed = 78});
  std::vector<T> ya(x.size()), yb(x.size()), yc(x.size());
  for (int call = 0; call < 3; ++call) {
    a.forward(pare::tensor_view<const T>(x), pare::tensor_view<T>(ya));
    b.forward(pare::tensor_view<const T>(x), pare::tensor_view<T>(yb));
    c.forward(pare::tensor_view<const T>(x), pare::tensor_view<T>(yc));
    CHECK(ya == yb);
    CHECK(ya != yc);
  }
  CHECK(a.position() == 3 * static_cast<std::uint64_t>(n));
  // a second forward draws a new mask
  std::vector<std::uint8_t> first(a.mask().data(), a.mask().data() + n);
  a.forward(pare::tensor_view<const T>(x), pare::tensor_view<T>(ya));
  CHECK(std::vector<std::uint8_t>(a.mask().data(), a.mask().data() + n) != first);
  // backward: dx = dy * mask / (1 - rate), in place
  std::vector<T> dy(x.size(), T(1));
  a.backward(pare::tensor_view<const T>(dy), pare::tensor_view<T>(dy));
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < n; ++i) wrong += dy[static_cast<std::size_t>(i)] != (a.mask()[i] ? a.scale() : T(0));
  CHECK(wrong == 0);
}

TEMPLATE_TEST_CASE("evaluation mode and rate 0 are the identity", "[reg][dropout]", float, double) {
  using T = TestType;
  std::vector<T> x = {1, -2, 3, std::numeric_limits<T>::infinity()}, y(4), dx(4);
  dropout<T> d({.rate = 0.5});
  CHECK(d.training());
  d.set_training(false);
  d.forward(pare::tensor_view<const T>(x), pare::tensor_view<T>(y));
  CHECK(y == x);
  CHECK(d.mask().empty());
  d.backward(pare::tensor_view<const T>(x), pare::tensor_view<T>(dx));
  CHECK(dx == x);
  dropout<T> zero({.rate = 0.0, .seed = 3});
  zero.forward(pare::tensor_view<const T>(x), pare::tensor_view<T>(y));
  CHECK(y == x);
  for (std::int64_t i = 0; i < 4; ++i) CHECK(zero.mask()[i] == 1);
  zero.backward(pare::tensor_view<const T>(x), pare::tensor_view<T>(dx));
  CHECK(dx == x);
}

TEMPLATE_TEST_CASE("dropped NaNs become 0, kept NaNs stay NaN; shapes are kept", "[reg][dropout]", float, double) {
  using T = TestType;
  const std::int64_t n = 1000;
  std::vector<T> x(static_cast<std::size_t>(n), std::numeric_limits<T>::quiet_NaN()), y(x.size());
  dropout<T> d({.rate = 0.5, .seed = 9});
  d.forward(pare::tensor_view<const T>(x.data(), {10, 100}), pare::tensor_view<T>(y.data(), {10, 100}));
  REQUIRE(d.mask().rank() == 2);
  CHECK(d.mask().extent(1) == 100);
  int kept = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (d.mask()[i]) { CHECK(std::isnan(y[static_cast<std::size_t>(i)])); ++kept; }
    else CHECK(y[static_cast<std::size_t>(i)] == T(0));
  }
  CHECK(kept > 400);
  CHECK(kept < 600);
}

TEST_CASE("dropout rejects bad rates, shapes and a backward without forward", "[reg][dropout][errors]") {
  for (double bad : {-0.1, 1.0, 1.5, std::nan("")})
    PARE_REQUIRE_ERROR(dropout<float>({.rate = bad}), "pare::reg::dropout", "rate must be in [0, 1)");
  dropout<float> d({.rate = 0.5});
  std::vector<float> x(6, 1), y(6), z(5, 9);
  PARE_REQUIRE_ERROR(d.backward(pare::tensor_view<const float>(x), pare::tensor_view<float>(y)), "pare::reg::dropout",
                     "backward needs a forward first");
  PARE_REQUIRE_ERROR(d.forward(pare::tensor_view<const float>(x), pare::tensor_view<float>(z)), "pare::reg::dropout",
                     "y must have the shape of x [6], got [5]");
  d.forward(pare::tensor_view<const float>(x.data(), {2, 3}), pare::tensor_view<float>(y.data(), {2, 3}));
  PARE_REQUIRE_ERROR(d.backward(pare::tensor_view<const float>(x), pare::tensor_view<float>(y)), "pare::reg::dropout",
                     "dy must have the shape of the last forward's input [2, 3], got [6]");
  PARE_REQUIRE_ERROR(d.reserve(-1), "pare::reg::dropout", "n must be >= 0, got -1");
  for (float v : z) CHECK(v == 9.0f);
}
