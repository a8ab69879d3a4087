#pragma once
/// \file
/// `pare::sched::warmup`: a linear warm-up in front of any schedule.

#include <cstdint>
#include <utility>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Options of `warmup`: how many steps the warm-up lasts and the fraction of s(0) it starts at.
struct warmup_options {
  std::int64_t steps = 0;
  double start_factor = 0;
};

/// Linear warm-up (Goyal et al. 2017, "Accurate, large minibatch SGD") in front of a schedule
/// `s`, which then runs with its own count starting at 0:
///
///     w(t) = s(0) · (start_factor + (1 − start_factor) · t / steps)   for t < steps
///     w(t) = s(t − steps)                                              for t ≥ steps
///
///     pare::sched::warmup cos(pare::sched::cosine_annealing{.base_lr = 0.1, .t_max = 1000},
///                             {.steps = 100});     // 0 → 0.1 in 100 steps, then cosine
///
/// It is PyTorch's `SequentialLR([LinearLR(start_factor, 1, steps), s], milestones=[steps])`,
/// except that start_factor may be 0 here. `s` is any `schedule` (a pare schedule, a lambda,
/// another composition); it is called at 0 when the warmup is made, so a bad inner schedule
/// fails there. steps = 0 means no warm-up. Requires steps ≥ 0 and start_factor in [0, 1].
template <schedule S>
class warmup {
 public:
  warmup(S s, warmup_options options) : s_(std::move(s)), options_(options) {
    pare::detail::require(options_.steps >= 0, component, "steps", "non-negative",
                          options_.steps);
    detail::check_in(component, "start_factor", options_.start_factor, 0, 1, "in [0, 1]");
    (void)static_cast<double>(s_(0));  // validates a pare schedule now rather than at step 0
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    detail::check_step(component, step);
    if (step < options_.steps) {
      const double f = options_.start_factor;
      return static_cast<double>(s_(0)) *
             (f + (1 - f) * static_cast<double>(step) / static_cast<double>(options_.steps));
    }
    return static_cast<double>(s_(step - options_.steps));
  }

  /// The wrapped schedule and the options.
  [[nodiscard]] const S& inner() const noexcept { return s_; }
  [[nodiscard]] const warmup_options& options() const noexcept { return options_; }

  static constexpr const char* component = "pare::sched::warmup";

 private:
  S s_;
  warmup_options options_;
};

template <class S>
warmup(S, warmup_options) -> warmup<S>;

}  // namespace pare::sched
