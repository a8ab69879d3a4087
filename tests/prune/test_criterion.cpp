// Pruning criteria: each score is the quantity its paper defines, checked against the loss
// change it estimates (finite differences) or against the accumulated formula.
#include <pare/prune/criterion.hpp>
#include <pare/prune/pruner.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"

namespace pp = pare::prune;
using pare::tensor_view;

using prune_test::tol;

TEMPLATE_TEST_CASE("magnitude scores |w|", "", float, double) {
  using T = TestType;
  std::vector<T> w{T(-2), T(0.5), T(0), T(-0.0), T(3)};
  pp::pruner<T> p;
  p.add(tensor_view<T>(w.data(), {5}));
  std::vector<T> s(5);
  p.score(0, tensor_view<T>(s.data(), {5}));
  CHECK(s == std::vector<T>{T(2), T(0.5), T(0), T(0), T(3)});
}

TEMPLATE_TEST_CASE("sensitivity |w*g| is the loss change of removing a weight, to first order",
                   "", float, double) {
  using T = TestType;
  const std::uint64_t seed = 101;
  INFO("seed " << seed);
  // L(w) = Σ c_i w_i + ε·Σ w_i³: removing w_i changes L by -c_i·w_i - ε·w_i³ ≈ -g_i·w_i
  const auto c = pare_test::random_normal<double>(12, seed);
  const auto w0 = pare_test::random_normal<double>(12, seed + 1);
  const double eps = 1e-6;
  const auto loss = [&](const std::vector<double>& w) {
    double l = 0;
    for (std::size_t i = 0; i < w.size(); ++i) l += c[i] * w[i] + eps * w[i] * w[i] * w[i];
    return l;
  };
  const auto g = pare_test::numeric_gradient(loss, w0);
  std::vector<T> w(w0.begin(), w0.end()), gt(g.begin(), g.end()), s(12);
  pp::pruner<T, pp::sensitivity> p;
  p.add(tensor_view<T>(w.data(), {3, 4}), tensor_view<const T>(gt.data(), {3, 4}));
  p.score(0, tensor_view<T>(s.data(), {3, 4}));
  for (std::size_t i = 0; i < 12; ++i) {
    auto removed = w0;
    removed[i] = 0;
    const double change = std::abs(loss(removed) - loss(w0));
    CHECK(static_cast<double>(s[i]) == pare_test::Approx(change).epsilon(1e-4).margin(1e-6));
    CHECK(s[i] == std::abs(w[i] * gt[i]));
  }
}

TEMPLATE_TEST_CASE("hessian ½·h·w² is the loss change of removing a weight at a minimum (OBD)",
                   "", float, double) {
  using T = TestType;
  const std::uint64_t seed = 102;
  INFO("seed " << seed);
  // L(w) = ½ Σ a_i (w_i − w*_i)², at its minimum w = w*: removing w_i costs ½·a_i·w*_i² exactly
  const auto a = pare_test::random_uniform<double>(10, seed, 0.2, 3);
  const auto w0 = pare_test::random_normal<double>(10, seed + 1);
  const auto loss = [&](const std::vector<double>& w) {
    double l = 0;
    for (std::size_t i = 0; i < w.size(); ++i) l += 0.5 * a[i] * (w[i] - w0[i]) * (w[i] - w0[i]);
    return l;
  };
  // the Hessian diagonal by central second differences
  std::vector<T> h(10);
  const double d = 1e-3;
  for (std::size_t i = 0; i < 10; ++i) {
    auto up = w0, down = w0;
    up[i] += d;
    down[i] -= d;
    h[i] = static_cast<T>((loss(up) - 2 * loss(w0) + loss(down)) / (d * d));
  }
  std::vector<T> w(w0.begin(), w0.end()), s(10);
  pp::pruner<T, pp::hessian> p;
  p.add(tensor_view<T>(w.data(), {10}), tensor_view<const T>(h.data(), {10}));
  p.score(0, tensor_view<T>(s.data(), {10}));
  for (std::size_t i = 0; i < 10; ++i) {
    auto removed = w0;
    removed[i] = 0;
    CHECK(static_cast<double>(s[i]) == pare_test::Approx(loss(removed) - loss(w0)).epsilon(1e-4));
  }
}

TEMPLATE_TEST_CASE("hessian{.estimate = true} uses the mean squared gradient as h", "", float,
                   double) {
  using T = TestType;
  const std::uint64_t seed = 103;
  INFO("seed " << seed);
  std::vector<T> w = pare_test::random_normal<T>(8, seed), g(8), s(8);
  std::vector<double> sum_sq(8, 0.0);
  pp::pruner<T, pp::hessian> p({.criterion = {.estimate = true}});
  p.add(tensor_view<T>(w.data(), {8}), tensor_view<const T>(g.data(), {8}));
  for (int step = 0; step < 4; ++step) {
    const auto fresh = pare_test::random_normal<T>(8, seed + 10 + static_cast<std::uint64_t>(step));
    std::copy(fresh.begin(), fresh.end(), g.begin());  // the pruner holds a view of g
    for (std::size_t i = 0; i < 8; ++i) sum_sq[i] += static_cast<double>(g[i]) * g[i];
    p.accumulate();
  }
  CHECK(p.steps() == 4);
  p.score(0, tensor_view<T>(s.data(), {8}));
  for (std::size_t i = 0; i < 8; ++i) {
    const double want = 0.5 * (sum_sq[i] / 4) * static_cast<double>(w[i]) * w[i];
    CHECK(static_cast<double>(s[i]) == pare_test::Approx(want).epsilon(tol<T>()));
  }
}

TEMPLATE_TEST_CASE("movement accumulates −w·g over steps", "", float, double) {
  using T = TestType;
  const std::uint64_t seed = 104;
  INFO("seed " << seed);
  std::vector<T> w = pare_test::random_normal<T>(6, seed), g(6), s(6);
  std::vector<double> want(6, 0.0);
  pp::pruner<T, pp::movement> p;
  p.add(tensor_view<T>(w.data(), {2, 3}), tensor_view<const T>(g.data(), {2, 3}));
  for (int step = 0; step < 5; ++step) {
    const auto fresh = pare_test::random_normal<T>(6, seed + 20 + static_cast<std::uint64_t>(step));
    std::copy(fresh.begin(), fresh.end(), g.begin());  // the pruner holds a view of g
    for (std::size_t i = 0; i < 6; ++i) want[i] -= static_cast<double>(w[i]) * g[i];
    p.accumulate();
    for (std::size_t i = 0; i < 6; ++i) w[i] -= T(0.1) * g[i];  // the weights move between steps
  }
  p.score(0, tensor_view<T>(s.data(), {2, 3}));
  for (std::size_t i = 0; i < 6; ++i)
    CHECK(static_cast<double>(s[i]) == pare_test::Approx(want[i]).epsilon(tol<T>()).margin(tol<T>()));
  // weights moving toward zero (w·g > 0 each step) score low and go first
  std::vector<T> w2{T(1), T(1), T(-1), T(-1)}, g2{T(1), T(-1), T(-1), T(1)};
  pp::pruner<T, pp::movement> q;
  q.add(tensor_view<T>(w2.data(), {4}), tensor_view<const T>(g2.data(), {4}));
  q.accumulate();
  q.prune_to(0.5);
  CHECK(q.mask(0)[0] == 0);  // w > 0, g > 0: shrinking
  CHECK(q.mask(0)[1] == 1);
  CHECK(q.mask(0)[2] == 0);  // w < 0, g < 0: shrinking in magnitude
  CHECK(q.mask(0)[3] == 1);
}

TEMPLATE_TEST_CASE("random scores are uniform, reproducible, per seed and per tensor", "", float,
                   double) {
  using T = TestType;
  std::vector<T> a(20000, T(1)), b(20000, T(1)), s1(20000), s2(20000), s3(20000);
  pp::pruner<T, pp::random> p({.criterion = {.seed = 9}});
  p.add(tensor_view<T>(a.data(), {20000}));
  p.add(tensor_view<T>(b.data(), {20000}));
  p.score(0, tensor_view<T>(s1.data(), {20000}));
  p.score(1, tensor_view<T>(s2.data(), {20000}));
  pp::pruner<T, pp::random> q({.criterion = {.seed = 9}});
  q.add(tensor_view<T>(b.data(), {20000}));
  q.score(0, tensor_view<T>(s3.data(), {20000}));
  CHECK(s1 == s3);  // the same seed and registration index give the same stream
  CHECK(s1 != s2);  // another tensor gets another stream
  double mean = 0;
  for (auto x : s1) {
    REQUIRE(x >= T(0));
    REQUIRE(x < T(1));
    mean += static_cast<double>(x);
  }
  CHECK(mean / 20000 == pare_test::Approx(0.5).margin(0.01));
  pp::pruner<T, pp::random> r({.criterion = {.seed = 10}});
  r.add(tensor_view<T>(a.data(), {20000}));
  r.score(0, tensor_view<T>(s3.data(), {20000}));
  CHECK(s1 != s3);
}

namespace {
// A user criterion: keep the weights an external importance array ranks highest.
struct external_importance {
  const float* importance = nullptr;
  [[nodiscard]] bool accumulates() const noexcept { return false; }
  static constexpr bool signed_scores = false;
  [[nodiscard]] pp::input needs() const noexcept { return pp::input::none; }
  template <class T>
  [[nodiscard]] T score(const pp::score_inputs<T>&, std::int64_t i) const noexcept {
    return static_cast<T>(importance[i]);
  }
  template <class T>
  void accumulate(const pp::score_inputs<T>&, T*, std::int64_t, std::int64_t) const noexcept {}
};
static_assert(pp::prune_criterion<external_importance, float>);
static_assert(!pp::prune_criterion<int, float>);
}  // namespace

TEST_CASE("a user-written criterion plugs into the pruner") {
  std::vector<float> w{5, 4, 3, 2, 1, 0.5f};
  const std::vector<float> importance{0.1f, 0.9f, 0.2f, 0.8f, 0.3f, 0.7f};
  pp::pruner<float, external_importance> p({.criterion = {.importance = importance.data()}});
  p.add(tensor_view<float>(w.data(), {6}));
  p.prune_to(0.5);
  CHECK(w == std::vector<float>{0, 4, 0, 2, 0, 0.5f});
}
