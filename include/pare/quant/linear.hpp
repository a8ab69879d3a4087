#pragma once
/// \file
/// Linear quantization: `quantize` (symmetric or affine; per tensor, per channel along any axis,
/// per group along the last axis; 2–8 bits) and `dequantize`.
///
///     auto q = pare::quant::quantize(w, {.bits = 8, .axis = 0});          // int8, per row
///     auto g = pare::quant::quantize(w, {.bits = 4, .group_size = 64});   // packed 4-bit groups
///     pare::quant::dequantize(q, w_hat);                                  // w_hat: w's shape
///     std::size_t bytes = g.size_bytes();
///
/// Codes are `clamp(round_half_even(x / s) + z, qmin, qmax)` with x / s computed in x's type
/// (a true division: PyTorch's kernels multiply by a float32 reciprocal instead, which can differ
/// when x / s lies within an ulp of a .5 tie), and decode to `(q − z)·s`.
/// Reference: Jacob et al., "Quantization and Training of Neural Networks for Efficient
/// Integer-Arithmetic-Only Inference", CVPR 2018.

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

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/quant/qparams.hpp"
#include "pare/quant/quantized_tensor.hpp"

namespace pare::quant {
namespace detail {

/// Codes are produced and consumed in pieces of this many elements (a 4 KiB stack buffer).
inline constexpr std::int64_t code_piece = 4096;

/// Calls f(begin, end, slice) for the maximal runs of [b, e) whose elements share a slice.
template <class F>
inline void for_each_run(std::int64_t b, std::int64_t e, const slice_layout& l, F&& f) {
  std::int64_t i = b;
  while (i < e) {
    const std::int64_t block = i / l.inner;
    const std::int64_t end = std::min(e, (block + 1) * l.inner);
    f(i, end, block % l.channels);
    i = end;
  }
}

/// out[i] = clamp(round_half_even(x[i] / s) + z, q0, q1). Returns false when x holds a NaN or an
/// infinity (the codes are then meaningless). Vectorizes: division, roundscale, min/max, cvt.
template <class T>
[[nodiscard]] inline bool quantize_run(const T* __restrict x, std::int8_t* __restrict out,
                                       std::int64_t n, float s, int z, int q0, int q1) noexcept {
  const T st = static_cast<T>(s), zt = static_cast<T>(z), lo = static_cast<T>(q0),
          hi = static_cast<T>(q1), big = std::numeric_limits<T>::max();
  int bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = x[i];
    bad |= !(std::abs(v) <= big);
    T r = std::nearbyint(v / st) + zt;
    r = r < lo ? lo : r;
    r = r > hi ? hi : r;
    out[i] = static_cast<std::int8_t>(static_cast<int>(r));
  }
  return bad == 0;
}

/// Writes m codes as nibbles starting at element `start` (the first may share a byte with the
/// previous run's last code; a trailing low nibble leaves its high nibble 0 for the next run).
inline void pack_nibbles_at(const std::int8_t* __restrict codes, std::int64_t m,
                            std::uint8_t* __restrict bytes, std::int64_t start) noexcept {
  if (m <= 0) return;
  if (start & 1) {
    auto& b = bytes[start >> 1];
    b = static_cast<std::uint8_t>((b & 0x0F) | ((codes[0] + 8) << 4));
    ++codes;
    --m;
    ++start;
  }
  std::uint8_t* out = bytes + (start >> 1);
  const std::int64_t pairs = m >> 1;
  for (std::int64_t k = 0; k < pairs; ++k)
    out[k] = static_cast<std::uint8_t>((codes[2 * k] + 8) | ((codes[2 * k + 1] + 8) << 4));
  if (m & 1) out[pairs] = static_cast<std::uint8_t>(codes[m - 1] + 8);
}

/// Reads m codes from nibbles starting at element `start`.
inline void unpack_nibbles_at(const std::uint8_t* __restrict bytes, std::int64_t start,
                              std::int64_t m, std::int8_t* __restrict codes) noexcept {
  if (m <= 0) return;
  if (start & 1) {
    codes[0] = static_cast<std::int8_t>((bytes[start >> 1] >> 4) - 8);
    ++codes;
    --m;
    ++start;
  }
  const std::uint8_t* in = bytes + (start >> 1);
  const std::int64_t pairs = m >> 1;
  for (std::int64_t k = 0; k < pairs; ++k) {
    codes[2 * k] = static_cast<std::int8_t>((in[k] & 0x0F) - 8);
    codes[2 * k + 1] = static_cast<std::int8_t>((in[k] >> 4) - 8);
  }
  if (m & 1) codes[m - 1] = static_cast<std::int8_t>((in[pairs] & 0x0F) - 8);
}

/// Quantizes x[b, e) (one slice) into the tensor's storage. Returns false for a non-finite x.
template <class T>
[[nodiscard]] inline bool quantize_span(const T* x, std::int64_t b, std::int64_t e, float s, int z,
                                        int q0, int q1, int bits, std::uint8_t* bytes) noexcept {
  if (bits > 4)
    return quantize_run(x + b, reinterpret_cast<std::int8_t*>(bytes) + b, e - b, s, z, q0, q1);
  alignas(64) std::int8_t buf[code_piece];
  bool ok = true;
  for (std::int64_t p = b; p < e; p += code_piece) {
    const std::int64_t m = std::min(code_piece, e - p);
    ok = quantize_run(x + p, buf, m, s, z, q0, q1) && ok;
    pack_nibbles_at(buf, m, bytes, p);
  }
  return ok;
}

/// dst[i − b] = (code[i] − z)·s for the run [b, e) of one slice.
template <class T>
inline void dequantize_span(const std::uint8_t* bytes, int bits, std::int64_t b, std::int64_t e,
                            float s, int z, T* __restrict dst) noexcept {
  const T st = static_cast<T>(s);
  if (bits > 4) {
    const auto* c = reinterpret_cast<const std::int8_t*>(bytes) + b;
    for (std::int64_t i = 0; i < e - b; ++i) dst[i] = static_cast<T>(c[i] - z) * st;
    return;
  }
  alignas(64) std::int8_t buf[code_piece];
  for (std::int64_t p = b; p < e; p += code_piece) {
    const std::int64_t m = std::min(code_piece, e - p);
    unpack_nibbles_at(bytes, p, m, buf);
    for (std::int64_t i = 0; i < m; ++i) dst[p - b + i] = static_cast<T>(buf[i] - z) * st;
  }
}

/// Prepares `q` to hold x's codes with the given qparams' layout (reusing its storage).
inline void reshape_storage(quantized_tensor& q, std::span<const std::int64_t> shape,
                            std::int64_t n, int bits) {
  using A = quantized_access;
  A::shape(q).assign(shape.begin(), shape.end());
  A::size(q) = n;
  A::bytes(q).resize(static_cast<std::size_t>(code_bytes(n, bits)));
}

/// Leaves q empty (used when a quantization fails half-way, so no stale codes survive).
inline void clear(quantized_tensor& q) noexcept {
  using A = quantized_access;
  A::shape(q).assign(1, 0);
  A::size(q) = 0;
  A::bytes(q).clear();
  A::params(q).scales.clear();
  A::params(q).zero_points.clear();
  A::layout(q) = slice_layout{1, 1, 1};
}

inline constexpr std::string_view quantize_component = "pare::quant::quantize";

template <class T>
void quantize_with_options(tensor_view<const T> x, const quantize_options& opt,
                           quantized_tensor& out) {
  using A = quantized_access;
  const slice_layout l = make_layout(quantize_component, x.shape(), opt.bits, opt.axis, opt.group_size);
  const std::int64_t n = x.size();
  const T* xp = x.data();
  const int q0 = qmin(opt.bits, opt.scheme), q1 = qmax(opt.bits, opt.scheme);
  qparams& qp = A::params(out);
  if (l.outer == 1 && l.channels > 1) {
    // Every slice is one contiguous run (a row, a group): find its range and quantize it while
    // it is still in cache, in one trip through memory.
    reshape_storage(out, x.shape(), n, opt.bits);
    qp = qparams{.bits = opt.bits, .scheme = opt.scheme, .axis = opt.axis, .group_size = opt.group_size};
    qp.scales.resize(static_cast<std::size_t>(l.channels));
    qp.zero_points.resize(static_cast<std::size_t>(l.channels));
    A::layout(out) = l;
    std::uint8_t* bytes = A::bytes(out).data();
    for (std::int64_t k = 0; k < l.channels; ++k) {
      const std::int64_t b = k * l.inner, e = b + l.inner;
      range_acc<T> acc;
      acc.add(xp + b, l.inner);
      if (!acc.finite()) {
        clear(out);
        fail_not_finite(quantize_component, "x", xp, n);
      }
      const auto sz = compute_qparams(acc.min(), acc.max(), opt.bits, opt.scheme);
      qp.scales[static_cast<std::size_t>(k)] = sz.scale;
      qp.zero_points[static_cast<std::size_t>(k)] = static_cast<std::int8_t>(sz.zero_point);
      (void)quantize_span(xp, b, e, sz.scale, sz.zero_point, q0, q1, opt.bits, bytes);
    }
    return;
  }
  // One scale for everything, or channels spread over many runs: ranges first, then codes.
  std::vector<double> lo, hi;
  slice_ranges(quantize_component, xp, n, l, lo, hi);  // throws before anything is written
  reshape_storage(out, x.shape(), n, opt.bits);
  qp = qparams_from_range(lo, hi, opt);
  A::layout(out) = l;
  std::uint8_t* bytes = A::bytes(out).data();
  for_each_run(0, n, l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    const auto kk = static_cast<std::size_t>(k);
    (void)quantize_span(xp, b, e, qp.scales[kk], qp.zero_points[kk], q0, q1, opt.bits, bytes);
  });
}

template <class T>
void quantize_with_qparams(tensor_view<const T> x, const qparams& given, quantized_tensor& out) {
  using A = quantized_access;
  const slice_layout l = check_qparams(quantize_component, given, x.shape());
  const std::int64_t n = x.size();
  const T* xp = x.data();
  qparams copy = given;  // `given` may be out.params() itself
  reshape_storage(out, x.shape(), n, copy.bits);
  A::params(out) = std::move(copy);
  A::layout(out) = l;
  const qparams& qp = A::params(out);
  std::uint8_t* bytes = A::bytes(out).data();
  bool ok = true;
  for_each_run(0, n, l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    const auto kk = static_cast<std::size_t>(k);
    ok = quantize_span(xp, b, e, qp.scales[kk], qp.zero_points[kk], qp.qmin(), qp.qmax(), qp.bits,
                       bytes) && ok;
  });
  if (!ok) {
    clear(out);
    fail_not_finite(quantize_component, "x", xp, n);
  }
}

template <class X>
using view_value_t = std::remove_const_t<typename X::element_type>;

}  // namespace detail

/// Quantizes x into `out`, reusing out's storage (no allocation when it already held a tensor
/// at least as large: use this form in loops). Throws `pare::error` for bits outside [2, 8], an
/// axis outside [−1, rank), a group size that does not divide the last extent (or set together
/// with an axis), an empty x, or a NaN or infinity in x; after an error `out` is empty.
template <class T>
void quantize(tensor_view<T> x, const quantize_options& opt, quantized_tensor& out) {
  using V = std::remove_const_t<T>;
  static_assert(std::is_floating_point_v<V>, "pare::quant::quantize: x must be float or double");
  detail::quantize_with_options(tensor_view<const V>(x), opt, out);
}

/// Quantizes x with the scheme, bits and layout in `opt`; the scales and zero points come from
/// x's own ranges (see `scheme`). Errors as in the three-argument form.
template <class T>
[[nodiscard]] quantized_tensor quantize(tensor_view<T> x, const quantize_options& opt = {}) {
  quantized_tensor q;
  quantize(x, opt, q);
  return q;
}

/// Quantizes x with given qparams (from an observer, `choose_qparams`, or another tensor):
/// values outside the representable range clamp to qmin/qmax. Throws `pare::error` when the
/// qparams do not fit x's shape, hold a non-positive scale or a zero point outside the code
/// range, or x holds a NaN or an infinity.
template <class T, std::same_as<qparams> Q>
void quantize(tensor_view<T> x, const Q& qp, quantized_tensor& out) {
  using V = std::remove_const_t<T>;
  static_assert(std::is_floating_point_v<V>, "pare::quant::quantize: x must be float or double");
  detail::quantize_with_qparams(tensor_view<const V>(x), qp, out);
}
template <class T, std::same_as<qparams> Q>
[[nodiscard]] quantized_tensor quantize(tensor_view<T> x, const Q& qp) {
  quantized_tensor q;
  quantize(x, qp, q);
  return q;
}

/// Writes (q − z)·s for every element of `q` into `out`, which must have q's shape (float or
/// double). Throws `pare::error` for another shape.
template <class T>
void dequantize(const quantized_tensor& q, tensor_view<T> out) {
  static_assert(std::is_floating_point_v<T> && !std::is_const_v<T>,
                "pare::quant::dequantize: out must be a mutable float or double view");
  detail::require_shape_of_q("pare::quant::dequantize", q.shape(), out);
  const auto& l = detail::quantized_access::layout(q);
  const auto& qp = q.params();
  const std::uint8_t* bytes = q.bytes().data();
  T* o = out.data();
  detail::for_each_run(0, q.size(), l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    const auto kk = static_cast<std::size_t>(k);
    detail::dequantize_span(bytes, qp.bits, b, e, qp.scales[kk], qp.zero_points[kk], o + b);
  });
}

}  // namespace pare::quant
