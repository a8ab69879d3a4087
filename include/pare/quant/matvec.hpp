#pragma once
/// \file
/// `pare::quant::matvec(q, x, y)`: y = W·x for a quantized `[out, in]` weight W, dequantizing
/// the codes on the fly (no dequantized copy of W), the way llama.cpp runs quantized layers.
///
///     auto w8 = pare::quant::quantize(w, {.bits = 8, .axis = 0});          // per output row
///     auto w4 = pare::quant::quantize(w, {.bits = 4, .group_size = 64});   // per group
///     pare::quant::matvec(w4, x, y);                                      // x: [in], y: [out]
///
/// x stays in float and the codes become exact small floats that meet x in float FMAs, so the
/// result equals `dequantize` followed by a float matrix-vector product up to float rounding
/// (the summation order differs, and the 4-bit pair kernel regroups each pair of products). The weight moves 1 byte (8-bit) or half a byte (≤ 4 bits) per
/// element instead of 4, which is where the speed comes from.
/// Kernels: AVX-512 (8-bit: sign-extend, convert, FMA on 8 rows at once; 4-bit with VBMI and
/// segments of a multiple of 32: the "pair" kernel, which reads each byte's two codes as
/// q_e·(x_e − x_o/16) + (q_e/16 + q_o)·x_o; other 4-bit layouts: a 16-entry table of
/// (u − 8 − z)·s per group looked up with vpermps), AVX2, and a portable loop, chosen at
/// compile time (`-march=native` picks the best). Fast layouts: per tensor, per channel along
/// axis 0 and per group; per channel along axis 1, and packed codes with an odd `in`, take a
/// slower exact path that dequantizes 256 weights at a time into a stack buffer.
/// With `{.int8_activations = true}` x is first quantized per block of 32 (llama.cpp's Q8_0) and
/// the products run on integers (AVX-512 VNNI): faster again, with the error of 8-bit x.
/// The packed kernels prefetch each row's codes ahead: they need less time per byte than memory.
/// Rows are spread over threads when compiled with OpenMP (pare::set_threads).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "pare/core/error.hpp"
#include "pare/core/parallel.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/quant/linear.hpp"
#include "pare/quant/quantized_tensor.hpp"

// GCC may "prove" undefined behaviour in a tail loop it has already shown never runs (when the
// row count is a compile-time constant that the blocked loop covers) and warn about it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

namespace pare::quant {
namespace detail {

/// A quantized `[out, in]` weight as the kernels see it. Row i, segment k (columns
/// [k·seg, (k + 1)·seg)) uses slice i·slice_stride + k.
struct mv_weight {
  const std::uint8_t* bytes = nullptr;
  std::int64_t rows = 0, cols = 0;
  int bits = 8;
  bool affine = false;
  std::int64_t seg = 0;           // columns per segment (divides cols)
  std::int64_t slice_stride = 0;  // slices per row (0 for one scale per tensor)
  const float* scales = nullptr;
  const std::int8_t* zeros = nullptr;

  [[nodiscard]] std::int64_t slice(std::int64_t i, std::int64_t k) const noexcept {
    return i * slice_stride + k;
  }
};

/// Exact path for any layout: dequantize 256 weights at a time into a stack buffer, then dot.
inline void mv_rows_generic(const quantized_tensor& q, const float* x, float* y, std::int64_t r0,
                            std::int64_t r1) {
  constexpr std::int64_t piece = 256;
  const std::int64_t in = q.shape()[1];
  const auto& l = quantized_access::layout(q);
  const auto& qp = q.params();
  alignas(64) float w[piece];
  for (std::int64_t i = r0; i < r1; ++i) {
    float acc = 0;
    for (std::int64_t j0 = 0; j0 < in; j0 += piece) {
      const std::int64_t m = std::min(piece, in - j0);
      const std::int64_t b = i * in + j0;
      for_each_run(b, b + m, l, [&](std::int64_t rb, std::int64_t re, std::int64_t k) {
        const auto kk = static_cast<std::size_t>(k);
        dequantize_span(q.bytes().data(), qp.bits, rb, re, qp.scales[kk], qp.zero_points[kk], w + (rb - b));
      });
      for (std::int64_t j = 0; j < m; ++j) acc += w[j] * x[j0 + j];
    }
    y[i] = acc;
  }
}

/// Portable 8-bit rows: Σ_k s_k · Σ_j (q − z)·x_j over the row's segments.
inline void mv_rows_i8_scalar(const mv_weight& W, const float* x, float* y, std::int64_t r0,
                              std::int64_t r1) noexcept {
  const auto* codes = reinterpret_cast<const std::int8_t*>(W.bytes);
  const std::int64_t segs = W.cols / W.seg;
  const std::int8_t* row = codes + r0 * W.cols;
  for (std::int64_t i = r0; i < r1; ++i, row += W.cols) {
    float tot = 0;
    for (std::int64_t k = 0; k < segs; ++k) {
      const auto sl = W.slice(i, k);
      const int z = W.zeros[sl];
      float acc = 0;
      for (std::int64_t j = k * W.seg; j < (k + 1) * W.seg; ++j)
        acc += static_cast<float>(row[j] - z) * x[j];
      tot += W.scales[sl] * acc;
    }
    y[i] = tot;
  }
}

/// Portable packed rows (cols even, so each row starts on a byte).
inline void mv_rows_i4_scalar(const mv_weight& W, const float* x, float* y, std::int64_t r0,
                              std::int64_t r1) noexcept {
  const std::int64_t segs = W.cols / W.seg;
  const std::uint8_t* row = W.bytes + r0 * (W.cols / 2);
  for (std::int64_t i = r0; i < r1; ++i, row += W.cols / 2) {
    float tot = 0;
    for (std::int64_t k = 0; k < segs; ++k) {
      const auto sl = W.slice(i, k);
      const int z = W.zeros[sl] + 8;
      float acc = 0;
      for (std::int64_t j = k * W.seg; j < (k + 1) * W.seg; ++j) {
        const int u = (j & 1) ? (row[j >> 1] >> 4) : (row[j >> 1] & 0x0F);
        acc += static_cast<float>(u - z) * x[j];
      }
      tot += W.scales[sl] * acc;
    }
    y[i] = tot;
  }
}

#if defined(__AVX512F__)

// GCC 12 warns (-Wmaybe-uninitialized, GCC PR 105593) about the undefined pass-through of the
// unmasked forms of these intrinsics once inlined; the all-ones zero-masked forms are the same
// instructions without it.
constexpr __mmask16 mv_all = 0xFFFF;
inline __m512i mv_i8_to_i32(const void* p) noexcept {
  return _mm512_maskz_cvtepi8_epi32(mv_all, _mm_loadu_si128(static_cast<const __m128i*>(p)));
}
inline __m512i mv_u8_to_i32(const void* p) noexcept {
  return _mm512_maskz_cvtepu8_epi32(mv_all, _mm_loadu_si128(static_cast<const __m128i*>(p)));
}
inline __m512 mv_to_float(__m512i v) noexcept { return _mm512_maskz_cvtepi32_ps(mv_all, v); }
inline __m512 mv_lookup(__m512i idx, __m512 table) noexcept {
  return _mm512_maskz_permutexvar_ps(mv_all, idx, table);
}
inline float mv_hsum(__m512 v) noexcept {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  float a = 0, b = 0;
  for (int l = 0; l < 16; l += 2) {
    a += t[l];
    b += t[l + 1];
  }
  return a + b;
}

/// AVX-512 8-bit: 8 rows share each load of x; codes are sign-extended, shifted by the zero
/// point (affine only), converted and FMA'd; each segment's sum is scaled once.
template <int R = 8>
inline void mv_rows_i8_avx512(const mv_weight& W, const float* x, float* y, std::int64_t r0,
                              std::int64_t r1) noexcept {
  const auto* codes = reinterpret_cast<const std::int8_t*>(W.bytes);
  const std::int64_t segs = W.cols / W.seg;
  const std::int64_t vec_end = W.seg & ~std::int64_t{15};
  std::int64_t i = r0;
  for (; i + R <= r1; i += R) {
    const std::int8_t* rp[R];
    __m512 tot[R];
    float tail[R] = {};
    for (int r = 0; r < R; ++r) {
      rp[r] = codes + (i + r) * W.cols;
      tot[r] = _mm512_setzero_ps();
    }
    for (std::int64_t k = 0; k < segs; ++k) {
      const std::int64_t b = k * W.seg;
      __m512 acc[R];
      __m512i zv[R];
      int zs[R];
      for (int r = 0; r < R; ++r) {
        acc[r] = _mm512_setzero_ps();
        zs[r] = W.zeros[W.slice(i + r, k)];
        zv[r] = _mm512_set1_epi32(zs[r]);
      }
      if (W.affine) {
        for (std::int64_t j = b; j < b + vec_end; j += 16) {
          const __m512 xv = _mm512_loadu_ps(x + j);
          for (int r = 0; r < R; ++r) {
            const __m512i c = mv_i8_to_i32(rp[r] + j);
            acc[r] = _mm512_fmadd_ps(mv_to_float(_mm512_sub_epi32(c, zv[r])), xv, acc[r]);
          }
        }
      } else {
        for (std::int64_t j = b; j < b + vec_end; j += 16) {
          const __m512 xv = _mm512_loadu_ps(x + j);
          for (int r = 0; r < R; ++r) {
            const __m512i c = mv_i8_to_i32(rp[r] + j);
            acc[r] = _mm512_fmadd_ps(mv_to_float(c), xv, acc[r]);
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        const float s = W.scales[W.slice(i + r, k)];
        float t = 0;
        for (std::int64_t j = b + vec_end; j < b + W.seg; ++j) t += static_cast<float>(rp[r][j] - zs[r]) * x[j];
        tail[r] += s * t;
        tot[r] = _mm512_fmadd_ps(_mm512_set1_ps(s), acc[r], tot[r]);
      }
    }
    for (int r = 0; r < R; ++r) y[i + r] = mv_hsum(tot[r]) + tail[r];
  }
  if (i < r1) mv_rows_i8_scalar(W, x, y, i, r1);
}

/// AVX-512 packed: per row and group a 16-entry table T[u] = (u − 8 − z)·s (exactly the
/// dequantized weights) is looked up with vpermps, whose index is the low 4 bits of each lane:
/// a zero-extended byte holds element 2t in its low nibble, and the byte shifted right by 4
/// holds element 2t + 1. x is split into even and odd elements once per 8 rows.
template <int R = 8>
inline void mv_rows_i4_avx512(const mv_weight& W, const float* x, float* y, std::int64_t r0,
                              std::int64_t r1) noexcept {
  const std::int64_t segs = W.cols / W.seg;
  const std::int64_t vec_end = W.seg & ~std::int64_t{31};
  const std::int64_t row_bytes = W.cols / 2;
  const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 iota_minus_8 = _mm512_sub_ps(iota, _mm512_set1_ps(8.0f));
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  std::int64_t i = r0;
  for (; i + R <= r1; i += R) {
    const std::uint8_t* rp[R];
    __m512 tot[R];
    float tail[R] = {};
    for (int r = 0; r < R; ++r) {
      rp[r] = W.bytes + (i + r) * row_bytes;
      tot[r] = _mm512_setzero_ps();
    }
    for (std::int64_t k = 0; k < segs; ++k) {
      const std::int64_t b = k * W.seg;
      __m512 T[R];
      for (int r = 0; r < R; ++r) {
        const auto sl = W.slice(i + r, k);
        const __m512 centered = W.affine ? _mm512_sub_ps(iota, _mm512_set1_ps(static_cast<float>(8 + W.zeros[sl])))
                                         : iota_minus_8;  // symmetric: z = 0
        T[r] = _mm512_mul_ps(centered, _mm512_set1_ps(W.scales[sl]));
      }
      for (std::int64_t j = b; j < b + vec_end; j += 32) {
        const __m512 x0 = _mm512_loadu_ps(x + j), x1 = _mm512_loadu_ps(x + j + 16);
        const __m512 xe = _mm512_permutex2var_ps(x0, even, x1);
        const __m512 xo = _mm512_permutex2var_ps(x0, odd, x1);
        for (int r = 0; r < R; ++r) {
          const __m512i v = mv_u8_to_i32(rp[r] + j / 2);
          tot[r] = _mm512_fmadd_ps(mv_lookup(v, T[r]), xe, tot[r]);
          tot[r] = _mm512_fmadd_ps(mv_lookup(_mm512_maskz_srli_epi32(mv_all, v, 4), T[r]), xo, tot[r]);
        }
      }
      for (int r = 0; r < R; ++r) {
        const auto sl = W.slice(i + r, k);
        const int z = W.zeros[sl] + 8;
        const float s = W.scales[sl];
        for (std::int64_t j = b + vec_end; j < b + W.seg; ++j) {
          const int u = (j & 1) ? (rp[r][j >> 1] >> 4) : (rp[r][j >> 1] & 0x0F);
          tail[r] += (static_cast<float>(u - z) * s) * x[j];
        }
      }
    }
    for (int r = 0; r < R; ++r) y[i + r] = mv_hsum(tot[r]) + tail[r];
  }
  if (i < r1) mv_rows_i4_scalar(W, x, y, i, r1);
}

#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
#define PARE_QUANT_MV_PAIRS 1

/// Prefetches the codes `ahead` bytes into row `row`; past the row's end, the same place in the
/// row the kernel reaches next, R rows down (kernels that work on R rows at a time).
template <int R>
inline void prefetch_codes(const mv_weight& W, std::int64_t row_bytes, std::int64_t row, std::int64_t ahead) noexcept {
  std::int64_t off = row * row_bytes + ahead;
  if (ahead >= row_bytes) off += (R - 1) * row_bytes;
  if (off < W.rows * row_bytes) _mm_prefetch(reinterpret_cast<const char*>(W.bytes + off), _MM_HINT_T0);
}

/// x prepared once per call for the pair kernel (mv_rows_i4_pairs): for each pair t of inputs
/// (x_e = x[2t], x_o = x[2t + 1]) u_t = x_e − x_o/16 (one rounding, by FMA) and v_t = x_o, and
/// for affine weights X_k = Σ x over segment k (summed in double, rounded once). Thread-local,
/// grown once to the largest `in` seen and then reused.
struct pair_x {
  std::vector<float> u, v, seg_sum;
  static pair_x& get() {
    thread_local pair_x b;
    return b;
  }
  /// Largest |x| the pair kernel takes: far from overflow in u and in the unscaled row sums.
  static constexpr float limit = 0x1p100f;
  /// `in` and `seg` multiples of 32. Returns false (and the caller takes the table kernel) when
  /// x holds a NaN, an infinity or a value beyond `limit`: there u = x_e − x_o/16 would mix an
  /// infinity into both products of a pair and turn ±inf results into NaN.
  bool prepare(const float* x, std::int64_t in, std::int64_t seg, bool sums) {
    const auto pairs = static_cast<std::size_t>(in / 2);
    u.resize(pairs);
    v.resize(pairs);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 lim = _mm512_set1_ps(limit), sixteenth = _mm512_set1_ps(0.0625f);
    __mmask16 bad = 0;
    for (std::int64_t j = 0; j < in; j += 32) {
      const __m512 a = _mm512_loadu_ps(x + j), b = _mm512_loadu_ps(x + j + 16);
      bad |= _mm512_cmp_ps_mask(_mm512_abs_ps(a), lim, _CMP_NLE_UQ) | _mm512_cmp_ps_mask(_mm512_abs_ps(b), lim, _CMP_NLE_UQ);
      const __m512 xe = _mm512_permutex2var_ps(a, even, b), xo = _mm512_permutex2var_ps(a, odd, b);
      _mm512_storeu_ps(u.data() + j / 2, _mm512_fnmadd_ps(xo, sixteenth, xe));
      _mm512_storeu_ps(v.data() + j / 2, xo);
    }
    if (bad) return false;
    if (sums) {
      seg_sum.resize(static_cast<std::size_t>(in / seg));
      for (std::int64_t k = 0; k < in / seg; ++k) {
        __m512d a0 = _mm512_setzero_pd(), a1 = a0;
        for (std::int64_t j = k * seg; j < (k + 1) * seg; j += 16) {
          a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm256_loadu_ps(x + j)));
          a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_loadu_ps(x + j + 8)));
        }
        seg_sum[static_cast<std::size_t>(k)] = static_cast<float>(_mm512_reduce_add_pd(_mm512_add_pd(a0, a1)));
      }
    }
    return true;
  }
};

/// Σ_k s_k·z_k·X_k over the segments of row i: the zero-point term of affine weights.
inline float pair_zero_term(const mv_weight& W, const pair_x& P, std::int64_t i) noexcept {
  const std::int64_t segs = W.cols / W.seg;
  const float* X = P.seg_sum.data();
  if (segs < 16 || W.slice_stride != segs) {
    float t = 0;
    for (std::int64_t k = 0; k < segs; ++k) {
      const auto sl = W.slice(i, k);
      t += W.scales[sl] * (static_cast<float>(W.zeros[sl]) * X[k]);
    }
    return t;
  }
  const float* sc = W.scales + W.slice(i, 0);
  const std::int8_t* zp = W.zeros + W.slice(i, 0);
  __m512 acc = _mm512_setzero_ps();
  for (std::int64_t k = 0; k < segs; k += 16) {
    const auto m = static_cast<__mmask16>(segs - k >= 16 ? 0xFFFF : (1u << (segs - k)) - 1);
    const __m512 z = _mm512_maskz_cvtepi32_ps(m, _mm512_maskz_cvtepi8_epi32(m, _mm_maskz_loadu_epi8(m, zp + k)));
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, sc + k), _mm512_maskz_mul_ps(m, z, _mm512_maskz_loadu_ps(m, X + k)), acc);
  }
  return mv_hsum(acc);
}

/// How far ahead (bytes of each row) the pair kernel prefetches the weight codes: the next
/// rows' codes are requested while these are worked on (4-bit groups of 64, 4096², one thread:
/// vs fp32 2.7–2.9× without, 3.8–4.1× with 1–2 KiB, in one noisy run of each distance).
inline constexpr std::int64_t pair_prefetch_bytes = 1536;

/// AVX-512 VBMI packed, segments of a multiple of 32 columns, no table per row and group.
/// A byte b holds the two stored nibbles c_e = q_e + 8 (element 2t) and c_o = q_o + 8 (element
/// 2t + 1), b = c_e + 16·c_o. With u_t = x_e − x_o/16 and v_t = x_o (pair_x),
///     q_e·x_e + q_o·x_o = q_e·u_t + f·v_t,     f = (b − 136)/16 = q_e/16 + q_o,
/// exact in real arithmetic. Both factors come from b in two shuffles: vpermb drops b into the
/// low byte of a lane holding the float 2^19 (whose last mantissa bit is 2^−4), giving 2^19 + b/16
/// exactly, and one subtraction of 2^19 + 8.5 leaves f exactly; the same lane, whose low nibble
/// is c_e, indexes vpermps into the table c − 8 for q_e. So 32 weights cost a shuffle, a
/// subtraction, a lookup and two FMAs, and every product stays the size of q·x (no code offset
/// to cancel). Each segment's sum is scaled once; affine zero points enter once per row as
/// −Σ_k s_k·z_k·X_k. R rows share every load of u and v.
template <int R = 4>
inline void mv_rows_i4_pairs(const mv_weight& W, const pair_x& P, float* y, std::int64_t r0,
                             std::int64_t r1) noexcept {
  const std::int64_t segs = W.cols / W.seg;
  const std::int64_t row_bytes = W.cols / 2, seg_bytes = W.seg / 2;
  const __m512 table = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
  const __m512i magic = _mm512_set1_epi32(0x49000000);  // 2^19
  const __m512 bias = _mm512_set1_ps(524296.5f);         // 2^19 + 136/16
  const __m512i spread = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);  // byte l → lane l
  constexpr __mmask64 low_bytes = 0x1111111111111111ULL;
  const float* u = P.u.data();
  const float* v = P.v.data();
  std::int64_t i = r0;
  for (; i + R <= r1; i += R) {
    __m512 tot[R];
    for (int r = 0; r < R; ++r) tot[r] = _mm512_setzero_ps();
    const std::uint8_t* rows = W.bytes + i * row_bytes;
    for (std::int64_t k = 0; k < segs; ++k) {
      __m512 acc[R];
      for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
      for (std::int64_t t = k * seg_bytes; t < (k + 1) * seg_bytes; t += 16) {
        if ((t & 63) == 0)  // once per cache line of each row
          for (int r = 0; r < R; ++r) prefetch_codes<R>(W, row_bytes, i + r, t + pair_prefetch_bytes);
        const __m512 U = _mm512_loadu_ps(u + t), V = _mm512_loadu_ps(v + t);
        for (int r = 0; r < R; ++r) {
          const __m512i b = _mm512_zextsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + r * row_bytes + t)));
          const __m512i lane = _mm512_mask_permutexvar_epi8(magic, low_bytes, spread, b);
          const __m512 f = _mm512_sub_ps(_mm512_castsi512_ps(lane), bias);
          acc[r] = _mm512_fmadd_ps(mv_lookup(lane, table), U, acc[r]);
          acc[r] = _mm512_fmadd_ps(f, V, acc[r]);
        }
      }
      for (int r = 0; r < R; ++r) tot[r] = _mm512_fmadd_ps(acc[r], _mm512_set1_ps(W.scales[W.slice(i + r, k)]), tot[r]);
    }
    for (int r = 0; r < R; ++r) y[i + r] = mv_hsum(tot[r]) - (W.affine ? pair_zero_term(W, P, i + r) : 0.0f);
  }
  if constexpr (R > 1) {
    if (i < r1) mv_rows_i4_pairs<1>(W, P, y, i, r1);
  }
}
#endif

#elif defined(__AVX2__) && defined(__FMA__)

inline float mv_hsum(__m256 v) noexcept {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// AVX2 8-bit: as the AVX-512 kernel with 8 lanes.
inline void mv_rows_i8_avx2(const mv_weight& W, const float* x, float* y, std::int64_t r0,
                            std::int64_t r1) noexcept {
  constexpr int R = 4;
  const auto* codes = reinterpret_cast<const std::int8_t*>(W.bytes);
  const std::int64_t segs = W.cols / W.seg;
  const std::int64_t vec_end = W.seg & ~std::int64_t{7};
  std::int64_t i = r0;
  for (; i + R <= r1; i += R) {
    const std::int8_t* rp[R];
    __m256 tot[R];
    float tail[R] = {};
    for (int r = 0; r < R; ++r) {
      rp[r] = codes + (i + r) * W.cols;
      tot[r] = _mm256_setzero_ps();
    }
    for (std::int64_t k = 0; k < segs; ++k) {
      const std::int64_t b = k * W.seg;
      __m256 acc[R];
      __m256i zv[R];
      int zs[R];
      for (int r = 0; r < R; ++r) {
        acc[r] = _mm256_setzero_ps();
        zs[r] = W.zeros[W.slice(i + r, k)];
        zv[r] = _mm256_set1_epi32(zs[r]);
      }
      for (std::int64_t j = b; j < b + vec_end; j += 8) {
        const __m256 xv = _mm256_loadu_ps(x + j);
        for (int r = 0; r < R; ++r) {
          const __m256i c = _mm256_sub_epi32(
              _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rp[r] + j))), zv[r]);
          acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), xv, acc[r]);
        }
      }
      for (int r = 0; r < R; ++r) {
        const float s = W.scales[W.slice(i + r, k)];
        float t = 0;
        for (std::int64_t j = b + vec_end; j < b + W.seg; ++j) t += static_cast<float>(rp[r][j] - zs[r]) * x[j];
        tail[r] += s * t;
        tot[r] = _mm256_fmadd_ps(_mm256_set1_ps(s), acc[r], tot[r]);
      }
    }
    for (int r = 0; r < R; ++r) y[i + r] = mv_hsum(tot[r]) + tail[r];
  }
  if (i < r1) mv_rows_i8_scalar(W, x, y, i, r1);
}

/// AVX2 packed: nibbles are split and re-interleaved into element order (32 per 16 bytes),
/// widened, shifted by 8 + z, converted and FMA'd; each segment's sum is scaled once.
inline void mv_rows_i4_avx2(const mv_weight& W, const float* x, float* y, std::int64_t r0,
                            std::int64_t r1) noexcept {
  const std::int64_t segs = W.cols / W.seg;
  const std::int64_t vec_end = W.seg & ~std::int64_t{31};
  const std::int64_t row_bytes = W.cols / 2;
  const __m128i low4 = _mm_set1_epi8(0x0F);
  const std::uint8_t* row = W.bytes + r0 * row_bytes;
  for (std::int64_t i = r0; i < r1; ++i, row += row_bytes) {
    __m256 tot = _mm256_setzero_ps();
    float tail = 0;
    for (std::int64_t k = 0; k < segs; ++k) {
      const std::int64_t b = k * W.seg;
      const auto sl = W.slice(i, k);
      const int z = W.zeros[sl] + 8;
      const __m256i zv = _mm256_set1_epi32(z);
      __m256 acc = _mm256_setzero_ps();
      for (std::int64_t j = b; j < b + vec_end; j += 32) {
        const __m128i by = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j / 2));
        const __m128i lo = _mm_and_si128(by, low4), hi = _mm_and_si128(_mm_srli_epi16(by, 4), low4);
        const __m128i u0 = _mm_unpacklo_epi8(lo, hi), u1 = _mm_unpackhi_epi8(lo, hi);
        const __m128i parts[4] = {u0, _mm_srli_si128(u0, 8), u1, _mm_srli_si128(u1, 8)};
        for (int p = 0; p < 4; ++p) {
          const __m256i c = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[p]), zv);
          acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), _mm256_loadu_ps(x + j + 8 * p), acc);
        }
      }
      float t = 0;
      for (std::int64_t j = b + vec_end; j < b + W.seg; ++j) {
        const int u = (j & 1) ? (row[j >> 1] >> 4) : (row[j >> 1] & 0x0F);
        t += static_cast<float>(u - z) * x[j];
      }
      const float s = W.scales[sl];
      tail += s * t;
      tot = _mm256_fmadd_ps(_mm256_set1_ps(s), acc, tot);
    }
    y[i] = mv_hsum(tot) + tail;
  }
}

#endif


/// x quantized per block of 32 (llama.cpp's Q8_0 layout, kept per call in thread-local buffers
/// that grow once and are then reused).
struct q8_buffers {
  std::vector<std::int8_t> xq;     // codes in the order the kernel reads them
  std::vector<float> xhat;         // d_b·xq_j in natural order (exact path and tails)
  std::vector<float> d;            // per block of 32
  std::vector<float> dlane;        // per chunk of 64 (8-bit) or 128 (packed) x: d of each lane's block
  std::vector<std::int32_t> negs;  // per chunk: −Σ xq over each lane's elements, as int16 in the low half
  static q8_buffers& get() {
    thread_local q8_buffers b;
    return b;
  }
};

inline constexpr std::int64_t q8_block = 32;

/// Quantizes x per block of 32: d = max|x_b|/127, xq = clamp(round_half_even(x/d), −127, 127)
/// (0 for an all-zero block); with `want_xhat` also x̂ = d·xq. Returns false for a NaN or an
/// infinity in x.
inline bool q8_quantize_x(const float* x, std::int64_t n, q8_buffers& b, bool want_xhat) {
  b.xq.resize(static_cast<std::size_t>(n));
  b.d.resize(static_cast<std::size_t>((n + q8_block - 1) / q8_block));
  if (want_xhat) b.xhat.resize(static_cast<std::size_t>(n));
  for (std::int64_t b0 = 0; b0 < n; b0 += q8_block) {
    const std::int64_t m = std::min(q8_block, n - b0);
    range_acc<float> r;
    r.add(x + b0, m);
    if (!r.finite()) return false;
    const float d = std::max(-r.min(), r.max()) / 127.0f;
    b.d[static_cast<std::size_t>(b0 / q8_block)] = d;
    std::int8_t* q = b.xq.data() + b0;
    if (d > 0) quantize_run(x + b0, q, m, d, 0, -127, 127);
    else std::fill(q, q + m, std::int8_t{0});
    if (want_xhat)
      for (std::int64_t j = 0; j < m; ++j) b.xhat[static_cast<std::size_t>(b0 + j)] = d * static_cast<float>(q[j]);
  }
  return true;
}

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__AVX512VBMI__)

/// The lane tables of the VNNI kernels: lane l of chunk c covers `per_lane` (4 or 8) consecutive
/// x elements starting at c·16·per_lane + l·per_lane. Packed weights read x split into even and
/// odd elements per chunk of 128. Lane sums come from vpdpbusd against ones.
inline void q8_prepare_lanes(std::int64_t n, int per_lane, bool split_even_odd, q8_buffers& b) {
  const std::int64_t chunk = 16 * per_lane, chunks = n / chunk;
  b.dlane.resize(static_cast<std::size_t>(chunks * 16));
  b.negs.resize(static_cast<std::size_t>(chunks * 16));
  const __m512i ones = _mm512_set1_epi8(1), low16 = _mm512_set1_epi32(0xFFFF);
  // lane → block within the chunk: 8-bit chunks hold 2 blocks (8 lanes each), packed ones 4 (4 lanes)
  const __m512i block_of_lane = per_lane == 4
      ? _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
      : _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  alignas(64) std::int8_t even_idx[64];
  for (int t = 0; t < 64; ++t) even_idx[t] = static_cast<std::int8_t>(2 * t);  // 0 … 126: bytes of lo:hi
  const __m512i even = _mm512_load_si512(even_idx);
  const __m512i odd = _mm512_add_epi8(even, ones);
  const std::int64_t blocks_per_chunk = chunk / q8_block;
  for (std::int64_t c = 0; c < chunks; ++c) {
    std::int8_t* p = b.xq.data() + c * chunk;
    __m512i sums = _mm512_setzero_si512();
    if (split_even_odd) {
      const __m512i lo = _mm512_loadu_si512(p), hi = _mm512_loadu_si512(p + 64);
      const __m512i e = _mm512_permutex2var_epi8(lo, even, hi), o = _mm512_permutex2var_epi8(lo, odd, hi);
      _mm512_storeu_si512(p, e);
      _mm512_storeu_si512(p + 64, o);
      sums = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(sums, ones, e), ones, o);
    } else {
      sums = _mm512_dpbusd_epi32(sums, ones, _mm512_loadu_si512(p));
    }
    _mm512_storeu_si512(b.negs.data() + c * 16, _mm512_and_si512(_mm512_sub_epi32(_mm512_setzero_si512(), sums), low16));
    const __m512 d = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << blocks_per_chunk) - 1),
                                           b.d.data() + c * blocks_per_chunk);
    _mm512_storeu_ps(b.dlane.data() + c * 16, _mm512_maskz_permutexvar_ps(0xFFFF, block_of_lane, d));
  }
}

/// How far ahead (64-byte chunks of each row) the VNNI kernel prefetches the weight codes. It
/// needs ~5 cycles per row and chunk, far less than a trip to memory, and without prefetching
/// it waited on the rows' streams (4-bit groups of 64 vs fp32: 3.3–3.6× without, 4.9–5.8× at 8
/// chunks, 6.4–6.8× at 16 and 32).
inline constexpr std::int64_t q8_prefetch_chunks = 24;

/// The high nibble of every byte, as a byte 0…15.
inline __m512i high_nibbles(__m512i v) noexcept {
#if defined(__GFNI__)
  // one affine transform over GF(2) moves bits 4–7 to bits 0–3 and clears the rest
  return _mm512_gf2p8affine_epi64_epi8(v, _mm512_set1_epi64(0x1020408000000000LL), 0);
#else
  return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0F));
#endif
}

/// VNNI rows: lane sums Σ (q − z)·xq are exact int32 (vpdpbusd on the unsigned weight code
/// with the signed x code, then vpdpwssd subtracts (offset + z)·Σ xq), converted once and
/// scaled by d_block·s_group.
template <int R = 4>
inline void mv_rows_q8_vnni(const mv_weight& W, const q8_buffers& b, float* y, std::int64_t r0,
                            std::int64_t r1) noexcept {
  const bool packed = W.bits <= 4;
  const std::int64_t chunk = packed ? 128 : 64;
  const std::int64_t chunks = W.cols / chunk;
  const bool two = W.seg < chunk;  // 4-bit groups of 64: two groups per chunk, split at lane 8
  const int offset = packed ? 8 : 128;
  const std::int64_t row_bytes = packed ? W.cols / 2 : W.cols;
  const __m512i low4 = _mm512_set1_epi8(0x0F), flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i halves = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i C0 = _mm512_set1_epi32(offset);  // symmetric: (offset + 0) in every lane
  const auto* xq = b.xq.data();
  const std::int64_t chunks_per_seg = two ? 1 : W.seg / chunk;
  std::int64_t i = r0;
  for (; i + R <= r1; i += R) {
    __m512 tot[R];
    for (int r = 0; r < R; ++r) tot[r] = _mm512_setzero_ps();
    const std::uint8_t* rows = W.bytes + i * row_bytes;
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t j0 = c * chunk;
      for (int r = 0; r < R; ++r) prefetch_codes<R>(W, row_bytes, i + r, (c + q8_prefetch_chunks) * 64);
      const __m512 D = _mm512_loadu_ps(b.dlane.data() + c * 16);
      const __m512i NS = _mm512_loadu_si512(b.negs.data() + c * 16);
      const std::int64_t k = two ? 2 * c : c / chunks_per_seg;  // first segment of the chunk
      __m512 S[R];
      __m512i C[R];
      for (int r = 0; r < R; ++r) {
        const auto sl = W.slice(i + r, k);
        if (two) {
          double pair;
          std::memcpy(&pair, W.scales + sl, sizeof pair);
          S[r] = _mm512_permutexvar_ps(halves, _mm512_castpd_ps(_mm512_set1_pd(pair)));
          if (W.affine) {
            std::int16_t zz;
            std::memcpy(&zz, W.zeros + sl, sizeof zz);
            C[r] = _mm512_add_epi32(_mm512_permutexvar_epi32(halves, _mm512_cvtepi8_epi32(_mm_cvtsi32_si128(static_cast<std::uint16_t>(zz)))), C0);
          } else {
            C[r] = C0;
          }
        } else {
          S[r] = _mm512_set1_ps(W.scales[sl]);
          C[r] = W.affine ? _mm512_set1_epi32(offset + W.zeros[sl]) : C0;
        }
      }
      if (packed) {
        const __m512i xe = _mm512_loadu_si512(xq + j0), xo = _mm512_loadu_si512(xq + j0 + 64);
        for (int r = 0; r < R; ++r) {
          const __m512i v = _mm512_loadu_si512(rows + r * row_bytes + j0 / 2);
          __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(v, low4), xe);
          dot = _mm512_dpbusd_epi32(dot, high_nibbles(v), xo);
          dot = _mm512_dpwssd_epi32(dot, C[r], NS);
          tot[r] = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, dot), _mm512_mul_ps(D, S[r]), tot[r]);
        }
      } else {
        const __m512i xv = _mm512_loadu_si512(xq + j0);
        for (int r = 0; r < R; ++r) {
          const __m512i v = _mm512_xor_si512(_mm512_loadu_si512(rows + r * row_bytes + j0), flip);
          __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v, xv);
          dot = _mm512_dpwssd_epi32(dot, C[r], NS);
          tot[r] = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, dot), _mm512_mul_ps(D, S[r]), tot[r]);
        }
      }
    }
    for (int r = 0; r < R; ++r) y[i + r] = mv_hsum(tot[r]);
  }
  if constexpr (R > 1) {
    if (i < r1) mv_rows_q8_vnni<1>(W, b, y, i, r1);
  }
}

/// Whether the VNNI kernel handles this layout: 8-bit segments of a multiple of 64 columns,
/// packed segments of 64 or a multiple of 128.
inline bool q8_vnni_layout(const mv_weight& W) noexcept {
  if (W.bits > 4) return W.seg % 64 == 0;
  return W.cols % 128 == 0 && (W.seg == 64 || W.seg % 128 == 0);
}
#endif

/// Whether the pair kernel handles this layout (packed, segments of a multiple of 32 columns).
[[nodiscard]] inline bool use_pairs([[maybe_unused]] const mv_weight& W) noexcept {
#if defined(PARE_QUANT_MV_PAIRS)
  return W.bits <= 4 && W.seg % 32 == 0;
#else
  return false;
#endif
}

/// The kernel for a block of rows (`P`: x prepared when use_pairs(W)).
inline void mv_rows(const mv_weight& W, const float* x, [[maybe_unused]] const void* P, float* y,
                    std::int64_t r0, std::int64_t r1) noexcept {
#if defined(__AVX512F__)
  if (W.bits > 4) mv_rows_i8_avx512(W, x, y, r0, r1);
#if defined(PARE_QUANT_MV_PAIRS)
  else if (P) mv_rows_i4_pairs(W, *static_cast<const pair_x*>(P), y, r0, r1);
#endif
  else mv_rows_i4_avx512(W, x, y, r0, r1);
#elif defined(__AVX2__) && defined(__FMA__)
  if (W.bits > 4) mv_rows_i8_avx2(W, x, y, r0, r1);
  else mv_rows_i4_avx2(W, x, y, r0, r1);
#else
  if (W.bits > 4) mv_rows_i8_scalar(W, x, y, r0, r1);
  else mv_rows_i4_scalar(W, x, y, r0, r1);
#endif
}

}  // namespace detail

/// Options of `matvec`.
struct matvec_options {
  /// false (default): x stays float; y equals dequantize(W)·x up to float rounding.
  /// true: x is first quantized to int8 per block of 32 (d = max|x_b|/127, codes rounded half to
  /// even: llama.cpp's Q8_0 without the fp16 scale) and the dot products run on integers
  /// (AVX-512 VNNI where available); y equals dequantize(W)·x̂ up to float rounding, where x̂ is
  /// that quantized x — faster, with the error of 8-bit activations. x must then be finite.
  bool int8_activations = false;
};

/// y = W·x, W the quantized `[out, in]` weight `q` (any linear scheme, 2–8 bits), x of `in`
/// floats, y of `out` floats (any shapes with those sizes; y must not overlap x). Throws
/// `pare::error` when q is not 2-D, the sizes do not match, or (with int8 activations) x holds a
/// NaN or an infinity. The default path allocates nothing; int8 activations use thread-local
/// buffers that grow to the largest x seen and are then reused.
template <class X, class Y>
void matvec(const quantized_tensor& q, tensor_view<X> x, tensor_view<Y> y, const matvec_options& opt = {}) {
  static_assert(std::is_same_v<std::remove_const_t<X>, float> && std::is_same_v<Y, float>,
                "pare::quant::matvec: x must be a float view and y a mutable float view");
  constexpr std::string_view component = "pare::quant::matvec";
  if (q.rank() != 2)
    detail::fail(component, "q must be a 2-D [out, in] weight, got shape " + detail::to_text(q.shape()));
  const std::int64_t out = q.shape()[0], in = q.shape()[1];
  detail::require(x.size() == in, component, "x", "of " + detail::to_text(in) + " elements (q's in)", x.size());
  detail::require(y.size() == out, component, "y", "of " + detail::to_text(out) + " elements (q's out)", y.size());
  const float* xp = x.data();
  float* yp = y.data();
  if (yp < xp + in && xp < yp + out) detail::fail(component, "y must not overlap x");

  const auto& qp = q.params();
  detail::mv_weight W;
  W.bytes = q.bytes().data();
  W.rows = out;
  W.cols = in;
  W.bits = qp.bits;
  W.affine = qp.scheme == scheme::affine;
  W.scales = qp.scales.data();
  W.zeros = qp.zero_points.data();
  bool fast = true;
  if (qp.group_size > 0) {
    W.seg = qp.group_size;
    W.slice_stride = in / qp.group_size;
  } else if (qp.axis == -1) {
    W.seg = in;
    W.slice_stride = 0;
  } else if (qp.axis == 0) {
    W.seg = in;
    W.slice_stride = 1;
  } else {
    fast = false;  // one scale per input column
  }
  if (qp.bits <= 4 && (in & 1)) fast = false;  // rows would start inside a byte

  constexpr std::int64_t rows_per_chunk = 64;
  if (opt.int8_activations) {
    auto& buf = detail::q8_buffers::get();
    bool vnni = false;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__AVX512VBMI__)
    vnni = fast && detail::q8_vnni_layout(W);
#endif
    if (!detail::q8_quantize_x(xp, in, buf, !vnni)) detail::fail_not_finite(component, "x", xp, in);
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__AVX512VBMI__)
    if (vnni) {
      detail::q8_prepare_lanes(in, W.bits <= 4 ? 8 : 4, W.bits <= 4, buf);
      ::pare::detail::for_each_chunk(out, rows_per_chunk, [&](std::int64_t r0, std::int64_t r1) {
        detail::mv_rows_q8_vnni(W, buf, yp, r0, r1);
      });
      return;
    }
#endif
    xp = buf.xhat.data();  // same result through the float kernels
  }
  const void* P = nullptr;  // x prepared for the pair kernel
#if defined(PARE_QUANT_MV_PAIRS)
  if (fast && detail::use_pairs(W)) {
    auto& px = detail::pair_x::get();
    if (px.prepare(xp, in, W.seg, W.affine)) P = &px;
  }
#endif
  ::pare::detail::for_each_chunk(out, rows_per_chunk, [&](std::int64_t r0, std::int64_t r1) {
    if (fast) detail::mv_rows(W, xp, P, yp, r0, r1);
    else detail::mv_rows_generic(q, xp, yp, r0, r1);
  });
}

/// std::vector form: x and y as 1-D tensors.
template <class X, class Y>
void matvec(const quantized_tensor& q, const std::vector<X>& x, std::vector<Y>& y, const matvec_options& opt = {}) {
  matvec(q, tensor_view<const X>(x), tensor_view<Y>(y), opt);
}

}  // namespace pare::quant

#undef PARE_QUANT_MV_PAIRS

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
