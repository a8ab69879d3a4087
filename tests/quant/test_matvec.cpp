// Quantized matrix-vector product: equals dequantize-then-matvec to float rounding for every
// layout, width and scheme, including ragged sizes that exercise the kernels' tails.
#include <pare/quant/linear.hpp>
#include <pare/quant/matvec.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "support/catch.hpp"
#include "support/numeric.hpp"

using namespace pare::quant;

namespace {
/// |y − dequantize(W)·x| ≤ (in/16 + 32)·eps·Σ|w||x| per row: lane-wise float accumulation.
void check_matvec(const quantized_tensor& q, const std::vector<float>& x) {
  const std::int64_t out = q.shape()[0], in = q.shape()[1];
  std::vector<float> w(static_cast<std::size_t>(out * in)), y(static_cast<std::size_t>(out), -1.0f);
  dequantize(q, pare::tensor_view<float>(w.data(), {out, in}));
  matvec(q, pare::tensor_view<const float>(x), pare::tensor_view<float>(y));
  const double eps = std::numeric_limits<float>::epsilon();
  for (std::int64_t i = 0; i < out; ++i) {
    double ref = 0, mag = 0;
    for (std::int64_t j = 0; j < in; ++j) {
      const double p = static_cast<double>(w[static_cast<std::size_t>(i * in + j)]) * x[static_cast<std::size_t>(j)];
      ref += p;
      mag += std::abs(p);
    }
    const double tol = (static_cast<double>(in) / 16 + 32) * eps * mag + 1e-30;
    INFO("row " << i << " of [" << out << ", " << in << "]");
    REQUIRE(std::abs(y[static_cast<std::size_t>(i)] - ref) <= tol);
  }
}
}  // namespace

TEST_CASE("quantized matvec equals dequantize-then-matvec to float rounding") {
  const std::uint64_t seed = 31337;
  INFO("seed " << seed);
  struct dims {
    std::int64_t out, in;
  };
  for (const dims d : {dims{64, 256}, dims{13, 96}, dims{7, 50}, dims{5, 33}, dims{1, 4}, dims{130, 512}}) {
    const auto wv = pare_test::random_normal<float>(static_cast<std::size_t>(d.out * d.in), seed + static_cast<std::uint64_t>(d.in));
    const auto x = pare_test::random_normal<float>(static_cast<std::size_t>(d.in), seed + 1);
    const auto view = pare::tensor_view<const float>(wv.data(), {d.out, d.in});
    for (auto sch : {scheme::symmetric, scheme::affine})
      for (int bits : {8, 6, 4, 3, 2}) {
        INFO("[" << d.out << ", " << d.in << "] bits " << bits << " affine " << (sch == scheme::affine));
        check_matvec(quantize(view, {.bits = bits, .scheme = sch}), x);
        check_matvec(quantize(view, {.bits = bits, .scheme = sch, .axis = 0}), x);
        check_matvec(quantize(view, {.bits = bits, .scheme = sch, .axis = 1}), x);
        for (std::int64_t g : {2, 16, 32, 64, 48})
          if (d.in % g == 0) check_matvec(quantize(view, {.bits = bits, .scheme = sch, .group_size = g}), x);
      }
  }
}

TEST_CASE("matvec accepts a weight made from codes and computes each row exactly for small integers") {
  // codes times small integer x: every product and sum is exact in float, so y is exact.
  const std::vector<std::int64_t> shape = {3, 64};
  std::vector<std::int8_t> codes(192);
  for (std::size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<std::int8_t>(static_cast<int>(i % 15) - 7);
  std::vector<float> x(64);
  for (std::size_t j = 0; j < 64; ++j) x[j] = static_cast<float>(static_cast<int>(j % 5) - 2);
  qparams qp{.bits = 4, .scheme = scheme::affine, .group_size = 32,
             .scales = {1, 2, 0.5f, 1, 4, 0.25f}, .zero_points = {0, 1, -2, 3, 0, -1}};
  const auto q = quantized_tensor::from_codes(shape, qp, codes);
  std::vector<float> y(3);
  matvec(q, pare::tensor_view<const float>(x), pare::tensor_view<float>(y));
  for (int i = 0; i < 3; ++i) {
    double ref = 0;
    for (int j = 0; j < 64; ++j) {
      const int k = i * 2 + j / 32;
      ref += (codes[static_cast<std::size_t>(i * 64 + j)] - qp.zero_points[static_cast<std::size_t>(k)]) *
             static_cast<double>(qp.scales[static_cast<std::size_t>(k)]) * x[static_cast<std::size_t>(j)];
    }
    CHECK(y[static_cast<std::size_t>(i)] == static_cast<float>(ref));
  }
}

TEST_CASE("matvec errors") {
  std::vector<float> w(24, 0.5f), x(6), y(4), big(5);
  const auto q = quantize(pare::tensor_view<const float>(w.data(), {4, 6}), {.bits = 8});
  PARE_REQUIRE_ERROR(matvec(q, pare::tensor_view<const float>(big), pare::tensor_view<float>(y)), "pare::quant::matvec", "x",
                     "6 elements", "got 5");
  PARE_REQUIRE_ERROR(matvec(q, pare::tensor_view<const float>(x), pare::tensor_view<float>(big)), "pare::quant::matvec", "y",
                     "4 elements", "got 5");
  const auto q3 = quantize(pare::tensor_view<const float>(w.data(), {2, 3, 4}));
  PARE_REQUIRE_ERROR(matvec(q3, pare::tensor_view<const float>(x), pare::tensor_view<float>(y)), "pare::quant::matvec", "2-D",
                     "[2, 3, 4]");
  std::vector<float> both(10);
  PARE_REQUIRE_ERROR(matvec(q, pare::tensor_view<const float>(both.data(), {6}), pare::tensor_view<float>(both.data() + 2, {4})),
                     "pare::quant::matvec", "overlap");
}
