// Chunked loops cover their range exactly once; counter-based random numbers are reproducible.
#include <pare/core/parallel.hpp>
#include <pare/core/rng.hpp>

#include <vector>

#include "support/catch.hpp"

TEST_CASE("for_each_chunk visits every index exactly once, in chunk-sized pieces") {
  for (std::int64_t n : {0, 1, 7, 8192, 8193, 100000}) {
    std::vector<int> hits(static_cast<std::size_t>(n), 0);
    pare::detail::for_each_chunk(n, 1000, [&](std::int64_t b, std::int64_t e) {
      CHECK(e - b <= 1000);
      for (auto i = b; i < e; ++i) ++hits[static_cast<std::size_t>(i)];
    });
    for (int h : hits) REQUIRE(h == 1);
  }
}

TEST_CASE("set_threads rejects fewer than one thread") {
  PARE_REQUIRE_ERROR(pare::set_threads(0), "pare::set_threads", "n", "at least 1", "got 0");
  CHECK(pare::max_threads() >= 1);
}

TEST_CASE("random numbers depend only on (seed, index) and look uniform") {
  using pare::detail::uniform_float;
  CHECK(uniform_float(42, 1000) == uniform_float(42, 1000));
  CHECK(uniform_float(42, 1000) != uniform_float(43, 1000));
  // splitmix64 from seed 0: the first word is a published constant
  CHECK(pare::detail::random_bits(0, 0) == 0xE220A8397B1DCDAFull);
  double sum = 0, sum2 = 0;
  const int n = 1 << 20;
  for (int i = 0; i < n; ++i) {
    const double u = uniform_float(7, static_cast<std::uint64_t>(i));
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sum2 += u * u;
  }
  CHECK(sum / n == pare_test::Approx(0.5).margin(2e-3));
  CHECK(sum2 / n - (sum / n) * (sum / n) == pare_test::Approx(1.0 / 12).margin(1e-3));
}
