#pragma once
/// \file
/// Exact O(n) selection of the k lowest keys: a most-significant-digit radix select over
/// order-preserving bit patterns of the scores.
///
/// Why not `std::nth_element`: it moves data (so it needs a copy of the scores), is branchy and
/// sequential. A radix select only counts: the first pass histograms the top 11 bits of every
/// key, later passes histogram the next digit of the keys that share the prefix found so far
/// (usually a tiny fraction), so the cost is ~one histogram pass plus a few streaming
/// comparisons, and every pass splits over threads. Keys are produced on the fly by a `scan`
/// callback, so selecting over scores needs no buffer of scores at all.
///
/// Ties: the k lowest are defined by (key, index) — among equal keys the lower index goes
/// first. The result is a threshold key v plus, for every thread's slice of [0, n), how many of
/// its keys equal to v are selected (its lowest-index ones): the write pass then needs no
/// sequential fix-up.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "pare/core/parallel.hpp"

namespace pare::prune::detail {

/// The unsigned key type that orders `T` scores: 32 bits for float, 64 for double.
template <class T>
using key_type = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

/// Maps a score to an unsigned key with the same order (the classic sign-flip trick).
///
/// -0 and +0 map to the same key (they compare equal); every NaN maps to the largest key, above
/// +inf (so a NaN score is never pruned, as `torch.topk` treats NaN as the largest value). No
/// score maps to key 0 (-inf maps to 0x007FFFFF…), which the pruner reserves for weights that
/// are already masked.
template <class T>
[[nodiscard]] inline key_type<T> order_key(T x) noexcept {
  using K = key_type<T>;
  constexpr K sign = K(1) << (8 * sizeof(K) - 1);
  x = x + T(0);  // -0 → +0 in round-to-nearest; exact for every other value
  const K b = std::bit_cast<K>(x);
  const K k = (b & sign) ? K(~b) : K(b | sign);
  return std::isnan(x) ? K(~K(0)) : k;
}

/// Bounds of thread t's slice when [0, n) is split into `threads` near-equal contiguous slices.
[[nodiscard]] constexpr std::int64_t slice_begin(std::int64_t n, int t, int threads) noexcept {
  const std::int64_t q = n / threads, r = n % threads;
  return q * t + std::min<std::int64_t>(t, r);
}

/// Runs f(t) for t in [0, threads): on `threads` OpenMP threads when compiled with OpenMP,
/// else one after the other (same results either way: each t owns a fixed slice).
template <class F>
void for_threads(int threads, F&& f) {
#ifdef _OPENMP
  if (threads > 1) {
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; ++t) f(t);
    return;
  }
#endif
  for (int t = 0; t < threads; ++t) f(t);
}

/// Threads worth using for a pass over n elements: below ~128K elements per thread the
/// fork/join costs more than it saves.
[[nodiscard]] inline int threads_for(std::int64_t n) noexcept {
  const std::int64_t by_size = std::max<std::int64_t>(1, n / (std::int64_t{1} << 17));
  return static_cast<int>(std::min<std::int64_t>(pare::max_threads(), by_size));
}

/// Scratch that a selection reuses from call to call (histograms, per-thread quotas), so a
/// selection allocates only the first time it runs with a given thread count.
struct select_scratch {
  std::vector<std::int64_t> histogram;  // threads × 2048
  std::vector<std::int64_t> quota;      // threads
  void reserve(int threads) {
    const auto t = static_cast<std::size_t>(threads);
    if (histogram.size() < t * 2048) histogram.resize(t * 2048);
    if (quota.size() < t) quota.resize(t);
  }
};

/// Finds the cut below which the k lowest of n keys lie.
///
/// `scan(b, e, f)` must call `f(key)` for the keys of positions b, b+1, …, e−1, in order, and
/// return the same keys every time. On return, the selected set is: every key < the returned
/// threshold, plus, in thread t's slice [slice_begin(n, t, threads), slice_begin(n, t+1,
/// threads)), the first `scratch.quota[t]` keys equal to the threshold. Exactly k in total.
/// 0 ≤ k ≤ n is the caller's duty.
template <class Key, class Scan>
[[nodiscard]] Key select_lowest(std::int64_t n, std::int64_t k, int threads, const Scan& scan,
                                select_scratch& scratch) {
  static_assert(std::is_unsigned_v<Key>);
  constexpr int bits = 8 * sizeof(Key);
  constexpr int digit_bits = 11;
  constexpr std::int64_t buckets = std::int64_t{1} << digit_bits;
  threads = std::max(1, threads);
  scratch.reserve(threads);
  std::int64_t* const quota = scratch.quota.data();
  std::fill(quota, quota + threads, std::int64_t{0});
  if (k <= 0 || n <= 0) return Key(0);  // nothing is below 0

  std::int64_t* const hist = scratch.histogram.data();
  Key prefix = 0;        // the digits fixed so far, right-aligned
  std::int64_t r = k;    // how many still to select among keys that share `prefix`
  int shift = bits;      // bits not yet fixed
  while (true) {
    const int width = std::min(digit_bits, shift);
    shift -= width;
    // keys share the prefix when their bits above `shift + width` equal it
    const int high = shift + width;
    const Key high_mask = high >= bits ? Key(0) : Key(~Key(0) << high);
    const Key want = high >= bits ? Key(0) : Key(prefix << high);
    const Key digit_mask = Key((Key(1) << width) - 1);
    for_threads(threads, [&](int t) {
      std::int64_t* h = hist + t * buckets;
      std::fill(h, h + buckets, std::int64_t{0});
      scan(slice_begin(n, t, threads), slice_begin(n, t + 1, threads), [&](Key key) {
        if ((key & high_mask) == want) ++h[(key >> shift) & digit_mask];
      });
    });
    // the bucket d holding the r-th lowest candidate: below(d) < r ≤ below(d) + count(d)
    std::int64_t below = 0, d = 0, count = 0;
    for (;; ++d) {
      count = 0;
      for (int t = 0; t < threads; ++t) count += hist[t * buckets + d];
      if (below + count >= r) break;
      below += count;
    }
    r -= below;
    prefix = Key((prefix << width) | Key(d));
    if (shift == 0) {
      // exact key: select the r lowest-index keys equal to it, slice by slice
      std::int64_t left = r;
      for (int t = 0; t < threads; ++t) {
        const std::int64_t eq = hist[t * buckets + d];
        quota[t] = std::min(left, eq);
        left -= quota[t];
      }
      return prefix;
    }
    // The whole bucket is selected: cut at the first key of the next bucket, unless that would
    // wrap around (the bucket of the largest keys), in which case keep refining.
    const Key top = Key(~Key(0) >> shift);
    if (r == count && prefix != top) return Key((prefix + 1) << shift);
  }
}

}  // namespace pare::prune::detail
