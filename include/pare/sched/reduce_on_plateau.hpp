#pragma once
/// \file
/// `pare::sched::reduce_on_plateau`: PyTorch's ReduceLROnPlateau.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "pare/sched/detail/checks.hpp"

namespace pare::sched {

/// Whether a smaller (`min`, a loss) or a larger (`max`, an accuracy) metric is better.
enum class mode { min, max };

/// Whether `threshold` is relative to the best metric (`rel`) or absolute (`abs`).
enum class threshold_mode { rel, abs };

/// Options of `reduce_on_plateau`, PyTorch's names, order and defaults (plus base_lr, the rate
/// it starts from, which PyTorch reads from the optimizer).
struct reduce_on_plateau_options {
  double base_lr = std::numeric_limits<double>::quiet_NaN();
  ::pare::sched::mode mode = ::pare::sched::mode::min;
  double factor = 0.1;
  std::int64_t patience = 10;
  double threshold = 1e-4;
  ::pare::sched::threshold_mode threshold_mode = ::pare::sched::threshold_mode::rel;
  std::int64_t cooldown = 0;
  double min_lr = 0;
  double eps = 1e-8;
};

/// Reduce the rate when a metric stops improving (PyTorch `ReduceLROnPlateau`, exactly): feed it
/// the epoch's metric, it answers the rate to use next.
///
///     pare::sched::reduce_on_plateau plateau({.base_lr = 0.1, .patience = 5});
///     for (int epoch = 0; epoch < epochs; ++epoch) {
///       train_one_epoch(opt);
///       opt.set_lr(plateau.observe(validation_loss()));
///     }
///
/// A metric improves on the best so far when (threshold θ)
///
///     min, rel: metric < best·(1 − θ)      min, abs: metric < best − θ
///     max, rel: metric > best·(1 + θ)      max, abs: metric > best + θ
///
/// (best starts at +∞ for min, −∞ for max, so the first finite metric improves). Otherwise the
/// count of bad epochs grows; during a cooldown it is reset to 0 while the cooldown counts down.
/// When the count exceeds `patience` — on the (patience+1)-th bad epoch in a row — the rate
/// becomes max(lr·factor, min_lr) if that lowers it by more than eps, the count restarts and a
/// cooldown of `cooldown` epochs begins. A NaN metric is never better (a bad epoch), as in
/// PyTorch. This is stateful, not a `schedule`: the rate depends on the metrics seen.
class reduce_on_plateau {
 public:
  /// Throws `pare::error` unless base_lr, min_lr, eps and threshold are finite and ≥ 0, factor is
  /// in [0, 1), patience and cooldown are ≥ 0 and the enums hold one of their values.
  explicit reduce_on_plateau(const reduce_on_plateau_options& o) : options_(o), lr_(o.base_lr) {
    detail::check_rate(component, "base_lr", o.base_lr);
    pare::detail::require(o.mode == mode::min || o.mode == mode::max, component, "mode",
                          "mode::min or mode::max", static_cast<int>(o.mode));
    pare::detail::require(o.factor >= 0 && o.factor < 1, component, "factor", "in [0, 1)",
                          o.factor);
    pare::detail::require(o.patience >= 0, component, "patience", "non-negative", o.patience);
    pare::detail::require(std::isfinite(o.threshold) && o.threshold >= 0, component,
                          "threshold", "finite and non-negative", o.threshold);
    pare::detail::require(
        o.threshold_mode == threshold_mode::rel || o.threshold_mode == threshold_mode::abs,
        component, "threshold_mode", "threshold_mode::rel or threshold_mode::abs",
        static_cast<int>(o.threshold_mode));
    pare::detail::require(o.cooldown >= 0, component, "cooldown", "non-negative", o.cooldown);
    detail::check_rate(component, "min_lr", o.min_lr);
    detail::check_rate(component, "eps", o.eps);
    best_ = worst();
  }

  /// Records one epoch's metric and returns the rate to use from now on.
  double observe(double metric) {
    if (is_better(metric)) {
      best_ = metric;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
    if (cooldown_left_ > 0) {
      --cooldown_left_;
      bad_epochs_ = 0;  // bad epochs during a cooldown do not count
    }
    if (bad_epochs_ > options_.patience) {
      const double reduced = std::max(lr_ * options_.factor, options_.min_lr);
      if (lr_ - reduced > options_.eps) lr_ = reduced;
      cooldown_left_ = options_.cooldown;
      bad_epochs_ = 0;
    }
    return lr_;
  }

  /// The current rate (base_lr until the first reduction).
  [[nodiscard]] double lr() const noexcept { return lr_; }
  /// The best metric seen (±∞ before the first finite one).
  [[nodiscard]] double best() const noexcept { return best_; }
  /// Consecutive epochs without improvement since the last improvement, reduction or cooldown.
  [[nodiscard]] std::int64_t bad_epochs() const noexcept { return bad_epochs_; }
  /// Epochs of cooldown still to run.
  [[nodiscard]] std::int64_t cooldown_left() const noexcept { return cooldown_left_; }
  [[nodiscard]] const reduce_on_plateau_options& options() const noexcept { return options_; }

  /// Forgets the metrics seen (best, bad epochs, cooldown) but keeps the current rate, like
  /// PyTorch's `_reset()`.
  void reset() noexcept {
    best_ = worst();
    bad_epochs_ = 0;
    cooldown_left_ = 0;
  }

  static constexpr const char* component = "pare::sched::reduce_on_plateau";

 private:
  [[nodiscard]] double worst() const noexcept {
    return options_.mode == mode::min ? std::numeric_limits<double>::infinity()
                                      : -std::numeric_limits<double>::infinity();
  }
  // PyTorch's comparisons, operation for operation (its rel_epsilon is computed first).
  [[nodiscard]] bool is_better(double a) const noexcept {
    const double th = options_.threshold;
    if (options_.mode == mode::min) {
      return options_.threshold_mode == threshold_mode::rel ? a < best_ * (1.0 - th)
                                                            : a < best_ - th;
    }
    return options_.threshold_mode == threshold_mode::rel ? a > best_ * (th + 1.0)
                                                          : a > best_ + th;
  }

  reduce_on_plateau_options options_;
  double lr_;
  double best_ = 0;
  std::int64_t bad_epochs_ = 0;
  std::int64_t cooldown_left_ = 0;
};

}  // namespace pare::sched
