// Logarithmic quantization: every value is 0 or ±c·b^-k, signs kept, log-domain error ≤ ½·log b
// inside the range, the exact formula for c and k, code layout, errors.
#include <pare/quant/log.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "support/catch.hpp"
#include "support/numeric.hpp"

using namespace pare::quant;

TEMPLATE_TEST_CASE("log quantization keeps signs, hits 0 or ±c·b^-k, and errs by at most half a log step", "", float, double) {
  using T = TestType;
  const std::uint64_t seed = 4242;
  INFO("seed " << seed);
  auto x = pare_test::random_normal<T>(2000, seed, 0.0, 3.0);
  x[7] = 0;
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  for (double base : {2.0, std::sqrt(2.0), 3.0})
    for (int bits : {2, 3, 4, 5, 8}) {
      INFO("base " << base << " bits " << bits);
      const auto q = quantize_log(pare::tensor_view<const T>(x), {.bits = bits, .base = base});
      std::vector<T> out(x.size());
      dequantize(q, pare::tensor_view<T>(out));
      double m = 0;
      for (T v : x) m = std::max(m, static_cast<double>(std::abs(v)));
      const double E = std::floor(std::log(m) / std::log(base)) + 1;
      const double c = std::pow(base, E);
      CHECK(q.c(0) == pare_test::Approx(c).epsilon(1e-12));
      CHECK(q.c(0) > m);
      CHECK(q.c(0) / base <= m * (1 + 1e-12));
      const int kmax = (1 << (bits - 1)) - 2;
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double v = x[i], o = out[i];
        if (o == 0) {
          // zero, or |x| so small that k would pass kmax (k rounds past it)
          if (v != 0) REQUIRE(std::log(c / std::abs(v)) / std::log(base) >= kmax + 0.5 - 1e-9);
          continue;
        }
        REQUIRE(std::signbit(o) == std::signbit(v));
        const double k = std::log(c / std::abs(o)) / std::log(base);
        REQUIRE(std::abs(k - std::round(k)) < 1e-6);  // a power of b below c
        REQUIRE(std::round(k) >= 0);
        REQUIRE(std::round(k) <= kmax);
        REQUIRE(std::abs(std::log(std::abs(o) / std::abs(v)) / std::log(base)) <= 0.5 + 1e-6);
        // k is the spec's round(log_b(c/|x|))
        REQUIRE(std::round(k) == std::nearbyint(std::log(c / std::abs(v)) / std::log(base)));
        REQUIRE(static_cast<double>(static_cast<T>(q.value(static_cast<std::int64_t>(i)))) ==
                pare_test::Approx(o).epsilon(tol));
      }
    }
}

TEST_CASE("log codes: 0 is zero, ±(k+1) is ±c·b^-k, bits count the sign") {
  // max|x| = 3 → c = 4 (base 2). 3 → k = round(log2(4/3)) = 0; 1 → k = 2; 0.3 → k = round(3.74) = 4;
  // 4-bit: kmax = 2^3 − 2 = 6, so 0.03 (k = 7.06 → 7) becomes zero.
  const std::vector<float> x = {3.0f, -1.0f, 0.3f, 0.0f, 0.03f, -2.9f, 0.09f};
  const auto q = quantize_log(pare::tensor_view<const float>(x), {.bits = 4, .base = 2.0});
  CHECK(q.exponents()[0] == 2);
  CHECK(q.max_code() == 7);
  CHECK(q.code(0) == 1);
  CHECK(q.code(1) == -3);
  CHECK(q.code(2) == 5);
  CHECK(q.code(3) == 0);
  CHECK(q.code(4) == 0);
  CHECK(q.code(5) == -1);
  CHECK(q.code(6) == 6);  // 0.09: log2(4/0.09) = 5.47 → k = 5
  CHECK(q.packed());
  CHECK(q.bytes()[0] == ((1 + 8) | ((-3 + 8) << 4)));
  CHECK(q.size_bytes() == 4 + 2);
  std::vector<float> out(x.size());
  dequantize(q, pare::tensor_view<float>(out));
  CHECK(out[0] == 4.0f);
  CHECK(out[1] == -1.0f);
  CHECK(out[2] == 0.25f);
  CHECK(out[4] == 0.0f);
  CHECK(out[6] == 0.125f);

  // base √2, 8 bits, per channel: rows have their own c
  const std::vector<double> w = {1.0, 0.5, -0.25, 100.0, -30.0, 1.0};
  const auto l = quantize_log(pare::tensor_view<const double>(w.data(), {2, 3}), {.bits = 8, .base = std::sqrt(2.0), .axis = 0});
  REQUIRE(l.exponents().size() == 2);
  CHECK(l.c(0) > 1.0);
  CHECK(l.c(0) <= std::sqrt(2.0) * (1 + 1e-12));
  CHECK(l.c(1) > 100.0);
  CHECK(l.bits() == 8);
  CHECK_FALSE(l.packed());
  std::vector<double> o(6);
  dequantize(l, pare::tensor_view<double>(o.data(), {2, 3}));
  CHECK(o[0] == pare_test::Approx(1.0).epsilon(1e-12));  // powers of √2 are exact codes
  CHECK(o[1] == pare_test::Approx(0.5).epsilon(1e-12));
  CHECK(o[2] == pare_test::Approx(-0.25).epsilon(1e-12));
}

TEST_CASE("a tie in the log domain rounds half to even, as round(log_b(c/|x|)) does") {
  // base 4: thresholds c·4^(−k−½) = c·2^(−2k−1) are exact. max|x| = 2 → c = 4.
  // |x| = 2 = c·4^(−½): k = round(0.5) = 0; |x| = 0.5 = c·4^(−1.5): k = round(1.5) = 2.
  const std::vector<double> x = {2.0, 0.5, -0.125};
  const auto q = quantize_log(pare::tensor_view<const double>(x), {.bits = 4, .base = 4.0});
  CHECK(q.c(0) == 4.0);
  CHECK(q.code(0) == 1);   // k = 0
  CHECK(q.code(1) == 3);   // k = 2
  CHECK(q.code(2) == -3);  // round(2.5) = 2
}

TEST_CASE("log quantization errors") {
  std::vector<float> x = {1.0f, 2.0f, 3.0f, 4.0f};
  const auto v = pare::tensor_view<const float>(x.data(), {2, 2});
  PARE_REQUIRE_ERROR(quantize_log(v, {.base = 1.0}), "pare::quant::quantize_log", "base", "greater than 1", "got 1");
  PARE_REQUIRE_ERROR(quantize_log(v, {.base = 0.5}), "pare::quant::quantize_log", "base", "got 0.5");
  PARE_REQUIRE_ERROR(quantize_log(v, {.base = std::numeric_limits<double>::infinity()}), "base", "got inf");
  PARE_REQUIRE_ERROR(quantize_log(v, {.bits = 1}), "pare::quant::quantize_log", "bits", "got 1");
  PARE_REQUIRE_ERROR(quantize_log(v, {.bits = 9}), "pare::quant::quantize_log", "bits", "got 9");
  PARE_REQUIRE_ERROR(quantize_log(v, {.axis = 2}), "pare::quant::quantize_log", "axis", "got 2");
  std::vector<float> none;
  PARE_REQUIRE_ERROR(quantize_log(pare::tensor_view<const float>(none)), "pare::quant::quantize_log", "non-empty");
  x[2] = std::numeric_limits<float>::quiet_NaN();
  auto q = quantize_log(pare::tensor_view<const float>(std::vector<float>{1.0f, 2.0f}.data(), {2}));
  PARE_REQUIRE_ERROR(quantize_log(v, {}, q), "pare::quant::quantize_log", "finite", "nan", "index 2");
  CHECK(q.size() == 2);  // untouched
  x[2] = -std::numeric_limits<float>::infinity();
  PARE_REQUIRE_ERROR(quantize_log(v), "pare::quant::quantize_log", "finite", "-inf");
  std::vector<float> out(3);
  PARE_REQUIRE_ERROR(dequantize(q, pare::tensor_view<float>(out)), "pare::quant::dequantize", "[2]", "[3]");
  // an all-zero tensor has c = 1 and zero codes
  std::vector<float> z(5, 0.0f);
  const auto qz = quantize_log(pare::tensor_view<const float>(z));
  CHECK(qz.c(0) == 1.0);
  for (std::int64_t i = 0; i < 5; ++i) CHECK(qz.code(i) == 0);
}

TEST_CASE("float x gives the codes its values give as double, ties and range ends included") {
  // Float input takes a vectorized path (thresholds rounded up to floats, ties on exact ones);
  // double input bisects the thresholds in double. The same values must get the same codes.
  std::uint64_t seed = 77;
  for (const double base : {2.0, std::sqrt(2.0), 3.0, 4.0, 10.0, 1.05, 1e6})
    for (const int bits : {2, 3, 4, 5, 6, 8})
      for (const std::int64_t axis : {-1, 0}) {
        INFO("base " << base << " bits " << bits << " axis " << axis);
        auto xf = pare_test::random_normal<float>(6 * 250, ++seed, 0.0, 2.0);
        // values on and next to the decision points c·b^(−j−½) of the first row, and tiny ones
        const double m = 2.0 * 4.0;
        for (int j = 0; j < 40; ++j) {
          const double theta = std::pow(base, std::floor(std::log(m) / std::log(base)) + 1 - j - 0.5);
          const auto f = static_cast<float>(theta);
          xf[static_cast<std::size_t>(3 * j)] = f;
          xf[static_cast<std::size_t>(3 * j + 1)] = -std::nextafter(f, 0.0f);
          xf[static_cast<std::size_t>(3 * j + 2)] = std::nextafter(f, 1e30f);
        }
        xf[200] = 8.0f;  // max|x| = 8 in row 0
        xf[201] = 1e-30f;
        xf[202] = -0.0f;
        const std::vector<double> xd(xf.begin(), xf.end());
        const log_options o{.bits = bits, .base = base, .axis = axis};
        const auto qf = quantize_log(pare::tensor_view<const float>(xf.data(), {6, 250}), o);
        const auto qd = quantize_log(pare::tensor_view<const double>(xd.data(), {6, 250}), o);
        REQUIRE(qf.size() == qd.size());
        std::int64_t differ = 0;
        for (std::int64_t i = 0; i < qf.size(); ++i) differ += qf.code(i) != qd.code(i);
        CHECK(differ == 0);
        CHECK(std::ranges::equal(qf.exponents(), qd.exponents()));
      }
}
