#pragma once
/// \file
/// `pare::sched::any_schedule`: a type-erased schedule, for lists of different schedules.

#include <concepts>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>

#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Holds any `schedule` behind one type (a `std::function` inside: one allocation when it is
/// made, none per call). It is what `sequence` takes, so a braced list of different schedules
/// and lambdas converts implicitly:
///
///     std::vector<pare::sched::any_schedule> v{pare::sched::constant{.lr = 0.1},
///                                              [](std::int64_t t) { return 0.1 / (1 + t); }};
///
/// There is no empty state: an `any_schedule` is always made from a schedule.
class any_schedule {
 public:
  template <class S>
    requires(!std::same_as<std::remove_cvref_t<S>, any_schedule> && schedule<std::decay_t<S>>)
  any_schedule(S&& s)  // NOLINT(google-explicit-constructor): implicit on purpose, see above
      : f_([s = std::decay_t<S>(std::forward<S>(s))](std::int64_t t) {
          return static_cast<double>(s(t));
        }) {}

  /// The wrapped schedule's value at `step`.
  [[nodiscard]] double operator()(std::int64_t step) const { return f_(step); }

 private:
  std::function<double(std::int64_t)> f_;
};
static_assert(schedule<any_schedule>);

}  // namespace pare::sched
