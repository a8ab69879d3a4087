// Fake quantization (QAT): forward and straight-through gradient equal torch's
// fake_quantize_per_tensor_affine / per_channel_affine; LSQ gradients equal
// torch._fake_quantize_learnable_per_tensor_affine; finite differences where the map is smooth.
#include <pare/quant/fake_quantize.hpp>
#include <pare/quant/fake_quantizer.hpp>
#include <pare/quant/linear.hpp>

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
using quant_test::torch_ref;

namespace {
/// torch's range [qmin, qmax] with qmax − qmin = 2^b − 1, shifted to pare's signed codes.
qparams torch_params(double scale, int zp, int qmin, int qmax) {
  int bits = 0;
  while ((1 << bits) - 1 < qmax - qmin) ++bits;
  const int shift = (1 << (bits - 1)) + qmin;
  return {.bits = bits, .scheme = scheme::affine, .scales = {static_cast<float>(scale)},
          .zero_points = {static_cast<std::int8_t>(zp - shift)}};
}
}  // namespace

TEST_CASE("fake_quantize forward and STE backward equal torch's per-tensor fake quantization") {
  const auto& ref = torch_ref();
  for (const char* name : {"u8", "u4", "u4_zero_edge"}) {
    const std::string key = std::string("fake_quant/") + name;
    INFO(key);
    const auto x = as<float>(ref[key + "/x"]);
    const auto& p = ref[key + "/params"];
    const auto qp = torch_params(p[0], static_cast<int>(p[1]), static_cast<int>(p[2]), static_cast<int>(p[3]));
    std::vector<float> y(x.size()), dx(x.size());
    fake_quantize(pare::tensor_view<const float>(x), qp, pare::tensor_view<float>(y));
    const auto dy = as<float>(ref[key + "/dy"]);
    fake_quantize_backward(pare::tensor_view<const float>(x), qp, pare::tensor_view<const float>(dy),
                           pare::tensor_view<float>(dx));
    const auto& ey = ref[key + "/y"];
    const auto& edx = ref[key + "/dx"];
    int masked = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      REQUIRE(y[i] == static_cast<float>(ey[i]));
      REQUIRE(dx[i] == static_cast<float>(edx[i]));
      masked += dx[i] == 0.0f;
    }
    if (std::string(name) != "u8") CHECK(masked > 0);  // the 4-bit ranges are narrow: the mask is exercised
  }
}

TEST_CASE("per-channel fake quantization equals torch's fake_quantize_per_channel_affine") {
  const auto& ref = torch_ref();
  const auto x = as<float>(ref["fake_quant_channel/x"]);
  const auto& s = ref["fake_quant_channel/scale"];
  const auto& z = ref["fake_quant_channel/zero_point"];
  qparams qp{.bits = 8, .scheme = scheme::affine, .axis = 0};
  for (std::size_t c = 0; c < 3; ++c) {
    qp.scales.push_back(static_cast<float>(s[c]));
    qp.zero_points.push_back(static_cast<std::int8_t>(static_cast<int>(z[c]) - 128));
  }
  const auto v = pare::tensor_view<const float>(x.data(), {3, 10});
  std::vector<float> y(30), dx(30);
  fake_quantize(v, qp, pare::tensor_view<float>(y.data(), {3, 10}));
  const auto dy = as<float>(ref["fake_quant_channel/dy"]);
  fake_quantize_backward(v, qp, pare::tensor_view<const float>(dy.data(), {3, 10}), pare::tensor_view<float>(dx.data(), {3, 10}));
  for (std::size_t i = 0; i < 30; ++i) {
    REQUIRE(y[i] == static_cast<float>(ref["fake_quant_channel/y"][i]));
    REQUIRE(dx[i] == static_cast<float>(ref["fake_quant_channel/dx"][i]));
  }
}

TEMPLATE_TEST_CASE("fake_quantize is dequantize(quantize(x)); the STE mask uses the unclamped rounded code", "", float, double) {
  using T = TestType;
  // s = 0.25, z = 2 (torch's measured example in signed form: 4 bits → [−8, 7])
  const qparams qp{.bits = 4, .scheme = scheme::affine, .scales = {0.25f}, .zero_points = {2}};
  // codes: round(x/s) + z; in range iff −8 ≤ code ≤ 7, i.e. x/s ∈ [−10.5, 5.5] with half-even ties
  const std::vector<T> x = {T(-2.7), T(-2.625), T(-2.5), T(0.125), T(1.3), T(1.375), T(1.376), T(9)};
  std::vector<T> y(x.size()), dx(x.size());
  const std::vector<T> dy(x.size(), T(3));
  fake_quantize(pare::tensor_view<const T>(x), qp, pare::tensor_view<T>(y));
  fake_quantize_backward(pare::tensor_view<const T>(x), qp, pare::tensor_view<const T>(dy), pare::tensor_view<T>(dx));
  const auto q = quantize(pare::tensor_view<const T>(x), qp);
  std::vector<T> d(x.size());
  dequantize(q, pare::tensor_view<T>(d));
  CHECK(y == d);
  // −2.7/0.25 = −10.8 → −11 + 2 = −9 < −8: masked.  −2.625 → −10.5 → −10 (even) + 2 = −8: passes.
  // −2.5 → −10 + 2 = −8 passes.  1.375 → 5.5 → 6 (even) + 2 = 8 > 7: masked.  1.3 → 5 + 2 = 7 passes.
  const std::vector<T> expect = {0, 3, 3, 3, 3, 0, 0, 0};
  CHECK(dx == expect);
  CHECK(y[0] == T(-2.5));   // clamped to (−8 − 2)·0.25
  CHECK(y[7] == T(1.25));   // clamped to (7 − 2)·0.25

  // NaN propagates with a zero gradient; infinities clamp with a zero gradient
  const std::vector<T> special = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                                  -std::numeric_limits<T>::infinity()};
  std::vector<T> ys(3), gs(3);
  fake_quantize(pare::tensor_view<const T>(special), qp, pare::tensor_view<T>(ys));
  const std::vector<T> ones(3, T(1));
  fake_quantize_backward(pare::tensor_view<const T>(special), qp, pare::tensor_view<const T>(ones), pare::tensor_view<T>(gs));
  CHECK(std::isnan(ys[0]));
  CHECK(ys[1] == T(1.25));
  CHECK(ys[2] == T(-2.5));
  CHECK(gs == std::vector<T>(3, T(0)));

  // in place: y may be x
  auto inplace = x;
  fake_quantize(pare::tensor_view<const T>(inplace), qp, pare::tensor_view<T>(inplace));
  CHECK(inplace == d);
}

TEST_CASE("LSQ gradients equal torch._fake_quantize_learnable_per_tensor_affine") {
  const auto& ref = torch_ref();
  for (const char* name : {"u8", "u4"}) {
    const std::string key = std::string("lsq/") + name;
    INFO(key);
    const auto x = as<float>(ref[key + "/x"]);
    const auto& p = ref[key + "/params"];
    const auto qp = torch_params(p[0], static_cast<int>(p[1]), static_cast<int>(p[2]), static_cast<int>(p[3]));
    const auto dy = as<float>(ref[key + "/dy"]);
    std::vector<float> y(x.size()), dx(x.size());
    fake_quantize(pare::tensor_view<const float>(x), qp, pare::tensor_view<float>(y));
    double ds = 0, dz = 0;
    lsq_backward(pare::tensor_view<const float>(x), qp, pare::tensor_view<const float>(dy), pare::tensor_view<float>(dx),
                 std::span<double>(&ds, 1), std::span<double>(&dz, 1), p[4]);
    for (std::size_t i = 0; i < x.size(); ++i) {
      REQUIRE(y[i] == pare_test::Approx(ref[key + "/y"][i]).margin(1e-6));
      REQUIRE(dx[i] == static_cast<float>(ref[key + "/dx"][i]));
    }
    CHECK(ds == pare_test::Approx(ref.scalar(key + "/dscale")).epsilon(1e-5));
    CHECK(dz == pare_test::Approx(ref.scalar(key + "/dzero_point")).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("the LSQ scale gradient matches finite differences where fake quantization is smooth") {
  // Outside the range y = (q_edge − z)·s is smooth in s; inside it is a staircase whose LSQ
  // gradient is the straight-through estimate, not a derivative, so only clamped values are used.
  const std::vector<double> x = {-9.0, -7.5, 8.0, 11.0};  // all clamped with s ≈ 0.5, z = 1, 4 bits
  const std::vector<double> dy = {0.3, -1.1, 0.7, 2.0};
  auto loss = [&](const std::vector<double>& s) {
    const qparams qp{.bits = 4, .scheme = scheme::affine, .scales = {static_cast<float>(s[0])}, .zero_points = {1}};
    std::vector<double> y(x.size());
    fake_quantize(pare::tensor_view<const double>(x), qp, pare::tensor_view<double>(y));
    double l = 0;
    for (std::size_t i = 0; i < x.size(); ++i) l += dy[i] * y[i];
    return l;
  };
  const auto num = pare_test::numeric_gradient(loss, {0.5}, 0x1p-10);  // s is float32 inside: an exact step
  const qparams qp{.bits = 4, .scheme = scheme::affine, .scales = {0.5f}, .zero_points = {1}};
  std::vector<double> dx(4);
  double ds = 0, dz = 0;
  lsq_backward(pare::tensor_view<const double>(x), qp, pare::tensor_view<const double>(dy), pare::tensor_view<double>(dx),
               std::span<double>(&ds, 1), std::span<double>(&dz, 1));
  CHECK(ds == pare_test::Approx(num[0]).epsilon(1e-6));
  CHECK(dz == pare_test::Approx(-(0.3 - 1.1 + 0.7 + 2.0) * 0.5));  // −Σ dy·s over clamped values
  CHECK(dx == std::vector<double>(4, 0.0));
}

TEST_CASE("fake quantization errors") {
  std::vector<float> x(6, 1.0f), y(6), g(6);
  const auto v = pare::tensor_view<const float>(x.data(), {2, 3});
  const auto qp = choose_qparams(v, {.axis = 0});
  PARE_REQUIRE_ERROR(fake_quantize(v, qp, pare::tensor_view<float>(y.data(), {3, 2})), "pare::quant::fake_quantize", "y",
                     "[2, 3]", "[3, 2]");
  PARE_REQUIRE_ERROR(fake_quantize(pare::tensor_view<const float>(x.data(), {3, 2}), qp, pare::tensor_view<float>(y.data(), {3, 2})),
                     "pare::quant::fake_quantize", "scales", "length 3", "got 2");
  PARE_REQUIRE_ERROR(fake_quantize_backward(v, qp, pare::tensor_view<const float>(g.data(), {6}), pare::tensor_view<float>(y.data(), {2, 3})),
                     "pare::quant::fake_quantize_backward", "dy", "[6]");
  double ds[1], dz[2];
  PARE_REQUIRE_ERROR(lsq_backward(v, qp, pare::tensor_view<const float>(g.data(), {2, 3}), pare::tensor_view<float>(y.data(), {2, 3}),
                                  std::span<double>(ds, 1), std::span<double>(dz, 2)),
                     "pare::quant::lsq_backward", "dscale", "got 1");
}

TEST_CASE("fake_quantizer observes while training, then freezes its qparams") {
  fake_quantizer<> fq({.bits = 8, .scheme = scheme::affine});
  std::vector<float> y(4), dx(4);
  PARE_REQUIRE_ERROR((fq.set_observing(false), fq.forward(pare::tensor_view<const float>(y), pare::tensor_view<float>(dx))),
                     "pare::quant::fake_quantizer", "observe");
  fq.set_observing(true);
  const std::vector<float> a = {-1, 0, 1, 2}, b = {-3, 0, 3, 6};
  fq.forward(pare::tensor_view<const float>(a), pare::tensor_view<float>(y));
  CHECK(fq.watcher().batches() == 1);
  const auto first = choose_qparams(pare::tensor_view<const float>(a), {.scheme = scheme::affine});
  CHECK(fq.params().scales == first.scales);
  CHECK(fq.params().zero_points == first.zero_points);
  fq.forward(pare::tensor_view<const float>(b), pare::tensor_view<float>(y));  // moving average: min −1.02, max 2.04
  CHECK(fq.watcher().min()[0] == pare_test::Approx(-1.02));
  CHECK(fq.watcher().max()[0] == pare_test::Approx(2.04));
  fq.set_observing(false);
  const auto frozen = fq.params();
  fq.forward(pare::tensor_view<const float>(b), pare::tensor_view<float>(y));
  CHECK(fq.params().scales == frozen.scales);
  CHECK(fq.watcher().batches() == 2);
  std::vector<float> expect(4);
  fake_quantize(pare::tensor_view<const float>(b), frozen, pare::tensor_view<float>(expect));
  CHECK(y == expect);
  const std::vector<float> dy = {1, 1, 1, 1};
  fq.backward(pare::tensor_view<const float>(b), pare::tensor_view<const float>(dy), pare::tensor_view<float>(dx));
  CHECK(dx == std::vector<float>{0, 1, 0, 0});  // −3 and 3, 6 lie outside [−1.02, 2.04]
}
