// The radix select behind every pruner: order-preserving keys and an exact, deterministic cut
// of the k lowest keys (ties by position) for any thread split.
#include <pare/prune/detail/select.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "support/catch.hpp"

namespace {

using pare::prune::detail::key_type;
using pare::prune::detail::order_key;
using pare::prune::detail::select_lowest;
using pare::prune::detail::slice_begin;

// Which positions select_lowest selects, read back the way the pruner's write pass does.
template <class Key>
std::vector<bool> selected(const std::vector<Key>& keys, std::int64_t k, int threads) {
  pare::prune::detail::select_scratch scratch;
  const auto n = static_cast<std::int64_t>(keys.size());
  const auto scan = [&](std::int64_t b, std::int64_t e, auto&& g) {
    for (std::int64_t i = b; i < e; i += pare::prune::detail::scan_block)
      g(keys.data() + i, std::min(pare::prune::detail::scan_block, e - i));
  };
  const Key cut = select_lowest<Key>(n, k, threads, scan, scratch);
  std::vector<bool> out(keys.size());
  for (int t = 0; t < threads; ++t) {
    std::int64_t quota = scratch.quota[static_cast<std::size_t>(t)];
    for (std::int64_t i = slice_begin(n, t, threads); i < slice_begin(n, t + 1, threads); ++i) {
      const Key key = keys[static_cast<std::size_t>(i)];
      bool take = key < cut;
      if (key == cut && quota > 0) {
        take = true;
        --quota;
      }
      out[static_cast<std::size_t>(i)] = take;
    }
  }
  return out;
}

// The k lowest by (key, position), by sorting: the definition select_lowest must meet.
template <class Key>
std::vector<bool> expected(const std::vector<Key>& keys, std::int64_t k) {
  std::vector<std::size_t> order(keys.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  std::vector<bool> out(keys.size());
  for (std::int64_t i = 0; i < k; ++i) out[order[static_cast<std::size_t>(i)]] = true;
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("order_key preserves the order of scores, -0 equals +0, NaN ranks last", "",
                   float, double) {
  using T = TestType;
  constexpr T inf = std::numeric_limits<T>::infinity();
  const std::vector<T> sorted{-inf, -1e30, -2, -1, -std::numeric_limits<T>::denorm_min(), 0,
                              std::numeric_limits<T>::denorm_min(), 1e-30, 0.5, 1, 3, 1e30, inf};
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i) {
    INFO(sorted[i] << " < " << sorted[i + 1]);
    CHECK(order_key(sorted[i]) < order_key(sorted[i + 1]));
  }
  CHECK(order_key(T(-0.0)) == order_key(T(0.0)));
  CHECK(order_key(std::numeric_limits<T>::quiet_NaN()) > order_key(inf));
  CHECK(order_key(-std::numeric_limits<T>::quiet_NaN()) > order_key(inf));
  // key 0 is free for masked weights: no score maps to it
  CHECK(order_key(-inf) > key_type<T>(0));
}

TEMPLATE_TEST_CASE("select_lowest selects exactly the k lowest keys, ties by position", "",
                   std::uint32_t, std::uint64_t) {
  using Key = TestType;
  const std::uint64_t seed = 20261128;
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t n = 1 + rng() % 3000;
    std::vector<Key> keys(n);
    const int kind = trial % 4;
    for (auto& x : keys) {
      const std::uint64_t r = rng();
      if (kind == 0) x = Key(r);                  // spread over the whole range
      else if (kind == 1) x = Key(r % 7);         // heavy ties, low values
      else if (kind == 2) x = Key(~Key(0) - r % 5);  // heavy ties at the top of the range
      else x = Key(Key(1) << (r % (8 * sizeof(Key)))) | Key(r % 3);  // powers of two
    }
    for (std::int64_t k : {std::int64_t{0}, std::int64_t{1}, static_cast<std::int64_t>(n / 3),
                           static_cast<std::int64_t>(n / 2), static_cast<std::int64_t>(n) - 1,
                           static_cast<std::int64_t>(n)}) {
      if (k < 0) continue;
      const auto want = expected(keys, k);
      for (int threads : {1, 2, 3, 5}) {
        INFO("trial " << trial << ", n " << n << ", k " << k << ", threads " << threads);
        REQUIRE(selected(keys, k, threads) == want);
      }
    }
  }
}

TEST_CASE("select_lowest handles all-equal keys and the largest key") {
  for (std::uint32_t v : {0u, 1u, 0x80000000u, 0xFFFFFFFFu}) {
    const std::vector<std::uint32_t> keys(1000, v);
    for (std::int64_t k : {0, 1, 500, 999, 1000}) {
      INFO("value " << v << ", k " << k);
      const auto got = selected(keys, k, 3);
      for (std::size_t i = 0; i < keys.size(); ++i)
        REQUIRE(got[i] == (static_cast<std::int64_t>(i) < k));
    }
  }
}

TEMPLATE_TEST_CASE("select_lowest is exact with wide digits too (n >= 65536)", "", std::uint32_t,
                   std::uint64_t) {
  using Key = TestType;
  const std::uint64_t seed = 99;
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int kind = 0; kind < 3; ++kind) {
    std::vector<Key> keys(70001);
    for (auto& x : keys) {
      const std::uint64_t r = rng();
      // spread; clustered in one top-16-bit bucket; heavy ties
      x = kind == 0 ? Key(r) : kind == 1 ? Key((Key(0xABCD) << (8 * sizeof(Key) - 16)) | Key(r % 4096))
                                         : Key(r % 3);
    }
    for (std::int64_t k : {std::int64_t{1}, std::int64_t{35000}, std::int64_t{69999}}) {
      const auto want = expected(keys, k);
      for (int threads : {1, 3}) {
        INFO("kind " << kind << ", k " << k << ", threads " << threads);
        REQUIRE(selected(keys, k, threads) == want);
      }
    }
  }
}
