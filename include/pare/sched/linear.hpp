#pragma once
/// \file
/// `pare::sched::linear`: PyTorch's LinearLR.

#include <algorithm>
#include <cstdint>
#include <limits>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Linear ramp of a multiplicative factor (PyTorch `LinearLR`): from start_factor·base_lr at step
/// 0 to end_factor·base_lr at step total_iters, constant after,
///
///     s(t) = base_lr · (start_factor + (end_factor − start_factor) · min(t, total_iters) / total_iters)
///
///     pare::sched::linear{.base_lr = 0.1, .start_factor = 0.01, .total_iters = 500}  // warm-up
///     pare::sched::linear{.base_lr = 0.1, .start_factor = 1, .end_factor = 0, .total_iters = 90}
///
/// Factors as PyTorch ≥ 2.0 checks them: start_factor in (0, 1] (torch 1.13 accepts 0 and then
/// divides by zero at the first step; `warmup` starts from 0 if you need it), end_factor in
/// [0, 1]; total_iters ≥ 1.
struct linear {
  double base_lr = std::numeric_limits<double>::quiet_NaN();
  double start_factor = 1.0 / 3;
  double end_factor = 1.0;
  std::int64_t total_iters = 5;

  /// Throws `pare::error` for a bad base_lr, a factor out of range, or total_iters < 1.
  void validate() const {
    detail::check_rate(component, "base_lr", base_lr);
    pare::detail::require(start_factor > 0 && start_factor <= 1, component, "start_factor",
                          "in (0, 1]", start_factor);
    detail::check_in(component, "end_factor", end_factor, 0, 1, "in [0, 1]");
    detail::check_positive(component, "total_iters", total_iters);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    return base_lr * (start_factor + (end_factor - start_factor) *
                                         static_cast<double>(std::min(total_iters, step)) /
                                         static_cast<double>(total_iters));
  }

  static constexpr const char* component = "pare::sched::linear";
};
static_assert(schedule<linear>);

}  // namespace pare::sched
