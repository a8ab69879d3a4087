#pragma once
/// \file
/// Linear quantization parameters: the scheme, the bit width, which elements share a scale
/// (per tensor, per channel along any axis, per group along the last axis), and the
/// scales and zero points themselves.
///
///     auto qp = pare::quant::choose_qparams(w, {.bits = 8, .axis = 0});   // per output channel
///     qp.scales[c], qp.zero_points[c]                                     // one pair per channel
///
/// Every code is `clamp(round_half_even(x / s) + z, qmin, qmax)` and decodes to `(q − z)·s`.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::quant {

/// How a real range maps to integer codes.
///
/// - `symmetric`: s = max|x| / qmax with qmax = 2^(b−1) − 1; codes in [−qmax, qmax]; zero point 0
///   (the narrow range of TF-MOT and ggml's Q8_0; PyTorch's observers divide by 127.5 instead).
/// - `affine`: the range [min, max] is widened to include 0, s = (max − min)/(qmax − qmin),
///   z = qmin − round(min/s) clamped, codes in [−2^(b−1), 2^(b−1) − 1]: PyTorch's
///   MinMaxObserver qparams, with PyTorch's quint8 codes shifted by −2^(b−1) to signed codes.
enum class scheme { symmetric, affine };

/// Options of `quantize` and `choose_qparams`: bits (2–8), scheme, axis (−1 = one scale for the
/// whole tensor, otherwise one per index along that axis; 0 is the output channel of `[out, in]`)
/// and group_size (0 = off; g > 0 = one scale per g consecutive values along the last axis,
/// g dividing the last extent; then axis must stay −1).
struct quantize_options {
  int bits = 8;
  ::pare::quant::scheme scheme = ::pare::quant::scheme::symmetric;
  std::int64_t axis = -1;
  std::int64_t group_size = 0;
};

/// The smallest code of a linear scheme: −2^(b−1) for affine, −(2^(b−1) − 1) for symmetric.
[[nodiscard]] constexpr int qmin(int bits, scheme s) noexcept {
  return s == scheme::affine ? -(1 << (bits - 1)) : -((1 << (bits - 1)) - 1);
}
/// The largest code of a linear scheme: 2^(b−1) − 1.
[[nodiscard]] constexpr int qmax(int bits, scheme) noexcept { return (1 << (bits - 1)) - 1; }

/// Scales and zero points of a linear quantization, with the layout that says which elements
/// share them. `scales[k]`/`zero_points[k]` belong to slice k: the whole tensor (k = 0), index k
/// along `axis`, or group k (elements k·g … k·g + g − 1 in row-major order).
/// Scales are float32 and at least float32 epsilon (PyTorch's floor); zero points are codes.
struct qparams {
  int bits = 8;
  ::pare::quant::scheme scheme = ::pare::quant::scheme::symmetric;
  std::int64_t axis = -1;
  std::int64_t group_size = 0;
  std::vector<float> scales{};
  std::vector<std::int8_t> zero_points{};

  [[nodiscard]] int qmin() const noexcept { return ::pare::quant::qmin(bits, scheme); }
  [[nodiscard]] int qmax() const noexcept { return ::pare::quant::qmax(bits, scheme); }
  /// The options this layout came from.
  [[nodiscard]] quantize_options options() const noexcept {
    return {.bits = bits, .scheme = scheme, .axis = axis, .group_size = group_size};
  }
};

namespace detail {

// The core's message helpers, visible unqualified in every quant kernel.
using ::pare::detail::fail;
using ::pare::detail::fail_value;
using ::pare::detail::require;
using ::pare::detail::require_same_shape;
using ::pare::detail::to_text;

/// Which elements share a scale: element i belongs to slice (i / inner) % channels.
/// Per tensor: {1, 1, n}; per channel along axis a: {∏ extents before a, extent a, ∏ after a};
/// per group of g: {1, n / g, g}.
struct slice_layout {
  std::int64_t outer = 1;
  std::int64_t channels = 1;
  std::int64_t inner = 1;
  [[nodiscard]] std::int64_t slice_of(std::int64_t i) const noexcept {
    return (i / inner) % channels;
  }
};

/// "[2, 3]".
inline std::string shape_text(std::span<const std::int64_t> shape) { return to_text(shape); }

/// Validates bits, axis and group size against a shape and returns the slice layout.
inline slice_layout make_layout(std::string_view component, std::span<const std::int64_t> shape,
                                int bits, std::int64_t axis, std::int64_t group_size) {
  require(bits >= 2 && bits <= 8, component, "bits", "in [2, 8]", bits);
  std::int64_t n = 1;
  for (auto e : shape) n *= e;
  if (n == 0)
    fail(component, "x must be non-empty, got shape " + shape_text(shape));
  const auto rank = static_cast<std::int64_t>(shape.size());
  require(axis >= -1 && axis < rank, component, "axis",
          "-1 (per tensor) or in [0, " + to_text(rank) + ")", axis);
  require(group_size >= 0, component, "group_size", "0 (off) or positive", group_size);
  if (group_size > 0) {
    require(axis == -1, component, "axis", "-1 when group_size is set (groups run along the last axis)",
            axis);
    if (rank == 0) fail(component, "group_size needs an axis, got a rank-0 tensor");
    const std::int64_t last = shape[shape.size() - 1];
    require(last % group_size == 0, component, "group_size",
            "a divisor of the last extent " + to_text(last), group_size);
    return {1, n / group_size, group_size};
  }
  if (axis == -1) return {1, 1, n};
  slice_layout l;
  for (std::int64_t a = 0; a < axis; ++a) l.outer *= shape[a];
  l.channels = shape[axis];
  for (std::int64_t a = axis + 1; a < rank; ++a) l.inner *= shape[a];
  return l;
}

/// Scale and zero point of one slice from its observed range, computed in float32 exactly as
/// PyTorch's `_calculate_qparams` does (so affine qparams match torch bit for bit); an all-zero
/// slice gets scale 1 and zero point 0.
struct scale_zero {
  float scale = 1;
  int zero_point = 0;
};
inline scale_zero compute_qparams(double lo, double hi, int bits, scheme s) noexcept {
  const float mn = std::min(static_cast<float>(lo), 0.0f);
  const float mx = std::max(static_cast<float>(hi), 0.0f);
  if (mn == 0.0f && mx == 0.0f) return {1.0f, 0};
  const float eps = std::numeric_limits<float>::epsilon();
  const int q0 = qmin(bits, s), q1 = qmax(bits, s);
  if (s == scheme::symmetric) {
    const float m = std::max(-mn, mx);
    return {std::max(m / static_cast<float>(q1), eps), 0};
  }
  const float scale = std::max((mx - mn) / static_cast<float>(q1 - q0), eps);
  const int z = q0 - static_cast<int>(std::nearbyint(mn / scale));
  return {scale, std::min(std::max(z, q0), q1)};
}

/// The number of slices a layout has, i.e. the length of scales and zero points.
[[nodiscard]] inline std::int64_t slice_count(const slice_layout& l) noexcept { return l.channels; }

/// Checks that `qp` is a valid set of qparams for a tensor of `shape` and returns its layout.
inline slice_layout check_qparams(std::string_view component, const qparams& qp,
                                  std::span<const std::int64_t> shape) {
  const slice_layout l = make_layout(component, shape, qp.bits, qp.axis, qp.group_size);
  const auto k = static_cast<std::size_t>(slice_count(l));
  require(qp.scales.size() == k, component, "qparams scales",
          "of length " + to_text(static_cast<std::int64_t>(k)) + " for this tensor",
          static_cast<std::int64_t>(qp.scales.size()));
  require(qp.zero_points.size() == k, component, "qparams zero_points",
          "of length " + to_text(static_cast<std::int64_t>(k)) + " for this tensor",
          static_cast<std::int64_t>(qp.zero_points.size()));
  for (std::size_t i = 0; i < k; ++i) {
    const float s = qp.scales[i];
    if (!(s > 0.0f) || !std::isfinite(s))
      fail_value(component, "qparams scales[" + to_text(static_cast<std::int64_t>(i)) + "]",
                 "positive and finite", s);
    const int z = qp.zero_points[i];
    if (z < qp.qmin() || z > qp.qmax())
      fail_value(component, "qparams zero_points[" + to_text(static_cast<std::int64_t>(i)) + "]",
                 "in [" + to_text(qp.qmin()) + ", " + to_text(qp.qmax()) + "]", z);
  }
  return l;
}

#if defined(__GNUC__)
// 64-byte vectors (GCC/Clang vector extensions): a min/max loop over independent vector
// accumulators vectorizes on every target, whereas a plain float min/max reduction stays scalar
// without -ffinite-math-only (see PERF.md).
typedef float range_vf __attribute__((vector_size(64)));
typedef double range_vd __attribute__((vector_size(64)));
#endif

/// Running minimum and maximum of spans, and whether every element was finite.
template <class T>
struct range_acc {
  T lo = std::numeric_limits<T>::infinity();
  T hi = -std::numeric_limits<T>::infinity();
  T bad = 0;  // Σ (x − x): NaN once an infinity or a NaN was seen

  void add(const T* x, std::int64_t n) noexcept {
    std::int64_t i = 0;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
      if (n >= 16) {
        add_avx512(x, n);
        return;
      }
    }
#endif
#if defined(__GNUC__)
    using V = std::conditional_t<std::is_same_v<T, float>, range_vf, range_vd>;
    constexpr int W = static_cast<int>(64 / sizeof(T));
    if (n >= 2 * W) {
      V a0, a1, b0, b1, c0, c1;
      for (int l = 0; l < W; ++l) {
        a0[l] = a1[l] = lo;
        b0[l] = b1[l] = hi;
        c0[l] = c1[l] = 0;
      }
      for (; i + 2 * W <= n; i += 2 * W) {
        V v0, v1;
        std::memcpy(&v0, x + i, sizeof(V));
        std::memcpy(&v1, x + i + W, sizeof(V));
        a0 = v0 < a0 ? v0 : a0;
        a1 = v1 < a1 ? v1 : a1;
        b0 = v0 > b0 ? v0 : b0;
        b1 = v1 > b1 ? v1 : b1;
        c0 += v0 - v0;
        c1 += v1 - v1;
      }
      for (int l = 0; l < W; ++l) {
        lo = std::min({lo, a0[l], a1[l]});
        hi = std::max({hi, b0[l], b1[l]});
        bad += c0[l] + c1[l];
      }
    }
#endif
    for (; i < n; ++i) {
      const T v = x[i];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      bad += v - v;
    }
  }

#if defined(__AVX512F__)
  /// float, n ≥ 16: two accumulators, a masked tail and shuffle-tree reductions, so short spans
  /// (groups of 32 or 64) do not pay for a 16-lane scalar reduction.
  void add_avx512(const float* x, std::int64_t n) noexcept {
    constexpr __mmask16 all = 0xFFFF;  // zero-masked forms: see GCC PR 105593 in matvec.hpp
    __m512 a0 = _mm512_set1_ps(lo), a1 = a0, b0 = _mm512_set1_ps(hi), b1 = b0;
    __m512 c0 = _mm512_setzero_ps(), c1 = c0;
    std::int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
      a0 = _mm512_maskz_min_ps(all, a0, v0);
      a1 = _mm512_maskz_min_ps(all, a1, v1);
      b0 = _mm512_maskz_max_ps(all, b0, v0);
      b1 = _mm512_maskz_max_ps(all, b1, v1);
      c0 = _mm512_add_ps(c0, _mm512_sub_ps(v0, v0));
      c1 = _mm512_add_ps(c1, _mm512_sub_ps(v1, v1));
    }
    for (; i < n; i += 16) {
      const auto m = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
      a0 = _mm512_mask_min_ps(a0, m, a0, v);
      b0 = _mm512_mask_max_ps(b0, m, b0, v);
      c0 = _mm512_add_ps(c0, _mm512_sub_ps(v, v));
    }
    a0 = _mm512_maskz_min_ps(all, a0, a1);
    b0 = _mm512_maskz_max_ps(all, b0, b1);
    c0 = _mm512_add_ps(c0, c1);
    auto tree = [&](__m512 v, bool is_min) {
      auto op = [&](__m512 p, __m512 q) { return is_min ? _mm512_maskz_min_ps(all, p, q) : _mm512_maskz_max_ps(all, p, q); };
      v = op(v, _mm512_maskz_shuffle_f32x4(all, v, v, 0x4E));
      v = op(v, _mm512_maskz_shuffle_f32x4(all, v, v, 0xB1));
      v = op(v, _mm512_maskz_permute_ps(all, v, 0x4E));
      v = op(v, _mm512_maskz_permute_ps(all, v, 0xB1));
      return _mm512_cvtss_f32(v);
    };
    lo = std::min(lo, tree(a0, true));
    hi = std::max(hi, tree(b0, false));
    if (_mm512_cmp_ps_mask(c0, _mm512_setzero_ps(), _CMP_NEQ_UQ) != 0) bad = std::numeric_limits<T>::quiet_NaN();
  }
#endif
  /// False when an infinity or a NaN was seen.
  [[nodiscard]] bool finite() const noexcept { return bad == 0; }
  [[nodiscard]] T min() const noexcept { return lo; }
  [[nodiscard]] T max() const noexcept { return hi; }
};

/// Throws `<component>: x must be finite, got <v> at index <i>` for the first non-finite value.
template <class T>
[[noreturn]] void fail_not_finite(std::string_view component, std::string_view name,
                                  const T* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      fail(component, std::string(name) + " must be finite, got " +
                          to_text(static_cast<double>(x[i])) + " at index " + to_text(i));
  fail(component, std::string(name) + " must be finite");
}

/// Per-slice minimum and maximum of x for a layout; throws for a non-finite value.
template <class T>
void slice_ranges(std::string_view component, const T* x, std::int64_t n, const slice_layout& l,
                  std::vector<double>& lo, std::vector<double>& hi) {
  const auto k = static_cast<std::size_t>(l.channels);
  lo.assign(k, std::numeric_limits<double>::infinity());
  hi.assign(k, -std::numeric_limits<double>::infinity());
  bool finite = true;
  if (l.inner >= 64 || l.channels == 1) {
    for (std::int64_t o = 0; o < l.outer; ++o)
      for (std::int64_t c = 0; c < l.channels; ++c) {
        range_acc<T> acc;
        acc.add(x + (o * l.channels + c) * l.inner, l.inner);
        finite = finite && acc.finite();
        lo[c] = std::min(lo[c], static_cast<double>(acc.min()));
        hi[c] = std::max(hi[c], static_cast<double>(acc.max()));
      }
  } else {
    // Short inner runs (e.g. per channel along the last axis): the channel index varies fastest
    // after `inner`, so walk element by element.
    T bad = 0;
    for (std::int64_t o = 0; o < l.outer; ++o)
      for (std::int64_t c = 0; c < l.channels; ++c) {
        const T* p = x + (o * l.channels + c) * l.inner;
        double a = lo[c], b = hi[c];
        for (std::int64_t i = 0; i < l.inner; ++i) {
          const T v = p[i];
          bad += v - v;
          a = v < a ? v : a;
          b = v > b ? v : b;
        }
        lo[c] = a;
        hi[c] = b;
      }
    finite = bad == 0;
  }
  if (!finite) fail_not_finite(component, "x", x, n);
  (void)n;
}

}  // namespace detail

/// The qparams `quantize` would use for x: one (scale, zero point) per slice from the slice's
/// min and max (see `scheme`). Throws `pare::error` for bits outside [2, 8], an axis out of range,
/// a group size that does not divide the last extent, an empty x or a non-finite value in x.
template <class T>
[[nodiscard]] qparams choose_qparams(tensor_view<const T> x, const quantize_options& opt = {}) {
  static_assert(std::is_floating_point_v<T>, "pare::quant::choose_qparams: x must be float or double");
  constexpr std::string_view component = "pare::quant::choose_qparams";
  const detail::slice_layout l =
      detail::make_layout(component, x.shape(), opt.bits, opt.axis, opt.group_size);
  std::vector<double> lo, hi;
  detail::slice_ranges(component, x.data(), x.size(), l, lo, hi);
  qparams qp{.bits = opt.bits, .scheme = opt.scheme, .axis = opt.axis, .group_size = opt.group_size};
  qp.scales.resize(lo.size());
  qp.zero_points.resize(lo.size());
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const auto sz = detail::compute_qparams(lo[k], hi[k], opt.bits, opt.scheme);
    qp.scales[k] = sz.scale;
    qp.zero_points[k] = static_cast<std::int8_t>(sz.zero_point);
  }
  return qp;
}
template <class T>
[[nodiscard]] qparams choose_qparams(tensor_view<T> x, const quantize_options& opt = {}) {
  return choose_qparams(tensor_view<const T>(x), opt);
}

/// qparams for given per-slice ranges (what the observers produce): `lo`/`hi` hold one
/// minimum/maximum per slice of the layout in `opt` (one value per tensor, per channel or per
/// group); each range is widened to include 0.
[[nodiscard]] inline qparams qparams_from_range(std::span<const double> lo, std::span<const double> hi,
                                                const quantize_options& opt) {
  constexpr std::string_view component = "pare::quant::qparams_from_range";
  detail::require(opt.bits >= 2 && opt.bits <= 8, component, "bits", "in [2, 8]", opt.bits);
  detail::require(hi.size() == lo.size(), component, "hi", "as long as lo (" + detail::to_text(static_cast<std::int64_t>(lo.size())) + ")",
                  static_cast<std::int64_t>(hi.size()));
  qparams qp{.bits = opt.bits, .scheme = opt.scheme, .axis = opt.axis, .group_size = opt.group_size};
  for (std::size_t k = 0; k < lo.size(); ++k) {
    if (!std::isfinite(lo[k]) || !std::isfinite(hi[k]))
      detail::fail_value(component, "range " + detail::to_text(static_cast<std::int64_t>(k)), "finite",
                         std::isfinite(lo[k]) ? hi[k] : lo[k]);
    const auto sz = detail::compute_qparams(lo[k], hi[k], opt.bits, opt.scheme);
    qp.scales.push_back(sz.scale);
    qp.zero_points.push_back(static_cast<std::int8_t>(sz.zero_point));
  }
  return qp;
}

}  // namespace pare::quant
