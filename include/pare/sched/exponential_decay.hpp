#pragma once
/// \file
/// `pare::sched::exponential_decay`: PyTorch's ExponentialLR and Keras' ExponentialDecay.

#include <cmath>
#include <cstdint>
#include <limits>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Exponential decay: the rate shrinks by `gamma` every `decay_steps` steps, smoothly or (with
/// `staircase`) in jumps,
///
///     s(t) = base_lr · gamma^(t / decay_steps)        (⌊t / decay_steps⌋ when staircase)
///
///     pare::sched::exponential_decay{.base_lr = 0.1, .gamma = 0.95}   // PyTorch ExponentialLR
///     pare::sched::exponential_decay{.base_lr = 0.1, .gamma = 0.96,   // Keras ExponentialDecay
///                                    .decay_steps = 1000, .staircase = true}
///
/// With the default decay_steps = 1 this is PyTorch's `ExponentialLR(gamma)`; Keras'
/// `ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase)` is the same
/// formula with gamma = decay_rate. base_lr and gamma have no default.
struct exponential_decay {
  double base_lr = std::numeric_limits<double>::quiet_NaN();
  double gamma = std::numeric_limits<double>::quiet_NaN();
  std::int64_t decay_steps = 1;
  bool staircase = false;

  /// Throws `pare::error` unless base_lr and gamma are finite and ≥ 0 and decay_steps ≥ 1.
  void validate() const {
    detail::check_rate(component, "base_lr", base_lr);
    detail::check_rate(component, "gamma", gamma);
    detail::check_positive(component, "decay_steps", decay_steps);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    // Integer division is the exact floor for the staircase (a float quotient can round up).
    const double p = staircase ? static_cast<double>(step / decay_steps)
                               : static_cast<double>(step) / static_cast<double>(decay_steps);
    return base_lr * std::pow(gamma, p);
  }

  static constexpr const char* component = "pare::sched::exponential_decay";
};
static_assert(schedule<exponential_decay>);

}  // namespace pare::sched
