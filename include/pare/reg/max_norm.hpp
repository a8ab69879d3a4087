#pragma once
/// \file
/// `pare::reg::max_norm`: the max-norm weight constraint, applied per output unit.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

#include <Eigen/Core>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::reg {

namespace detail {

/// Scales each row of a rows × cols row-major matrix by clip(‖row‖, 0, max)/(1e-7 + ‖row‖).
template <class T>
void max_norm_rows(T* w, std::int64_t rows, std::int64_t cols, double max_value) {
  const T limit = static_cast<T>(max_value);
  const T eps = static_cast<T>(1e-7);  // Keras' backend epsilon, in the weight's type
  for (std::int64_t r = 0; r < rows; ++r) {
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> row(w + r * cols, cols);
    const T norm = std::sqrt(row.square().sum());
    const T desired = std::min(std::max(norm, T(0)), limit);
    row *= desired / (eps + norm);
  }
}

}  // namespace detail

/// Max-norm constraint (Srebro & Shraibman 2005; used with dropout by Srivastava et al. 2014),
/// exactly Keras' `MaxNorm(max_value)`: every output unit's incoming weight vector — a row of
/// an `[out, in]` weight (trailing axes flattened, so `[out, in, kh, kw]` works too) — is
/// rescaled so its L2 norm is at most max_value:
///
///     w_row ← w_row · clip(‖w_row‖, 0, max_value) / (1e-7 + ‖w_row‖)
///
///     pare::reg::max_norm{.max_value = 3}.apply(w);   // after each optimizer step
///
/// As in Keras, rows under the limit are still multiplied by ‖w‖/(1e-7 + ‖w‖) (a relative
/// change of about 1e-7/‖w‖); a zero row stays zero. A rank-0 or rank-1 view is one row (the
/// whole vector, as Keras' axis 0 on a bias). A row with NaN or Inf becomes NaN.
/// Throws `pare::error` for max_value < 0 or NaN.
struct max_norm {
  double max_value = 2.0;

  void validate() const {
    pare::detail::require(max_value >= 0, component, "max_value", ">= 0", max_value);
  }
  void apply(tensor_view<float> w) const { run(w); }
  void apply(tensor_view<double> w) const { run(w); }

  static constexpr std::string_view component = "pare::reg::max_norm";

 private:
  template <class T>
  void run(tensor_view<T> w) const {
    validate();
    if (w.empty()) return;
    const bool one_row = w.rank() <= 1;
    detail::max_norm_rows(w.data(), one_row ? 1 : w.rows(), one_row ? w.size() : w.cols(), max_value);
  }
};

}  // namespace pare::reg
