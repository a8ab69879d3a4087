#pragma once
/// \file
/// The order in which the streaming (de)quantization kernels visit long runs of contiguous
/// slices: as four parts side by side, a block of each in turn, instead of front to back. One core
/// moves memory faster as several streams than as one — the hardware prefetchers follow each
/// stream, and a store stream's ownership requests overlap with the others'. Measured on this
/// project's machine (16M floats, under load, each against a triad timed alternately in the same
/// process): a bare loop that reads int8 codes and writes floats took 11.0 ms as one stream and
/// 6.3–6.6 ms as four; pare's int8 dequantize per row went from 0.94–1.08 of the triad's real
/// bytes/s to 1.22–1.26, packed 4-bit from 1.01–1.07 to 1.12–1.47.

#include <algorithm>
#include <cstdint>

namespace pare::quant::detail {

/// How many parts are visited side by side.
inline constexpr int interleave_parts = 4;
/// The elements of a part visited before moving to the next part (a multiple of 64).
inline constexpr std::int64_t interleave_block = 64;
/// Fewer elements than this are visited front to back, and the per-group quantize kernel
/// reads them as one lane: the interleave pays off when the data comes from memory, and costs
/// 5–40 % on tensors that a last-level cache holds (measured with 1M floats). 4M elements (16 MiB
/// of floats) is about where a server's shared cache stops holding a tensor. A variable, not a
/// constant, only so that tests can run the long-tensor paths on small tensors.
inline std::int64_t interleave_min = std::int64_t{1} << 22;

/// Calls f(k, b, e) for every element run [b, e) (offsets inside slice k) of `count` slices of
/// g elements, each element once. Long tensors are interleaved, in runs of interleave_block
/// elements (b a multiple of it, the last run of a slice shorter): with at least
/// `interleave_parts` slices, the slices form that many parts of consecutive slices, visited
/// block by block side by side (the slices left over come last, whole); with fewer slices, each
/// slice is cut into parts likewise, then its tail. Short tensors get one run per slice.
template <class F>
inline void for_each_block_interleaved(std::int64_t g, std::int64_t count, F&& f) {
  constexpr int P = interleave_parts;
  constexpr std::int64_t B = interleave_block;
  if (g * count < interleave_min) {
    for (std::int64_t k = 0; k < count; ++k) f(k, std::int64_t{0}, g);
    return;
  }
  if (count >= P) {
    const std::int64_t per = count / P;
    for (std::int64_t j = 0; j < per; ++j)
      for (std::int64_t b = 0; b < g; b += B)
        for (int p = 0; p < P; ++p) f(p * per + j, b, std::min(b + B, g));
    for (std::int64_t k = P * per; k < count; ++k) f(k, std::int64_t{0}, g);
    return;
  }
  const std::int64_t part = g / (P * B) * B;  // per slice: P parts of `part` elements, then the tail
  for (std::int64_t k = 0; k < count; ++k) {
    for (std::int64_t b = 0; b < part; b += B)
      for (int p = 0; p < P; ++p) f(k, p * part + b, p * part + b + B);
    if (P * part < g) f(k, P * part, g);
  }
}

}  // namespace pare::quant::detail
