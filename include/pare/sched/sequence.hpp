#pragma once
/// \file
/// `pare::sched::sequence`: schedules one after another (PyTorch's SequentialLR).

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pare/sched/any_schedule.hpp"
#include "pare/sched/detail/checks.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::sched {

/// Runs schedule 0 until milestone 0, then schedule 1 counting its own steps from 0 again, and so
/// on (PyTorch `SequentialLR`, Optax `join_schedules`):
///
///     q(t) = s_0(t)             for t < m_0
///     q(t) = s_i(t − m_(i−1))   for m_(i−1) ≤ t < m_i
///
///     pare::sched::sequence q({pare::sched::linear{.base_lr = 0.1, .start_factor = 0.1,
///                                                  .total_iters = 5},
///                              pare::sched::cosine_annealing{.base_lr = 0.1, .t_max = 95}},
///                             {5});
///
/// Any mix of schedules and lambdas (each becomes an `any_schedule`). There is one milestone fewer
/// than schedules; milestones are non-negative and non-decreasing (a repeated milestone skips
/// the schedule between, as PyTorch's bisection does). With milestone 0 the first schedule is
/// never used — PyTorch 1.13 instead lets it leak into step 0 and does not restart the next
/// one's count, a bug this does not reproduce.
class sequence {
 public:
  sequence(std::vector<any_schedule> schedules, std::vector<std::int64_t> milestones)
      : schedules_(std::move(schedules)), milestones_(std::move(milestones)) {
    pare::detail::require(!schedules_.empty(), component, "schedules", "non-empty",
                          schedules_.size());
    if (milestones_.size() + 1 != schedules_.size()) {
      pare::detail::fail_value(component, "milestones",
                               "one fewer than schedules (" +
                                   std::to_string(schedules_.size() - 1) + " milestones)",
                               milestones_.size());
    }
    detail::check_non_negative(component, "milestones", milestones_);
    detail::check_sorted(component, "milestones", milestones_);
    // Each piece starts at its own step 0: evaluating it there validates a pare schedule now.
    for (const auto& s : schedules_) (void)s(0);
  }

  /// The rate at `step` ≥ 0 (a negative step is a `pare::error`).
  [[nodiscard]] double operator()(std::int64_t step) const {
    detail::check_step(component, step);
    const auto i = static_cast<std::size_t>(
        std::upper_bound(milestones_.begin(), milestones_.end(), step) - milestones_.begin());
    return i == 0 ? schedules_[0](step) : schedules_[i](step - milestones_[i - 1]);
  }

  [[nodiscard]] const std::vector<std::int64_t>& milestones() const noexcept {
    return milestones_;
  }
  [[nodiscard]] std::size_t size() const noexcept { return schedules_.size(); }

  static constexpr const char* component = "pare::sched::sequence";

 private:
  std::vector<any_schedule> schedules_;
  std::vector<std::int64_t> milestones_;
};
static_assert(schedule<sequence>);

}  // namespace pare::sched
