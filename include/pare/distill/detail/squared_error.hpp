#pragma once
/// \file
/// The fused mean-squared-error kernel behind `logit_mse` and `hint_loss` without a regressor.

#include <cstdint>
#include <string>
#include <string_view>

#include <Eigen/Core>

#include "pare/core/error.hpp"
#include "pare/core/parallel.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/distill/detail/checks.hpp"
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

/// `mean_squared_error` behind its checks: a non-empty student, three views of one shape, and a
/// gradient that overlaps neither input (all checked before anything is written).
template <class T>
[[nodiscard]] double mse_checked(std::string_view component, tensor_view<const T> student,
                                 tensor_view<const T> teacher, tensor_view<T> grad) {
  if (student.empty())
    pare::detail::fail(component, "student must be non-empty, got shape " +
                                      pare::detail::to_text(student.shape()));
  pare::detail::require_same_shape(component, "student", student, "teacher", teacher);
  pare::detail::require_same_shape(component, "student", student, "grad", grad);
  require_disjoint(component, "grad", grad, "student", student);
  require_disjoint(component, "grad", grad, "teacher", teacher);
  return mean_squared_error(student.data(), teacher.data(), grad.data(), student.size());
}

}  // namespace pare::distill::detail
