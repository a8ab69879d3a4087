// kd_loss: torch 1.13 autograd values and gradients for several (T, alpha), with and without
// sample weights, online and offline; central finite differences; KL(p‖p) = 0; stability for
// ±1e4 and all-equal logits and T from 0.5 to 20; NaN; every error path.
#include <pare/distill/cross_entropy.hpp>
#include <pare/distill/kd_loss.hpp>
#include <pare/distill/softmax.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "distill/helpers.hpp"
#include "support/numeric.hpp"

using namespace distill_test;
using pare::distill::kd_loss;

namespace {

// The kd records of tests/reference/distill/losses.txt, in the scalar type under test.
template <class T>
struct kd_data {
  pare_test::reference ref{"distill/losses.txt"};
  std::int64_t B = shape2(ref, "kd").first, C = shape2(ref, "kd").second;
  std::vector<T> s = as<T>(ref["kd/s"]), t = as<T>(ref["kd/t"]), w = as<T>(ref["kd/w"]);
  std::vector<std::int64_t> y = as_labels(ref["kd/y"]);
};

}  // namespace

TEMPLATE_TEST_CASE("kd_loss matches torch autograd for several T and alpha, weighted, offline",
                   "[distill][kd_loss]", float, double) {
  using T = TestType;
  kd_data<T> d;
  auto& [ref, B, C, s, t, w, y] = d;
  const auto cases = ref["kd/cases"];
  REQUIRE(cases.size() >= 12);
  for (std::size_t c = 0; c < cases.size(); c += 2) {
    const kd_loss kd{.temperature = cases[c], .alpha = cases[c + 1]};
    std::vector<T> p(s.size());
    pare::distill::softmax(view2<const T>(t, B, C), view2<T>(p, B, C), kd.temperature);
    for (bool weighted : {false, true}) {
      for (bool offline : {false, true}) {
        const std::string key = "kd/T" + py(kd.temperature) + "_a" + py(kd.alpha) +
                                (weighted ? "/weighted" : "/mean") + (offline ? "/offline" : "/online");
        INFO(key);
        std::vector<T> g(s.size(), T(-3));
        const double v = run_kd<T>(kd, offline, weighted, s, offline ? p : t, y, w, g, B, C);
        require_close(v, ref.scalar(key + "/value"), tol<T>, key + "/value");
        require_close(g, ref[key + "/grad"], tol<T>, key + "/grad");
      }
    }
  }
}

TEMPLATE_TEST_CASE("offline kd_loss takes unnormalized targets with exact zeros as torch does",
                   "[distill][kd_loss]", float, double) {
  using T = TestType;
  kd_data<T> d;
  auto& [ref, B, C, s, t, w, y] = d;
  auto p = as<T>(ref["kd/raw_p"]);
  for (auto [temperature, alpha] : {std::pair{2.0, 0.6}, std::pair{1.0, 1.0}}) {
    const std::string key = "kd/raw_p/T" + py(temperature) + "_a" + py(alpha);
    INFO(key);
    std::vector<T> g(s.size());
    const double v = kd_loss{.temperature = temperature, .alpha = alpha}.offline(
        view2<const T>(s, B, C), view2<const T>(p, B, C), y, view2<T>(g, B, C));
    require_close(v, ref.scalar(key + "/value"), tol<T>, key + "/value");
    require_close(g, ref[key + "/grad"], tol<T>, key + "/grad");
  }
}

TEST_CASE("kd_loss gradients agree with central finite differences", "[distill][kd_loss]") {
  const std::uint64_t seed = 7;
  INFO("seed " << seed);
  const std::int64_t B = 3, C = 5;
  const auto s = pare_test::random_normal(static_cast<std::size_t>(B * C), seed, 0, 2);
  const auto t = pare_test::random_normal(static_cast<std::size_t>(B * C), seed + 1, 0, 2);
  auto p = pare_test::random_uniform(static_cast<std::size_t>(B * C), seed + 2, 0, 1);
  p[3] = 0;  // an exact zero target
  const std::vector<std::int64_t> y = {4, 0, 2};
  const std::vector<double> w = {1.5, 0.25, 1.0};
  for (double temperature : {0.5, 1.0, 2.5, 20.0}) {
    for (double alpha : {0.0, 0.3, 1.0}) {
      for (int mode = 0; mode < 4; ++mode) {  // bit 0: weighted, bit 1: offline
        const bool weighted = mode & 1, offline = mode & 2;
        INFO("T " << temperature << " alpha " << alpha << " weighted " << weighted << " offline " << offline);
        const kd_loss kd{.temperature = temperature, .alpha = alpha};
        std::vector<double> scratch(s.size()), g(s.size());
        auto call = [&](const std::vector<double>& x, std::vector<double>& out) {
          const auto xv = pare::tensor_view<const double>(x.data(), {B, C});
          const auto tv = pare::tensor_view<const double>(offline ? p.data() : t.data(), {B, C});
          const auto ov = view2<double>(out, B, C);
          if (offline) return weighted ? kd.offline(xv, tv, y, w, ov) : kd.offline(xv, tv, y, ov);
          return weighted ? kd(xv, tv, y, w, ov) : kd(xv, tv, y, ov);
        };
        call(s, g);
        const auto fd = pare_test::numeric_gradient([&](const std::vector<double>& x) { return call(x, scratch); },
                                                    s, 1e-6 * temperature);
        require_close(g, fd, 2e-7, "grad vs finite differences");
      }
    }
  }
}

TEMPLATE_TEST_CASE("KL(p‖p) = 0: a student equal to its teacher has zero soft loss and gradient",
                   "[distill][kd_loss]", float, double) {
  using T = TestType;
  const std::uint64_t seed = 2026;
  INFO("seed " << seed);
  const std::int64_t B = 8, C = 100;
  const auto s = pare_test::random_normal<T>(static_cast<std::size_t>(B * C), seed, 0, 5);
  for (double temperature : {0.5, 1.0, 4.0, 20.0}) {
    std::vector<T> g(s.size()), p(s.size());
    const kd_loss kd{.temperature = temperature, .alpha = 1.0};
    const auto sv = pare::tensor_view<const T>(s.data(), {B, C});
    // Zero up to the rounding of the two row sums, which the T² factor scales (the sums may be
    // taken in different orders: their buffers need not share an alignment).
    const double eps = std::numeric_limits<T>::epsilon();
    CHECK(std::abs(kd(sv, sv, {}, view2<T>(g, B, C))) <= 8 * eps * temperature * temperature);
    for (T x : g) REQUIRE(std::abs(x) <= 8 * eps * temperature);
    pare::distill::softmax(sv, view2<T>(p, B, C), temperature);
    CHECK(std::abs(kd.offline(sv, view2<const T>(p, B, C), {}, view2<T>(g, B, C))) <= 1e-5 * temperature * temperature);
  }
}

TEMPLATE_TEST_CASE("kd_loss stays finite for ±1e4 and all-equal logits for T from 0.5 to 20",
                   "[distill][kd_loss]", float, double) {
  using T = TestType;
  const std::int64_t C = 4;
  std::vector<T> s = {T(1e4), T(-1e4), 0, T(5e3), 3, 3, 3, 3, T(-1e4), T(-1e4), T(-1e4), T(-1e4)};
  std::vector<T> t = {T(-1e4), T(1e4), T(1e4), 0, T(1e4), T(-1e4), 1, 2, 3, 3, 3, 3};
  const std::vector<std::int64_t> y = {1, 2, 3};
  for (double temperature : {0.5, 1.0, 2.0, 5.0, 20.0}) {
    for (double alpha : {0.0, 0.5, 1.0}) {
      INFO("T " << temperature << " alpha " << alpha);
      std::vector<T> g(s.size());
      const double v = kd_loss{.temperature = temperature, .alpha = alpha}(
          view2<const T>(s, 3, C), view2<const T>(t, 3, C), y, view2<T>(g, 3, C));
      REQUIRE(std::isfinite(v));
      REQUIRE(v >= 0);
      for (T x : g) REQUIRE(std::isfinite(x));
      // every row's gradient sums to zero: both q − p and softmax − onehot do
      for (int r = 0; r < 3; ++r) {
        double sum = 0;
        for (int j = 0; j < C; ++j) sum += g[static_cast<std::size_t>(r * C + j)];
        CHECK(std::abs(sum) <= 1e-5);
      }
    }
  }
  // the all-equal student row against the all-equal teacher row: no soft loss at all
  std::vector<T> g(4);
  const pare::tensor_view<const T> equal_s(s.data() + 4, {1, C}), equal_t(t.data() + 8, {1, C});
  CHECK(std::abs(kd_loss{.temperature = 3, .alpha = 1}(equal_s, equal_t, {}, view2<T>(g, 1, C))) <=
        10 * std::numeric_limits<T>::epsilon());
}

TEMPLATE_TEST_CASE("kd_loss with alpha 0 is the cross-entropy, and equal weights change nothing",
                   "[distill][kd_loss]", float, double) {
  using T = TestType;
  const std::int64_t B = 4, C = 7;
  const auto s = pare_test::random_normal<T>(static_cast<std::size_t>(B * C), 3);
  auto t = pare_test::random_normal<T>(static_cast<std::size_t>(B * C), 4);
  t[0] = std::numeric_limits<T>::quiet_NaN();  // alpha = 0: the teacher term is not computed
  const std::vector<std::int64_t> y = {0, 6, 3, 3};
  std::vector<T> g1(s.size()), g2(s.size()), g3(s.size());
  const auto sv = pare::tensor_view<const T>(s.data(), {B, C});
  const double v1 = kd_loss{.temperature = 3, .alpha = 0}(sv, view2<const T>(t, B, C), y, view2<T>(g1, B, C));
  const double v2 = pare::distill::cross_entropy{}(sv, y, view2<T>(g2, B, C));
  CHECK(v1 == pare_test::Approx(v2).epsilon(1e-6));
  for (std::size_t i = 0; i < g1.size(); ++i) CHECK(g1[i] == pare_test::Approx(g2[i]).margin(1e-6));
  t[0] = 0.5;
  const kd_loss kd{.temperature = 2, .alpha = 0.7};
  const std::vector<T> ones(4, T(2.5));
  const double a = kd(sv, view2<const T>(t, B, C), y, view2<T>(g1, B, C));
  const double b = kd(sv, view2<const T>(t, B, C), y, ones, view2<T>(g3, B, C));
  CHECK(a == pare_test::Approx(b).epsilon(1e-6));
  for (std::size_t i = 0; i < g1.size(); ++i) CHECK(g1[i] == pare_test::Approx(g3[i]).margin(1e-6));
}

TEMPLATE_TEST_CASE("NaN in a student, teacher or target row makes the value and that row NaN",
                   "[distill][kd_loss]", float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const std::vector<std::int64_t> y = {0, 1};
  for (int where = 0; where < 3; ++where) {
    std::vector<T> s = {1, 2, 3, 3, 2, 1}, t = {0, 1, 0, 1, 0, 1}, g(6);
    std::vector<T> p = {0.25, 0.25, 0.5, 0.5, 0.5, 0};
    if (where == 0) s[1] = nan;
    if (where == 1) t[2] = nan;
    if (where == 2) p[0] = nan;
    const kd_loss kd{.temperature = 2, .alpha = 0.5};
    const double v = where == 2 ? kd.offline(view2<const T>(s, 2, 3), view2<const T>(p, 2, 3), y, view2<T>(g, 2, 3))
                                : kd(view2<const T>(s, 2, 3), view2<const T>(t, 2, 3), y, view2<T>(g, 2, 3));
    INFO("NaN in input " << where);
    CHECK(std::isnan(v));
    for (int j = 0; j < 3; ++j) CHECK(std::isnan(g[static_cast<std::size_t>(j)]));
    for (int j = 3; j < 6; ++j) CHECK(std::isfinite(g[static_cast<std::size_t>(j)]));
  }
}

TEST_CASE("kd_loss rejects bad options and inputs, leaving grad untouched", "[distill][kd_loss][errors]") {
  std::vector<float> s(6, 0.5f), t(6, 0.25f), g(6, 42.0f), big(9);
  const auto sv = view2<const float>(s, 2, 3), tv = view2<const float>(t, 2, 3);
  const auto gv = view2<float>(g, 2, 3);
  const std::vector<std::int64_t> y = {0, 2};
  const char* c = "pare::distill::kd_loss";
  for (double bad : {0.0, -2.0, std::nan(""), std::numeric_limits<double>::infinity()})
    PARE_REQUIRE_ERROR((kd_loss{.temperature = bad}(sv, tv, y, gv)), c, "temperature must be > 0 and finite");
  PARE_REQUIRE_ERROR((kd_loss{.temperature = 0}.offline(sv, tv, y, gv)), c, "temperature", "got 0");
  for (double bad : {-0.1, 1.5, std::nan("")})
    PARE_REQUIRE_ERROR((kd_loss{.alpha = bad}(sv, tv, y, gv)), c, "alpha must be in [0, 1]");
  PARE_REQUIRE_ERROR((kd_loss{.alpha = 1.5}.validate()), c, "alpha", "got 1.5");
  const kd_loss kd;
  PARE_REQUIRE_ERROR(kd(sv, view2<const float>(big, 3, 3), y, gv), c, "teacher must have the shape of student [2, 3], got [3, 3]");
  PARE_REQUIRE_ERROR(kd.offline(sv, view2<const float>(big, 3, 3), y, gv), c, "teacher_probs must have the shape");
  PARE_REQUIRE_ERROR(kd(sv, tv, y, view2<float>(big, 3, 3)), c, "grad must have the shape of student");
  PARE_REQUIRE_ERROR(kd(pare::tensor_view<const float>(s), pare::tensor_view<const float>(t), y, pare::tensor_view<float>(g)),
                     c, "student must be rank 2 [batch, classes], got shape [6]");
  PARE_REQUIRE_ERROR(kd(sv, tv, std::vector<std::int64_t>{0, 3}, gv), c, "labels[1] must be in [0, 3), got 3");
  PARE_REQUIRE_ERROR(kd(sv, tv, std::vector<std::int64_t>{}, gv), c, "labels must be one label per row (2), got 0 labels");
  PARE_REQUIRE_ERROR((kd_loss{.alpha = 1}(sv, tv, std::vector<std::int64_t>{7, 0}, gv)), c, "labels[0]", "got 7");
  PARE_REQUIRE_ERROR(kd(sv, tv, y, std::vector<float>{1, -1}, gv), c, "sample_weights[1] must be finite and >= 0, got -1");
  PARE_REQUIRE_ERROR(kd.offline(sv, tv, y, std::vector<float>{0, 0}, gv), c, "the sum of sample_weights must be positive");
  PARE_REQUIRE_ERROR(kd(sv, tv, y, view2<float>(t, 2, 3)), c, "grad must not overlap teacher");
  PARE_REQUIRE_ERROR(kd(sv, tv, y, view2<float>(s, 2, 3)), c, "grad must not overlap student");
  for (float x : g) CHECK(x == 42.0f);
  // alpha = 1 needs no labels
  CHECK(std::isfinite(kd_loss{.alpha = 1}(sv, tv, {}, gv)));
}
