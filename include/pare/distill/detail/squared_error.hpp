#pragma once
/// \file
/// The fused mean-squared-error kernel behind `logit_mse` and `hint_loss` without a regressor.

#include <cstdint>

#include <Eigen/Core>

#include "pare/core/parallel.hpp"
#include "pare/reg/detail/reduce.hpp"

namespace pare::distill::detail {

/// Returns mean((s − t)²) over n elements and writes g = 2(s − t)/n, one chunk at a time so
/// the difference is formed, squared, summed (in double) and scaled while it is in cache.
template <class T>
[[nodiscard]] double mean_squared_error(const T* s, const T* t, T* g, std::int64_t n) {
  using array = Eigen::Array<T, Eigen::Dynamic, 1>;
  const T c = static_cast<T>(2.0 / static_cast<double>(n));
  double sum = 0;
  pare::detail::for_each_chunk(
      n, pare::detail::chunk_elements,
      [&](std::int64_t b, std::int64_t e) {
        Eigen::Map<array> gm(g + b, e - b);
        gm = Eigen::Map<const array>(s + b, e - b) - Eigen::Map<const array>(t + b, e - b);
        sum += pare::reg::detail::sum_as_double(gm.data(), e - b, [](double x) { return x * x; });
        gm *= c;
      },
      /*parallel=*/false);  // a reduction: keep it on one thread, in a fixed order
  return sum / static_cast<double>(n);
}

}  // namespace pare::distill::detail
