#pragma once
/// \file
/// The `schedule` concept: what pare accepts wherever a learning rate (or any per-step value)
/// may vary with the step.

#include <concepts>
#include <cstdint>

namespace pare::sched {

/// A schedule maps a step count to a value: `s(t)` with `t` a `std::int64_t` counted from 0
/// (s(0) is the value before the first update) returns something convertible to `double`.
///
/// Requirements: `S` is copy-constructible, and `s(t)` compiles on a `const S&` for a
/// `std::int64_t t` and converts to `double`. Expected, not checkable: the value depends on `t`
/// only (calling it twice gives the same answer), and a bad configuration or a negative step is
/// reported by throwing `pare::error`, as every pare schedule does.
///
/// Every `pare::sched` policy models it (`constant`, `step_decay`, `multistep_decay`,
/// `exponential_decay`, `piecewise_constant`, `cosine_annealing`, `cosine_warm_restarts`,
/// `linear`, `polynomial_decay`, `one_cycle`, `warmup<S>`, `sequence`, `any_schedule`), and so
/// does a user's lambda:
///
///     auto warm = [](std::int64_t t) { return 1e-3 * std::min(1.0, (t + 1) / 100.0); };
///     static_assert(pare::sched::schedule<decltype(warm)>);
///
/// `reduce_on_plateau` is not a schedule: its rate depends on the metrics it has seen.
template <class S>
concept schedule = std::copy_constructible<S> && requires(const S& s, std::int64_t t) {
  { s(t) } -> std::convertible_to<double>;
};

}  // namespace pare::sched
