#pragma once
/// \file
/// `pare::sched::cosine_warm_restarts`: PyTorch's CosineAnnealingWarmRestarts (SGDR).

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Cosine annealing with warm restarts (Loshchilov & Hutter 2017, "SGDR"; PyTorch
/// `CosineAnnealingWarmRestarts`): cycles of half a cosine from base_lr towards eta_min, the first
/// t_0 steps long, each next one t_mult times longer, each starting again at base_lr,
///
///     s(t) = eta_min + (base_lr − eta_min) · (1 + cos(π·t_cur / t_i)) / 2
///
/// where t_i is the length of the cycle containing t and t_cur the steps since it began.
///
///     pare::sched::cosine_warm_restarts{.base_lr = 0.1, .t_0 = 10, .t_mult = 2}
///     // restarts at steps 10, 30, 70, 150, …
///
/// As in PyTorch, integer steps never reach eta_min exactly (a cycle restarts first).
/// t_0 ≥ 1 and t_mult ≥ 1 are integers, as PyTorch requires.
struct cosine_warm_restarts {
  double base_lr = std::numeric_limits<double>::quiet_NaN();
  std::int64_t t_0 = 0;
  std::int64_t t_mult = 1;
  double eta_min = 0;

  /// Throws `pare::error` unless base_lr and eta_min are finite and ≥ 0, t_0 ≥ 1, t_mult ≥ 1.
  void validate() const {
    detail::check_rate(component, "base_lr", base_lr);
    detail::check_positive(component, "t_0", t_0);
    detail::check_positive(component, "t_mult", t_mult);
    detail::check_rate(component, "eta_min", eta_min);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    // Walk the cycles in integers (O(log t) for t_mult ≥ 2): exact where PyTorch's own
    // closed form goes through a floating-point logarithm.
    std::int64_t t_cur = step;
    double t_i = static_cast<double>(t_0);
    if (t_mult == 1) {
      t_cur = step % t_0;
    } else {
      std::int64_t len = t_0;
      while (t_cur >= len) {
        t_cur -= len;
        if (len > std::numeric_limits<std::int64_t>::max() / t_mult) {
          // The next cycle is longer than any step: t_cur lies in it.
          t_i = static_cast<double>(len) * static_cast<double>(t_mult);
          len = -1;
          break;
        }
        len *= t_mult;
      }
      if (len > 0) t_i = static_cast<double>(len);
    }
    return eta_min + (base_lr - eta_min) *
                         (1 + std::cos(std::numbers::pi * static_cast<double>(t_cur) / t_i)) / 2;
  }

  static constexpr const char* component = "pare::sched::cosine_warm_restarts";
};
static_assert(schedule<cosine_warm_restarts>);

}  // namespace pare::sched
