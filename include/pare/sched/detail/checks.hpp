#pragma once
/// \file
/// Validation shared by the schedules. Schedules are aggregates (no constructor to validate in),
/// so each one checks its fields in `validate()`, which `operator()` calls on every evaluation:
/// a handful of comparisons, nothing next to the optimizer step a schedule drives.

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "pare/core/error.hpp"

namespace pare::sched::detail {

/// Steps count from 0; a negative step is a caller's bug, not a point on the curve.
inline void check_step(std::string_view component, std::int64_t step) {
  pare::detail::require(step >= 0, component, "step", "non-negative", step);
}

/// A learning rate (or a floor on one): finite and ≥ 0.
inline void check_rate(std::string_view component, std::string_view field, double v) {
  pare::detail::require(std::isfinite(v) && v >= 0, component, field, "finite and non-negative",
                        v);
}

/// A count of steps that divides something (step_size, t_max, total_iters…): ≥ 1.
inline void check_positive(std::string_view component, std::string_view field, std::int64_t v) {
  pare::detail::require(v >= 1, component, field, "at least 1", v);
}

/// A factor in the closed interval [lo, hi].
inline void check_in(std::string_view component, std::string_view field, double v, double lo,
                     double hi, std::string_view expected) {
  pare::detail::require(v >= lo && v <= hi, component, field, expected, v);
}

/// Milestones or boundaries: non-decreasing (repeats allowed: PyTorch's MultiStepLR counts them,
/// Keras' boundaries skip the empty piece). Reports the first value that breaks the order.
inline void check_sorted(std::string_view component, std::string_view field,
                         std::span<const std::int64_t> v) {
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] < v[i - 1]) {
      pare::detail::fail_value(component, field, "sorted in non-decreasing order",
                               pare::detail::to_text(v));
    }
  }
}

/// Milestones are steps: none may be negative.
inline void check_non_negative(std::string_view component, std::string_view field,
                               std::span<const std::int64_t> v) {
  for (std::int64_t m : v) {
    if (m < 0) pare::detail::fail_value(component, field, "non-negative steps", pare::detail::to_text(v));
  }
}

}  // namespace pare::sched::detail
