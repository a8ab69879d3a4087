#pragma once
/// \file
/// `pare::sched::piecewise_constant`: Keras' PiecewiseConstantDecay.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Piecewise-constant rate with Keras' `PiecewiseConstantDecay` boundary rule: a boundary step
/// still belongs to the piece before it,
///
///     s(t) = values[0]   for t ≤ boundaries[0]
///            values[i]   for boundaries[i−1] < t ≤ boundaries[i]
///            values[n]   for t > boundaries[n−1]
///
///     pare::sched::piecewise_constant{.boundaries = {100, 200}, .values = {1.0, 0.5, 0.1}}
///     // 1.0 for steps 0…100, 0.5 for 101…200, 0.1 from 201
///
/// (PyTorch's MultiStepLR and Optax switch *at* the boundary instead; use `multistep_decay` for
/// that.) `values` has one more entry than `boundaries`; boundaries are non-decreasing (a repeated
/// boundary leaves its piece empty, as in Keras); values are finite and ≥ 0.
struct piecewise_constant {
  std::vector<std::int64_t> boundaries = {};
  std::vector<double> values = {};

  /// Throws `pare::error` for a length mismatch, unsorted boundaries or a bad value.
  void validate() const {
    if (values.size() != boundaries.size() + 1) {
      pare::detail::fail_value(component, "values",
                               "one longer than boundaries (" +
                                   std::to_string(boundaries.size() + 1) + " values)",
                               values.size());
    }
    detail::check_sorted(component, "boundaries", boundaries);
    for (double v : values) detail::check_rate(component, "values", v);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    validate();
    detail::check_step(component, step);
    const auto piece = std::lower_bound(boundaries.begin(), boundaries.end(), step) -
                       boundaries.begin();
    return values[static_cast<std::size_t>(piece)];
  }

  static constexpr const char* component = "pare::sched::piecewise_constant";
};
static_assert(schedule<piecewise_constant>);

}  // namespace pare::sched
