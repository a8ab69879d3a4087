// Quantized matrix-vector product: equals dequantize-then-matvec to float rounding for every
// layout, width and scheme, including ragged sizes that exercise the kernels' tails.
#include <pare/quant/linear.hpp>
#include <pare/quant/matvec.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "common.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"

using namespace pare::quant;

namespace {
/// |y − dequantize(W)·x| ≤ (in/16 + 32)·eps·M + (4·in + 64)·2^−149·(1 + max s) per row: float
/// accumulation of at most in/16 + 32 roundings deep per lane (each segment's sum scaled once,
/// 16 lanes summed), over terms of total size M, plus what gradual underflow may cost per rounding.
/// 8-bit codes: M = Σ_j |w_j·x_j|, the size of the products themselves.
/// Packed codes: the pair kernel reads a byte's codes (q_e, q_o) as q_e·u + f·v with
/// u = x_e − x_o/16 (one rounding), v = x_o, f = q_e/16 + q_o, so its terms have size
/// s·(|q_e|·|x_e| + |q_o|·|x_o| + |q_e|·|x_o|/8) (raw codes q, not q − z), and affine zero points
/// enter once per segment as s·z·Σx: M = Σ over pairs of that + Σ over segments s·|z|·Σ|x|.
/// That M ≥ Σ|w·x| covers the other packed kernels too (their terms are w·x).
void check_matvec(const quantized_tensor& q, const std::vector<float>& x) {
  const std::int64_t out = q.shape()[0], in = q.shape()[1];
  std::vector<float> w(static_cast<std::size_t>(out * in)), y(static_cast<std::size_t>(out), -1.0f);
  dequantize(q, pare::tensor_view<float>(w.data(), {out, in}));
  matvec(q, pare::tensor_view<const float>(x), pare::tensor_view<float>(y));
  const double eps = std::numeric_limits<float>::epsilon();
  const auto& qp = q.params();
  const double s_max = *std::max_element(qp.scales.begin(), qp.scales.end());
  const double underflow = (4.0 * static_cast<double>(in) + 64) * std::ldexp(1.0, -149) * (1 + s_max);
  for (std::int64_t i = 0; i < out; ++i) {
    double ref = 0, mag = 0;
    for (std::int64_t j = 0; j < in; ++j) {
      const std::int64_t e = i * in + j;
      const double xj = x[static_cast<std::size_t>(j)];
      ref += static_cast<double>(w[static_cast<std::size_t>(e)]) * xj;
      if (!q.packed()) {
        mag += std::abs(static_cast<double>(w[static_cast<std::size_t>(e)]) * xj);
        continue;
      }
      const auto k = static_cast<std::size_t>(q.slice_of(e));
      const double s = qp.scales[k], code = q.code(e);
      mag += s * (std::abs(code * xj) + std::abs(static_cast<double>(qp.zero_points[k]) * xj));
      if (j % 2 == 0 && j + 1 < in) mag += s * std::abs(code * x[static_cast<std::size_t>(j + 1)]) / 8;
    }
    const double tol = (static_cast<double>(in) / 16 + 32) * eps * mag + underflow;
    INFO("row " << i << " of [" << out << ", " << in << "]");
    REQUIRE(std::abs(y[static_cast<std::size_t>(i)] - ref) <= tol);
  }
}
}  // namespace

TEST_CASE("quantized matvec equals dequantize-then-matvec to float rounding") {
  const std::uint64_t seed = 31337;
  INFO("seed " << seed);
  using quant_test::dims;
  for (const dims d : {dims{64, 256}, dims{13, 96}, dims{7, 50}, dims{5, 33}, dims{1, 4}, dims{130, 512}}) {
    const auto wv = pare_test::random_normal<float>(static_cast<std::size_t>(d.rows * d.cols), seed + static_cast<std::uint64_t>(d.cols));
    const auto x = pare_test::random_normal<float>(static_cast<std::size_t>(d.cols), seed + 1);
    const auto view = pare::tensor_view<const float>(wv.data(), {d.rows, d.cols});
    for (auto sch : {scheme::symmetric, scheme::affine})
      for (int bits : {8, 6, 4, 3, 2}) {
        INFO("[" << d.rows << ", " << d.cols << "] bits " << bits << " affine " << (sch == scheme::affine));
        check_matvec(quantize(view, {.bits = bits, .scheme = sch}), x);
        check_matvec(quantize(view, {.bits = bits, .scheme = sch, .axis = 0}), x);
        check_matvec(quantize(view, {.bits = bits, .scheme = sch, .axis = 1}), x);
        for (std::int64_t g : {2, 16, 32, 64, 48})
          if (d.cols % g == 0) check_matvec(quantize(view, {.bits = bits, .scheme = sch, .group_size = g}), x);
      }
  }
}

TEST_CASE("matvec keeps its accuracy for tiny and huge x, and gives dequantize-then-matvec's inf and NaN") {
  const std::int64_t out = 12, in = 256;
  const auto wv = pare_test::random_normal<float>(static_cast<std::size_t>(out * in), 77);
  const auto view = pare::tensor_view<const float>(wv.data(), {out, in});
  const auto x0 = pare_test::random_normal<float>(static_cast<std::size_t>(in), 78);
  for (int bits : {8, 4, 2})
    for (auto sch : {scheme::symmetric, scheme::affine})
      for (std::int64_t g : {std::int64_t{0}, std::int64_t{32}, std::int64_t{64}}) {
        const auto q = quantize(view, {.bits = bits, .scheme = sch, .group_size = g});
        // 2^−140: x and the products near and below the normal range; 2^90: large, still the
        // fast kernels; 2^110: past the pair kernel's limit of 2^100, so the table kernel.
        for (int e : {-140, -128, 90, 110}) {
          INFO("bits " << bits << " affine " << (sch == scheme::affine) << " group " << g << " x scaled by 2^" << e);
          std::vector<float> x(x0);
          for (auto& v : x) v = std::ldexp(v, e);
          check_matvec(q, x);
        }
        // an infinity in x: every row is ±inf, or NaN where its weight there is 0, as in dequantize-then-matvec
        std::vector<float> x(x0);
        x[7] = std::numeric_limits<float>::infinity();
        std::vector<float> w(static_cast<std::size_t>(out * in)), y(static_cast<std::size_t>(out));
        dequantize(q, pare::tensor_view<float>(w.data(), {out, in}));
        matvec(q, pare::tensor_view<const float>(x), pare::tensor_view<float>(y));
        for (std::int64_t i = 0; i < out; ++i) {
          const float wi = w[static_cast<std::size_t>(i * in + 7)];
          INFO("bits " << bits << " affine " << (sch == scheme::affine) << " group " << g << " row " << i << " w " << wi);
          if (wi == 0) CHECK(std::isnan(y[static_cast<std::size_t>(i)]));
          else CHECK(y[static_cast<std::size_t>(i)] == (wi > 0 ? 1 : -1) * std::numeric_limits<float>::infinity());
        }
        x[7] = std::numeric_limits<float>::quiet_NaN();
        matvec(q, pare::tensor_view<const float>(x), pare::tensor_view<float>(y));
        for (float v : y) CHECK(std::isnan(v));
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

TEST_CASE("int8 activations: y equals dequantize(W)·x̂ with x quantized per block of 32 to float rounding") {
  const std::uint64_t seed = 2718;
  INFO("seed " << seed);
  using quant_test::dims;
  for (const dims d : {dims{20, 256}, dims{9, 384}, dims{6, 100}, dims{3, 64}}) {
    const auto wv = pare_test::random_normal<float>(static_cast<std::size_t>(d.rows * d.cols), seed + static_cast<std::uint64_t>(d.cols));
    auto x = pare_test::random_normal<float>(static_cast<std::size_t>(d.cols), seed + 2);
    for (std::int64_t j = 32; j < std::min<std::int64_t>(64, d.cols); ++j) x[static_cast<std::size_t>(j)] = 0;  // an all-zero block
    // x̂, computed here from the definition
    std::vector<float> xhat(x.size());
    for (std::size_t b = 0; b < x.size(); b += 32) {
      const std::size_t e = std::min(x.size(), b + 32);
      float m = 0;
      for (std::size_t j = b; j < e; ++j) m = std::max(m, std::abs(x[j]));
      const float s = m / 127.0f;
      for (std::size_t j = b; j < e; ++j)
        xhat[j] = s > 0 ? s * std::min(127.0f, std::max(-127.0f, std::nearbyint(x[j] / s))) : 0.0f;
    }
    const auto view = pare::tensor_view<const float>(wv.data(), {d.rows, d.cols});
    for (auto sch : {scheme::symmetric, scheme::affine})
      for (int bits : {8, 5, 4, 2})
        for (const quantize_options base : {quantize_options{}, quantize_options{.axis = 0}, quantize_options{.group_size = 64},
                                            quantize_options{.group_size = 128}, quantize_options{.group_size = 32}}) {
          if (base.group_size > 0 && d.cols % base.group_size != 0) continue;
          quantize_options o = base;
          o.bits = bits;
          o.scheme = sch;
          INFO("[" << d.rows << ", " << d.cols << "] bits " << bits << " affine " << (sch == scheme::affine) << " group " << o.group_size);
          const auto q = quantize(view, o);
          std::vector<float> w(static_cast<std::size_t>(d.rows * d.cols)), y(static_cast<std::size_t>(d.rows));
          dequantize(q, pare::tensor_view<float>(w.data(), {d.rows, d.cols}));
          matvec(q, pare::tensor_view<const float>(x), pare::tensor_view<float>(y), {.int8_activations = true});
          const double eps = std::numeric_limits<float>::epsilon();
          double err_q8 = 0, err_exact = 0;
          for (std::int64_t i = 0; i < d.rows; ++i) {
            double ref = 0, mag = 0, exact = 0;
            for (std::int64_t j = 0; j < d.cols; ++j) {
              const double wij = w[static_cast<std::size_t>(i * d.cols + j)];
              ref += wij * xhat[static_cast<std::size_t>(j)];
              mag += std::abs(wij * xhat[static_cast<std::size_t>(j)]);
              exact += wij * x[static_cast<std::size_t>(j)];
            }
            REQUIRE(std::abs(y[static_cast<std::size_t>(i)] - ref) <= (static_cast<double>(d.cols) / 16 + 32) * eps * mag + 1e-30);
            err_q8 = std::max(err_q8, std::abs(y[static_cast<std::size_t>(i)] - exact));
            err_exact = std::max(err_exact, mag);
          }
          CHECK(err_q8 <= 0.02 * err_exact);  // activation quantization costs well under 1 %
        }
  }
  std::vector<float> w(64, 1.0f), x(32, 1.0f), y(2);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  const auto q = quantize(pare::tensor_view<const float>(w.data(), {2, 32}));
  PARE_REQUIRE_ERROR(matvec(q, pare::tensor_view<const float>(x), pare::tensor_view<float>(y), {.int8_activations = true}),
                     "pare::quant::matvec", "x must be finite", "nan", "index 3");
}
