#pragma once
/// \file
/// Row-wise, numerically stable `softmax` and `log_softmax` over `[batch, classes]` views, with
/// an optional temperature (Hinton, Vinyals & Dean 2015: soft targets are softmax(z / T)).

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "pare/core/tensor_view.hpp"
#include "pare/distill/detail/checks.hpp"
#include "pare/distill/detail/exp.hpp"

namespace pare::distill {
namespace detail {

template <class T>
using row_in = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using row_out = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

/// The row maximum; a NaN anywhere makes it NaN, so a row with a NaN is NaN throughout rather
/// than silently depending on where the NaN sits.
template <class T>
[[nodiscard]] T row_max(const row_in<T>& x) {
  return x.template maxCoeff<Eigen::PropagateNaN>();
}

/// softmax(x / T) (or its log) of every row: subtracting the row maximum first keeps every
/// exponent ≤ 0, so ±1e4 logits and all-equal rows stay finite (the maximum contributes
/// exp(0) = 1 to the sum, so the log of the sum is ≥ 0 and never −inf). A −inf logit gets
/// exactly 0 (its log exactly −inf) on every instruction set (`assign_exp`), and so does a logit
/// whose exponential underflows (a mask of −1e9), as torch.
template <class T>
void softmax_rows(const T* x, T* y, std::int64_t rows, std::int64_t cols, double temperature,
                  bool log) {
  const T inv_t = static_cast<T>(1.0 / temperature);
  for (std::int64_t r = 0; r < rows; ++r) {
    const row_in<T> xr(x + r * cols, cols);
    row_out<T> yr(y + r * cols, cols);
    const T m = row_max(xr);
    if (log) {
      yr = (xr - m) * inv_t;  // x may alias y: each element is read before it is written
      // Eigen's exp may give ≈ 5.6e-309 rather than 0 for a −inf here (see detail/exp.hpp);
      // that cannot change a sum ≥ 1 (the maximum adds exp(0) = 1), and a −inf input stays
      // exactly −inf after the subtraction, so the plain exp is exact enough and cheaper.
      yr -= std::log(yr.exp().sum());
    } else {
      assign_exp(yr, (xr - m) * inv_t);
      yr *= T(1) / yr.sum();
    }
  }
}

template <class T>
void softmax_checked(std::string_view component, tensor_view<const T> logits, tensor_view<T> out,
                     double temperature, bool log) {
  require_logits(component, "logits", logits);
  pare::detail::require_same_shape(component, "logits", logits, "out", out);
  require_temperature(component, temperature);
  require_disjoint(component, "out", out, "logits", logits, /*same_ok=*/true);
  softmax_rows(logits.data(), out.data(), logits.extent(0), logits.extent(1), temperature, log);
}

}  // namespace detail

/// Writes softmax(logits / temperature) of every row of a `[batch, classes]` view into `out`:
/// out[b, j] = exp(z_bj / T) / Σ_k exp(z_bk / T), computed as exp((z − max z) / T) / Σ so that
/// huge (±1e4) or all-equal logits stay finite. `out` may be `logits` itself (in place).
///
///     pare::distill::softmax(teacher_logits, soft_targets, 4.0);   // Hinton et al. 2015
///
/// A NaN in a row makes that row NaN; +inf gives NaN (inf − inf); −inf gives probability exactly
/// 0 on every instruction set (log_softmax: exactly −inf); a row of only −inf is NaN (as torch).
/// Throws `pare::error` for a view that is not rank 2 or is empty, a shape mismatch, a partial
/// overlap of `out` and `logits`, or a temperature that is not finite and > 0.
inline void softmax(tensor_view<const float> logits, tensor_view<float> out,
                    double temperature = 1.0) {
  detail::softmax_checked("pare::distill::softmax", logits, out, temperature, false);
}
/// \copydoc softmax(tensor_view<const float>, tensor_view<float>, double)
inline void softmax(tensor_view<const double> logits, tensor_view<double> out,
                    double temperature = 1.0) {
  detail::softmax_checked("pare::distill::softmax", logits, out, temperature, false);
}

/// Writes log_softmax(logits / temperature) of every row into `out`:
/// out[b, j] = (z_bj − max z_b) / T − log Σ_k exp((z_bk − max z_b) / T). Finite for every
/// finite row (a class far below the maximum gets a large negative value, never −inf).
/// Same rules as `softmax` for NaN, in-place use and errors.
inline void log_softmax(tensor_view<const float> logits, tensor_view<float> out,
                        double temperature = 1.0) {
  detail::softmax_checked("pare::distill::log_softmax", logits, out, temperature, true);
}
/// \copydoc log_softmax(tensor_view<const float>, tensor_view<float>, double)
inline void log_softmax(tensor_view<const double> logits, tensor_view<double> out,
                        double temperature = 1.0) {
  detail::softmax_checked("pare::distill::log_softmax", logits, out, temperature, true);
}

}  // namespace pare::distill
