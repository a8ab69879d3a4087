// dequantize of packed (2–4-bit) codes: every element is exactly (q − z)·s, rounded once, for
// every layout and length (the AVX-512 path decodes 64 codes at a time, with a masked tail), and
// nothing past the output view is written; long tensors of any width, which are visited as
// interleaved parts, likewise.
#include <pare/quant.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "common.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"

namespace pq = pare::quant;
using pare::tensor_view;

namespace {
/// Dequantizes into a view followed by sentinels and checks both.
template <class T = float>
void check_dequantize(const pq::quantized_tensor& q) {
  const std::int64_t n = q.size();
  constexpr T sentinel = T(-1234.5);
  std::vector<T> out(static_cast<std::size_t>(n) + 17, sentinel);
  pq::dequantize(q, tensor_view<T>(out.data(), q.shape()));
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < n; ++i)  // (q − z)·s in T, rounded once
    wrong += out[static_cast<std::size_t>(i)] != static_cast<T>(q.code(i) - q.zero_points()[static_cast<std::size_t>(q.slice_of(i))]) *
                                                     static_cast<T>(q.scales()[static_cast<std::size_t>(q.slice_of(i))]);
  CHECK(wrong == 0);
  for (std::size_t i = static_cast<std::size_t>(n); i < out.size(); ++i) CHECK(out[i] == sentinel);
}
}  // namespace

TEST_CASE("packed dequantize gives (q - z)*s for every element, layout and length") {
  std::uint64_t seed = 31;
  for (const int bits : {2, 3, 4})
    for (const auto sch : {pq::scheme::symmetric, pq::scheme::affine}) {
      INFO("bits " << bits << " affine " << (sch == pq::scheme::affine));
      // per tensor, 1-D: lengths around the 64-code step, odd ones take the portable path
      for (const std::int64_t n : {1, 2, 31, 62, 64, 66, 127, 128, 200, 4096 + 34}) {
        INFO("per tensor, n = " << n);
        auto x = pare_test::random_normal<float>(static_cast<std::size_t>(n), ++seed);
        if (sch == pq::scheme::affine)
          for (auto& v : x) v = v * 0.5f + 1.0f;  // mostly positive: zero points away from 0
        check_dequantize(pq::quantize(tensor_view<const float>(x.data(), {n}), {.bits = bits, .scheme = sch}));
      }
      // per row and per group of a [rows, cols] weight
      for (const std::int64_t cols : {2, 30, 64, 100, 130, 192}) {
        const std::int64_t rows = 5;
        const auto x = pare_test::random_normal<float>(static_cast<std::size_t>(rows * cols), ++seed);
        const tensor_view<const float> xv(x.data(), {rows, cols});
        INFO("[" << rows << ", " << cols << "] per row");
        check_dequantize(pq::quantize(xv, {.bits = bits, .scheme = sch, .axis = 0}));
        for (const std::int64_t g : {2, 4, 10, 32, 64, 96, 192}) {
          if (cols % g != 0) continue;
          INFO("[" << rows << ", " << cols << "] groups of " << g);
          check_dequantize(pq::quantize(xv, {.bits = bits, .scheme = sch, .group_size = g}));
        }
        INFO("[" << rows << ", " << cols << "] per column (axis 1)");
        check_dequantize(pq::quantize(xv, {.bits = bits, .scheme = sch, .axis = 1}));
      }
    }
}

TEMPLATE_TEST_CASE("long tensors are dequantized exactly in every layout, int8 and packed, as interleaved parts", "", float, double) {
  // Long tensors (here: from 32768 elements on) have their contiguous slices visited as four
  // parts side by side, 64 elements at a time: four or more slices are grouped into parts of
  // whole slices (those left over come last); fewer slices are each cut into four parts and a
  // tail. Below the threshold each slice is one run.
  const quant_test::long_paths_from paths(32768);
  struct shape2 {
    std::int64_t rows, cols;
  };
  std::uint64_t seed = 77;
  for (const int bits : {8, 4})
    for (const auto sch : {pq::scheme::symmetric, pq::scheme::affine})
      for (const shape2 d : {shape2{1, 32768 + 3 * 4096 + 34}, shape2{1, 40001}, shape2{3, 20000}, shape2{7, 5000}, shape2{9, 4224}}) {
        auto x = pare_test::random_normal<float>(static_cast<std::size_t>(d.rows * d.cols), ++seed);
        if (sch == pq::scheme::affine)
          for (auto& v : x) v = v * 0.5f + 1.0f;
        const tensor_view<const float> xv(x.data(), {d.rows, d.cols});
        INFO("bits " << bits << " affine " << (sch == pq::scheme::affine) << " [" << d.rows << ", " << d.cols << "]");
        check_dequantize<TestType>(pq::quantize(xv, {.bits = bits, .scheme = sch}));
        check_dequantize<TestType>(pq::quantize(xv, {.bits = bits, .scheme = sch, .axis = 0}));
        for (const std::int64_t g : {64, 96, 2})
          if (d.cols % g == 0) {
            INFO("groups of " << g);
            check_dequantize<TestType>(pq::quantize(xv, {.bits = bits, .scheme = sch, .group_size = g}));
          }
      }
}

TEST_CASE("packed dequantize into a view of another shape throws and writes nothing") {
  const auto x = pare_test::random_normal<float>(128, 5);
  const auto q = pq::quantize(tensor_view<const float>(x.data(), {2, 64}), {.bits = 4, .group_size = 64});
  std::vector<float> out(128, 7.0f);
  PARE_REQUIRE_ERROR(pq::dequantize(q, tensor_view<float>(out.data(), {64, 2})), "pare::quant::dequantize", "out",
                     "[64, 2]");
  for (const float v : out) CHECK(v == 7.0f);
}
