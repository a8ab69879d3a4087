// Calibration observers: PyTorch parity (MinMax, MovingAverageMinMax, per channel) fed batch by
// batch; percentile and mse by their definitions; errors.
#include <pare/quant/linear.hpp>
#include <pare/quant/observer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"

using namespace pare::quant;
using quant_test::as;
using quant_test::shape_of;
using quant_test::torch_ref;

namespace {
template <class Obs>
void check_against_torch(Obs& obs, const std::string& name) {
  const auto& ref = torch_ref();
  for (int i = 0; i < 4; ++i) {
    const std::string b = "observer/batch/" + std::to_string(i);
    const auto x = as<float>(ref[b + "/x"]);
    const auto shape = shape_of(ref[b + "/shape"]);
    obs.observe(pare::tensor_view<const float>(x.data(), std::span<const std::int64_t>(shape)));
    const std::string key = "observer/" + name + "/" + std::to_string(i);
    INFO(key);
    const auto& mn = ref[key + "/min"];
    const auto& mx = ref[key + "/max"];
    REQUIRE(obs.min().size() == mn.size());
    for (std::size_t k = 0; k < mn.size(); ++k) {
      CHECK(static_cast<float>(obs.min()[k]) == pare_test::Approx(mn[k]).epsilon(1e-6));
      CHECK(static_cast<float>(obs.max()[k]) == pare_test::Approx(mx[k]).epsilon(1e-6));
    }
    const auto qp = obs.calculate_qparams();
    const auto& s = ref[key + "/scale"];
    const auto& z = ref[key + "/zero_point"];
    for (std::size_t k = 0; k < s.size(); ++k) {
      CHECK(qp.scales[k] == pare_test::Approx(s[k]).epsilon(1e-6));
      CHECK(qp.zero_points[k] == static_cast<int>(z[k]) - 128);
    }
    CHECK(obs.batches() == i + 1);
  }
}
}  // namespace

TEST_CASE("minmax and moving_average_minmax follow torch's observers batch by batch") {
  {
    minmax o({.scheme = scheme::affine});
    check_against_torch(o, "minmax");
  }
  {
    moving_average_minmax o({.scheme = scheme::affine});
    check_against_torch(o, "moving_average");
  }
  {
    moving_average_minmax o({.scheme = scheme::affine, .averaging_constant = 0.3});
    check_against_torch(o, "moving_average_c0.3");
  }
  {
    minmax o({.scheme = scheme::affine, .axis = 1});
    check_against_torch(o, "per_channel_minmax");
  }
  {
    moving_average_minmax o({.scheme = scheme::affine, .axis = 1});
    check_against_torch(o, "per_channel_moving_average");
  }
}

TEST_CASE("an observer's qparams quantize like quantize() on the observed range") {
  auto x = pare_test::random_normal<float>(300, 5);
  minmax o({.bits = 4, .axis = 0});
  const auto v = pare::tensor_view<const float>(x.data(), {10, 30});
  o.observe(v);
  const auto a = quantize(v, o.calculate_qparams());
  const auto b = quantize(v, {.bits = 4, .axis = 0});
  for (std::size_t k = 0; k < 10; ++k) CHECK(a.scales()[k] == b.scales()[k]);
  for (std::int64_t i = 0; i < 300; ++i) REQUIRE(a.code(i) == b.code(i));
}

TEMPLATE_TEST_CASE("percentile clips at the p-th percentile of what it saw (linear interpolation)", "", float, double) {
  using T = TestType;
  // 0, 1, ..., 100 spread over two batches: the 90th percentile of |x| is 90, the 99.5th 99.5.
  std::vector<T> a, b;
  for (int i = 0; i <= 100; ++i) (i % 2 ? a : b).push_back(static_cast<T>(i % 3 == 0 ? -i : i));
  for (double p : {90.0, 99.5, 100.0}) {
    percentile o({.bits = 8, .percentile = p});
    o.observe(pare::tensor_view<const T>(a));
    o.observe(pare::tensor_view<const T>(b));
    CHECK(o.max()[0] == pare_test::Approx(p));
    CHECK(o.min()[0] == pare_test::Approx(-p));
    CHECK(o.calculate_qparams().scales[0] == static_cast<float>(p) / 127.0f);
  }
  // affine: lower and upper percentiles of x itself, per channel
  std::vector<T> x;
  for (int i = 0; i < 101; ++i) {
    x.push_back(static_cast<T>(i));        // channel 0: 0 … 100
    x.push_back(static_cast<T>(-2 * i));   // channel 1: −200 … 0
  }
  percentile o({.scheme = scheme::affine, .axis = 1, .percentile = 95});
  o.observe(pare::tensor_view<const T>(x.data(), {101, 2}));
  CHECK(o.max()[0] == pare_test::Approx(95));
  CHECK(o.min()[0] == pare_test::Approx(5));
  CHECK(o.max()[1] == pare_test::Approx(-10));
  CHECK(o.min()[1] == pare_test::Approx(-190));
}

TEST_CASE("mse picks the clip ratio with the least squared error on a grid") {
  // Mostly small values and one outlier: clipping the outlier pays off at 3 bits.
  std::vector<float> x = pare_test::random_normal<float>(2000, 99, 0.0, 0.1);
  x[17] = 4.0f;
  const auto v = pare::tensor_view<const float>(x);
  for (int bits : {3, 8}) {
    mse o({.bits = bits, .grid = 50});
    o.observe(v);
    const double r = o.ratios()[0];
    auto err = [&](double ratio) {
      const auto qp = qparams_from_range(std::vector<double>{-4.0 * ratio}, std::vector<double>{4.0 * ratio},
                                         {.bits = bits});
      const auto q = quantize(v, qp);
      std::vector<float> out(x.size());
      dequantize(q, pare::tensor_view<float>(out));
      double e = 0;
      for (std::size_t i = 0; i < x.size(); ++i) e += (out[i] - x[i]) * static_cast<double>(out[i] - x[i]);
      return e;
    };
    const double best = err(r);
    for (int g = 1; g <= 50; ++g) REQUIRE(best <= err(g / 50.0) * (1 + 1e-9));
    if (bits == 3) CHECK(r < 0.5);
    CHECK(o.max()[0] == pare_test::Approx(4.0 * r));
  }
}

TEST_CASE("observer errors") {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const auto v = pare::tensor_view<const float>(x.data(), {2, 3});
  PARE_REQUIRE_ERROR(minmax({.bits = 9}), "pare::quant::minmax", "bits", "got 9");
  PARE_REQUIRE_ERROR(moving_average_minmax({.averaging_constant = 0}), "pare::quant::moving_average_minmax",
                     "averaging_constant", "(0, 1]", "got 0");
  PARE_REQUIRE_ERROR(percentile({.percentile = 0}), "pare::quant::percentile", "percentile", "got 0");
  PARE_REQUIRE_ERROR(percentile({.percentile = 101}), "pare::quant::percentile", "percentile", "got 101");
  PARE_REQUIRE_ERROR(mse({.grid = 0}), "pare::quant::mse", "grid", "got 0");
  minmax o({.axis = 1});
  PARE_REQUIRE_ERROR(o.calculate_qparams(), "pare::quant::minmax", "observed");
  o.observe(v);
  PARE_REQUIRE_ERROR(o.observe(pare::tensor_view<const float>(x.data(), {3, 2})), "pare::quant::minmax", "3 channels",
                     "got 2");
  PARE_REQUIRE_ERROR(o.observe(pare::tensor_view<const float>(x.data(), {6})), "pare::quant::minmax", "axis", "got 1");
  auto y = x;
  y[4] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<double> before(o.max().begin(), o.max().end());
  PARE_REQUIRE_ERROR(o.observe(pare::tensor_view<const float>(y.data(), {2, 3})), "pare::quant::minmax", "finite", "nan");
  CHECK(o.batches() == 1);
  CHECK(std::vector<double>(o.max().begin(), o.max().end()) == before);
  std::vector<float> none;
  PARE_REQUIRE_ERROR(o.observe(pare::tensor_view<const float>(none)), "pare::quant::minmax", "non-empty");
  o.reset();
  CHECK(o.batches() == 0);
  o.observe(pare::tensor_view<const float>(x.data(), {3, 2}));  // after reset any channel count
  CHECK(o.min().size() == 2);
}
