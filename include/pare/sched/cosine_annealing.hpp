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
/// The closed form matches PyTorch's step-by-step recursion to ~1e-13 relative.
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
    // Same operation order as PyTorch's closed form, so the two round alike.
    return eta_min + (base_lr - eta_min) *
                         (1 + std::cos(std::numbers::pi * static_cast<double>(step) /
                                       static_cast<double>(t_max))) /
                         2;
  }

  static constexpr const char* component = "pare::sched::cosine_annealing";
};
static_assert(schedule<cosine_annealing>);

}  // namespace pare::sched
