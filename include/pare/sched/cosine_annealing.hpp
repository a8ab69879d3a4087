#pragma once
/// \file
/// `pare::sched::cosine_annealing`: PyTorch's CosineAnnealingLR.

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Cosine annealing (Loshchilov & Hutter 2017, SGDR, without restarts; PyTorch
/// `CosineAnnealingLR`): half a cosine from base_lr down to eta_min over t_max steps,
///
///     s(t) = eta_min + (base_lr − eta_min) · (1 + cos(π·t / t_max)) / 2
///
///     pare::sched::cosine_annealing{.base_lr = 0.1, .t_max = 100}   // 0.1 → 0 at step 100
///
/// Past t_max the formula keeps going — the rate climbs back to base_lr at 2·t_max and the
/// curve repeats with period 2·t_max — exactly as PyTorch's scheduler does (Keras' CosineDecay
/// and Optax clamp at the end instead; for that, put a `constant` after it in a `sequence`).
/// Computed in closed form, O(1) per call, and within ~1e-12 relative of the rates PyTorch's
/// scheduler produces step by step (its recursion is followed where the two round differently).
struct cosine_annealing {
  double base_lr = std::numeric_limits<double>::quiet_NaN();
  std::int64_t t_max = 0;
  double eta_min = 0;

  /// Throws `pare::error` unless base_lr and eta_min are finite and ≥ 0 and t_max ≥ 1.
  void validate() const {
    detail::check_rate(component, "base_lr", base_lr);
    detail::check_positive(component, "t_max", t_max);
    detail::check_rate(component, "eta_min", eta_min);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    const auto c = [this](std::int64_t t) {  // 1 + cos(π·t/t_max), PyTorch's operation order
      return 1 + std::cos(std::numbers::pi * static_cast<double>(t) / static_cast<double>(t_max));
    };
    if (step <= t_max) return eta_min + (base_lr - eta_min) * c(step) / 2;
    // Past t_max, PyTorch's scheduler (stepped one step at a time) restarts its recursion at
    // each step r = t_max + 1 + 2k·t_max from an additive formula and then multiplies ratios
    // c(t)/c(t−1), which telescope to c(t)/c(r). Both that and the plain closed form are the same
    // curve, but near the minimum 1 + cos cancels differently in the two: up to ~1e-11 apart
    // for t_max in the hundreds. Anchoring at r as PyTorch does keeps pare within ~1e-14 of the
    // lr sequence a PyTorch training loop actually sees.
    const std::int64_t period = 2 * t_max;
    const std::int64_t r = t_max + 1 + (step - t_max - 1) / period * period;
    const double at_r =
        eta_min + (base_lr - eta_min) * (1 - std::cos(std::numbers::pi / static_cast<double>(t_max))) / 2;
    if (step == r) return at_r;
    return c(step) / c(r) * (at_r - eta_min) + eta_min;
  }

  static constexpr const char* component = "pare::sched::cosine_annealing";
};
static_assert(schedule<cosine_annealing>);

}  // namespace pare::sched
