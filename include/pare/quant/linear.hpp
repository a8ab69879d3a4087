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
#include "pare/quant/detail/codes_avx512.hpp"
#include "pare/quant/detail/decode_avx512.hpp"
#include "pare/quant/detail/interleave.hpp"
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

/// clamp(round_half_even(v / s) + z, lo, hi), computed in v's type: the code of every linear
/// quantization, fake quantization included.
template <class T>
[[nodiscard]] inline T clamped_code(T v, T s, T z, T lo, T hi) noexcept {
  T r = std::nearbyint(v / s) + z;
  r = r < lo ? lo : r;
  return r > hi ? hi : r;
}

/// out[i] = clamp(round_half_even(x[i] / s) + z, q0, q1) for finite x (callers check).
/// The portable loop; a plain C++ clamp compiles to compare-and-mask chains on AVX-512, so
/// float has an intrinsic kernel below.
template <class T>
inline void quantize_run(const T* __restrict x, std::int8_t* __restrict out, std::int64_t n,
                         float s, int z, int q0, int q1) noexcept {
  const T st = static_cast<T>(s), zt = static_cast<T>(z), lo = static_cast<T>(q0),
          hi = static_cast<T>(q1);
  for (std::int64_t i = 0; i < n; ++i)
    out[i] = static_cast<std::int8_t>(static_cast<int>(clamped_code(x[i], st, zt, lo, hi)));
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
/// AVX-512 float kernel: division-free and exact (see detail/codes_avx512.hpp).
template <>
inline void quantize_run<float>(const float* __restrict x, std::int8_t* __restrict out,
                                std::int64_t n, float s, int z, int q0, int q1) noexcept {
  (void)avx512::code_run<false, false, true, false>(x, n, avx512::make_consts(s, z, q0, q1, false),
                                                    reinterpret_cast<std::uint8_t*>(out));
}
#endif

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

/// Whether the AVX-512 kernels write the codes of a run of T starting at element b directly
/// (packed runs must start on a byte).
template <class T>
[[nodiscard]] constexpr bool direct_codes([[maybe_unused]] int bits, [[maybe_unused]] std::int64_t b) noexcept {
#if defined(__AVX512F__) && defined(__AVX512BW__)
  if constexpr (std::is_same_v<T, float>) return bits > 4 || (b & 1) == 0;
#endif
  return false;
}

/// How `quantize_span` gets its qparams: from the values it quantizes (`own`: nothing to check,
/// no value beyond the range) or given (`given`: x is checked for NaN/inf and clamped).
enum class span_mode { own, given };

/// Quantizes x[b, e) (one slice) into the tensor's storage. With given qparams it returns false when x[b, e) holds an infinity or a NaN (codes
/// may then be half-written: the caller clears the tensor).
template <class T>
[[nodiscard]] inline bool quantize_span(const T* x, std::int64_t b, std::int64_t e, float s, int z,
                                        int q0, int q1, int bits, std::uint8_t* bytes, span_mode mode) noexcept {
  const bool check = mode == span_mode::given;
#if defined(__AVX512F__) && defined(__AVX512BW__)
  if constexpr (std::is_same_v<T, float>) {
    if (direct_codes<T>(bits, b)) {
      const auto c = avx512::make_consts(s, z, q0, q1, !check);
      std::uint8_t* out = bits > 4 ? bytes + b : bytes + b / 2;
      if (bits > 4)
        return check ? avx512::code_run<false, true, true>(x + b, e - b, c, out)
                     : avx512::code_run<false, false, false>(x + b, e - b, c, out);
      return check ? avx512::code_run<true, true, true>(x + b, e - b, c, out)
                   : avx512::code_run<true, false, false>(x + b, e - b, c, out);
    }
  }
#endif
  alignas(64) std::int8_t buf[code_piece];
  auto* codes = reinterpret_cast<std::int8_t*>(bytes);
  for (std::int64_t p = b; p < e; p += code_piece) {
    const std::int64_t m = std::min(code_piece, e - p);
    if (check) {
      range_acc<T> acc;
      acc.add(x + p, m);
      if (!acc.finite()) return false;
    }
    if (bits > 4) {
      quantize_run(x + p, codes + p, m, s, z, q0, q1);
    } else {
      quantize_run(x + p, buf, m, s, z, q0, q1);
      pack_nibbles_at(buf, m, bytes, p);
    }
  }
  return true;
}

/// The scale and zero point of one slice x[0, n) from its own range; `finite` is false (and
/// the result meaningless) when the slice holds an infinity or a NaN.
template <class T>
[[nodiscard]] inline scale_zero own_qparams(const T* x, std::int64_t n, int bits, scheme sch,
                                            bool& finite) noexcept {
#if defined(__AVX512F__) && defined(__AVX512BW__)
  if constexpr (std::is_same_v<T, float>) {
    const auto r = sch == scheme::affine ? avx512::slice_range<true>(x, n) : avx512::slice_range<false>(x, n);
    finite = r.finite;
    return finite ? compute_qparams(r.lo, r.hi, bits, sch) : scale_zero{};
  }
#endif
  range_acc<T> acc;
  acc.add(x, n);
  finite = acc.finite();
  return finite ? compute_qparams(acc.min(), acc.max(), bits, sch) : scale_zero{};
}

/// dst[i − b] = (code[i] − z)·s for the run [b, e) of one slice.
template <class T>
inline void dequantize_span(const std::uint8_t* bytes, int bits, std::int64_t b, std::int64_t e,
                            float s, int z, T* __restrict dst) noexcept {
  const T st = static_cast<T>(s);
  if (bits > 4) {
    const auto* c = reinterpret_cast<const std::int8_t*>(bytes) + b;
    if (e - b == interleave_block) {  // the interleaved runs: a loop of known length, no remainder
      for (std::int64_t i = 0; i < interleave_block; ++i) dst[i] = static_cast<T>(c[i] - z) * st;
      return;
    }
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
  // field by field, so the scale and zero-point vectors keep their capacity between calls
  auto set_params = [&] {
    qp.bits = opt.bits;
    qp.scheme = opt.scheme;
    qp.axis = opt.axis;
    qp.group_size = opt.group_size;
    qp.scales.resize(static_cast<std::size_t>(l.channels));
    qp.zero_points.resize(static_cast<std::size_t>(l.channels));
    A::layout(out) = l;
  };
  if (l.channels == 1) {
    // One scale for everything: a range pass (which throws before anything is written), then
    // the codes.
    bool finite = true;
    const auto sz = own_qparams(xp, n, opt.bits, opt.scheme, finite);
    if (!finite) fail_not_finite(quantize_component, "x", xp, n);
    reshape_storage(out, x.shape(), n, opt.bits);
    set_params();
    qp.scales[0] = sz.scale;
    qp.zero_points[0] = static_cast<std::int8_t>(sz.zero_point);
    (void)quantize_span(xp, 0, n, sz.scale, sz.zero_point, q0, q1, opt.bits, A::bytes(out).data(), span_mode::own);
    return;
  }
  if (l.outer == 1) {
    // Every slice is one contiguous run (a row, a group): find its range and quantize it while
    // it is still in cache, in one trip through memory; the next slices are prefetched meanwhile.
    reshape_storage(out, x.shape(), n, opt.bits);
    set_params();
    std::uint8_t* bytes = A::bytes(out).data();
    auto slice_qparams = [&](std::int64_t k) {
      bool finite = true;
      const auto sz = own_qparams(xp + k * l.inner, l.inner, opt.bits, opt.scheme, finite);
      if (!finite) {
        clear(out);
        fail_not_finite(quantize_component, "x", xp, n);
      }
      qp.scales[static_cast<std::size_t>(k)] = sz.scale;
      qp.zero_points[static_cast<std::size_t>(k)] = static_cast<std::int8_t>(sz.zero_point);
      return sz;
    };
    const std::int64_t per_piece = code_piece / l.inner;
    if (opt.bits <= 4 && per_piece >= 2 && !direct_codes<T>(opt.bits, l.inner)) {
      // Small packed groups the vector kernels cannot write directly: code a piece of whole
      // groups, then pack the piece at once.
      alignas(64) std::int8_t buf[code_piece];
      for (std::int64_t k0 = 0; k0 < l.channels; k0 += per_piece) {
        const std::int64_t k1 = std::min(l.channels, k0 + per_piece);
        for (std::int64_t k = k0; k < k1; ++k) {
          const auto sz = slice_qparams(k);
          quantize_run(xp + k * l.inner, buf + (k - k0) * l.inner, l.inner, sz.scale, sz.zero_point, q0, q1);
        }
        pack_nibbles_at(buf, (k1 - k0) * l.inner, bytes, k0 * l.inner);
      }
      return;
    }
#if defined(__AVX512F__) && defined(__AVX512BW__)
    if constexpr (std::is_same_v<T, float>) {
      if (direct_codes<T>(opt.bits, l.inner)) {
        const bool ok = opt.scheme == scheme::affine
            ? avx512::quantize_slices<true>(xp, l.inner, l.channels, opt.bits, qp.scales.data(), qp.zero_points.data(), bytes)
            : avx512::quantize_slices<false>(xp, l.inner, l.channels, opt.bits, qp.scales.data(), qp.zero_points.data(), bytes);
        if (!ok) {
          clear(out);
          fail_not_finite(quantize_component, "x", xp, n);
        }
        return;
      }
    }
#endif
    for (std::int64_t k = 0; k < l.channels; ++k) {
      const auto sz = slice_qparams(k);
      (void)quantize_span(xp, k * l.inner, (k + 1) * l.inner, sz.scale, sz.zero_point, q0, q1, opt.bits, bytes,
                          span_mode::own);
    }
    return;
  }
  // Channels spread over many runs: ranges first, then codes.
  std::vector<double> lo, hi;
  slice_ranges(quantize_component, xp, n, l, lo, hi);  // throws before anything is written
  reshape_storage(out, x.shape(), n, opt.bits);
  qp = qparams_from_range(lo, hi, opt);
  A::layout(out) = l;
  std::uint8_t* bytes = A::bytes(out).data();
  for_each_run(0, n, l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    const auto kk = static_cast<std::size_t>(k);
    (void)quantize_span(xp, b, e, qp.scales[kk], qp.zero_points[kk], q0, q1, opt.bits, bytes, span_mode::own);
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
    ok = ok && quantize_span(xp, b, e, qp.scales[kk], qp.zero_points[kk], qp.qmin(), qp.qmax(), qp.bits,
                             bytes, span_mode::given);
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
  if (qp.bits > 4) {
    if (l.outer == 1) {  // contiguous slices: read and written as interleaved streams
      detail::for_each_block_interleaved(l.inner, l.channels, [&](std::int64_t k, std::int64_t b, std::int64_t e) {
        const auto kk = static_cast<std::size_t>(k);
        detail::dequantize_span(bytes, qp.bits, k * l.inner + b, k * l.inner + e, qp.scales[kk], qp.zero_points[kk],
                                o + k * l.inner + b);
      });
      return;
    }
    detail::for_each_run(0, q.size(), l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
      const auto kk = static_cast<std::size_t>(k);
      detail::dequantize_span(bytes, qp.bits, b, e, qp.scales[kk], qp.zero_points[kk], o + b);
    });
    return;
  }
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  if constexpr (std::is_same_v<T, float>) {
    if (l.outer == 1 && l.inner % 2 == 0) {  // contiguous slices starting on a byte
      detail::avx512::decode_packed_slices(bytes, l.inner, l.channels, qp.scales.data(), qp.zero_points.data(), o);
      return;
    }
  }
#endif
  // Packed: unpack a piece of codes at a time, then decode the runs (groups) inside it.
  alignas(64) std::int8_t buf[detail::code_piece];
  for (std::int64_t p = 0; p < q.size(); p += detail::code_piece) {
    const std::int64_t m = std::min(detail::code_piece, q.size() - p);
    detail::unpack_nibbles_at(bytes, p, m, buf);
    detail::for_each_run(p, p + m, l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
      const auto kk = static_cast<std::size_t>(k);
      const T st = static_cast<T>(qp.scales[kk]);
      const int z = qp.zero_points[kk];
      const std::int8_t* c = buf + (b - p);
      T* d = o + b;
      for (std::int64_t i = 0; i < e - b; ++i) d[i] = static_cast<T>(c[i] - z) * st;
    });
  }
}

// std::vector forms: a vector is a 1-D tensor (template deduction does not convert a vector
// to a tensor_view, so without these `quantize(v, {.bits = 8})` would not compile).
template <class T>
void quantize(const std::vector<T>& x, const quantize_options& opt, quantized_tensor& out) {
  quantize(tensor_view<const T>(x), opt, out);
}
template <class T>
[[nodiscard]] quantized_tensor quantize(const std::vector<T>& x, const quantize_options& opt = {}) {
  return quantize(tensor_view<const T>(x), opt);
}
template <class T>
void dequantize(const quantized_tensor& q, std::vector<T>& out) {
  dequantize(q, tensor_view<T>(out));
}

}  // namespace pare::quant
