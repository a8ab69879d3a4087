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

/// Codes of the g floats at xc (int8 or nibbles at out) and, with Next, the range of the g floats
/// at xn folded into `next`; G > 0 fixes g at compile time.
template <bool Packed, bool Divide, bool Next, int G, bool Affine>
inline void code_slice(const float* xc, const float* xn, std::int64_t g_any, const code_consts& c,
                       const slice_scale& sc, std::uint8_t* out, lane_range<Affine>& next) noexcept {
  const std::int64_t g = G > 0 ? G : g_any;
  __m512i unused = _mm512_setzero_si512();
  std::int64_t i = 0;
  for (; i + 64 <= g; i += 64) {
    if constexpr (Next) next.template add64<true>(xn + i, ~__mmask64{0});
    store64<Packed>(out, i, code64<Divide, true, false, false>(xc + i, ~__mmask64{0}, c, sc, unused));
  }
  if (i < g) {
    const std::int64_t m = g - i;
    const __mmask64 valid = (~__mmask64{0}) >> (64 - m);
    if constexpr (Next) next.template add64<false>(xn + i, valid);
    store_tail<Packed>(out, i, code64<Divide, false, false, false>(xc + i, valid, c, sc, unused), m);
  }
}

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

/// The ranges of 16 slices (lane j: slice j) and compute_qparams on all of them at once, in
/// float32 exactly as the scalar code does; slices at or past `nb` are ignored.
struct batch_params {
  alignas(64) float s[16];
  alignas(64) float r[16];
  alignas(32) std::int16_t z[16];
  bool divide = false;
};
template <bool Affine>
[[nodiscard]] inline bool batch_qparams(const lane_range<Affine>* rg, int nb, int q0, int q1, float* scales,
                                        std::int8_t* zeros, batch_params& bp) noexcept {
  __m512 a[16];
  __m512i bad = _mm512_setzero_si512();
  for (int j = 0; j < 16; ++j) {
    const __m512i aj = j < nb ? rg[j].a : _mm512_setzero_si512();
    bad = _mm512_max_epu32(bad, aj);
    a[j] = _mm512_castsi512_ps(aj);
  }
  if (!all_finite(bad)) return false;
  const __m512 eps = _mm512_set1_ps(std::numeric_limits<float>::epsilon()), zero = _mm512_setzero_ps(),
               one = _mm512_set1_ps(1.0f);
  __m512 s;
  __m512i z = _mm512_setzero_si512();
  if constexpr (Affine) {
    __m512 mn[16], mx[16];
    for (int j = 0; j < 16; ++j) {
      mn[j] = j < nb ? rg[j].lo : zero;
      mx[j] = j < nb ? rg[j].hi : zero;
    }
    const __m512 lo = _mm512_maskz_min_ps(all16, reduce16(mn, [](__m512 p, __m512 q) { return _mm512_maskz_min_ps(all16, p, q); }), zero);
    const __m512 hi = _mm512_maskz_max_ps(all16, reduce16(mx, [](__m512 p, __m512 q) { return _mm512_maskz_max_ps(all16, p, q); }), zero);
    s = _mm512_maskz_max_ps(all16, _mm512_div_ps(_mm512_sub_ps(hi, lo), _mm512_set1_ps(static_cast<float>(q1 - q0))), eps);
    const __m512i t = _mm512_maskz_cvt_roundps_epi32(all16, _mm512_div_ps(lo, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    z = _mm512_min_epi32(_mm512_max_epi32(_mm512_sub_epi32(_mm512_set1_epi32(q0), t), _mm512_set1_epi32(q0)),
                         _mm512_set1_epi32(q1));
    const __mmask16 empty = _mm512_cmp_ps_mask(lo, zero, _CMP_EQ_OQ) & _mm512_cmp_ps_mask(hi, zero, _CMP_EQ_OQ);
    s = _mm512_mask_mov_ps(s, empty, one);
    z = _mm512_mask_mov_epi32(z, empty, _mm512_setzero_si512());
  } else {
    const __m512 m = reduce16(a, [](__m512 p, __m512 q) {
      return _mm512_castsi512_ps(_mm512_max_epu32(_mm512_castps_si512(p), _mm512_castps_si512(q)));
    });
    s = _mm512_maskz_max_ps(all16, _mm512_div_ps(m, _mm512_set1_ps(static_cast<float>(q1))), eps);
    s = _mm512_mask_mov_ps(s, _mm512_cmp_ps_mask(m, zero, _CMP_EQ_OQ), one);
  }
  const auto valid = static_cast<__mmask16>((1u << nb) - 1);
  _mm512_mask_storeu_ps(scales, valid, s);
  _mm512_mask_cvtepi32_storeu_epi8(zeros, valid, z);
  _mm512_store_ps(bp.s, s);
  _mm512_store_ps(bp.r, _mm512_div_ps(one, s));
  _mm256_store_si256(reinterpret_cast<__m256i*>(bp.z), _mm512_cvtepi32_epi16(z));
  bp.divide = (_mm512_cmp_ps_mask(s, _mm512_set1_ps(0x1p-90f), _CMP_LT_OQ) |
               _mm512_cmp_ps_mask(s, _mm512_set1_ps(0x1p100f), _CMP_GT_OQ)) != 0;
  return true;
}

/// How many batches of 16 slices ahead quantize_groups prefetches.
constexpr std::int64_t prefetch_batches = 4;

/// quantize_rows for short slices (g a multiple of 16, at most 256): 16 slices at a time, their
/// ranges reduced and qparams computed in one vector; the next 16 slices' ranges are read while
/// these are coded. The slices are split into `streams` regions worked on side by side.
template <bool Affine, bool Packed, int G>
inline bool quantize_groups(const float* x, std::int64_t g, std::int64_t count, int bits, float* scales,
                            std::int8_t* zeros, std::uint8_t* out) noexcept {
  constexpr int R = streams;
  const int q0 = qmin(bits, scheme_of<Affine>), q1 = qmax(bits, scheme_of<Affine>);
  const std::int64_t slice_bytes = Packed ? g / 2 : g;
  // R regions of `per` slices (a multiple of 16) side by side, then the rest as one region
  // (one slice less than a multiple of 16, so the regions do not start at addresses equal
  // modulo 4 KiB, which would make their loads and stores alias in the caches)
  const std::int64_t per = count * g >= split_min && count >= 32 * R ? count / (16 * R) * 16 - 1 : 0;
  code_consts base = make_consts(1.0f, 0, q0, q1, true);  // byte clamp constants for every slice
  base.shift = Affine;
  base.divide = false;
  struct region {
    const float* x;
    std::int64_t count;
    float* scales;
    std::int8_t* zeros;
    std::uint8_t* out;
    lane_range<Affine> rg[16];
    batch_params bp;
  };
  auto ranges = [&](region& rg, std::int64_t k0) {
    const int nb = static_cast<int>(std::min<std::int64_t>(16, rg.count - k0));
    for (int j = 0; j < nb; ++j) {
      rg.rg[j] = lane_range<Affine>{};
      for (std::int64_t v = 0; v < g; v += 16) rg.rg[j].add(load_once(rg.x + (k0 + j) * g + v));
    }
  };
  // Codes slice j of the current batch of region rg and, when `next`, reads the range of slice
  // j of its next batch. A batch with a scale outside the Markstein range takes `slow`.
  auto slow = [&](region& rg, std::int64_t k0, int j, bool next) {
    const float* xc = rg.x + (k0 + j) * g;
    std::uint8_t* o = rg.out + (k0 + j) * slice_bytes;
    const code_consts c = make_consts(rg.bp.s[j], rg.bp.z[j], q0, q1, true);
    lane_range<Affine> nr;
    if (c.divide) {
      if (next) code_slice<Packed, true, true, G>(xc, xc + 16 * g, g, c, c.sc, o, nr);
      else code_slice<Packed, true, false, G>(xc, xc, g, c, c.sc, o, nr);
    } else {
      if (next) code_slice<Packed, false, true, G>(xc, xc + 16 * g, g, c, c.sc, o, nr);
      else code_slice<Packed, false, false, G>(xc, xc, g, c, c.sc, o, nr);
    }
    if (next) rg.rg[j] = nr;
  };
  auto code_one = [&](region& rg, std::int64_t k0, int j, bool next) {
    const batch_params& bp = rg.bp;
    if (bp.divide) {
      slow(rg, k0, j, next);
      return;
    }
    const float* xc = rg.x + (k0 + j) * g;
    std::uint8_t* o = rg.out + (k0 + j) * slice_bytes;
    const slice_scale sc{_mm512_set1_ps(bp.s[j]), _mm512_set1_ps(bp.r[j]), _mm512_set1_epi16(bp.z[j])};
    // Slice j of the batch `prefetch_batches` ahead into L2 now: each region crosses a 4 KiB
    // page every batch or two, where the hardware prefetcher stops and must find the stream
    // again, so without this the range reads wait for memory (4-bit groups of 64 measured
    // ~0.45–0.5 → ~0.6–0.9 of the triad floor on this loaded machine).
    if (k0 + prefetch_batches * 16 + j < rg.count)
      for (std::int64_t v = 0; v < g; v += 16)
        _mm_prefetch(reinterpret_cast<const char*>(xc + prefetch_batches * 16 * g + v), _MM_HINT_T1);
    if (next) code_slice<Packed, false, true, G>(xc, xc + 16 * g, g, base, sc, o, rg.rg[j]);
    else code_slice<Packed, false, false, G>(xc, xc, g, base, sc, o, rg.rg[j]);
  };
  // Runs `nr` regions of equal length side by side.
  auto run = [&](region* rs, int nr) {
    const std::int64_t n = rs[0].count;
    for (int k = 0; k < nr; ++k) ranges(rs[k], 0);
    for (std::int64_t k0 = 0; k0 < n; k0 += 16) {
      const int nb = static_cast<int>(std::min<std::int64_t>(16, n - k0));
      for (int k = 0; k < nr; ++k)
        if (!batch_qparams<Affine>(rs[k].rg, nb, q0, q1, rs[k].scales + k0, rs[k].zeros + k0, rs[k].bp)) return false;
      const int nn = static_cast<int>(std::clamp<std::int64_t>(n - k0 - 16, 0, 16));
      for (int j = 0; j < nb; ++j)
        for (int k = 0; k < nr; ++k) {
          if (j < nn) rs[k].rg[j] = lane_range<Affine>{};
          code_one(rs[k], k0, j, j < nn);
        }
    }
    return true;
  };
  region rs[R];
  if (per > 0) {
    for (int k = 0; k < R; ++k)
      rs[k] = region{x + k * per * g, per, scales + k * per, zeros + k * per, out + k * per * slice_bytes, {}, {}};
    if (!run(rs, R)) return false;
  }
  const std::int64_t done = R * per;
  if (done == count) return true;
  rs[0] = region{x + done * g, count - done, scales + done, zeros + done, out + done * slice_bytes, {}, {}};
  return run(rs, 1);
}

/// One pass over `count` slices of g floats with their own qparams (see quantize_rows).
template <bool Affine, bool Packed>
inline bool quantize_slices(const float* x, std::int64_t g, std::int64_t count, int bits, float* scales,
                            std::int8_t* zeros, std::uint8_t* out) noexcept {
  if (g % 16 != 0 || g > 256) return quantize_rows<Affine, Packed>(x, g, count, bits, scales, zeros, out);
  switch (g) {
    case 32: return quantize_groups<Affine, Packed, 32>(x, g, count, bits, scales, zeros, out);
    case 64: return quantize_groups<Affine, Packed, 64>(x, g, count, bits, scales, zeros, out);
    case 128: return quantize_groups<Affine, Packed, 128>(x, g, count, bits, scales, zeros, out);
    default: return quantize_groups<Affine, Packed, 0>(x, g, count, bits, scales, zeros, out);
  }
}
template <bool Affine>
inline bool quantize_slices(const float* x, std::int64_t g, std::int64_t count, int bits, float* scales,
                            std::int8_t* zeros, std::uint8_t* out) noexcept {
  return bits <= 4 ? quantize_slices<Affine, true>(x, g, count, bits, scales, zeros, out)
                   : quantize_slices<Affine, false>(x, g, count, bits, scales, zeros, out);
}

}  // namespace pare::quant::detail::avx512

#endif
