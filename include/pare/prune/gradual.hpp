#pragma once
/// \file
/// `pare::prune::gradual`: the training-loop driver of gradual pruning. Called once per
/// training step, it feeds the criterion's accumulators, recomputes the masks when the sparsity
/// schedule says so, and keeps masked weights at zero in between (Zhu & Gupta 2017; TF-MOT's
/// `UpdatePruningStep` callback and pruning wrapper).
///
///     pare::prune::pruner<float> p;  p.add(w1); p.add(w2);
///     pare::prune::gradual g(p, pare::prune::polynomial_decay{
///         .initial_sparsity = 0.0, .final_sparsity = 0.8, .begin_step = 0, .end_step = 2000});
///     for (…each batch…) { forward(); backward(); opt.step(); g.step(); }

#include <concepts>
#include <cstdint>
#include <string_view>

#include "pare/core/error.hpp"
#include "pare/prune/pruner.hpp"
#include "pare/prune/schedule.hpp"

namespace pare::prune {

/// Options of `gradual`.
struct gradual_options {
  /// Re-zero masked weights at every step (`pruner::apply()`), for training loops whose
  /// optimizer does not apply the mask itself. Turn off when the optimizer has a mask transform.
  bool apply_every_step = true;
};

/// What `gradual` drives: a `pruner` (accumulate, prune_to, apply).
template <class P>
concept gradual_prunable = requires(P& p, double s) {
  p.accumulate();
  p.prune_to(s);
  p.apply();
};

/// Drives a pruner through a sparsity schedule, one call per training step.
///
/// `step()` handles the current step t (0 at construction, then 1, 2, …): it calls
/// `pruner.accumulate()` (movement and estimated-Hessian scores need the gradients of every
/// step), then, if `schedule.should_update(t)`, `pruner.prune_to(schedule(t))`; otherwise, with
/// `apply_every_step`, `pruner.apply()`. Call it after the gradients of step t are computed —
/// before or after the optimizer's update (after it, the re-zeroing also undoes the update of
/// masked weights). For `n_of_m` structures the schedule decides when masks are recomputed and
/// the sparsity is always 1 − N/M (as TF-MOT's `sparsity_m_by_n` ignores the schedule's
/// sparsity). The pruner must outlive the driver.
template <gradual_prunable Pruner, sparsity_schedule Schedule>
class gradual {
 public:
  /// Validates the schedule (`pare::error` for bad options).
  gradual(Pruner& pruner, Schedule schedule, gradual_options options = {})
      : pruner_(&pruner), schedule_(std::move(schedule)), options_(options) {
    schedule_.validate();
  }

  /// One training step; returns true when the masks were recomputed at this step.
  bool step() {
    const std::int64_t t = step_++;
    pruner_->accumulate();
    if (schedule_.should_update(t)) {
      pruner_->prune_to(sparsity_at(t));
      return true;
    }
    if (options_.apply_every_step) pruner_->apply();
    return false;
  }

  /// The step the next `step()` call handles.
  [[nodiscard]] std::int64_t current_step() const noexcept { return step_; }
  /// Sets the step the next `step()` call handles (resuming a run); throws for t < 0.
  void set_step(std::int64_t t) {
    pare::detail::require(t >= 0, "pare::prune::gradual", "step", "at least 0", t);
    step_ = t;
  }
  [[nodiscard]] const Schedule& schedule() const noexcept { return schedule_; }

 private:
  [[nodiscard]] double sparsity_at(std::int64_t t) const {
    if constexpr (requires { Pruner::structure_type::kind; }) {
      using S = typename Pruner::structure_type;
      if constexpr (S::kind == structure_kind::n_of_m)
        return 1.0 - static_cast<double>(S::n) / S::m;
    }
    return schedule_(t);
  }

  Pruner* pruner_;
  Schedule schedule_;
  gradual_options options_;
  std::int64_t step_ = 0;
};

}  // namespace pare::prune
