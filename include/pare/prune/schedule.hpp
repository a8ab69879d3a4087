#pragma once
/// \file
/// Sparsity schedules for gradual pruning: the target sparsity at each training step, and
/// whether masks are recomputed at that step — TF-MOT's `ConstantSparsity` and
/// `PolynomialDecay`.
///
///     pare::prune::polynomial_decay s{.initial_sparsity = 0.0, .final_sparsity = 0.9,
///                                     .begin_step = 1000, .end_step = 10000};
///     if (s.should_update(step)) p.prune_to(s(step));
///
/// Steps count from 0 (a negative step is a `pare::error`). A sparsity schedule is a `pare::sched::schedule` (a callable
/// step → value), so anything that composes schedules accepts it.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string_view>

#include "pare/core/error.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::prune {

/// A sparsity schedule: `s(step)` is the target sparsity at a step and `s.should_update(step)`
/// says whether masks are recomputed at that step; `s.validate()` throws `pare::error` for bad
/// options.
template <class S>
concept sparsity_schedule = sched::schedule<S> && requires(const S& s, std::int64_t t) {
  { s.should_update(t) } -> std::same_as<bool>;
  s.validate();
};

namespace detail {

/// TF-MOT's `PruningSchedule._should_prune_in_step`: begin ≤ step, step ≤ end (unless end is
/// −1: no end) and (step − begin) a multiple of frequency.
[[nodiscard]] constexpr bool should_prune_in_step(std::int64_t step, std::int64_t begin,
                                                  std::int64_t end,
                                                  std::int64_t frequency) noexcept {
  return begin <= step && (end == -1 || step <= end) && (step - begin) % frequency == 0;
}

/// TF-MOT's `_validate_step` and `_validate_sparsity`.
inline void validate_steps(std::string_view c, std::int64_t begin, std::int64_t end,
                           std::int64_t frequency, bool allow_no_end) {
  pare::detail::require(begin >= 0, c, "begin_step", "at least 0", begin);
  if (end == -1) {
    if (!allow_no_end)
      pare::detail::fail_value(c, "end_step", "at least begin_step (" +
                                                  pare::detail::to_text(begin) + "), not -1",
                               end);
  } else {
    pare::detail::require(end >= begin, c, "end_step",
                          "-1 or at least begin_step (" + pare::detail::to_text(begin) + ")",
                          end);
  }
  pare::detail::require(frequency > 0, c, "frequency", "at least 1", frequency);
}
inline void validate_sparsity(std::string_view c, std::string_view name, double s) {
  pare::detail::require(s >= 0.0 && s < 1.0, c, name, "in [0, 1)", s);
}
/// Steps count from 0; a negative one is a caller's bug (as for every pare schedule).
inline void validate_step(std::string_view c, std::int64_t step) {
  pare::detail::require(step >= 0, c, "step", "at least 0", step);
}

}  // namespace detail

/// The same sparsity at every step; masks recomputed every `frequency` steps from `begin_step`
/// to `end_step` (−1: no end). TF-MOT `ConstantSparsity(target_sparsity, begin_step,
/// end_step=-1, frequency=100)`.
struct constant_sparsity {
  double target = 0.0;
  std::int64_t begin_step = 0;
  std::int64_t end_step = -1;
  std::int64_t frequency = 100;

  /// The target sparsity, whatever the step.
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::validate_step("pare::prune::constant_sparsity", step);
    return target;
  }
  [[nodiscard]] bool should_update(std::int64_t step) const {
    validate();
    detail::validate_step("pare::prune::constant_sparsity", step);
    return detail::should_prune_in_step(step, begin_step, end_step, frequency);
  }
  /// target in [0, 1), begin_step ≥ 0, end_step −1 or ≥ begin_step, frequency ≥ 1.
  void validate() const {
    constexpr std::string_view c = "pare::prune::constant_sparsity";
    detail::validate_sparsity(c, "target", target);
    detail::validate_steps(c, begin_step, end_step, frequency, true);
  }
};

/// Sparsity rising from `initial_sparsity` at `begin_step` to `final_sparsity` at `end_step`
/// along a polynomial (Zhu & Gupta 2017, "To prune, or not to prune"):
///
///     p = clip((step − begin_step) / (end_step − begin_step), 0, 1)
///     s = final + (initial − final)·(1 − p)^power
///
/// masks recomputed every `frequency` steps from begin_step to end_step. TF-MOT
/// `PolynomialDecay(initial_sparsity, final_sparsity, begin_step, end_step, power=3,
/// frequency=100)` — note TF-MOT lists power before frequency; here the frequency comes first,
/// as in `constant_sparsity`. When end_step = begin_step, p is 1 from that step on. Computed in
/// double (TF-MOT computes in float32: values agree to ~1e-7).
struct polynomial_decay {
  double initial_sparsity = 0.0;
  double final_sparsity = 0.0;
  std::int64_t begin_step = 0;
  std::int64_t end_step = 0;
  std::int64_t frequency = 100;
  double power = 3.0;

  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::validate_step("pare::prune::polynomial_decay", step);
    const std::int64_t span = end_step - begin_step;
    const double p =
        span == 0 ? (step >= end_step ? 1.0 : 0.0)
                  : std::clamp(static_cast<double>(step - begin_step) / static_cast<double>(span),
                               0.0, 1.0);
    return final_sparsity + (initial_sparsity - final_sparsity) * std::pow(1.0 - p, power);
  }
  [[nodiscard]] bool should_update(std::int64_t step) const {
    validate();
    detail::validate_step("pare::prune::polynomial_decay", step);
    return detail::should_prune_in_step(step, begin_step, end_step, frequency);
  }
  /// Sparsities in [0, 1), begin_step ≥ 0, end_step ≥ begin_step (−1 is not allowed: the
  /// decay needs an end), frequency ≥ 1, power positive and finite.
  void validate() const {
    constexpr std::string_view c = "pare::prune::polynomial_decay";
    detail::validate_sparsity(c, "initial_sparsity", initial_sparsity);
    detail::validate_sparsity(c, "final_sparsity", final_sparsity);
    detail::validate_steps(c, begin_step, end_step, frequency, false);
    pare::detail::require(power > 0 && std::isfinite(power), c, "power", "positive and finite",
                          power);
  }
};

static_assert(sparsity_schedule<constant_sparsity>);
static_assert(sparsity_schedule<polynomial_decay>);

}  // namespace pare::prune
