#pragma once
/// \file
/// Sums accumulated in double that vectorize. Eigen 3.4 evaluates `x.cast<double>().sum()` of a
/// float array one scalar at a time (it has no vectorized float → double cast), and a plain
/// loop's double sum cannot be reordered by the compiler; explicit lanes give it independent
/// accumulators it turns into SIMD registers (g++ 12: vcvtps2pd + vfmadd231pd on zmm).

#include <cstdint>

namespace pare::reg::detail {

/// Σ f(double(x_i)) over n elements, with 32 interleaved partial sums (fixed order, so the
/// result does not depend on the thread count or the call site).
template <class T, class F>
[[nodiscard]] double sum_as_double(const T* x, std::int64_t n, F f) {
  constexpr int lanes = 32;
  double acc[lanes] = {};
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (int l = 0; l < lanes; ++l) acc[l] += f(static_cast<double>(x[i + l]));
  double s = 0;
  for (int l = 0; l < lanes; ++l) s += acc[l];
  for (; i < n; ++i) s += f(static_cast<double>(x[i]));
  return s;
}

}  // namespace pare::reg::detail
