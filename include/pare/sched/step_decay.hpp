#pragma once
/// \file
/// `pare::sched::step_decay`: PyTorch's StepLR.

#include <cmath>
#include <cstdint>
#include <limits>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Step decay (PyTorch `StepLR`): the rate drops by `gamma` every `step_size` steps, and the
/// drops accumulate,
///
///     s(t) = base_lr · gamma^⌊t / step_size⌋
///
///     pare::sched::step_decay{.base_lr = 0.1, .step_size = 30}   // 0.1 until 29, 0.01 from 30…
///
/// The classic recipe of Krizhevsky, Sutskever & Hinton (2012) and He et al. (2016), who divided
/// the rate by 10 on plateaus at fixed epochs. base_lr and step_size have no default: left unset
/// they are rejected with a `pare::error`.
struct step_decay {
  double base_lr = std::numeric_limits<double>::quiet_NaN();
  std::int64_t step_size = 0;
  double gamma = 0.1;

  /// Throws `pare::error` unless base_lr and gamma are finite and ≥ 0 and step_size ≥ 1.
  void validate() const {
    detail::check_rate(component, "base_lr", base_lr);
    detail::check_positive(component, "step_size", step_size);
    detail::check_rate(component, "gamma", gamma);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    return base_lr * std::pow(gamma, static_cast<double>(step / step_size));
  }

  static constexpr const char* component = "pare::sched::step_decay";
};
static_assert(schedule<step_decay>);

}  // namespace pare::sched
