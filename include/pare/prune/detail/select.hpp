#pragma once
/// \file
/// Exact O(n) selection of the k lowest keys: a most-significant-digit radix select over
/// order-preserving bit patterns of the scores.
///
/// Why not `std::nth_element`: it moves data (so it needs a copy of the scores), is branchy and
/// sequential. A radix select only counts. The first pass histograms the top 16 bits of every
/// key; the bucket holding the k-th key then typically holds ~0.1 % of them, so the next pass
/// (the low 16 bits of float keys) only histograms those, checking the others 64 at a time
/// with vector compares. Float keys need two passes, double keys four, and every pass splits
/// over threads. Keys are produced block by block by a `scan` callback, so selecting over
/// scores needs no buffer of scores at all.
///
/// Ties: the k lowest are defined by (key, position) — among equal keys the lower position goes
/// first. The result is a cut key v plus, for every thread's slice of [0, n), how many of its
/// keys equal to v are selected (its lowest-position ones): the write pass then needs no
/// sequential fix-up.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

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
/// are already masked. Branch-free, so loops over it vectorize.
template <class T>
[[nodiscard]] inline key_type<T> order_key(T x) noexcept {
  using K = key_type<T>;
  using S = std::make_signed_t<K>;
  constexpr K sign = K(1) << (8 * sizeof(K) - 1);
  x = x + T(0);  // -0 → +0 in round-to-nearest; exact for every other value
  const K b = std::bit_cast<K>(x);
  // negative: flip every bit; positive: flip the sign bit
  const K k = b ^ (static_cast<K>(static_cast<S>(b) >> (8 * sizeof(K) - 1)) | sign);
  return x != x ? K(~K(0)) : k;
}

/// Start of thread t's slice when [0, n) is split into `threads` near-equal contiguous slices.
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

/// Threads worth using for a pass over n elements: below ~1M elements per thread (about a
/// millisecond of work) the fork/join and the wait for a second core cost more than they save.
[[nodiscard]] inline int threads_for(std::int64_t n) noexcept {
  const std::int64_t by_size = std::max<std::int64_t>(1, n / (std::int64_t{1} << 20));
  return static_cast<int>(std::min<std::int64_t>(pare::max_threads(), by_size));
}

/// Keys a scan hands over at a time (from a buffer on the stack).
inline constexpr std::int64_t scan_block = 256;

/// Scratch that a selection reuses from call to call (histograms, per-thread quotas), so a
/// selection allocates only the first time it runs with a given thread count and digit width.
struct select_scratch {
  std::vector<std::int64_t> histogram;  // threads × buckets
  std::vector<std::int64_t> quota;      // threads
  void reserve(int threads, std::int64_t buckets) {
    const auto t = static_cast<std::size_t>(threads);
    if (histogram.size() < t * static_cast<std::size_t>(buckets))
      histogram.resize(t * static_cast<std::size_t>(buckets));
    if (quota.size() < t) quota.resize(t);
  }
};

/// Finds the cut below which the k lowest of n keys lie.
///
/// `scan(b, e, g)` must call `g(const Key* keys, std::int64_t count)` for consecutive blocks
/// of at most `scan_block` keys covering positions b, b+1, …, e−1 in order, with the same keys
/// every time. On return, the selected set is: every key < the returned cut, plus, in thread
/// t's slice [slice_begin(n, t, threads), slice_begin(n, t + 1, threads)), the first
/// `scratch.quota[t]` keys equal to the cut. Exactly k in total. 0 ≤ k ≤ n is the caller's
/// duty.
template <class Key, class Scan>
[[nodiscard]] Key select_lowest(std::int64_t n, std::int64_t k, int threads, const Scan& scan,
                                select_scratch& scratch) {
  static_assert(std::is_unsigned_v<Key>);
  constexpr int bits = 8 * sizeof(Key);
  // Wide digits make the first pass decisive (few candidates left); narrow ones keep the
  // histograms of small selections cheap to clear.
  const int digit_bits = n >= (std::int64_t{1} << 16) ? 16 : 8;
  const std::int64_t buckets = std::int64_t{1} << digit_bits;
  threads = std::max(1, threads);
  scratch.reserve(threads, buckets);
  std::int64_t* const quota = scratch.quota.data();
  std::fill(quota, quota + threads, std::int64_t{0});
  if (k <= 0 || n <= 0) return Key(0);  // nothing is below 0

  std::int64_t* const hist = scratch.histogram.data();
  Key prefix = 0;      // the digits fixed so far, right-aligned
  std::int64_t r = k;  // how many still to select among keys that share `prefix`
  int shift = bits;    // bits not yet fixed
  while (true) {
    shift -= digit_bits;
    const Key digit_mask = Key(buckets - 1);
    const int sh = shift;
    const bool first = shift + digit_bits == bits;
    // keys share the prefix when their bits above `shift + digit_bits` equal it
    const Key high_mask = first ? Key(0) : Key(~Key(0) << (shift + digit_bits));
    const Key want = first ? Key(0) : Key(prefix << (shift + digit_bits));
    for_threads(threads, [&](int t) {
      std::int64_t* h = hist + t * buckets;
      std::fill(h, h + buckets, std::int64_t{0});
      const std::int64_t b = slice_begin(n, t, threads), e = slice_begin(n, t + 1, threads);
      if (first) {
        scan(b, e, [&](const Key* keys, std::int64_t count) {
          for (std::int64_t i = 0; i < count; ++i) ++h[keys[i] >> sh];
        });
      } else {
        scan(b, e, [&](const Key* keys, std::int64_t count) {
          // most blocks hold no candidate: find out with vector compares first
          for (std::int64_t i0 = 0; i0 < count; i0 += 64) {
            const std::int64_t i1 = std::min(count, i0 + 64);
            std::uint32_t hits = 0;  // a sum, not a bool: g++ vectorizes this reduction
            for (std::int64_t i = i0; i < i1; ++i) hits += (keys[i] & high_mask) == want;
            if (hits == 0) continue;
            for (std::int64_t i = i0; i < i1; ++i)
              if ((keys[i] & high_mask) == want) ++h[(keys[i] >> sh) & digit_mask];
          }
        });
      }
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
    prefix = Key((prefix << digit_bits) | Key(d));
    if (shift == 0) {
      // exact key: select the r lowest-position keys equal to it, slice by slice
      std::int64_t left = r;
      for (int t = 0; t < threads; ++t) {
        quota[t] = std::min(left, hist[t * buckets + d]);
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
