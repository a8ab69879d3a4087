#pragma once
/// \file
/// `pare::sched::constant`: the same learning rate at every step.

#include <cstdint>
#include <limits>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// A constant learning rate, s(t) = lr: the neutral piece of a `sequence` and the schedule to
/// wrap in `warmup` for "warm up, then hold".
///
///     pare::sched::constant{.lr = 0.1}(1000) == 0.1
///
/// Fields left unset are NaN and rejected with a `pare::error` naming them.
struct constant {
  double lr = std::numeric_limits<double>::quiet_NaN();

  /// Throws `pare::error` unless lr is finite and ≥ 0.
  void validate() const { detail::check_rate(component, "lr", lr); }

  /// lr, for any step ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    return lr;
  }

  static constexpr const char* component = "pare::sched::constant";
};
static_assert(schedule<constant>);

}  // namespace pare::sched
