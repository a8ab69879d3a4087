#pragma once
/// \file
/// `pare::sched::polynomial_decay`: PyTorch's PolynomialLR and Keras' PolynomialDecay.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Polynomial decay from base_lr to end_lr over total_iters steps, constant after,
///
///     s(t) = (base_lr − end_lr) · (1 − min(t, total_iters) / total_iters)^power + end_lr
///
///     pare::sched::polynomial_decay{.base_lr = 0.1, .total_iters = 1000, .power = 2}
///     pare::sched::polynomial_decay{.base_lr = 0.1, .total_iters = 1000, .end_lr = 1e-4}
///
/// With end_lr = 0 this is PyTorch's `PolynomialLR(total_iters, power)` (its recursive
/// updates agree with this closed form to ~1e-15); with end_lr it is Keras'
/// `PolynomialDecay(initial_learning_rate, decay_steps = total_iters, end_learning_rate, power)`
/// without `cycle`. power = 1 is a linear decay; end_lr may exceed base_lr (a ramp up).
/// Requires total_iters ≥ 1, power finite and ≥ 0, rates finite and ≥ 0.
struct polynomial_decay {
  double base_lr = std::numeric_limits<double>::quiet_NaN();
  std::int64_t total_iters = 5;
  double power = 1;
  double end_lr = 0;

  /// Throws `pare::error` for a bad rate, total_iters < 1 or a negative power.
  void validate() const {
    detail::check_rate(component, "base_lr", base_lr);
    detail::check_positive(component, "total_iters", total_iters);
    pare::detail::require(std::isfinite(power) && power >= 0, component, "power",
                          "finite and non-negative", power);
    detail::check_rate(component, "end_lr", end_lr);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    const double p =
        static_cast<double>(std::min(step, total_iters)) / static_cast<double>(total_iters);
    return (base_lr - end_lr) * std::pow(1.0 - p, power) + end_lr;
  }

  static constexpr const char* component = "pare::sched::polynomial_decay";
};
static_assert(schedule<polynomial_decay>);

}  // namespace pare::sched
