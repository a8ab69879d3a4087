#pragma once
/// \file
/// `pare::sched::multistep_decay`: PyTorch's MultiStepLR.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Multi-step decay (PyTorch `MultiStepLR`): the rate is multiplied by `gamma` at each milestone,
///
///     s(t) = base_lr · gamma^(number of milestones m with m ≤ t)
///
///     pare::sched::multistep_decay{.base_lr = 0.1, .milestones = {30, 80}}   // 0.1, 0.01, 0.001
///
/// Milestones are steps (≥ 0) in non-decreasing order; a repeated milestone counts twice, as in
/// PyTorch (`{2, 5, 5}` multiplies by gamma² at step 5). Unsorted or negative milestones are a
/// `pare::error` (PyTorch would silently ignore the order in its recursive form and honour it in
/// its closed form). No milestones: a constant rate.
struct multistep_decay {
  double base_lr = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::int64_t> milestones = {};
  double gamma = 0.1;

  /// Throws `pare::error` unless base_lr and gamma are finite and ≥ 0 and the milestones are
  /// non-negative and sorted.
  void validate() const {
    detail::check_rate(component, "base_lr", base_lr);
    detail::check_non_negative(component, "milestones", milestones);
    detail::check_sorted(component, "milestones", milestones);
    detail::check_rate(component, "gamma", gamma);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    const auto passed = std::upper_bound(milestones.begin(), milestones.end(), step) -
                        milestones.begin();
    return base_lr * std::pow(gamma, static_cast<double>(passed));
  }

  static constexpr const char* component = "pare::sched::multistep_decay";
};
static_assert(schedule<multistep_decay>);

}  // namespace pare::sched
