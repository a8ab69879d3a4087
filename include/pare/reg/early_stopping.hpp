#pragma once
/// \file
/// `pare::reg::early_stopping`: stop training when a monitored metric stops improving, with
/// Keras 3's `EarlyStopping` semantics, and optionally restore the best weights.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::reg {

/// Direction of improvement of a monitored metric: `min` for losses, `max` for accuracies.
enum class mode { min, max };

/// Options of `early_stopping`, Keras' arguments in Keras' order (monitor and verbose have no
/// meaning here; `restore_best` is `restore_best_weights`).
struct early_stopping_options {
  /// min: lower is better; max: higher is better.
  reg::mode mode = reg::mode::min;
  /// An improvement must beat the best by more than |min_delta|.
  double min_delta = 0;
  /// Epochs without improvement tolerated before stopping (≥ 0).
  std::int64_t patience = 0;
  /// If set, `wait` is reset only by epochs that also beat the baseline.
  std::optional<double> baseline = std::nullopt;
  /// Snapshot the tracked views at the best epoch so `restore()` can bring them back.
  bool restore_best = false;
  /// Observations with an epoch index below this are ignored (a warm-up; ≥ 0).
  std::int64_t start_from_epoch = 0;
};

/// Early stopping (Prechelt 1998, "Early Stopping — But When?"), a line-by-line restatement
/// of Keras 3's `EarlyStopping` callback. Call `observe(metric)` once per epoch (epochs count
/// from 0); it returns true when training should stop:
///
///     ignored while epoch < start_from_epoch
///     on the first monitored epoch with restore_best and no snapshot yet: snapshot
///     wait += 1
///     improved = metric − |min_delta| > best (max) / metric + |min_delta| < best (min),
///                best starting at ∓∞
///     improved → best = metric, best_epoch = epoch, snapshot (restore_best);
///                wait = 0 only if there is no baseline or metric also improves on it
///     otherwise → stop if wait ≥ patience and epoch > 0
///
///     pare::reg::early_stopping stop({.mode = pare::reg::mode::min, .patience = 3,
///                                     .restore_best = true});
///     stop.track(w1); stop.track(b1);       // snapshot buffers are allocated here
///     for (int epoch = 0; ; ++epoch) { train(); if (stop.observe(val_loss())) break; }
///     stop.restore();                        // best weights back into w1, b1
///
/// A NaN metric is never an improvement (every comparison with NaN is false, as in Keras), so
/// it counts towards patience; so does +∞ in min mode. Keras 3 restores in `on_train_end`
/// whenever restore_best_weights is set, stopped or not; here `restore()` does the same when
/// you call it at the end of training. With restore_best = false, `track` keeps nothing and
/// `restore()` returns false. `reset()` starts a new run (unlike Keras, it also forgets the
/// best value). Views registered with `track` must outlive this object.
///
/// Throws `pare::error` for patience < 0, start_from_epoch < 0, a NaN or infinite min_delta,
/// a NaN baseline, or `track` after the first `observe` (until `reset`).
class early_stopping {
 public:
  using options_type = early_stopping_options;
  static constexpr std::string_view component = "pare::reg::early_stopping";

  explicit early_stopping(early_stopping_options o = {}) : opt_(o) {
    using pare::detail::require;
    require(o.patience >= 0, component, "patience", ">= 0", o.patience);
    require(o.start_from_epoch >= 0, component, "start_from_epoch", ">= 0", o.start_from_epoch);
    require(std::isfinite(o.min_delta), component, "min_delta", "finite", o.min_delta);
    if (o.baseline)
      require(!std::isnan(*o.baseline), component, "baseline", "a number or std::nullopt",
              *o.baseline);
    opt_.min_delta = std::abs(o.min_delta);
    reset();
  }

  /// Registers weights whose values at the best epoch `restore()` brings back. The snapshot
  /// buffer is allocated now; later snapshots only copy.
  void track(tensor_view<float> w) { add(floats_, w); }
  void track(tensor_view<double> w) { add(doubles_, w); }

  /// Feeds this epoch's metric; returns true when training should stop.
  bool observe(double metric) {
    const std::int64_t epoch = epoch_++;
    if (epoch < opt_.start_from_epoch) return false;
    if (opt_.restore_best && !has_snapshot_) snapshot(epoch);
    ++wait_;
    if (improves(metric, best_)) {
      best_ = metric;
      best_epoch_ = epoch;
      if (opt_.restore_best) snapshot(epoch);
      if (!opt_.baseline || improves(metric, *opt_.baseline)) wait_ = 0;
      return false;
    }
    if (wait_ >= opt_.patience && epoch > 0) {
      if (!stopped_) stopped_epoch_ = epoch;
      stopped_ = true;
      return true;
    }
    return false;
  }

  /// Copies the best snapshot back into the tracked views; false (and no change) when there is
  /// nothing to restore (restore_best off, or no monitored epoch yet).
  bool restore() {
    if (!opt_.restore_best || !has_snapshot_) return false;
    for (auto& e : floats_) copy(e.snapshot.data(), e.view.data(), e.view.size());
    for (auto& e : doubles_) copy(e.snapshot.data(), e.view.data(), e.view.size());
    return true;
  }

  /// Starts a new run: counters, best value and snapshot state as after construction; tracked
  /// views stay registered.
  void reset() noexcept {
    wait_ = 0;
    epoch_ = 0;
    best_epoch_ = -1;
    snapshot_epoch_ = -1;
    stopped_epoch_ = -1;
    stopped_ = false;
    has_snapshot_ = false;
    best_ = opt_.mode == reg::mode::min ? std::numeric_limits<double>::infinity()
                                        : -std::numeric_limits<double>::infinity();
  }

  /// Epochs since the last improvement that reset the count (Keras' `wait`).
  [[nodiscard]] std::int64_t wait() const noexcept { return wait_; }
  /// The best metric so far (+∞ in min mode, −∞ in max mode before any improvement).
  [[nodiscard]] double best() const noexcept { return best_; }
  /// Epoch of the best metric, −1 before any improvement.
  [[nodiscard]] std::int64_t best_epoch() const noexcept { return best_epoch_; }
  /// Epoch whose weights the snapshot holds, −1 when there is none.
  [[nodiscard]] std::int64_t snapshot_epoch() const noexcept { return snapshot_epoch_; }
  /// Number of `observe` calls so far (the next epoch's index).
  [[nodiscard]] std::int64_t epochs() const noexcept { return epoch_; }
  /// Whether some `observe` has returned true, and the first epoch that did (−1 if none).
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }
  [[nodiscard]] std::int64_t stopped_epoch() const noexcept { return stopped_epoch_; }
  [[nodiscard]] const early_stopping_options& options() const noexcept { return opt_; }

 private:
  template <class T>
  struct entry {
    tensor_view<T> view;
    std::vector<T> snapshot;
  };

  template <class T>
  void add(std::vector<entry<T>>& list, tensor_view<T> w) {
    if (epoch_ != 0)
      pare::detail::fail(component, "track must be called before the first observe (or after reset)");
    entry<T> e{w, {}};
    if (opt_.restore_best) e.snapshot.resize(static_cast<std::size_t>(w.size()));
    list.push_back(std::move(e));
  }

  template <class T>
  static void copy(const T* from, T* to, std::int64_t n) {
    if (n > 0) std::memcpy(to, from, static_cast<std::size_t>(n) * sizeof(T));
  }

  void snapshot(std::int64_t epoch) {
    for (auto& e : floats_) copy(e.view.data(), e.snapshot.data(), e.view.size());
    for (auto& e : doubles_) copy(e.view.data(), e.snapshot.data(), e.view.size());
    has_snapshot_ = true;
    snapshot_epoch_ = epoch;
  }

  [[nodiscard]] bool improves(double metric, double reference) const noexcept {
    return opt_.mode == reg::mode::min ? metric + opt_.min_delta < reference
                                       : metric - opt_.min_delta > reference;
  }

  early_stopping_options opt_;
  std::vector<entry<float>> floats_;
  std::vector<entry<double>> doubles_;
  std::int64_t wait_ = 0, epoch_ = 0, best_epoch_ = -1, snapshot_epoch_ = -1, stopped_epoch_ = -1;
  bool stopped_ = false, has_snapshot_ = false;
  double best_ = 0;
};

}  // namespace pare::reg
