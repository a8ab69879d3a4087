#pragma once
/// \file
/// Counter-based random numbers: element i of stream `seed` is a pure function of (seed, i).
///
/// That makes random work (dropout masks, random pruning scores) reproducible whatever the
/// chunking or thread count, and lets loops vectorize: there is no sequential generator state.
/// The generator is splitmix64 (Steele, Lea & Flood 2014) read at position i, which passes
/// BigCrush; it is for machine learning, not cryptography.

#include <cstdint>

namespace pare::detail {

inline constexpr std::uint64_t golden_gamma = 0x9E3779B97F4A7C15ull;

/// The splitmix64 finalizer: a bijective avalanche of 64 bits.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The i-th 64-bit word of the splitmix64 stream started at `seed`.
[[nodiscard]] constexpr std::uint64_t random_bits(std::uint64_t seed, std::uint64_t i) noexcept {
  return mix64(seed + (i + 1) * golden_gamma);
}

/// A float uniform in [0, 1) with 24 random bits (every value a multiple of 2^-24).
[[nodiscard]] constexpr float uniform_float(std::uint64_t seed, std::uint64_t i) noexcept {
  return static_cast<float>(random_bits(seed, i) >> 40) * 0x1p-24f;
}

/// A double uniform in [0, 1) with 53 random bits.
[[nodiscard]] constexpr double uniform_double(std::uint64_t seed, std::uint64_t i) noexcept {
  return static_cast<double>(random_bits(seed, i) >> 11) * 0x1p-53;
}

}  // namespace pare::detail
