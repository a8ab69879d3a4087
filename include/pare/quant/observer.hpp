#pragma once
/// \file
/// Calibration observers: they watch tensors batch by batch (activations during calibration
/// runs, or weights) and turn what they saw into qparams, per tensor or per channel.
///
///     pare::quant::moving_average_minmax obs({.bits = 8, .scheme = pare::quant::scheme::affine});
///     for (auto& batch : calibration) obs.observe(activations(batch));
///     pare::quant::qparams qp = obs.calculate_qparams();
///
/// - `minmax`: the running min and max (PyTorch's MinMaxObserver / PerChannelMinMaxObserver).
/// - `moving_average_minmax`: the first batch sets min and max, later ones move them by
///   min ← min + c·(batch_min − min) with c = 0.01 (PyTorch's MovingAverageMinMaxObserver).
/// - `percentile`: clips at a percentile of what it saw (symmetric: of |x|; affine: the
///   (100 − p)-th and p-th percentiles of x), with linear interpolation between order statistics
///   (numpy's default). It keeps every observed value (8 bytes each) until `reset`.
/// - `mse`: the clip ratio r ∈ {1/grid, 2/grid, …, 1} of the min–max range whose fake-quantized
///   values have the least squared error over everything observed (ties go to the larger r);
///   like `percentile` it keeps the observed values.
/// Every observer's range is widened to include 0 when qparams are made (see `scheme`).
/// Per channel (`axis` ≥ 0), every batch must have the same extent along the axis; the other
/// extents (e.g. the batch size) may change. NaN or infinity in a batch throws `pare::error`
/// and leaves the observer unchanged.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/quant/qparams.hpp"

namespace pare::quant {

/// Options of `minmax`.
struct minmax_options {
  int bits = 8;
  ::pare::quant::scheme scheme = ::pare::quant::scheme::symmetric;
  std::int64_t axis = -1;
};
/// Options of `moving_average_minmax`.
struct moving_average_options {
  int bits = 8;
  ::pare::quant::scheme scheme = ::pare::quant::scheme::symmetric;
  std::int64_t axis = -1;
  double averaging_constant = 0.01;
};
/// Options of `percentile`.
struct percentile_options {
  int bits = 8;
  ::pare::quant::scheme scheme = ::pare::quant::scheme::symmetric;
  std::int64_t axis = -1;
  double percentile = 99.99;
};
/// Options of `mse`.
struct mse_options {
  int bits = 8;
  ::pare::quant::scheme scheme = ::pare::quant::scheme::symmetric;
  std::int64_t axis = -1;
  int grid = 100;
};

namespace detail {

/// What every observer shares: options, the channel layout, per-slice ranges.
class observer_base {
 public:
  /// Number of batches observed since construction or `reset`.
  [[nodiscard]] std::int64_t batches() const noexcept { return batches_; }
  /// The per-slice minimum the qparams are made from (one value per tensor or channel).
  [[nodiscard]] std::span<const double> min() const noexcept { return lo_; }
  /// The per-slice maximum the qparams are made from.
  [[nodiscard]] std::span<const double> max() const noexcept { return hi_; }

 protected:
  observer_base(std::string_view component, int bits, scheme s, std::int64_t axis)
      : component_(component), bits_(bits), scheme_(s), axis_(axis) {
    require(bits >= 2 && bits <= 8, component, "bits", "in [2, 8]", bits);
    require(axis >= -1, component, "axis", "-1 (per tensor) or a valid axis", axis);
  }

  /// Layout of a batch; checks the channel count against earlier batches and finiteness.
  template <class T>
  slice_layout batch_ranges(tensor_view<const T> x, std::vector<double>& lo,
                            std::vector<double>& hi) const {
    const slice_layout l = make_layout(component_, x.shape(), bits_, axis_, 0);
    if (batches_ > 0 && static_cast<std::size_t>(l.channels) != lo_.size())
      fail(component_, "x must have " + to_text(static_cast<std::int64_t>(lo_.size())) +
                           " channels along axis " + to_text(axis_) + " like earlier batches, got " +
                           to_text(l.channels));
    slice_ranges(component_, x.data(), x.size(), l, lo, hi);
    return l;
  }

  [[nodiscard]] qparams make_qparams() const {
    if (batches_ == 0) fail(component_, "calculate_qparams needs at least one observed batch");
    return qparams_from_range(lo_, hi_, {.bits = bits_, .scheme = scheme_, .axis = axis_});
  }

  void clear() noexcept {
    batches_ = 0;
    lo_.clear();
    hi_.clear();
  }

  std::string_view component_;
  int bits_;
  scheme scheme_;
  std::int64_t axis_;
  std::int64_t batches_ = 0;
  std::vector<double> lo_, hi_;
};

/// Observers that keep the values they saw, per slice, and recompute their range from all of
/// them after each batch (`Derived::update()`): percentile, mse.
template <class Derived>
class sample_observer : public observer_base {
 public:
  /// Keeps the batch's values and recomputes the range.
  template <class T>
  void observe(tensor_view<T> x) {
    using V = std::remove_const_t<T>;
    collect(tensor_view<const V>(x));
    static_cast<Derived*>(this)->update();
  }
  /// qparams from the current range. Throws `pare::error` before the first batch.
  [[nodiscard]] qparams calculate_qparams() const { return make_qparams(); }

 protected:
  using observer_base::observer_base;

  template <class T>
  void collect(tensor_view<const T> x) {
    std::vector<double> lo, hi;
    const slice_layout l = batch_ranges(x, lo, hi);
    if (batches_ == 0) {
      samples_.assign(static_cast<std::size_t>(l.channels), {});
      lo_.assign(lo.size(), std::numeric_limits<double>::infinity());
      hi_.assign(hi.size(), -std::numeric_limits<double>::infinity());
    }
    const T* p = x.data();
    for_each_slice_run(l, x.size(), [&](std::int64_t b, std::int64_t e, std::int64_t k) {
      auto& s = samples_[static_cast<std::size_t>(k)];
      s.insert(s.end(), p + b, p + e);
    });
    seen_lo_.resize(lo.size(), std::numeric_limits<double>::infinity());
    seen_hi_.resize(hi.size(), -std::numeric_limits<double>::infinity());
    for (std::size_t k = 0; k < lo.size(); ++k) {
      seen_lo_[k] = std::min(seen_lo_[k], lo[k]);
      seen_hi_[k] = std::max(seen_hi_[k], hi[k]);
    }
    ++batches_;
  }

  template <class F>
  static void for_each_slice_run(const slice_layout& l, std::int64_t n, F&& f) {
    std::int64_t i = 0;
    while (i < n) {
      const std::int64_t block = i / l.inner;
      const std::int64_t end = std::min(n, (block + 1) * l.inner);
      f(i, end, block % l.channels);
      i = end;
    }
  }

  void clear_samples() noexcept {
    clear();
    samples_.clear();
    seen_lo_.clear();
    seen_hi_.clear();
  }

  std::vector<std::vector<double>> samples_;
  std::vector<double> seen_lo_, seen_hi_;
};

/// The q-th percentile (0–100) of v with linear interpolation between order statistics
/// (numpy's default); reorders v.
inline double percentile_of(std::vector<double>& v, double q) {
  const double r = q / 100.0 * static_cast<double>(v.size() - 1);
  const auto i = static_cast<std::size_t>(std::floor(r));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  const double a = v[i];
  if (i + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(i) + 1, v.end());
  return a + (r - static_cast<double>(i)) * (b - a);
}

}  // namespace detail

/// Running min and max per tensor or per channel (PyTorch's MinMaxObserver and
/// PerChannelMinMaxObserver, whose affine qparams it reproduces exactly).
class minmax : public detail::observer_base {
 public:
  using options = minmax_options;
  explicit minmax(const minmax_options& opt = {})
      : observer_base("pare::quant::minmax", opt.bits, opt.scheme, opt.axis) {}
  /// Folds a batch into the running range.
  template <class T>
  void observe(tensor_view<T> x) {
    using V = std::remove_const_t<T>;
    std::vector<double> lo, hi;
    batch_ranges(tensor_view<const V>(x), lo, hi);
    if (batches_ == 0) {
      lo_ = std::move(lo);
      hi_ = std::move(hi);
    } else {
      for (std::size_t k = 0; k < lo_.size(); ++k) {
        lo_[k] = std::min(lo_[k], lo[k]);
        hi_[k] = std::max(hi_[k], hi[k]);
      }
    }
    ++batches_;
  }
  /// qparams from the running range. Throws `pare::error` before the first batch.
  [[nodiscard]] qparams calculate_qparams() const { return make_qparams(); }
  /// Forgets every batch.
  void reset() noexcept { clear(); }
};

/// Exponential moving average of per-batch min and max (PyTorch's MovingAverageMinMaxObserver
/// and MovingAveragePerChannelMinMaxObserver, averaging in float32 as PyTorch does).
class moving_average_minmax : public detail::observer_base {
 public:
  using options = moving_average_options;
  explicit moving_average_minmax(const moving_average_options& opt = {})
      : observer_base("pare::quant::moving_average_minmax", opt.bits, opt.scheme, opt.axis),
        c_(opt.averaging_constant) {
    detail::require(c_ > 0 && c_ <= 1, component_, "averaging_constant", "in (0, 1]", c_);
  }
  /// The first batch sets the range; later ones move it by min ← min + c·(batch_min − min).
  template <class T>
  void observe(tensor_view<T> x) {
    using V = std::remove_const_t<T>;
    std::vector<double> lo, hi;
    batch_ranges(tensor_view<const V>(x), lo, hi);
    if (batches_ == 0) {
      lo_.resize(lo.size());
      hi_.resize(hi.size());
      for (std::size_t k = 0; k < lo.size(); ++k) {
        lo_[k] = static_cast<float>(lo[k]);
        hi_[k] = static_cast<float>(hi[k]);
      }
    } else {
      const auto c = static_cast<float>(c_);
      for (std::size_t k = 0; k < lo_.size(); ++k) {
        const auto a = static_cast<float>(lo_[k]), b = static_cast<float>(hi_[k]);
        const float da = static_cast<float>(lo[k]) - a, db = static_cast<float>(hi[k]) - b;
        const float ca = c * da, cb = c * db;  // two roundings, as torch's tensor ops
        lo_[k] = a + ca;
        hi_[k] = b + cb;
      }
    }
    ++batches_;
  }
  [[nodiscard]] qparams calculate_qparams() const { return make_qparams(); }
  void reset() noexcept { clear(); }

 private:
  double c_;
};

/// Clips the range at a percentile of the observed values (see the file comment).
class percentile : public detail::sample_observer<percentile> {
 public:
  using options = percentile_options;
  explicit percentile(const percentile_options& opt = {})
      : sample_observer("pare::quant::percentile", opt.bits, opt.scheme, opt.axis), p_(opt.percentile) {
    detail::require(p_ > 0 && p_ <= 100, component_, "percentile", "in (0, 100]", p_);
  }
  void reset() noexcept { clear_samples(); }

 private:
  friend class detail::sample_observer<percentile>;
  void update() {
    lo_.resize(samples_.size());
    hi_.resize(samples_.size());
    std::vector<double> v;
    for (std::size_t k = 0; k < samples_.size(); ++k) {
      v = samples_[k];
      if (scheme_ == scheme::symmetric) {
        for (auto& a : v) a = std::abs(a);
        const double c = detail::percentile_of(v, p_);
        lo_[k] = -c;
        hi_[k] = c;
      } else {
        hi_[k] = detail::percentile_of(v, p_);
        lo_[k] = detail::percentile_of(v, 100.0 - p_);
      }
    }
  }
  double p_;
};

/// Chooses the clip ratio of the min–max range that minimizes the squared fake-quantization
/// error over the observed values (see the file comment).
class mse : public detail::sample_observer<mse> {
 public:
  using options = mse_options;
  explicit mse(const mse_options& opt = {})
      : sample_observer("pare::quant::mse", opt.bits, opt.scheme, opt.axis), grid_(opt.grid) {
    detail::require(grid_ >= 1, component_, "grid", "at least 1", grid_);
  }
  /// The chosen clip ratio per slice.
  [[nodiscard]] std::span<const double> ratios() const noexcept { return ratio_; }
  void reset() noexcept {
    clear_samples();
    ratio_.clear();
  }

 private:
  friend class detail::sample_observer<mse>;
  void update() {
    const std::size_t K = samples_.size();
    lo_.resize(K);
    hi_.resize(K);
    ratio_.resize(K);
    const int q0 = qmin(bits_, scheme_), q1 = qmax(bits_, scheme_);
    for (std::size_t k = 0; k < K; ++k) {
      const auto& v = samples_[k];
      double best = std::numeric_limits<double>::infinity(), best_r = 1;
      for (int g = grid_; g >= 1; --g) {
        const double r = static_cast<double>(g) / grid_;
        const auto sz = detail::compute_qparams(r * seen_lo_[k], r * seen_hi_[k], bits_, scheme_);
        const double s = sz.scale, z = sz.zero_point;
        double err = 0;
        for (double a : v) {
          double c = std::nearbyint(a / s) + z;
          c = std::min(std::max(c, static_cast<double>(q0)), static_cast<double>(q1));
          const double d = (c - z) * s - a;
          err += d * d;
        }
        if (err < best) {
          best = err;
          best_r = r;
        }
      }
      ratio_[k] = best_r;
      lo_[k] = best_r * seen_lo_[k];
      hi_[k] = best_r * seen_hi_[k];
    }
  }
  int grid_;
  std::vector<double> ratio_;
};

/// A calibration observer: constructible from its `options` aggregate, `observe(x)` for float
/// and double views (batch by batch), `calculate_qparams()` → `qparams`, `reset()`, and the
/// per-slice range it would use as `min()`/`max()`.
template <class O>
concept observer = std::constructible_from<O, typename O::options> &&
                   requires(O o, const O& co, tensor_view<const float> xf, tensor_view<const double> xd) {
                     o.observe(xf);
                     o.observe(xd);
                     { co.calculate_qparams() } -> std::same_as<qparams>;
                     o.reset();
                     { co.min() } -> std::convertible_to<std::span<const double>>;
                     { co.max() } -> std::convertible_to<std::span<const double>>;
                   };

static_assert(observer<minmax>);
static_assert(observer<moving_average_minmax>);
static_assert(observer<percentile>);
static_assert(observer<mse>);

}  // namespace pare::quant
