// std::vector arguments are 1-D tensors, and give exactly what the tensor_view forms give.
#include <pare/quant.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "support/catch.hpp"
#include "support/numeric.hpp"

namespace {
bool same_bytes(const pare::quant::quantized_tensor& a, const pare::quant::quantized_tensor& b) {
  return std::ranges::equal(a.bytes(), b.bytes());
}
}  // namespace

namespace pq = pare::quant;
using pare::tensor_view;

TEMPLATE_TEST_CASE("quantize, quantize_log and dequantize take std::vector as a 1-D tensor", "[quant]", float, double) {
  using T = TestType;
  const auto x = pare_test::random_normal<T>(96, 17);
  const tensor_view<const T> xv(x.data(), {96});

  const auto q = pq::quantize(x, {.bits = 4, .scheme = pq::scheme::affine, .group_size = 32});
  const auto qv = pq::quantize(xv, {.bits = 4, .scheme = pq::scheme::affine, .group_size = 32});
  CHECK(same_bytes(q, qv));
  std::vector<T> back(96), back_v(96);
  pq::dequantize(q, back);
  pq::dequantize(qv, tensor_view<T>(back_v.data(), {96}));
  CHECK(back == back_v);

  pq::quantized_tensor reused;
  pq::quantize(x, {.bits = 8}, reused);
  CHECK(same_bytes(reused, pq::quantize(xv, {.bits = 8})));

  const auto l = pq::quantize_log(x, {.bits = 4});
  std::vector<T> lb(96), lbv(96);
  pq::dequantize(l, lb);
  pq::dequantize(pq::quantize_log(xv, {.bits = 4}), tensor_view<T>(lbv.data(), {96}));
  CHECK(lb == lbv);

  std::vector<T> wrong(95);
  PARE_REQUIRE_ERROR(pq::dequantize(q, wrong), "pare::quant::dequantize", "[96]", "[95]");
}

TEST_CASE("matvec takes std::vector for x and y") {
  const auto w = pare_test::random_normal<float>(8 * 64, 3);
  const auto q = pq::quantize(tensor_view<const float>(w.data(), {8, 64}), {.bits = 8, .axis = 0});
  const auto x = pare_test::random_normal<float>(64, 4);
  std::vector<float> y(8), yv(8);
  pq::matvec(q, x, y);
  pq::matvec(q, tensor_view<const float>(x.data(), {64}), tensor_view<float>(yv.data(), {8}));
  CHECK(y == yv);
  std::vector<float> short_y(7);
  CHECK_THROWS_AS(pq::matvec(q, x, short_y), pare::error);
}
