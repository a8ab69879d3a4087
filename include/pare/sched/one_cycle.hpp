#pragma once
/// \file
/// `pare::sched::one_cycle`: PyTorch's OneCycleLR (the learning rate; not the momentum).

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// How `one_cycle` moves between two rates within a phase.
enum class anneal_strategy {
  cos,    ///< half a cosine: end + (start − end)·(1 + cos(π·pct))/2
  linear  ///< a straight line: start + (end − start)·pct
};

/// The 1cycle policy (Smith & Topin 2019, "Super-convergence"; PyTorch `OneCycleLR`, learning
/// rate only): warm up from max_lr/div_factor to max_lr over the first pct_start of the run,
/// then anneal down to max_lr/(div_factor·final_div_factor) at step total_steps − 1,
///
///     initial = max_lr / div_factor,   min = initial / final_div_factor
///     phase 1: initial → max_lr   for steps 0 … pct_start·total_steps − 1
///     phase 2: max_lr → min       until step total_steps − 1
///
/// With three_phase, phase 2 goes back down to `initial` by step 2·pct_start·total_steps − 2
/// and a third phase anneals to `min` (fast.ai's variant). Within a phase from step a to b,
/// pct = (t − a)/(b − a) and the rate follows `anneal`.
///
///     pare::sched::one_cycle{.max_lr = 0.1, .total_steps = 1000}
///
/// Exactly PyTorch's arithmetic, corner cases included: the phase boundaries are real numbers
/// (pct_start·total_steps − 1), steps 0 … total_steps are valid (step total_steps extrapolates
/// one step past the end, as PyTorch's last allowed `step()` does) and a later step is a
/// `pare::error`, as it is a ValueError in PyTorch. A phase of zero length (pct_start·total_steps
/// = 1, where PyTorch divides by zero) is a `pare::error` too. The momentum cycling of PyTorch's
/// scheduler is not part of this schedule.
struct one_cycle {
  double max_lr = std::numeric_limits<double>::quiet_NaN();
  std::int64_t total_steps = 0;
  double pct_start = 0.3;
  anneal_strategy anneal = anneal_strategy::cos;
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool three_phase = false;

  /// Throws `pare::error` for a bad max_lr, total_steps < 1, pct_start outside [0, 1], an
  /// unknown anneal strategy, non-positive divisors, or an empty first phase.
  void validate() const {
    detail::check_rate(component, "max_lr", max_lr);
    detail::check_positive(component, "total_steps", total_steps);
    detail::check_in(component, "pct_start", pct_start, 0, 1, "in [0, 1]");
    pare::detail::require(anneal == anneal_strategy::cos || anneal == anneal_strategy::linear,
                          component, "anneal", "anneal_strategy::cos or ::linear",
                          static_cast<int>(anneal));
    pare::detail::require(std::isfinite(div_factor) && div_factor > 0, component, "div_factor",
                          "finite and positive", div_factor);
    pare::detail::require(std::isfinite(final_div_factor) && final_div_factor > 0, component,
                          "final_div_factor", "finite and positive", final_div_factor);
    // Phase 1 runs from step 0 to pct_start·total_steps − 1; it is empty (and PyTorch fails
    // with a division by zero at step 0) when that is 0.
    pare::detail::require(pct_start * static_cast<double>(total_steps) != 1.0, component,
                          "pct_start", "such that pct_start·total_steps ≠ 1 (an empty first phase)",
                          pct_start);
  }

  /// The rate at `step`, 0 ≤ step ≤ total_steps (anything else is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    pare::detail::require(step <= total_steps, component, "step",
                          "at most total_steps (" + std::to_string(total_steps) + ")", step);
    const double initial = max_lr / div_factor;
    const double min_lr = initial / final_div_factor;
    const double steps = static_cast<double>(total_steps);
    struct phase {
      double end_step, start_lr, end_lr;
    };
    // PyTorch's phase table, with its float expressions.
    const std::array<phase, 3> phases =
        three_phase ? std::array<phase, 3>{phase{pct_start * steps - 1, initial, max_lr},
                                           phase{2 * pct_start * steps - 2, max_lr, initial},
                                           phase{steps - 1, initial, min_lr}}
                    : std::array<phase, 3>{phase{pct_start * steps - 1, initial, max_lr},
                                           phase{steps - 1, max_lr, min_lr}, phase{}};
    const std::size_t count = three_phase ? 3 : 2;
    const double t = static_cast<double>(step);
    double start_step = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const phase& p = phases[i];
      if (t <= p.end_step || i + 1 == count) {
        const double length = p.end_step - start_step;
        if (!(length > 0)) {
          // Only the last phase can get here (three_phase with pct_start > 0.5): PyTorch divides
          // by zero or extrapolates backwards; refuse instead.
          pare::detail::fail_value(component, "pct_start",
                                   "such that phase " + std::to_string(i + 1) +
                                       " has a positive length at step " + std::to_string(step),
                                   pct_start);
        }
        const double pct = (t - start_step) / length;
        if (anneal == anneal_strategy::cos) {
          const double cos_out = std::cos(std::numbers::pi * pct) + 1;
          return p.end_lr + (p.start_lr - p.end_lr) / 2.0 * cos_out;
        }
        return (p.end_lr - p.start_lr) * pct + p.start_lr;
      }
      start_step = p.end_step;
    }
    return min_lr;  // not reached: the last phase always answers
  }

  static constexpr const char* component = "pare::sched::one_cycle";
};
static_assert(schedule<one_cycle>);

}  // namespace pare::sched
