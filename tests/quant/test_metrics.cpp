// Error metrics: MSE, max abs error and SQNR by their definitions.
#include <pare/quant/linear.hpp>
#include <pare/quant/metrics.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/catch.hpp"
#include "support/numeric.hpp"

using namespace pare::quant;

TEMPLATE_TEST_CASE("MSE, max abs error and SQNR follow their definitions", "", float, double) {
  using T = TestType;
  const std::vector<T> x = {T(1), T(-2), T(3), T(0.5)};
  const std::vector<T> h = {T(1.5), T(-2), T(2), T(0.5)};
  const auto e = quantization_error(pare::tensor_view<const T>(x), pare::tensor_view<const T>(h));
  CHECK(e.mse == pare_test::Approx((0.25 + 0 + 1 + 0) / 4));
  CHECK(e.max_abs == pare_test::Approx(1.0));
  CHECK(e.sqnr_db == pare_test::Approx(10 * std::log10((1 + 4 + 9 + 0.25) / 1.25)));
  CHECK(mean_squared_error(pare::tensor_view<const T>(x), pare::tensor_view<const T>(h)) == e.mse);
  CHECK(max_abs_error(pare::tensor_view<const T>(x), pare::tensor_view<const T>(h)) == e.max_abs);
  CHECK(sqnr_db(pare::tensor_view<const T>(x), pare::tensor_view<const T>(h)) == e.sqnr_db);
  CHECK(std::isinf(sqnr_db(pare::tensor_view<const T>(x), pare::tensor_view<const T>(x))));
  const std::vector<T> zero(4, T(0));
  CHECK(sqnr_db(pare::tensor_view<const T>(zero), pare::tensor_view<const T>(h)) == -std::numeric_limits<double>::infinity());
  auto n = h;
  n[1] = std::numeric_limits<T>::quiet_NaN();
  CHECK(std::isnan(quantization_error(pare::tensor_view<const T>(x), pare::tensor_view<const T>(n)).mse));
}

TEST_CASE("uniform quantization gains 20·log10 of the step ratio per bit (about 6 dB)") {
  const auto x = pare_test::random_uniform<float>(1 << 16, 3, -1, 1);
  const auto v = pare::tensor_view<const float>(x);
  std::vector<float> out(x.size());
  double prev = 0;
  for (int bits = 3; bits <= 8; ++bits) {
    dequantize(quantize(v, {.bits = bits}), pare::tensor_view<float>(out));
    const double s = sqnr_db(v, pare::tensor_view<const float>(out));
    const double gain = 20 * std::log10(((1 << (bits - 1)) - 1.0) / ((1 << (bits - 2)) - 1.0));
    if (bits > 3) CHECK(s - prev == pare_test::Approx(gain).margin(0.15));
    prev = s;
  }
}

TEST_CASE("metric errors") {
  std::vector<float> a(4), b(5), none;
  PARE_REQUIRE_ERROR(quantization_error(pare::tensor_view<const float>(a), pare::tensor_view<const float>(b)),
                     "pare::quant::quantization_error", "x_hat", "[4]", "[5]");
  PARE_REQUIRE_ERROR(quantization_error(pare::tensor_view<const float>(none), pare::tensor_view<const float>(none)),
                     "pare::quant::quantization_error", "non-empty");
}
