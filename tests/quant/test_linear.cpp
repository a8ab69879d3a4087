// Linear quantization: PyTorch parity (affine per tensor / per channel), the symmetric formula
// with its ties, round-trip error, 4-bit packing, groups, storage size and every error path.
#include <pare/quant/linear.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"

using namespace pare::quant;
using quant_test::as;
using quant_test::shape_of;
using quant_test::torch_ref;

namespace {

/// The spec's code, computed independently of the library: clamp(rint(x / s) + z, lo, hi).
template <class T>
int spec_code(T x, float s, int z, int lo, int hi) {
  const T r = std::nearbyint(x / static_cast<T>(s)) + static_cast<T>(z);
  return static_cast<int>(std::min(std::max(r, static_cast<T>(lo)), static_cast<T>(hi)));
}

template <class T>
pare::tensor_view<const T> view_of(const std::vector<T>& v, const std::vector<std::int64_t>& shape) {
  return pare::tensor_view<const T>(v.data(), std::span<const std::int64_t>(shape));
}

/// Codes (when torch stored them: 8 bits) and dequantized values of q equal torch's, codes
/// shifted by −2^(bits−1).
void check_codes_and_values(const quantized_tensor& q, const std::string& key, const std::vector<float>& x,
                            const std::vector<std::int64_t>& shape, int bits) {
  const auto& ref = torch_ref();
  const int shift = 1 << (bits - 1);
  if (ref.has(key + "/codes")) {
    const auto& codes = ref[key + "/codes"];
    for (std::size_t i = 0; i < x.size(); ++i)
      REQUIRE(q.code(static_cast<std::int64_t>(i)) == static_cast<int>(codes[i]) - shift);
  }
  std::vector<float> out(x.size());
  dequantize(q, pare::tensor_view<float>(out.data(), std::span<const std::int64_t>(shape)));
  const auto& expect = ref[key + "/dequantized"];
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(out[i] == static_cast<float>(expect[i]));
}

}  // namespace

TEST_CASE("per-tensor affine qparams, codes and values equal torch's MinMaxObserver + quantize_per_tensor") {
  const auto& ref = torch_ref();
  int cases = 0;
  for (const char* name : {"normal", "positive", "negative", "wide"})
    for (int bits : {8, 6, 4, 3, 2}) {
      const std::string key = std::string("tensor_affine/") + name + "/b" + std::to_string(bits);
      INFO(key);
      const auto x = as<float>(ref[key + "/x"]);
      const auto shape = shape_of(ref[key + "/shape"]);
      const auto q = quantize(view_of(x, shape), {.bits = bits, .scheme = scheme::affine});
      const int shift = 1 << (bits - 1);
      REQUIRE(q.scales().size() == 1);
      CHECK(q.scales()[0] == static_cast<float>(ref.scalar(key + "/scale")));
      CHECK(q.zero_points()[0] == static_cast<int>(ref.scalar(key + "/zero_point")) - shift);
      CHECK(q.packed() == (bits <= 4));
      check_codes_and_values(q, key, x, shape, bits);
      ++cases;
    }
  CHECK(cases == 20);
}

TEST_CASE("per-channel affine along every axis equals torch's PerChannelMinMaxObserver + quantize_per_channel") {
  const auto& ref = torch_ref();
  for (int axis : {0, 1, 2})
    for (int bits : {8, 4}) {
      const std::string key = "channel_affine/a" + std::to_string(axis) + "/b" + std::to_string(bits);
      INFO(key);
      const auto x = as<float>(ref[key + "/x"]);
      const auto shape = shape_of(ref[key + "/shape"]);
      const auto q = quantize(view_of(x, shape), {.bits = bits, .scheme = scheme::affine, .axis = axis});
      const auto& s = ref[key + "/scale"];
      const auto& z = ref[key + "/zero_point"];
      REQUIRE(q.scales().size() == static_cast<std::size_t>(shape[static_cast<std::size_t>(axis)]));
      const int shift = 1 << (bits - 1);
      for (std::size_t c = 0; c < s.size(); ++c) {
        CHECK(q.scales()[c] == static_cast<float>(s[c]));
        CHECK(q.zero_points()[c] == static_cast<int>(z[c]) - shift);
      }
      check_codes_and_values(q, key, x, shape, bits);
    }
}

TEMPLATE_TEST_CASE("symmetric codes follow s = max|x| / (2^(b-1) - 1) and round half to even", "", float, double) {
  using T = TestType;
  // max|x| = 31.75 = 127 · 0.25, so s = 0.25 exactly and x / s below lands exactly on .5 ties.
  const std::vector<T> x = {T(0.125), T(0.375), T(0.625), T(-0.375), T(-0.625), T(31.75), T(-31.75), T(0), T(1.1)};
  const auto q = quantize(pare::tensor_view<const T>(x), {.bits = 8});
  REQUIRE(q.scales()[0] == 0.25f);
  CHECK(q.zero_points()[0] == 0);
  CHECK(q.code(0) == 0);    // 0.5 → 0
  CHECK(q.code(1) == 2);    // 1.5 → 2
  CHECK(q.code(2) == 2);    // 2.5 → 2
  CHECK(q.code(3) == -2);   // −1.5 → −2
  CHECK(q.code(4) == -2);   // −2.5 → −2
  CHECK(q.code(5) == 127);
  CHECK(q.code(6) == -127);  // symmetric never uses −128
  CHECK(q.code(7) == 0);
  CHECK(q.code(8) == 4);    // 4.4 → 4

  for (int bits = 2; bits <= 8; ++bits) {
    const auto v = pare_test::random_normal<T>(257, 100 + static_cast<std::uint64_t>(bits));
    const auto qb = quantize(pare::tensor_view<const T>(v), {.bits = bits});
    const int qm = (1 << (bits - 1)) - 1;
    double m = 0;
    for (T a : v) m = std::max(m, static_cast<double>(std::abs(a)));
    CHECK(qb.scales()[0] == static_cast<float>(m) / static_cast<float>(qm));
    for (std::size_t i = 0; i < v.size(); ++i)
      REQUIRE(qb.code(static_cast<std::int64_t>(i)) == spec_code(v[i], qb.scales()[0], 0, -qm, qm));
  }
}

TEMPLATE_TEST_CASE("dequantize(quantize(x)) is within half a step of x, for every scheme, width and layout", "", float, double) {
  using T = TestType;
  const std::uint64_t seed = 20240601;
  INFO("seed " << seed);
  const std::vector<std::int64_t> shape = {6, 5, 12};
  auto x = pare_test::random_normal<T>(360, seed, 0.3, 2.0);
  const auto view = pare::tensor_view<const T>(x.data(), std::span<const std::int64_t>(shape));
  std::vector<T> out(x.size());
  const auto out_view = pare::tensor_view<T>(out.data(), std::span<const std::int64_t>(shape));
  const double rel = std::is_same_v<T, float> ? 1e-6 : 1e-7;
  for (auto sch : {scheme::symmetric, scheme::affine})
    for (int bits = 2; bits <= 8; ++bits)
      for (const quantize_options base : {quantize_options{}, quantize_options{.axis = 0}, quantize_options{.axis = 1},
                                          quantize_options{.axis = 2}, quantize_options{.group_size = 4},
                                          quantize_options{.group_size = 3}}) {
        quantize_options opt = base;
        opt.bits = bits;
        opt.scheme = sch;
        INFO("bits " << bits << " affine " << (sch == scheme::affine) << " axis " << opt.axis << " group " << opt.group_size);
        const auto q = quantize(view, opt);
        dequantize(q, out_view);
        for (std::int64_t i = 0; i < view.size(); ++i) {
          const auto k = static_cast<std::size_t>(q.slice_of(i));
          const double s = q.scales()[k];
          REQUIRE(std::abs(static_cast<double>(out[static_cast<std::size_t>(i)]) - x[static_cast<std::size_t>(i)]) <=
                  0.5 * s * (1 + rel) + 1e-12);
          REQUIRE(q.code(i) == spec_code(x[static_cast<std::size_t>(i)], q.scales()[k], q.zero_points()[k],
                                         q.params().qmin(), q.params().qmax()));
          REQUIRE(static_cast<float>(out[static_cast<std::size_t>(i)]) == q.value(i));
        }
      }
}

TEST_CASE("per-channel slices follow the axis; per-group slices are g consecutive values of the last axis") {
  const std::vector<std::int64_t> shape = {2, 3, 4};
  std::vector<float> x(24);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 7.5f;
  const auto v = pare::tensor_view<const float>(x.data(), std::span<const std::int64_t>(shape));
  const auto q1 = quantize(v, {.axis = 1});
  REQUIRE(q1.scales().size() == 3);
  for (std::int64_t i = 0; i < 24; ++i) CHECK(q1.slice_of(i) == (i / 4) % 3);
  for (std::int64_t c = 0; c < 3; ++c) {
    float m = 0;
    for (std::int64_t a = 0; a < 2; ++a)
      for (std::int64_t b = 0; b < 4; ++b) m = std::max(m, std::abs(x[static_cast<std::size_t>(a * 12 + c * 4 + b)]));
    CHECK(q1.scales()[static_cast<std::size_t>(c)] == m / 127.0f);
  }
  const auto q2 = quantize(v, {.axis = 2});
  for (std::int64_t i = 0; i < 24; ++i) CHECK(q2.slice_of(i) == i % 4);
  const auto g = quantize(v, {.bits = 4, .group_size = 2});
  REQUIRE(g.scales().size() == 12);
  for (std::size_t k = 0; k < 12; ++k)
    CHECK(g.scales()[k] == std::max(std::abs(x[2 * k]), std::abs(x[2 * k + 1])) / 7.0f);
  CHECK(g.group_size() == 2);
  CHECK(g.axis() == -1);
}

TEST_CASE("4-bit codes pack two per byte, element 2i in the low nibble, as code + 8") {
  const std::vector<std::int64_t> shape = {5};
  const std::vector<std::int8_t> codes = {-8, 7, 0, -1, 3};
  qparams qp{.bits = 4, .scheme = scheme::affine, .scales = {0.5f}, .zero_points = {-2}};
  const auto q = quantized_tensor::from_codes(shape, qp, codes);
  REQUIRE(q.bytes().size() == 3);
  CHECK(q.bytes()[0] == ((0) | (15 << 4)));
  CHECK(q.bytes()[1] == ((8) | (7 << 4)));
  CHECK(q.bytes()[2] == 11);  // odd count: the last high nibble is 0
  for (std::int64_t i = 0; i < 5; ++i) CHECK(q.code(i) == codes[static_cast<std::size_t>(i)]);
  std::vector<float> out(5);
  dequantize(q, pare::tensor_view<float>(out));
  for (std::size_t i = 0; i < 5; ++i) CHECK(out[i] == static_cast<float>(codes[i] + 2) * 0.5f);

  // round trip through quantize at odd offsets (groups of 3 along a last axis of 9)
  auto x = pare_test::random_normal<float>(63, 77);
  const std::vector<std::int64_t> s2 = {7, 9};
  for (int bits : {2, 3, 4}) {
    const auto g = quantize(pare::tensor_view<const float>(x.data(), std::span<const std::int64_t>(s2)),
                            {.bits = bits, .scheme = scheme::affine, .group_size = 3});
    REQUIRE(g.bytes().size() == 32);
    std::vector<std::int8_t> c(63);
    for (std::int64_t i = 0; i < 63; ++i) c[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(g.code(i));
    const auto again = quantized_tensor::from_codes(s2, g.params(), c);
    for (std::size_t i = 0; i < 31; ++i) REQUIRE(again.bytes()[i] == g.bytes()[i]);
    REQUIRE((again.bytes()[31] & 0x0F) == (g.bytes()[31] & 0x0F));
  }
}

TEST_CASE("size_bytes counts codes, 4-byte scales and (affine only) 1-byte zero points") {
  std::vector<float> w(4096 * 64);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i));
  const auto v = pare::tensor_view<const float>(w.data(), {64, 4096});
  CHECK(quantize(v, {.bits = 8, .axis = 0}).size_bytes() == 4096 * 64 + 4 * 64);
  CHECK(quantize(v, {.bits = 4, .group_size = 64}).size_bytes() == 4096 * 32 + 4 * 4096);
  CHECK(quantize(v, {.bits = 4, .scheme = scheme::affine, .group_size = 64}).size_bytes() ==
        4096 * 32 + 5 * 4096);
  CHECK(quantize(v, {.bits = 3}).size_bytes() == 4096 * 32 + 4);
  CHECK(quantize(v, {.bits = 6}).size_bytes() == 4096 * 64 + 4);
}

TEST_CASE("an all-zero tensor, channel or group gets scale 1, zero point 0 and zero codes") {
  std::vector<float> x = {0, 0, 0, 0, 1, -2, 0, 0};
  const auto v = pare::tensor_view<const float>(x.data(), {4, 2});
  for (auto sch : {scheme::symmetric, scheme::affine}) {
    const auto q = quantize(v, {.scheme = sch, .axis = 0});
    CHECK(q.scales()[0] == 1.0f);
    CHECK(q.zero_points()[0] == 0);
    CHECK(q.scales()[3] == 1.0f);
    CHECK(q.code(0) == 0);
    CHECK(q.code(7) == 0);
    CHECK(q.scales()[2] != 1.0f);
    std::vector<float> z(4, 0.0f);
    const auto t = quantize(pare::tensor_view<const float>(z), {.scheme = sch});
    CHECK(t.scales()[0] == 1.0f);
    CHECK(t.zero_points()[0] == 0);
  }
}

TEMPLATE_TEST_CASE("quantize with given qparams clamps out-of-range values and reuses storage", "", float, double) {
  using T = TestType;
  const std::vector<T> calib = {T(-1), T(0.5), T(1)};
  const auto qp = choose_qparams(pare::tensor_view<const T>(calib), {.bits = 4, .scheme = scheme::affine});
  const std::vector<T> x = {T(-5), T(-1), T(0), T(0.3), T(0.99), T(7)};
  quantized_tensor q;
  quantize(pare::tensor_view<const T>(x), qp, q);
  for (std::int64_t i = 0; i < 6; ++i)
    CHECK(q.code(i) == spec_code(x[static_cast<std::size_t>(i)], qp.scales[0], qp.zero_points[0], -8, 7));
  CHECK(q.code(0) == -8);
  CHECK(q.code(5) == 7);
  const auto* before = q.bytes().data();
  quantize(pare::tensor_view<const T>(x), {.bits = 4}, q);  // same size: no reallocation
  CHECK(q.bytes().data() == before);
  CHECK(q.scheme() == scheme::symmetric);
  quantize(pare::tensor_view<const T>(x), q.params(), q);  // its own qparams, aliasing
  CHECK(q.scales()[0] == static_cast<float>(7.0 / 7.0));
}

TEST_CASE("bad input is a pare::error naming the component, the argument and the value") {
  std::vector<float> x(12, 1.0f);
  const auto v = pare::tensor_view<const float>(x.data(), {3, 4});
  PARE_REQUIRE_ERROR(quantize(v, {.bits = 9}), "pare::quant::quantize", "bits", "[2, 8]", "got 9");
  PARE_REQUIRE_ERROR(quantize(v, {.bits = 1}), "pare::quant::quantize", "bits", "got 1");
  PARE_REQUIRE_ERROR(quantize(v, {.axis = 2}), "pare::quant::quantize", "axis", "[0, 2)", "got 2");
  PARE_REQUIRE_ERROR(quantize(v, {.axis = -2}), "pare::quant::quantize", "axis", "got -2");
  PARE_REQUIRE_ERROR(quantize(v, {.group_size = 3}), "pare::quant::quantize", "group_size", "last extent 4", "got 3");
  PARE_REQUIRE_ERROR(quantize(v, {.group_size = -1}), "pare::quant::quantize", "group_size", "got -1");
  PARE_REQUIRE_ERROR(quantize(v, {.axis = 0, .group_size = 2}), "pare::quant::quantize", "axis", "group_size", "got 0");
  std::vector<float> none;
  PARE_REQUIRE_ERROR(quantize(pare::tensor_view<const float>(none)), "pare::quant::quantize", "x", "non-empty", "[0]");

  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    auto y = x;
    y[5] = bad;
    const auto yv = pare::tensor_view<const float>(y.data(), {3, 4});
    const std::string text = std::isnan(bad) ? "nan" : (bad > 0 ? "inf" : "-inf");
    for (const quantize_options o : {quantize_options{}, quantize_options{.axis = 0}, quantize_options{.axis = 1},
                                     quantize_options{.bits = 4, .group_size = 2}}) {
      quantized_tensor q = quantize(v, {.bits = 4});
      PARE_REQUIRE_ERROR(quantize(yv, o, q), "pare::quant::quantize", "x must be finite", text.c_str(), "index 5");
      CHECK((q.empty() || q.size() == 12));  // empty after a failed fused pass, untouched otherwise
    }
    const auto qp = choose_qparams(v);
    PARE_REQUIRE_ERROR(quantize(yv, qp), "pare::quant::quantize", "finite", text.c_str(), "index 5");
    PARE_REQUIRE_ERROR(choose_qparams(yv), "pare::quant::choose_qparams", "finite", text.c_str());
  }

  const auto q = quantize(v);
  std::vector<float> out(12);
  PARE_REQUIRE_ERROR(dequantize(q, pare::tensor_view<float>(out.data(), {4, 3})), "pare::quant::dequantize", "out",
                     "[3, 4]", "[4, 3]");
  PARE_REQUIRE_ERROR(dequantize(q, pare::tensor_view<float>(out)), "pare::quant::dequantize", "[12]");

  qparams wrong{.bits = 8, .axis = 0, .scales = {1.0f, 1.0f}, .zero_points = {0, 0}};
  PARE_REQUIRE_ERROR(quantize(v, wrong), "pare::quant::quantize", "scales", "length 3", "got 2");
  qparams neg{.bits = 8, .scales = {-1.0f}, .zero_points = {0}};
  PARE_REQUIRE_ERROR(quantize(v, neg), "pare::quant::quantize", "scales[0]", "positive", "-1");
  qparams zp{.bits = 4, .scheme = scheme::affine, .scales = {1.0f}, .zero_points = {9}};
  PARE_REQUIRE_ERROR(quantize(v, zp), "pare::quant::quantize", "zero_points[0]", "[-8, 7]", "got 9");
  const std::vector<std::int64_t> s3 = {3};
  const std::vector<std::int8_t> codes = {0, 8, 0};
  PARE_REQUIRE_ERROR(quantized_tensor::from_codes(s3, {.bits = 4, .scales = {1.0f}, .zero_points = {0}}, codes),
                     "from_codes", "codes[1]", "[-7, 7]", "got 8");
}

TEMPLATE_TEST_CASE("values within a few ulps of a .5 tie get the code of round_half_even(x / s)", "", float, double) {
  using T = TestType;
  // s = 0.1f is not a power of two, so x·(1/s) and x / s can round differently near ties.
  const qparams qp{.bits = 8, .scheme = scheme::affine, .scales = {0.1f}, .zero_points = {3}};
  std::vector<T> x;
  for (int k = -120; k <= 120; ++k) {
    T v = static_cast<T>((k + 0.5) * static_cast<double>(0.1f));
    for (int u = 0; u < 3; ++u) v = std::nextafter(v, T(-1e9));
    for (int u = 0; u < 7; ++u, v = std::nextafter(v, T(1e9))) x.push_back(v);
  }
  const auto q = quantize(pare::tensor_view<const T>(x), qp);
  for (std::size_t i = 0; i < x.size(); ++i)
    REQUIRE(q.code(static_cast<std::int64_t>(i)) == spec_code(x[i], 0.1f, 3, -128, 127));
}

TEST_CASE("large tensors: codes, scales and zero points follow the formula in every layout the fast kernels take") {
  // Sizes past the kernels' stream split (8192 values), groups of every length the batched
  // kernel specializes (32, 64, 128) or not (16, 48, 96, 256, 320), ragged batch counts, rows
  // whose length is not a multiple of 64, and values placed exactly on .5 ties of their scale;
  // once as pare runs such tensors, once through the paths of long tensors (four lanes).
  for (const std::int64_t long_from : {std::int64_t{1} << 22, std::int64_t{1} << 15}) {
  const quant_test::long_paths_from paths(long_from);
  INFO("long paths from " << long_from);
  const std::uint64_t seed = 99173;
  INFO("seed " << seed);
  using quant_test::dims;
  for (const dims d : {dims{37, 960}, dims{130, 320}, dims{9, 4100}, dims{3, 16384}}) {
    auto x = pare_test::random_normal<float>(static_cast<std::size_t>(d.rows * d.cols), seed + static_cast<std::uint64_t>(d.cols), 0.1, 1.5);
    for (std::size_t i = 0; i < x.size(); i += 7) x[i] = static_cast<float>(std::nearbyint(x[i] * 8)) / 8 + 1.0f / 16;  // ties for s = 1/8
    for (std::size_t i = 0; i < 64 && i < x.size(); ++i) x[i] = 0;  // an all-zero first group
    const std::vector<std::int64_t> shape = {d.rows, d.cols};
    const auto v = pare::tensor_view<const float>(x.data(), std::span<const std::int64_t>(shape));
    for (auto sch : {scheme::symmetric, scheme::affine})
      for (int bits : {8, 5, 4, 3}) {
        std::vector<quantize_options> layouts = {{}, {.axis = 0}, {.axis = 1}};
        for (std::int64_t g : {16, 32, 48, 64, 96, 128, 256, 320, 1025, 4100})
          if (d.cols % g == 0) layouts.push_back({.group_size = g});
        for (quantize_options o : layouts) {
          o.bits = bits;
          o.scheme = sch;
          INFO("[" << d.rows << ", " << d.cols << "] bits " << bits << " affine " << (sch == scheme::affine) << " axis "
                   << o.axis << " group " << o.group_size);
          const auto q = quantize(v, o);
          const auto qp = choose_qparams(v, o);  // the scalar reference for the vector qparams
          REQUIRE(q.scales().size() == qp.scales.size());
          for (std::size_t k = 0; k < qp.scales.size(); ++k) {
            REQUIRE(q.scales()[k] == qp.scales[k]);
            REQUIRE(q.zero_points()[k] == qp.zero_points[k]);
          }
          for (std::int64_t i = 0; i < v.size(); ++i) {
            const auto k = static_cast<std::size_t>(q.slice_of(i));
            REQUIRE(q.code(i) == spec_code(x[static_cast<std::size_t>(i)], q.scales()[k], q.zero_points()[k],
                                           q.params().qmin(), q.params().qmax()));
          }
          // given qparams (clamping path) reproduce the same codes
          const auto again = quantize(v, q.params());
          REQUIRE(std::ranges::equal(again.bytes(), q.bytes()));
        }
      }
  }
  }
}

TEST_CASE("scales far from 1 take an exact path: codes equal round_half_even(x / s) for s from 1e-38 to 1e37") {
  // x / s by a reciprocal and one correction is exact for 2^-90 ≤ s ≤ 2^100; outside, the
  // kernels divide. Values sit on and next to .5 ties, and beyond the range (they clamp).
  for (float s : {1e-38f, 3e-31f, 0x1p-90f, 0x1.fffffep-91f, 1.1920929e-7f, 0.1f, 3.0f, 0x1p100f, 0x1.000002p100f, 1e33f, 1e37f}) {
    for (int z : {0, -5}) {
      const qparams qp{.bits = 8, .scheme = scheme::affine, .scales = {s}, .zero_points = {static_cast<std::int8_t>(z)}};
      std::vector<float> x;
      for (int k = -140; k <= 140; ++k) {
        float v = static_cast<float>((k + 0.5) * static_cast<double>(s));
        for (int u = 0; u < 2; ++u) v = std::nextafter(v, -std::numeric_limits<float>::infinity());
        for (int u = 0; u < 5; ++u, v = std::nextafter(v, std::numeric_limits<float>::infinity()))
          if (std::isfinite(v)) x.push_back(v);
      }
      for (float big : {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), 0.0f, -0.0f,
                        std::numeric_limits<float>::denorm_min()})
        x.push_back(big);
      while (x.size() % 64 != 5) x.push_back(static_cast<float>(x.size() % 7) * s * 1.37f);  // a ragged tail
      INFO("s " << s << " z " << z);
      const auto q = quantize(pare::tensor_view<const float>(x), qp);
      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO("x " << x[i]);
        REQUIRE(q.code(static_cast<std::int64_t>(i)) == spec_code(x[i], s, z, -128, 127));
      }
      // and the same scale chosen by quantize itself (symmetric: s = max|x| / 127)
      std::vector<float> y = {127 * s, -3.5f * s, 2.5f * s, 0.5f * s, -126.5f * s, 1.5f * s};
      if (std::isfinite(127 * s)) {
        const auto qs = quantize(pare::tensor_view<const float>(y), {.bits = 8});
        for (std::size_t i = 0; i < y.size(); ++i)
          REQUIRE(qs.code(static_cast<std::int64_t>(i)) == spec_code(y[i], qs.scales()[0], 0, -127, 127));
      }
    }
  }
}

TEST_CASE("a NaN or infinity deep inside a large tensor throws and leaves the tensor empty") {
  auto x = pare_test::random_normal<float>(64 * 1024, 5);
  for (const quantize_options o : {quantize_options{}, quantize_options{.axis = 0}, quantize_options{.bits = 4, .group_size = 64},
                                   quantize_options{.bits = 8, .scheme = scheme::affine, .group_size = 32},
                                   quantize_options{.bits = 4, .scheme = scheme::affine, .group_size = 16}}) {
    for (std::size_t at : {std::size_t{0}, std::size_t{40000}, x.size() - 1}) {
      auto y = x;
      y[at] = std::numeric_limits<float>::quiet_NaN();
      const auto yv = pare::tensor_view<const float>(y.data(), {64, 1024});
      quantized_tensor q = quantize(pare::tensor_view<const float>(x.data(), {64, 1024}), o);
      INFO("axis " << o.axis << " group " << o.group_size << " at " << at);
      const std::string where = "index " + std::to_string(at);  // outlives the macro's checks
      PARE_REQUIRE_ERROR(quantize(yv, o, q), "pare::quant::quantize", "x must be finite", "nan", where.c_str());
      CHECK((q.empty() || q.size() == 64 * 1024));
      const auto qp = choose_qparams(pare::tensor_view<const float>(x.data(), {64, 1024}), o);
      PARE_REQUIRE_ERROR(quantize(yv, qp, q), "pare::quant::quantize", "finite", "nan");
      CHECK(q.empty());
    }
  }
}

TEST_CASE("per-group kernels: a NaN or an infinity anywhere in a batch of 16 groups throws and leaves the tensor empty") {
  // The batched group kernel finds max|x| with an instruction that ignores quiet NaNs and
  // catches them (and infinities) in its code pass instead; every position of a batch, every
  // group length it takes and both code widths must still throw.
  const auto x = pare_test::random_normal<float>(16 * 768, 17);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (std::int64_t g : {16, 32, 48, 64, 128, 256})
    for (auto sch : {scheme::symmetric, scheme::affine})
      for (int bits : {4, 8})
        for (float bad : {nan, inf, -inf})
          for (std::size_t at = 3; at < 16 * static_cast<std::size_t>(g) + 64; at += static_cast<std::size_t>(g) / 2 + 5) {
            auto y = x;
            y[at] = bad;
            const quantize_options o{.bits = bits, .scheme = sch, .group_size = g};
            INFO("group " << g << " affine " << (sch == scheme::affine) << " bits " << bits << " value " << bad << " at " << at);
            quantized_tensor q = quantize(pare::tensor_view<const float>(x.data(), {16, 768}), o);
            const std::string where = "index " + std::to_string(at);
            PARE_REQUIRE_ERROR(quantize(pare::tensor_view<const float>(y.data(), {16, 768}), o, q), "pare::quant::quantize",
                               "x must be finite", where.c_str());
            CHECK(q.empty());
          }
}

TEST_CASE("per-group kernels on long tensors: a NaN or an infinity in any lane, or after the lanes, throws") {
  // Long tensors (here: from 32768 values on) the batched kernel reads as four parts side by
  // side (lanes of `per` batches of 16 groups each); the batches left over go through one lane,
  // and the groups left over through the row kernel. A bad value at the edges of each throws.
  const quant_test::long_paths_from paths(32768);
  const std::vector<std::int64_t> shape = {50, 960};
  const auto x = pare_test::random_normal<float>(50 * 960, 31);
  const auto v = pare::tensor_view<const float>(x.data(), std::span<const std::int64_t>(shape));
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (std::int64_t g : {32, 48, 64, 96, 320 / 2})
    for (auto sch : {scheme::symmetric, scheme::affine})
      for (int bits : {4, 8}) {
        const std::int64_t batches = 50 * 960 / g / 16, per = batches / 4, batch = 16 * g;
        std::vector<std::int64_t> at;
        for (std::int64_t k = 0; k < 4; ++k) {
          at.push_back(k * per * batch);                    // a lane's first value
          at.push_back(k * per * batch + batch + g / 2);    // its second batch
          at.push_back((k + 1) * per * batch - 1);          // its last value
        }
        at.push_back(4 * per * batch);      // the batches after the lanes
        at.push_back(batches * batch);      // the groups after the batches (if any)
        at.push_back(50 * 960 - 1);         // the last value
        for (std::int64_t i : at)
          for (float bad : {nan, -inf}) {
            if (i >= 50 * 960) continue;
            auto y = x;
            y[static_cast<std::size_t>(i)] = bad;
            const quantize_options o{.bits = bits, .scheme = sch, .group_size = g};
            INFO("group " << g << " affine " << (sch == scheme::affine) << " bits " << bits << " value " << bad << " at " << i);
            quantized_tensor q = quantize(v, o);
            const std::string where = "index " + std::to_string(i);
            PARE_REQUIRE_ERROR(quantize(pare::tensor_view<const float>(y.data(), std::span<const std::int64_t>(shape)), o, q),
                               "pare::quant::quantize", "x must be finite", where.c_str());
            CHECK(q.empty());
          }
      }
}

TEST_CASE("per-group kernels: groups whose scales are far from 1 (the division path) get exact codes") {
  // Groups of tiny (s < 2^-90) and huge (s > 2^100) values share batches with ordinary ones,
  // also in the four lanes of long tensors (here from 32768 values on), with ordinary ones in the
  // other lanes.
  auto x = pare_test::random_normal<float>(96 * 512, 23);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t group = i / 64;
    if (group % 5 == 1) x[i] *= 1e-30f;
    if (group % 7 == 3) x[i] *= 1e33f;
    if (i % 11 == 0) x[i] = static_cast<float>(std::nearbyint(x[i] * 8)) / 8 + 1.0f / 16;  // ties in ordinary groups
  }
  const std::vector<std::int64_t> shape = {96, 512};
  const auto v = pare::tensor_view<const float>(x.data(), std::span<const std::int64_t>(shape));
  for (const std::int64_t long_from : {std::int64_t{1} << 22, std::int64_t{1} << 15})
    for (auto sch : {scheme::symmetric, scheme::affine})
      for (int bits : {8, 4, 2})
        for (std::int64_t g : {32, 64, 128}) {
        const quant_test::long_paths_from paths(long_from);
        const quantize_options o{.bits = bits, .scheme = sch, .group_size = g};
        INFO("group " << g << " affine " << (sch == scheme::affine) << " bits " << bits << " long paths from " << long_from);
        const auto q = quantize(v, o);
        const auto qp = choose_qparams(v, o);
        for (std::size_t k = 0; k < qp.scales.size(); ++k) {
          REQUIRE(q.scales()[k] == qp.scales[k]);
          REQUIRE(q.zero_points()[k] == qp.zero_points[k]);
        }
        for (std::int64_t i = 0; i < v.size(); ++i) {
          const auto k = static_cast<std::size_t>(q.slice_of(i));
          REQUIRE(q.code(i) == spec_code(x[static_cast<std::size_t>(i)], q.scales()[k], q.zero_points()[k], q.params().qmin(),
                                         q.params().qmax()));
        }
      }
}
