// max_norm: Keras MaxNorm's formula per row (reference in float64 and float32), zero rows,
// rank-1 and rank-4 views, NaN, errors.
#include <pare/reg/max_norm.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/catch.hpp"
#include "support/reference.hpp"

TEMPLATE_TEST_CASE("max_norm matches Keras' MaxNorm formula row by row", "[reg][max_norm]", float, double) {
  using T = TestType;
  const pare_test::reference ref("reg/reg.txt");
  const auto w0 = ref["maxnorm/w"];
  const std::string tag = std::is_same_v<T, double> ? "f64" : "f32";
  for (const char* m : {"2.0", "0.5", "0.0", "100.0"}) {
    INFO("max_value " << m);
    std::vector<T> w(w0.begin(), w0.end());
    pare::reg::max_norm{.max_value = std::stod(m)}.apply(pare::tensor_view<T>(w.data(), {5, 6}));
    const auto& want = ref[std::string("maxnorm/") + m + "/" + tag];
    for (std::size_t i = 0; i < w.size(); ++i)
      CHECK(double(w[i]) == pare_test::Approx(want[i]).epsilon(std::is_same_v<T, double> ? 1e-14 : 1e-6).margin(1e-30));
  }
}

TEMPLATE_TEST_CASE("max_norm caps each output unit, flattens trailing axes, treats a vector as one row",
                   "[reg][max_norm]", float, double) {
  using T = TestType;
  // [2, 1, 2, 2]: two output channels of a conv kernel
  std::vector<T> w = {3, 0, 0, 4, 0.3, 0, 0, 0.4};
  pare::reg::max_norm{.max_value = 1}.apply(pare::tensor_view<T>(w.data(), {2, 1, 2, 2}));
  CHECK(w[0] == pare_test::Approx(0.6));
  CHECK(w[3] == pare_test::Approx(0.8));
  CHECK(w[4] == pare_test::Approx(0.3).epsilon(1e-6));  // under the limit: only the 1e-7 shrink
  std::vector<T> v = {6, 8};
  pare::reg::max_norm{}.apply(pare::tensor_view<T>(v));
  CHECK(v[0] == pare_test::Approx(1.2));
  CHECK(v[1] == pare_test::Approx(1.6));
  std::vector<T> z = {0, 0, std::numeric_limits<T>::quiet_NaN(), 1};
  pare::reg::max_norm{}.apply(pare::tensor_view<T>(z.data(), {2, 2}));
  CHECK(z[0] == T(0));
  CHECK(z[1] == T(0));
  CHECK(std::isnan(z[3]));
  pare::reg::max_norm{}.apply(pare::tensor_view<T>());  // empty: nothing to do
}

TEST_CASE("max_norm rejects a negative or NaN max_value", "[reg][max_norm][errors]") {
  std::vector<float> w = {1, 2};
  PARE_REQUIRE_ERROR(pare::reg::max_norm{.max_value = -1}.apply(pare::tensor_view<float>(w)), "pare::reg::max_norm",
                     "max_value must be >= 0, got -1");
  PARE_REQUIRE_ERROR(pare::reg::max_norm{.max_value = std::nan("")}.validate(), "pare::reg::max_norm", "got nan");
  CHECK(w[0] == 1.0f);
}
