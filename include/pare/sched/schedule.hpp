#pragma once
/// \file
/// The `schedule` concept: what pare accepts wherever a learning rate (or any per-step value)
/// may vary with the step.

#include <concepts>
#include <cstdint>

namespace pare::sched {

/// A schedule maps a step count to a value: `s(t)` with `t` a `std::int64_t` counted from 0
/// (s(0) is the value before the first update) returns something convertible to `double`.
/// Every `pare::sched` policy models it, and so does a user's lambda:
///
///     auto warm = [](std::int64_t t) { return 1e-3 * std::min(1.0, (t + 1) / 100.0); };
///     static_assert(pare::sched::schedule<decltype(warm)>);
template <class S>
concept schedule = std::copy_constructible<S> && requires(const S& s, std::int64_t t) {
  { s(t) } -> std::convertible_to<double>;
};

}  // namespace pare::sched
