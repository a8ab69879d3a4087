#pragma once
/// \file
/// AVX-512 kernels that turn floats into linear codes: the range of a slice (with the finiteness
/// check), clamp(round_half_even(x / s) + z, qmin, qmax) for 64 floats at a time stored as int8
/// codes or packed nibbles, and a batched kernel for small groups (16 groups' ranges reduced and
/// their qparams computed in one vector). Used by `quantize` and by matvec's int8 activations.
///
/// Exactness without a division: q = x·(1/s) can differ from the correctly rounded x / s by an
/// ulp, which changes the code when x / s lies near a .5 tie. One Newton (Markstein) correction
///     q = RN(x·r),  e = x − q·s  (exact, one fma),  q' = RN(q + e·r),   r = RN(1/s)
/// gives q' = RN(x / s) exactly (Markstein 1990; Muller et al., *Handbook of Floating-Point
/// Arithmetic*, §4.7) as long as nothing underflows or overflows — pare uses it for
/// 2^-90 ≤ s ≤ 2^100 (checked exhaustively over every float x for several s, and for x near ties
/// in the tests) and divides otherwise. The rounding to an integer is the conversion itself, with
/// round-to-nearest-even embedded in the instruction.
///
/// Clamping: with given qparams x is first clamped to [(qmin − z)·s, (qmax − z)·s] (both
/// products rounded to float), which yields exactly the clamped codes (an ulp of a bound moves
/// x / s by far less than ½) and keeps x·r finite. With qparams from x's own range nothing needs
/// clamping before the conversion: symmetric, |x| ≤ m and s ≥ (m / qmax)(1 − 2^-24) give
/// |x / s| ≤ qmax(1 + 2^-23) < qmax + ½, so the codes stay in [−qmax, qmax]; affine, the codes
/// can pass qmin or qmax by one (the zero point is rounded separately), which a byte clamp after
/// the saturating int16 → int8 pack undoes.

#if defined(__AVX512F__) && defined(__AVX512BW__)

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "pare/quant/detail/interleave.hpp"
#include "pare/quant/qparams.hpp"

namespace pare::quant::detail::avx512 {

constexpr __mmask16 all16 = 0xFFFF;  // zero-masked forms: GCC 12's PR 105593 false warnings

/// A load whose value stays in a register: GCC otherwise folds the load into every instruction
/// that uses it, and two or three 64-byte loads of the same data saturate the load ports.
inline __m512 load_once(const float* p) noexcept {
  __m512 v = _mm512_loadu_ps(p);
#if defined(__GNUC__)
  __asm__("" : "+v"(v));
#endif
  return v;
}

/// Whether s is in the range where the Markstein quotient is exact.
[[nodiscard]] inline bool markstein_ok(float s) noexcept { return s >= 0x1p-90f && s <= 0x1p100f; }

/// The scale of a slice as the code kernel uses it.
struct slice_scale {
  __m512 s, r;  // r = RN(1/s)
  __m512i z;    // the zero point in every int16 lane
};

/// Per-slice constants of the code kernel.
struct code_consts {
  slice_scale sc;
  __m512 lo, hi;         // given qparams: x is clamped to [lo, hi]
  __m512 qlo, qhi;       // qmin − z and qmax − z (the division path clamps the quotient)
  __m512i bmin, bmax;    // qmin, qmax in every byte (own qparams)
  bool divide = false;   // s outside [2^-90, 2^100]: x / s by division
  bool shift = false;    // z ≠ 0
  bool byte_clamp = false;
};

/// Constants for scale s, zero point z and codes [q0, q1]; `own` when the qparams come from
/// the values being quantized (no clamping of x needed, see the file comment).
inline code_consts make_consts(float s, int z, int q0, int q1, bool own) noexcept {
  code_consts c;
  c.sc.s = _mm512_set1_ps(s);
  c.sc.r = _mm512_set1_ps(1.0f / s);
  c.lo = _mm512_set1_ps(static_cast<float>(q0 - z) * s);
  c.hi = _mm512_set1_ps(static_cast<float>(q1 - z) * s);
  c.qlo = _mm512_set1_ps(static_cast<float>(q0 - z));
  c.qhi = _mm512_set1_ps(static_cast<float>(q1 - z));
  c.sc.z = _mm512_set1_epi16(static_cast<short>(z));
  c.bmin = _mm512_set1_epi8(static_cast<char>(q0));
  c.bmax = _mm512_set1_epi8(static_cast<char>(q1));
  c.divide = !markstein_ok(s);
  c.shift = z != 0;
  // own qparams: symmetric codes cannot leave [−qmax, qmax] (see the file comment); affine ones
  // can by one at either end, which the saturating pack clamps for 8 bits
  c.byte_clamp = own && q0 != -q1 && !(q0 == -128 && q1 == 127);
  return c;
}

/// round_half_even(x / s) as int32 (z not added yet).
template <bool Divide, bool ClampX>
inline __m512i code16(__m512 x, const code_consts& c, const slice_scale& sc) noexcept {
  if constexpr (ClampX) x = _mm512_maskz_min_ps(all16, _mm512_maskz_max_ps(all16, x, c.lo), c.hi);
  __m512 q;
  if constexpr (Divide) {
    q = _mm512_div_ps(x, sc.s);
    if constexpr (ClampX) q = _mm512_maskz_min_ps(all16, _mm512_maskz_max_ps(all16, q, c.qlo), c.qhi);
  } else {
    q = _mm512_mul_ps(x, sc.r);
    q = _mm512_fmadd_ps(_mm512_fnmadd_ps(q, sc.s, x), sc.r, q);
  }
  return _mm512_maskz_cvt_roundps_epi32(all16, q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/// |x| bit patterns folded into `bad` by unsigned max: a lane ≥ 0x7F800000 saw an inf or a NaN.
inline __m512i fold_abs(__m512i bad, __m512 v) noexcept {
  return _mm512_max_epu32(bad, _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF)));
}
[[nodiscard]] inline bool all_finite(__m512i bad) noexcept {
  return _mm512_cmp_epu32_mask(bad, _mm512_set1_epi32(0x7F800000), _MM_CMPINT_NLT) == 0;
}

/// Codes of up to 64 floats (element j valid when bit j of m is set; others are not read) as
/// 64 int8 in element order. With Check, folds |x| into `bad` (see fold_abs).
template <bool Divide, bool Full, bool Check, bool ClampX>
inline __m512i code64(const float* x, __mmask64 m, const code_consts& c, const slice_scale& sc,
                      __m512i& bad) noexcept {
  __m512i k[4];
  for (int j = 0; j < 4; ++j) {
    const __m512 v = Full ? load_once(x + 16 * j)
                          : _mm512_maskz_loadu_ps(static_cast<__mmask16>(m >> (16 * j)), x + 16 * j);
    if constexpr (Check) bad = fold_abs(bad, v);
    k[j] = code16<Divide, ClampX>(v, c, sc);
  }
  // packs work within 128-bit lanes: lane L holds k0[4L..], k1[4L..], k2[4L..], k3[4L..]
  __m512i w0 = _mm512_packs_epi32(k[0], k[1]), w1 = _mm512_packs_epi32(k[2], k[3]);
  if (c.shift) {
    w0 = _mm512_add_epi16(w0, sc.z);
    w1 = _mm512_add_epi16(w1, sc.z);
  }
  __m512i b = _mm512_packs_epi16(w0, w1);
  if (c.byte_clamp) b = _mm512_min_epi8(_mm512_max_epi8(b, c.bmin), c.bmax);
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(order, b);
}

/// 64 codes → 32 bytes of nibbles (element 2t low, 2t + 1 high, each code + 8).
inline __m256i nibbles(__m512i codes) noexcept {
  const __m512i u = _mm512_add_epi8(codes, _mm512_set1_epi8(8));
  return _mm512_cvtepi16_epi8(_mm512_maddubs_epi16(u, _mm512_set1_epi16(0x1001)));
}

/// Stores 64 codes for elements starting at `i` (int8, or nibbles when Packed; i even).
template <bool Packed>
inline void store64(std::uint8_t* out, std::int64_t i, __m512i k) noexcept {
  if constexpr (Packed) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i / 2), nibbles(k));
  else _mm512_storeu_si512(out + i, k);
}
/// Stores the first m < 64 codes (a last odd nibble leaves its byte's high nibble 0).
template <bool Packed>
inline void store_tail(std::uint8_t* out, std::int64_t i, __m512i k, std::int64_t m) noexcept {
  const __mmask64 valid = (~__mmask64{0}) >> (64 - m);
  if constexpr (Packed) {
    k = _mm512_mask_mov_epi8(_mm512_set1_epi8(-8), valid, k);  // nibble 0 past the end
    _mm256_mask_storeu_epi8(out + i / 2, static_cast<__mmask32>((~std::uint64_t{0}) >> (64 - (m + 1) / 2)),
                            nibbles(k));
  } else {
    _mm512_mask_storeu_epi8(out + i, valid, k);
  }
}

/// The scheme of the kernels' `Affine` template argument.
template <bool Affine>
inline constexpr scheme scheme_of = Affine ? scheme::affine : scheme::symmetric;

/// Streams read side by side by the long-run kernels: one core's memory bandwidth grows with
/// the number of pages it reads at once (the hardware prefetchers follow each page's stream),
/// here from ~0.6 of the triad floor for one stream to ~0.9–1.0 for four to eight.
constexpr int streams = 4;
/// Runs shorter than this are not split.
constexpr std::int64_t split_min = 8192;

/// Codes of x[0, n) into `out`: int8 codes at `out` (Packed = false) or nibbles from the low
/// nibble of out[0] on (Packed = true; a last odd code leaves its byte's high nibble 0).
/// Long runs are read as `streams` interleaved parts. With Check, returns false (and may have
/// written codes) when x holds an infinity or a NaN.
template <bool Packed, bool Check, bool ClampX, bool Divide, bool Split>
inline bool code_run(const float* x, std::int64_t n, const code_consts& c, std::uint8_t* out) noexcept {
  __m512i bad = _mm512_setzero_si512();
  std::int64_t i = 0;
  if (Split && n >= split_min) {
    const std::int64_t part = n / (64 * streams) * 64;
    for (std::int64_t j = 0; j < part; j += 64)
      for (int k = 0; k < streams; ++k)
        store64<Packed>(out, k * part + j, code64<Divide, true, Check, ClampX>(x + k * part + j, ~__mmask64{0}, c, c.sc, bad));
    i = streams * part;
  }
  for (; i + 64 <= n; i += 64) store64<Packed>(out, i, code64<Divide, true, Check, ClampX>(x + i, ~__mmask64{0}, c, c.sc, bad));
  if (i < n) {
    const std::int64_t m = n - i;
    store_tail<Packed>(out, i, code64<Divide, false, Check, ClampX>(x + i, (~__mmask64{0}) >> (64 - m), c, c.sc, bad), m);
  }
  if constexpr (Check) return all_finite(bad);
  return true;
}

/// code_run with the division choice made at run time (Split = false: never split, for short
/// runs into small buffers).
template <bool Packed, bool Check, bool ClampX, bool Split = true>
inline bool code_run(const float* x, std::int64_t n, const code_consts& c, std::uint8_t* out) noexcept {
  return c.divide ? code_run<Packed, Check, ClampX, true, Split>(x, n, c, out)
                  : code_run<Packed, Check, ClampX, false, Split>(x, n, c, out);
}

/// Lane-wise range of values seen: max|x| as bit patterns (also the finiteness check) and, for
/// the affine scheme, min and max.
template <bool Affine>
struct lane_range {
  __m512i a = _mm512_setzero_si512();
  __m512 lo = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  __m512 hi = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  void add(__m512 v) noexcept {
    a = fold_abs(a, v);
    if constexpr (Affine) {
      lo = _mm512_maskz_min_ps(all16, lo, v);
      hi = _mm512_maskz_max_ps(all16, hi, v);
    }
  }
  /// v loaded with zeros in the lanes outside m (harmless for max|x|).
  void add(__mmask16 m, __m512 v) noexcept {
    a = fold_abs(a, v);
    if constexpr (Affine) {
      lo = _mm512_mask_min_ps(lo, m, lo, v);
      hi = _mm512_mask_max_ps(hi, m, hi, v);
    }
  }
  /// Adds the 64 floats at x (the first m of them when Full is false).
  template <bool Full>
  void add64(const float* x, __mmask64 m) noexcept {
    for (int j = 0; j < 4; ++j) {
      if constexpr (Full) {
        add(load_once(x + 16 * j));
      } else {
        const auto mj = static_cast<__mmask16>(m >> (16 * j));
        add(mj, _mm512_maskz_loadu_ps(mj, x + 16 * j));
      }
    }
  }
};

/// Range of a slice for choosing its qparams: max|x| (Affine = false; lo is then −max|x|) or
/// min and max, and whether every value is finite.
struct range_out {
  float lo, hi;
  bool finite;
};
template <bool Affine>
[[nodiscard]] inline range_out reduce(const lane_range<Affine>& r) noexcept {
  const auto amax = static_cast<std::uint32_t>(_mm512_reduce_max_epu32(r.a));
  range_out o;
  o.finite = amax < 0x7F800000u;
  if constexpr (Affine) {
    o.lo = _mm512_reduce_min_ps(r.lo);
    o.hi = _mm512_reduce_max_ps(r.hi);
  } else {
    float m;
    std::memcpy(&m, &amax, sizeof m);
    o.lo = -m;
    o.hi = m;
  }
  return o;
}
template <bool Affine>
inline void merge(lane_range<Affine>& a, const lane_range<Affine>& b) noexcept {
  a.a = _mm512_max_epu32(a.a, b.a);
  a.lo = _mm512_maskz_min_ps(all16, a.lo, b.lo);
  a.hi = _mm512_maskz_max_ps(all16, a.hi, b.hi);
}
template <bool Affine>
[[nodiscard]] inline range_out slice_range(const float* x, std::int64_t n) noexcept {
  lane_range<Affine> r[streams];
  std::int64_t i = 0;
  if (n >= split_min) {  // `streams` parts side by side
    const std::int64_t part = n / (16 * streams) * 16;
    for (std::int64_t j = 0; j < part; j += 16)
      for (int k = 0; k < streams; ++k) r[k].add(load_once(x + k * part + j));
    i = streams * part;
  }
  for (; i + 32 <= n; i += 32) {
    r[0].add(load_once(x + i));
    r[1].add(load_once(x + i + 16));
  }
  for (; i < n; i += 16) {
    const auto m = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
    r[0].add(m, _mm512_maskz_loadu_ps(m, x + i));
  }
  for (int k = 1; k < streams; ++k) merge(r[0], r[k]);
  return reduce(r[0]);
}

// ---- one pass over slices with their own qparams -----------------------------------------------
// Software pipelined: while slice k is coded from cache, the range of slice k + 1 is read from
// memory in the same loop, so loads keep streaming instead of stopping for every code pass.

/// Quantizes `count` consecutive slices of g floats (g even when packed) with qparams from each
/// slice's own range (exactly compute_qparams), writing scales, zero points and codes (int8 at
/// out when bits > 4, else nibbles from out[0]). Software pipelined and multi-stream: rows
/// k … k + 3 are coded from cache while the ranges of rows k + 4 … k + 7 are read from memory
/// in the same loop, 64 values of each row in turn. Returns false when x holds an infinity or
/// a NaN (the outputs may then be partly written).
template <bool Affine, bool Packed>
inline bool quantize_rows(const float* x, std::int64_t g, std::int64_t count, int bits, float* scales,
                          std::int8_t* zeros, std::uint8_t* out) noexcept {
  constexpr int R = streams;
  constexpr scheme sch = scheme_of<Affine>;
  const int q0 = qmin(bits, sch), q1 = qmax(bits, sch);
  const std::int64_t row_bytes = Packed ? g / 2 : g;
  range_out cur[R];
  for (int r = 0; r < R && r < count; ++r) cur[r] = slice_range<Affine>(x + r * g, g);
  for (std::int64_t k0 = 0; k0 < count; k0 += R) {
    const int nc = static_cast<int>(std::min<std::int64_t>(R, count - k0));
    const int nn = static_cast<int>(std::clamp<std::int64_t>(count - k0 - R, 0, R));
    code_consts c[R];
    bool divide = false;
    for (int r = 0; r < nc; ++r) {
      if (!cur[r].finite) return false;
      const scale_zero sz = compute_qparams(cur[r].lo, cur[r].hi, bits, sch);
      scales[k0 + r] = sz.scale;
      zeros[k0 + r] = static_cast<std::int8_t>(sz.zero_point);
      c[r] = make_consts(sz.scale, sz.zero_point, q0, q1, true);
      divide = divide || c[r].divide;
    }
    const float* xc = x + k0 * g;
    const float* xn = xc + R * g;
    std::uint8_t* o = out + k0 * row_bytes;
    lane_range<Affine> next[R];
    if (nc < R || divide) {  // the last rows, or a scale that needs the division: row by row
      for (int r = 0; r < nc; ++r) (void)code_run<Packed, false, false>(xc + r * g, g, c[r], o + r * row_bytes);
      for (int r = 0; r < nn; ++r) cur[r] = slice_range<Affine>(xn + r * g, g);
      continue;
    }
    __m512i unused = _mm512_setzero_si512();
    std::int64_t i = 0;
    for (; i + 64 <= g; i += 64)
      for (int r = 0; r < R; ++r) {
        if (r < nn) next[r].template add64<true>(xn + r * g + i, ~__mmask64{0});
        store64<Packed>(o + r * row_bytes, i, code64<false, true, false, false>(xc + r * g + i, ~__mmask64{0}, c[r], c[r].sc, unused));
      }
    if (i < g) {
      const std::int64_t m = g - i;
      const __mmask64 valid = (~__mmask64{0}) >> (64 - m);
      for (int r = 0; r < R; ++r) {
        if (r < nn) next[r].template add64<false>(xn + r * g + i, valid);
        store_tail<Packed>(o + r * row_bytes, i, code64<false, false, false, false>(xc + r * g + i, valid, c[r], c[r].sc, unused), m);
      }
    }
    for (int r = 0; r < nn; ++r) cur[r] = reduce(next[r]);
  }
  return true;
}

/// Reduces 16 vectors to one whose lane j is the reduction of v[j]'s 16 lanes (a transpose
/// tree: 45 shuffles and ops for 16 slices instead of 8 per slice).
template <class Op>
inline __m512 reduce16(const __m512* v, Op op) noexcept {
  __m512 t[8], u[4], w[2];
  for (int i = 0; i < 8; ++i)  // halves: t[i] = slice 2i in lanes 0–7, 2i + 1 in lanes 8–15
    t[i] = op(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
              _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int i = 0; i < 4; ++i)  // quarters: u[i] quarter k = slice 4i + k
    u[i] = op(_mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
              _mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  for (int i = 0; i < 2; ++i) {  // w[i] quarter k: lanes 0–1 slice 8i + k, lanes 2–3 slice 8i + 4 + k
    const __m512d a = _mm512_castps_pd(u[2 * i]), b = _mm512_castps_pd(u[2 * i + 1]);
    w[i] = op(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  // quarter k: slices k, 4 + k, 8 + k, 12 + k
  const __m512 r = op(_mm512_shuffle_ps(w[0], w[1], _MM_SHUFFLE(2, 0, 2, 0)),
                      _mm512_shuffle_ps(w[0], w[1], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

#if defined(__AVX512DQ__) && defined(__AVX512VBMI__)  // vrangeps, vpermb
/// The qparams of 16 slices at once, in float32 exactly as compute_qparams: lane j of `m`
/// (symmetric: max|x| of slice j, non-negative) or of `lo`/`hi` (affine: min and max of slice j)
/// gives scale s_j and zero point z_j. Slices holding an infinity or a NaN get meaningless
/// qparams (the code pass detects them).
struct batch_qp {
  __m512 s;
  __m512i z;  // int32 lanes
};
template <bool Affine>
[[nodiscard]] inline batch_qp batch_qparams(__m512 lo, __m512 hi, int q0, int q1) noexcept {
  const __m512 eps = _mm512_set1_ps(std::numeric_limits<float>::epsilon()), zero = _mm512_setzero_ps(),
               one = _mm512_set1_ps(1.0f);
  batch_qp p;
  if constexpr (Affine) {
    lo = _mm512_maskz_min_ps(all16, lo, zero);
    hi = _mm512_maskz_max_ps(all16, hi, zero);
    p.s = _mm512_maskz_max_ps(all16, _mm512_div_ps(_mm512_sub_ps(hi, lo), _mm512_set1_ps(static_cast<float>(q1 - q0))), eps);
    const __m512i t = _mm512_maskz_cvt_roundps_epi32(all16, _mm512_div_ps(lo, p.s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    p.z = _mm512_min_epi32(_mm512_max_epi32(_mm512_sub_epi32(_mm512_set1_epi32(q0), t), _mm512_set1_epi32(q0)),
                           _mm512_set1_epi32(q1));
    const __mmask16 empty = _mm512_cmp_ps_mask(lo, zero, _CMP_EQ_OQ) & _mm512_cmp_ps_mask(hi, zero, _CMP_EQ_OQ);
    p.s = _mm512_mask_mov_ps(p.s, empty, one);
    p.z = _mm512_mask_mov_epi32(p.z, empty, _mm512_setzero_si512());
  } else {  // hi = max|x| ≥ 0
    p.s = _mm512_maskz_max_ps(all16, _mm512_div_ps(hi, _mm512_set1_ps(static_cast<float>(q1))), eps);
    p.s = _mm512_mask_mov_ps(p.s, _mm512_cmp_ps_mask(hi, zero, _CMP_EQ_OQ), one);
    p.z = _mm512_setzero_si512();
  }
  return p;
}

/// How far ahead of the ranges it reads group_kernel::code prefetches x into L2, in floats (in
/// each lane). Without it the kernel waits for memory at every page; measured (groups of 64,
/// 16M floats, against a triad in the same process), with one lane: no prefetch ~0.48 of the
/// triad, into L2 2K–16K floats ahead ~0.65–0.83 (4K chosen), into L1 ~0.65–0.73, non-temporal
/// ~0.3–0.45; with four lanes: none 0.59–0.71, 1K–8K floats ahead 0.65–0.85 (no clear best).
constexpr std::int64_t group_prefetch = 4096;

/// quantize_rows for short slices (g a multiple of 16, at most 256), 16 slices (a batch) at a
/// time in straight-line code. The ranges of a batch are one vector per slice (`ranges`);
/// `prepare` turns them into the batch's 16 qparams in one vector (reduce16 + batch_qparams);
/// `code` writes the codes of prepared batches (one per lane) and, in the same loop, reads the
/// ranges of each lane's next batch, so reads from memory are spread evenly over the work
/// (group_pipeline). G > 0 fixes g at compile time. Per 16 floats the work is ~7 vector µops
/// (symmetric, g = 64): ¾ `vrangeps` (max|x|), the Markstein quotient and its conversion (4), ¾ of the
/// reduction, ¼ for the NaN check and 1½ for packing 64 codes into 32 bytes of nibbles (two
/// `vpackssdw`, `vpacksswb`, +8, `vpmaddubsw`, one `vpermb` that orders and narrows at once);
/// affine adds 1½ (min and max instead of max|x|, a second reduction) and ¼ (the zero point and
/// the clamp, one `vpaddb` and one `vpermb` table per 64 codes).
///
/// Infinities and NaNs: `vrangeps` drops quiet NaNs, so they are caught in the code pass instead:
/// there x·(1/s) is never finite-and-in-range for a non-finite x, its conversion gives the integer
/// indefinite 0x80000000, which saturates to −128 (nibbles) or −32768 (int16 words of int8
/// codes), far below any real code (|x / s| ≤ 2^bits here). A batch whose scales need the
/// division (see markstein_ok; also NaN scales) takes code_run with its finiteness check.
template <bool Affine, bool Packed, int G>
class group_kernel {
 public:
  group_kernel(std::int64_t g, int bits) noexcept
      : v_(G > 0 ? G / 16 : static_cast<int>(g / 16)), q0_(qmin(bits, scheme_of<Affine>)), q1_(qmax(bits, scheme_of<Affine>)) {
    const int nv = 16 * v_;  // vectors per batch
    for (int t = 0; t < nv; ++t) group_[t] = static_cast<std::uint8_t>(t / v_);
    if constexpr (Packed) {
      // nibbles: after the packs, 128-bit lane L holds codes 4L…4L+3 of the chunk's vectors 0–3;
      // vpmaddubsw joins adjacent bytes, so element pair p sits in the low byte of word
      // 2·(p / 8) + p % 2 of lane (p % 8) / 2
      alignas(64) std::uint8_t order[64] = {};
      for (int p = 0; p < 32; ++p) order[p] = static_cast<std::uint8_t>(16 * ((p % 8) / 2) + 2 * (2 * (p / 8) + p % 2));
      t_.nibble_order = _mm512_load_si512(order);
      if constexpr (Affine) {
        // code + z + 8 lies in [q0 + 7, q1 + 9] (see the file comment): vpermb by its low 6 bits
        // clamps it to [q0 + 8, q1 + 8]
        alignas(64) std::uint8_t lut[64];
        for (int i = 0; i < 64; ++i)
          lut[i] = static_cast<std::uint8_t>(std::clamp(i < 32 ? i : i - 64, q0_ + 8, q1_ + 8));
        t_.clamp_lut = _mm512_load_si512(lut);
        // vector t of a batch needs z of slice t / v in the 4 bytes it occupies in each lane
        for (int i = 0; i < 4 * nv; ++i) z_index_[i] = static_cast<std::uint8_t>(4 * group_[i / 4]);
      }
    } else if constexpr (Affine) {
      // int8 codes: z is added to the int16 words, 4 per vector and lane
      for (int i = 0; i < 4 * nv; ++i) zw_index_[i] = static_cast<std::uint16_t>(2 * group_[i / 4]);
      t_.byte_clamp = !(q0_ == -128 && q1_ == 127);
    }
    t_.bmin = _mm512_set1_epi8(static_cast<char>(q0_));
    t_.bmax = _mm512_set1_epi8(static_cast<char>(q1_));
  }

  /// Lane-wise ranges of the 16 slices of a batch, one vector per slice: max|x| (symmetric;
  /// `vrangeps` absolute maximum, sign cleared) or min and max (affine).
  struct ranges {
    __m512 lo[Affine ? 16 : 1], hi[16];
  };

  /// L batches that `code` writes side by side, equally spaced (so that the loop needs few
  /// registers for its addresses): lane k's floats at x + k·stride, its codes at
  /// out + k·out_stride, prepared in slot 2k + odd; with Next, the ranges of the batch D after
  /// it (its floats D·16·g further on) are read into an[2k].
  struct lanes {
    const float* x;
    std::int64_t stride;
    std::uint8_t* out;
    std::int64_t out_stride;
    int odd;
    ranges* an;
  };

  /// The ranges of the batch at x (16·g floats).
  void read_ranges(const float* x, ranges& a) const noexcept {
    const int v = G > 0 ? G / 16 : v_;
    for (int t = 0; t < 16 * v; ++t) fold(a, t, v, load_once(x + 16 * t));
  }

  /// Computes the qparams of a batch from its ranges, writes its scales and zero points and
  /// keeps what `code` needs in `slot` (0 or 1).
  void prepare(const ranges& a, float* scales, std::int8_t* zeros, int slot) noexcept {
    const int v = G > 0 ? G / 16 : v_;
    __m512 rlo = _mm512_setzero_ps();
    if constexpr (Affine) rlo = reduce16(a.lo, [](__m512 p, __m512 q) { return _mm512_maskz_min_ps(all16, p, q); });
    const batch_qp qp = batch_qparams<Affine>(rlo, reduce16(a.hi, [](__m512 p, __m512 q) { return _mm512_maskz_max_ps(all16, p, q); }),
                                              q0_, q1_);
    _mm512_storeu_ps(scales, qp.s);
    _mm512_mask_cvtepi32_storeu_epi8(zeros, all16, qp.z);
    params& P = p_[slot];
    // not (2^-90 ≤ s ≤ 2^100), NaN included: the division path
    P.divide = (_mm512_cmp_ps_mask(qp.s, _mm512_set1_ps(0x1p-90f), _CMP_NGE_UQ) |
                _mm512_cmp_ps_mask(qp.s, _mm512_set1_ps(0x1p100f), _CMP_NLE_UQ)) != 0;
    _mm512_store_ps(P.s, qp.s);
    _mm512_store_ps(P.r, _mm512_div_ps(_mm512_set1_ps(1.0f), qp.s));
    if constexpr (Affine) {
      _mm512_store_si512(P.z, qp.z);
      if constexpr (Packed) {
        const __m512i zp = _mm512_add_epi32(qp.z, _mm512_set1_epi32(8));
        for (int k = 0; k < v; ++k)
          _mm512_store_si512(P.zt + 16 * k, _mm512_permutexvar_epi8(_mm512_load_si512(z_index_ + 64 * k), zp));
      } else {
        for (int k = 0; k < 2 * v; ++k)
          _mm512_store_si512(P.zt + 16 * k, _mm512_permutexvar_epi16(_mm512_load_si512(zw_index_ + 32 * k), qp.z));
      }
    }
  }

  /// Writes the codes of L batches (lanes, each prepared in its own slot) and, with Next, reads
  /// the ranges of each lane's later batch in the same loop, chunk by chunk and lane by lane:
  /// memory is then read as L streams side by side (see `streams`) and the reads are spread
  /// evenly over the code work. A NaN or an infinity shows in `bad` (see finite()). Returns
  /// false when a batch took the division path and held such a value.
  template <bool Next, int L, int D>
  [[nodiscard]] bool code(const lanes& l, __m512i& bad) const noexcept {
    const int v = G > 0 ? G / 16 : v_;
    const std::int64_t ahead = D * 16 * 16 * v;  // floats from a batch to the one D later
    if constexpr (L > 1) {
      bool divide = false;
      for (int k = 0; k < L; ++k) divide = divide || p_[2 * k + l.odd].divide;
      if (divide) {  // rare (scales far from 1, or NaN): lane by lane
        for (int k = 0; k < L; ++k)
          if (!code<Next, 1, D>({l.x + k * l.stride, 0, l.out + k * l.out_stride, 0, l.odd + 2 * k, l.an + 2 * k}, bad)) return false;
        return true;
      }
    } else if (p_[l.odd].divide) {
      if constexpr (Next) read_ranges(l.x + ahead, *l.an);
      return divide_batch(l.x, 16 * v, p_[l.odd], l.out);
    }
    // 64 codes at a time (chunk c: vectors 4c … 4c + 3, of slices group_[4c …]). The code
    // stores are bytes, which may alias anything: the tables and `bad` are copied to locals so
    // that they stay in registers instead of being reloaded (and `bad` stored) every chunk.
    const tables tb = t_;
    __m512i bad_here = bad;
    const int chunks = 4 * v;
    for (int c = 0; c < chunks; ++c) {
      for (int k = 0; k < L; ++k) {
        const float* x = l.x + k * l.stride + 64 * c;
        if constexpr (Next) {
          // a later batch into L2 (see group_prefetch), chunk c of the batch D later into its ranges
          __m512 u[4];
          for (int i = 0; i < 4; ++i) {
            // an address past the end of x is harmless to prefetch, but forming it as a pointer
            // would not be: the arithmetic is done on the integer
            _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(x + ahead + 16 * i) +
                                                       group_prefetch * sizeof(float)),
                         _MM_HINT_T1);
            u[i] = load_once(x + ahead + 16 * i);
          }
          fold_chunk(l.an[2 * k], c, v, u);
        }
        code_chunk(x, p_[2 * k + l.odd], tb, c, l.out + k * l.out_stride, bad_here);
      }
    }
    bad = bad_here;
    return true;
  }

  /// Whether every value `code` saw was finite, given its `bad`.
  [[nodiscard]] static bool finite(__m512i bad) noexcept {
    return Packed ? _mm512_cmplt_epi8_mask(bad, _mm512_set1_epi8(-64)) == 0
                  : _mm512_cmplt_epi16_mask(bad, _mm512_set1_epi16(-4096)) == 0;
  }

 private:
  /// Folds vector t of a batch (of slice t / v) into the ranges a: the first vector of a slice
  /// starts them.
  void fold(ranges& a, int t, int v, __m512 u) const noexcept {
    const int j = G > 0 ? t / (G / 16) : group_[t];
    const bool first = (G > 0 ? t % (G / 16) : t - j * v) == 0;
    if constexpr (Affine) {
      a.lo[j] = first ? u : _mm512_maskz_min_ps(all16, a.lo[j], u);
      a.hi[j] = first ? u : _mm512_maskz_max_ps(all16, a.hi[j], u);
    } else {
      a.hi[j] = _mm512_maskz_range_ps(all16, first ? u : a.hi[j], u, 0x0B);
    }
  }

  /// fold() of the 4 vectors of chunk c; with g a multiple of 64 the chunk lies in one slice
  /// and is reduced as a tree first.
  void fold_chunk(ranges& a, int c, [[maybe_unused]] int v, const __m512* u) const noexcept {
    if constexpr (G > 0 && G % 64 == 0) {
      const int j = c / (G / 64);
      const bool first = c % (G / 64) == 0;
      if constexpr (Affine) {
        const auto mn = [](__m512 p, __m512 q) { return _mm512_maskz_min_ps(all16, p, q); };
        const auto mx = [](__m512 p, __m512 q) { return _mm512_maskz_max_ps(all16, p, q); };
        const __m512 lo = mn(mn(u[0], u[1]), mn(u[2], u[3])), hi = mx(mx(u[0], u[1]), mx(u[2], u[3]));
        a.lo[j] = first ? lo : mn(a.lo[j], lo);
        a.hi[j] = first ? hi : mx(a.hi[j], hi);
      } else {
        const auto am = [](__m512 p, __m512 q) { return _mm512_maskz_range_ps(all16, p, q, 0x0B); };
        const __m512 m = am(am(u[0], u[1]), am(u[2], u[3]));
        a.hi[j] = first ? m : am(a.hi[j], m);
      }
    } else {
      for (int i = 0; i < 4; ++i) fold(a, 4 * c + i, v, u[i]);
    }
  }

  /// The constant vectors of code_chunk (and whether int8 affine codes need their clamp).
  struct tables {
    __m512i nibble_order = _mm512_setzero_si512(), clamp_lut = _mm512_setzero_si512();
    __m512i bmin = _mm512_setzero_si512(), bmax = _mm512_setzero_si512();
    bool byte_clamp = false;
  };

  struct params {
    alignas(64) float s[16];
    alignas(64) float r[16];
    alignas(64) std::int32_t z[16];
    // per vector of the batch and 128-bit lane: z + 8 in its 4 bytes (nibbles) or z in its 4
    // int16 words (int8 codes)
    alignas(64) std::int32_t zt[Affine ? (Packed ? 256 : 512) : 1];
    bool divide = false;
  };

  /// The 64 codes of chunk c (vectors 4c … 4c + 3, from x on) of a batch prepared in P.
  void code_chunk(const float* x, const params& P, const tables& tb, int c, std::uint8_t* out, __m512i& bad) const noexcept {
    __m512i k[4];
    for (int i = 0; i < 4; ++i) {
      const int t = 4 * c + i;
      const int j = G % 64 == 0 && G > 0 ? c / (G / 64) : G > 0 ? t / (G / 16) : group_[t];
      const __m512 xv = load_once(x + 16 * i), s = _mm512_set1_ps(P.s[j]), r = _mm512_set1_ps(P.r[j]);
      __m512 q = _mm512_mul_ps(xv, r);
      q = _mm512_fmadd_ps(_mm512_fnmadd_ps(q, s, xv), r, q);
      k[i] = _mm512_maskz_cvt_roundps_epi32(all16, q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    __m512i w0 = _mm512_packs_epi32(k[0], k[1]), w1 = _mm512_packs_epi32(k[2], k[3]);
    if constexpr (Packed) {
      __m512i b = _mm512_packs_epi16(w0, w1);
      bad = _mm512_min_epi8(bad, b);
      if constexpr (Affine) {
        b = _mm512_add_epi8(b, _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(P.zt + 4 * c))));
        b = _mm512_permutexvar_epi8(b, tb.clamp_lut);
      } else {
        b = _mm512_add_epi8(b, _mm512_set1_epi8(8));
      }
      const __m512i n = _mm512_permutexvar_epi8(tb.nibble_order, _mm512_maddubs_epi16(b, _mm512_set1_epi16(0x1001)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * c), _mm512_castsi512_si256(n));
    } else {
      bad = _mm512_min_epi16(bad, _mm512_min_epi16(w0, w1));
      if constexpr (Affine) {
        w0 = _mm512_add_epi16(w0, _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(P.zt + 8 * c))));
        w1 = _mm512_add_epi16(w1, _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(P.zt + 8 * c + 4))));
      }
      __m512i b = _mm512_packs_epi16(w0, w1);
      if (Affine && tb.byte_clamp) b = _mm512_min_epi8(_mm512_max_epi8(b, tb.bmin), tb.bmax);
      const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      _mm512_storeu_si512(out + 64 * c, _mm512_permutexvar_epi32(order, b));
    }
  }

  /// A batch with a scale outside the Markstein range: slice by slice, dividing where needed.
  bool divide_batch(const float* x, std::int64_t g, const params& P, std::uint8_t* out) const noexcept {
    const std::int64_t bytes = Packed ? g / 2 : g;
    for (int j = 0; j < 16; ++j)
      if (!code_run<Packed, true, false>(x + j * g, g, make_consts(P.s[j], Affine ? P.z[j] : 0, q0_, q1_, true), out + j * bytes))
        return false;
    return true;
  }

  int v_, q0_, q1_;
  tables t_;
  params p_[2 * streams];  // two slots per lane
  alignas(64) std::uint8_t group_[256];  // vector t of a batch belongs to slice group_[t]
  alignas(64) std::uint8_t z_index_[Affine && Packed ? 1024 : 1];
  alignas(64) std::uint16_t zw_index_[Affine && !Packed ? 1024 : 1];
};

/// The pipeline of quantize_groups over L lanes side by side: lane k takes the `per` batches
/// from batch k·per on. D = 2 (one lane): batch b is coded while the ranges of batch b + 2 are
/// read in the same loop and the qparams of batch b + 1 (computed just before) finish their
/// latency chain (reductions, two divisions). D = 1 (four lanes): batch b of every lane is
/// prepared, then coded while the ranges of batch b + 1 are read — with four lanes, reading two
/// batches ahead puts the data being coded out of L1 (measured: the same from memory, ~20 %
/// slower in cache). Two qparams slots per lane. Returns false when a batch held an infinity or
/// a NaN on the division path (the others show in `bad`).
template <int L, int D, class Kernel>
inline bool group_pipeline(Kernel& kern, const float* x, std::int64_t g, std::int64_t per, std::int64_t slice_bytes,
                           float* scales, std::int8_t* zeros, std::uint8_t* out, __m512i& bad) noexcept {
  static_assert(D == 1 || D == 2);
  const std::int64_t batch = 16 * g;
  typename Kernel::ranges a[L][2];
  const auto first = [&](int k) { return k * per; };
  for (int k = 0; k < L; ++k) kern.read_ranges(x + first(k) * batch, a[k][0]);
  if constexpr (D == 2) {
    for (int k = 0; k < L; ++k) kern.prepare(a[k][0], scales + 16 * first(k), zeros + 16 * first(k), 2 * k);
    if (per > 1)
      for (int k = 0; k < L; ++k) kern.read_ranges(x + (first(k) + 1) * batch, a[k][1]);
  }
  for (std::int64_t b = 0; b < per; ++b) {
    const int odd = static_cast<int>(b & 1);
    if constexpr (D == 1) {
      for (int k = 0; k < L; ++k) kern.prepare(a[k][odd], scales + 16 * (first(k) + b), zeros + 16 * (first(k) + b), 2 * k + odd);
    } else if (b + 1 < per) {
      for (int k = 0; k < L; ++k)
        kern.prepare(a[k][odd ^ 1], scales + 16 * (first(k) + b + 1), zeros + 16 * (first(k) + b + 1), 2 * k + (odd ^ 1));
    }
    // the ranges read now go to the slot just prepared from (D = 1) or whose batch is coded (D = 2)
    const typename Kernel::lanes l{x + b * batch, per * batch, out + b * 16 * slice_bytes, per * 16 * slice_bytes,
                                   odd, D == 1 ? &a[0][odd ^ 1] : &a[0][odd]};
    if (!(b + D < per ? kern.template code<true, L, D>(l, bad) : kern.template code<false, L, D>(l, bad))) return false;
  }
  return true;
}

/// quantize_rows for short slices (g a multiple of 16, at most 256, count ≥ 16): group_kernel on
/// batches of 16 slices; tensors of interleave_min elements or more in `streams` lanes side by
/// side (one core reads memory faster as several streams: 0.52–0.56 of the triad for one stream
/// against 0.88–0.96 for four, measured with a loop of about this kernel's work per float), then
/// the batches left in one lane; quantize_rows takes the slices left over. Returns false when x
/// holds an infinity or a NaN (the outputs may then be partly written).
template <bool Affine, bool Packed, int G>
inline bool quantize_groups(const float* x, std::int64_t g, std::int64_t count, int bits, float* scales,
                            std::int8_t* zeros, std::uint8_t* out) noexcept {
  using kernel = group_kernel<Affine, Packed, G>;
  kernel kern(g, bits);
  const std::int64_t slice_bytes = Packed ? g / 2 : g;
  const std::int64_t batches = count / 16;
  __m512i bad = _mm512_setzero_si512();
  std::int64_t done = 0;  // batches
  if (count * g >= interleave_min && batches >= streams) {
    const std::int64_t per = batches / streams;
    if (!group_pipeline<streams, 1>(kern, x, g, per, slice_bytes, scales, zeros, out, bad)) return false;
    done = streams * per;
  }
  if (done < batches && !group_pipeline<1, 2>(kern, x + done * 16 * g, g, batches - done, slice_bytes, scales + 16 * done,
                                           zeros + 16 * done, out + done * 16 * slice_bytes, bad))
    return false;
  if (!kern.finite(bad)) return false;
  done = 16 * batches;
  return done == count ||
         quantize_rows<Affine, Packed>(x + done * g, g, count - done, bits, scales + done, zeros + done,
                                       out + done * slice_bytes);
}

#endif

/// One pass over `count` slices of g floats with their own qparams (see quantize_rows).
template <bool Affine, bool Packed>
inline bool quantize_slices(const float* x, std::int64_t g, std::int64_t count, int bits, float* scales,
                            std::int8_t* zeros, std::uint8_t* out) noexcept {
#if defined(__AVX512DQ__) && defined(__AVX512VBMI__)
  if (g % 16 == 0 && g <= 256 && count >= 16) {
    switch (g) {
      case 32: return quantize_groups<Affine, Packed, 32>(x, g, count, bits, scales, zeros, out);
      case 64: return quantize_groups<Affine, Packed, 64>(x, g, count, bits, scales, zeros, out);
      case 128: return quantize_groups<Affine, Packed, 128>(x, g, count, bits, scales, zeros, out);
      case 256: return quantize_groups<Affine, Packed, 256>(x, g, count, bits, scales, zeros, out);
      default: return quantize_groups<Affine, Packed, 0>(x, g, count, bits, scales, zeros, out);
    }
  }
#endif
  return quantize_rows<Affine, Packed>(x, g, count, bits, scales, zeros, out);
}
template <bool Affine>
inline bool quantize_slices(const float* x, std::int64_t g, std::int64_t count, int bits, float* scales,
                            std::int8_t* zeros, std::uint8_t* out) noexcept {
  return bits <= 4 ? quantize_slices<Affine, true>(x, g, count, bits, scales, zeros, out)
                   : quantize_slices<Affine, false>(x, g, count, bits, scales, zeros, out);
}

}  // namespace pare::quant::detail::avx512

#endif
