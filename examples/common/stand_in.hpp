#pragma once
/// \file
/// Stand-ins for pare components that are being written in parallel: `sgd` for
/// `pare::optim::sgd`, `dropout` for `pare::reg::dropout` and `early_stopping` for
/// `pare::reg::early_stopping`, with the same spellings, options and semantics (DESIGN.md §3, §8)
/// so that switching an example to the real component is a change of type name. They are plain
/// and unfused: no chunking, no parameter groups beyond `weight_decay`, no save/load.
/// Delete this file when the real components land.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <pare/core/error.hpp>
#include <pare/core/rng.hpp>
#include <pare/core/tensor_view.hpp>

namespace pare_examples::stand_in {

/// Options of `sgd`, PyTorch's names, order and defaults.
struct sgd_options {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
};

/// Per-parameter overrides (the subset of pare::optim's parameter groups the examples use).
struct sgd_group {
  std::optional<double> weight_decay;
};

/// Stochastic gradient descent with momentum, exactly torch.optim.SGD:
/// d = g + λ·w;  b ← d (first step) or μ·b + (1 − τ)·d;  d ← d + μ·b (Nesterov) or b;  w ← w − η·d.
template <class T = float>
class sgd {
 public:
  explicit sgd(sgd_options o = {}) : o_(o) {
    constexpr auto c = "pare_examples::stand_in::sgd";
    pare::detail::require(o.lr >= 0, c, "lr", "≥ 0", o.lr);
    pare::detail::require(o.momentum >= 0, c, "momentum", "≥ 0", o.momentum);
    pare::detail::require(o.weight_decay >= 0, c, "weight_decay", "≥ 0", o.weight_decay);
    pare::detail::require(!o.nesterov || (o.momentum > 0 && o.dampening == 0), c, "nesterov",
                          "used with momentum > 0 and dampening 0", o.nesterov);
  }

  /// Registers a parameter and the buffer its gradient is written to (both must outlive this).
  void add(pare::tensor_view<T> param, pare::tensor_view<const T> grad, sgd_group g = {}) {
    pare::detail::require_same_shape("pare_examples::stand_in::sgd", "param", param, "grad", grad);
    params_.push_back({param, grad, g.weight_decay.value_or(o_.weight_decay),
                       std::vector<T>(static_cast<std::size_t>(param.size()))});
  }
  /// One update of every registered parameter.
  void step() {
    const T lr = static_cast<T>(o_.maximize ? -lr_ : lr_), mu = static_cast<T>(o_.momentum);
    const T damp = static_cast<T>(1 - o_.dampening);
    for (auto& p : params_) {
      auto w = p.param.array();
      const auto g = p.grad.array();
      const T wd = static_cast<T>(p.weight_decay);
      if (o_.momentum == 0) {
        w -= lr * (g + wd * w);
        continue;
      }
      Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> b(p.buffer.data(), p.param.size());
      if (steps_ == 0)
        b = g + wd * w;
      else
        b = mu * b + damp * (g + wd * w);
      if (o_.nesterov)
        w -= lr * (g + wd * w + mu * b);
      else
        w -= lr * b;
    }
    ++steps_;
  }
  void set_lr(double lr) { lr_ = lr; }
  [[nodiscard]] double lr() const noexcept { return lr_; }

 private:
  struct entry {
    pare::tensor_view<T> param;
    pare::tensor_view<const T> grad;
    double weight_decay;
    std::vector<T> buffer;
  };
  sgd_options o_;
  double lr_ = o_.lr;
  std::int64_t steps_ = 0;
  std::vector<entry> params_;
};

/// Options of `dropout`.
struct dropout_options {
  double rate = 0.5;
  std::uint64_t seed = 0;
};

/// Inverted dropout (Srivastava et al. 2014): in training, y = x·m/(1 − rate) with m_i = 0 with
/// probability `rate`; the mask of the last `forward` is what `backward` applies. Masks come
/// from pare's counter-based generator, continuing the stream call after call.
template <class T = float>
class dropout {
 public:
  explicit dropout(dropout_options o = {}) : o_(o) {
    pare::detail::require(o.rate >= 0 && o.rate < 1, "pare_examples::stand_in::dropout", "rate",
                          "in [0, 1)", o.rate);
  }
  void set_training(bool on) noexcept { training_ = on; }
  [[nodiscard]] bool training() const noexcept { return training_; }

  /// y = x·m/(1 − rate) in training, y = x otherwise. Grows its mask buffer only when a larger
  /// input than ever before arrives.
  void forward(pare::tensor_view<const T> x, pare::tensor_view<T> y) {
    pare::detail::require_same_shape("pare_examples::stand_in::dropout", "x", x, "y", y);
    const std::int64_t n = x.size();
    if (static_cast<std::int64_t>(mask_.size()) < n) mask_.resize(static_cast<std::size_t>(n));
    active_ = n;
    if (!training_ || o_.rate == 0) {
      std::fill_n(mask_.begin(), n, T(1));
      y.array() = x.array();
      return;
    }
    const T keep_scale = static_cast<T>(1 / (1 - o_.rate));
    const auto rate = static_cast<float>(o_.rate);
    for (std::int64_t i = 0; i < n; ++i)
      mask_[static_cast<std::size_t>(i)] =
          pare::detail::uniform_float(o_.seed, counter_ + static_cast<std::uint64_t>(i)) < rate
              ? T(0)
              : keep_scale;
    counter_ += static_cast<std::uint64_t>(n);
    y.array() = x.array() * Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(mask_.data(), n);
  }
  /// dx = dy·m/(1 − rate) with the mask of the last forward (dx = dy outside training).
  void backward(pare::tensor_view<const T> dy, pare::tensor_view<T> dx) const {
    pare::detail::require_same_shape("pare_examples::stand_in::dropout", "dy", dy, "dx", dx);
    pare::detail::require(dy.size() == active_, "pare_examples::stand_in::dropout", "dy size",
                          "the size of the last forward's x", dy.size());
    dx.array() = dy.array() *
                 Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(mask_.data(), dy.size());
  }

 private:
  dropout_options o_;
  bool training_ = true;
  std::uint64_t counter_ = 0;
  std::int64_t active_ = 0;
  std::vector<T> mask_;
};

enum class mode { min, max };

/// Options of `early_stopping`, Keras's names and defaults.
struct early_stopping_options {
  stand_in::mode mode = stand_in::mode::min;
  double min_delta = 0;
  std::int64_t patience = 0;
  std::optional<double> baseline = std::nullopt;
  bool restore_best = false;
};

/// Stops training when a monitored metric has stopped improving, as Keras 3's EarlyStopping: an
/// epoch improves when it beats the best by more than |min_delta|; the patience count restarts
/// only when it also beats `baseline` (if set); training stops after `patience` epochs without
/// that (never on the first epoch). With `restore_best`, tracked weights are snapshot at the
/// best epoch (and at the first) and `restore()` copies them back.
class early_stopping {
 public:
  explicit early_stopping(early_stopping_options o = {}) : o_(o) {
    pare::detail::require(o.patience >= 0, "pare_examples::stand_in::early_stopping", "patience",
                          "≥ 0", o.patience);
  }
  /// Registers weights to snapshot at the best epoch (allocates the snapshot now).
  void track(pare::tensor_view<float> w) {
    tracked_.push_back({w, std::vector<float>(w.data(), w.data() + w.size())});
  }
  /// Records this epoch's metric; true means stop.
  bool observe(double metric) {
    const std::int64_t epoch = epoch_++;
    if (o_.restore_best && epoch == 0) snapshot();
    ++wait_;
    if (improves(metric, best_)) {
      best_ = metric;
      best_epoch_ = epoch;
      if (o_.restore_best) snapshot();
      if (!o_.baseline || improves(metric, *o_.baseline)) wait_ = 0;
      return false;
    }
    return wait_ >= o_.patience && epoch > 0;
  }
  /// Copies the best epoch's weights back (with restore_best; otherwise does nothing).
  void restore() {
    if (!o_.restore_best || epoch_ == 0) return;
    for (auto& t : tracked_) std::copy(t.snapshot.begin(), t.snapshot.end(), t.view.data());
  }
  [[nodiscard]] double best() const noexcept { return best_; }
  [[nodiscard]] std::int64_t best_epoch() const noexcept { return best_epoch_; }

 private:
  [[nodiscard]] bool improves(double metric, double reference) const noexcept {
    const double d = std::abs(o_.min_delta);
    return o_.mode == mode::min ? metric + d < reference : metric - d > reference;
  }
  void snapshot() {
    for (auto& t : tracked_) std::copy_n(t.view.data(), t.view.size(), t.snapshot.begin());
  }
  struct entry {
    pare::tensor_view<float> view;
    std::vector<float> snapshot;
  };
  early_stopping_options o_;
  double best_ = o_.mode == mode::min ? std::numeric_limits<double>::infinity()
                                      : -std::numeric_limits<double>::infinity();
  std::int64_t wait_ = 0, epoch_ = 0, best_epoch_ = -1;
  std::vector<entry> tracked_;
};

}  // namespace pare_examples::stand_in
