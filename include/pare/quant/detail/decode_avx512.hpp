#pragma once
/// \file
/// AVX-512 dequantization of packed (2–4-bit) codes into floats, for layouts whose slices are
/// contiguous runs of an even length (per tensor, per channel along axis 0, per group): 64 codes
/// at a time, nibbles split and put in element order inside 16-bit lanes, the code offset and
/// zero point subtracted as bytes, then sign-extended, converted and scaled — one pass from the
/// packed bytes to the output, where the portable path unpacks a piece into a buffer first.
/// Every value is static_cast<float>(q − z)·s, rounded once, as `dequantize` defines it.

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)

#include <immintrin.h>

#include <cstdint>

#include "pare/quant/detail/interleave.hpp"

namespace pare::quant::detail::avx512 {

/// 64 codes (or the first m, m even) from m/2 packed bytes: byte t holds element 2t in its low
/// nibble and 2t + 1 in its high nibble, each as code + 8; returns c − (8 + z) per element, as
/// int8 in element order.
inline __m512i decode64(const std::uint8_t* p, __mmask32 bytes_mask, __m512i offset) noexcept {
  const __m512i w = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(bytes_mask, p));
  // word t = byte t: low nibble stays at bits 0–3 (byte 2t), high nibble moves to bits 8–11
  // (byte 2t + 1)
  const __m512i codes = _mm512_or_si512(_mm512_and_si512(w, _mm512_set1_epi16(0x000F)),
                                        _mm512_and_si512(_mm512_slli_epi16(w, 4), _mm512_set1_epi16(0x0F00)));
  return _mm512_sub_epi8(codes, offset);
}

/// out[k·g + j] = (code − z_k)·s_k for `count` slices of g elements (g even), long tensors
/// visited in interleaved blocks (see for_each_block_interleaved).
inline void decode_packed_slices(const std::uint8_t* bytes, std::int64_t g, std::int64_t count, const float* scales,
                                 const std::int8_t* zeros, float* out) noexcept {
  for_each_block_interleaved(g, count, [&](std::int64_t k, std::int64_t b, std::int64_t e) {
    const __m512 s = _mm512_set1_ps(scales[k]);
    const __m512i offset = _mm512_set1_epi8(static_cast<char>(8 + zeros[k]));
    const std::uint8_t* in = bytes + k * (g / 2);
    float* o = out + k * g;
    std::int64_t j = b;
    for (; j + 64 <= e; j += 64) {
      const __m512i c = decode64(in + j / 2, ~__mmask32{0}, offset);
      // the quarter index is an immediate operand: written out, not a loop (which -O0 keeps)
      const auto put = [&](int q, __m128i c16) {
        _mm512_storeu_ps(o + j + 16 * q, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(c16)), s));
      };
      put(0, _mm512_castsi512_si128(c));
      put(1, _mm512_extracti32x4_epi32(c, 1));
      put(2, _mm512_extracti32x4_epi32(c, 2));
      put(3, _mm512_extracti32x4_epi32(c, 3));
    }
    if (j < e) {  // the last m < 64 elements of a slice (m even)
      const std::int64_t m = e - j;
      const __m512i c = decode64(in + j / 2, static_cast<__mmask32>((1ULL << (m / 2)) - 1), offset);
      alignas(64) std::int8_t tmp[64];
      _mm512_store_si512(tmp, c);
      for (std::int64_t q = 0; q < m; q += 16) {
        const auto mask = static_cast<__mmask16>(m - q >= 16 ? 0xFFFF : (1u << (m - q)) - 1);
        const __m512i c32 = _mm512_cvtepi8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp + q)));
        _mm512_mask_storeu_ps(o + j + q, mask, _mm512_mul_ps(_mm512_cvtepi32_ps(c32), s));
      }
    }
  });
}

}  // namespace pare::quant::detail::avx512

#endif
