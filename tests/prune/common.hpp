#pragma once
// Helpers shared by the pruning tests.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <pare/core/tensor_view.hpp>

namespace prune_test {

/// Relative tolerance for results that went through T arithmetic.
template <class T>
T tol() {
  return sizeof(T) == 4 ? T(1e-5) : T(1e-12);
}

/// A mask as doubles (to compare with reference records).
inline std::vector<double> mask_values(pare::tensor_view<const std::uint8_t> m) {
  std::vector<double> out(static_cast<std::size_t>(m.size()));
  for (std::int64_t i = 0; i < m.size(); ++i) out[static_cast<std::size_t>(i)] = m[i];
  return out;
}

/// Number of masked (pruned) entries.
inline std::int64_t masked(pare::tensor_view<const std::uint8_t> m) {
  std::int64_t c = 0;
  for (std::int64_t i = 0; i < m.size(); ++i) c += m[i] == 0;
  return c;
}

/// Python's round(x), half to even, written independently of the pruner's nearbyint.
inline std::int64_t python_round(double x) {
  const double f = std::floor(x);
  const double d = x - f;
  if (d < 0.5) return static_cast<std::int64_t>(f);
  if (d > 0.5) return static_cast<std::int64_t>(f) + 1;
  return static_cast<std::int64_t>(f) + (static_cast<std::int64_t>(f) % 2 != 0);
}

/// Whether every pruned score is below every kept score (the pruned set is the lowest set).
template <class S>
bool lowest_pruned(const std::vector<S>& scores, const std::vector<bool>& pruned) {
  S max_cut = -std::numeric_limits<S>::infinity(), min_kept = std::numeric_limits<S>::infinity();
  for (std::size_t i = 0; i < scores.size(); ++i)
    (pruned[i] ? max_cut : min_kept) =
        pruned[i] ? std::max(max_cut, scores[i]) : std::min(min_kept, scores[i]);
  return max_cut < min_kept;
}

}  // namespace prune_test
