// cross_entropy: torch 1.13 values and gradients (plain, label smoothing, sample weights),
// finite differences, stability, NaN, errors.
#include <pare/distill/cross_entropy.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "distill/helpers.hpp"
#include "support/numeric.hpp"

using namespace distill_test;

TEMPLATE_TEST_CASE("cross_entropy matches torch: plain, label smoothing, sample weights",
                   "[distill][cross_entropy]", float, double) {
  using T = TestType;
  const pare_test::reference ref("distill/losses.txt");
  const auto [B, C] = shape2(ref, "ce");
  const auto s = as<T>(ref["ce/s"]);
  const auto w = as<T>(ref["ce/w"]);
  const auto y = as_labels(ref["ce/y"]);
  for (double eps : {0.0, 0.1, 1.0}) {
    for (bool weighted : {false, true}) {
      const std::string key = "ce/eps" + py(eps) + (weighted ? "/weighted" : "/mean");
      INFO(key);
      std::vector<T> g(s.size(), T(7));
      const pare::distill::cross_entropy ce{.label_smoothing = eps};
      const auto sv = view2<const T>(const_cast<std::vector<T>&>(s), B, C);
      const double v = weighted ? ce(sv, y, w, view2<T>(g, B, C)) : ce(sv, y, view2<T>(g, B, C));
      require_close(v, ref.scalar(key + "/value"), tol<T>, key + "/value");
      require_close(g, ref[key + "/grad"], tol<T>, key + "/grad");
    }
  }
}

TEST_CASE("cross_entropy gradients agree with central finite differences", "[distill][cross_entropy]") {
  const std::uint64_t seed = 41;
  INFO("seed " << seed);
  const std::int64_t B = 4, C = 6;
  auto s = pare_test::random_normal(static_cast<std::size_t>(B * C), seed, 0, 2);
  const std::vector<std::int64_t> y = {0, 5, 2, 2};
  const std::vector<double> w = {0.5, 2.0, 0.0, 1.25};
  for (double eps : {0.0, 0.3}) {
    for (bool weighted : {false, true}) {
      const pare::distill::cross_entropy ce{.label_smoothing = eps};
      std::vector<double> g(s.size()), scratch(s.size());
      auto loss = [&](const std::vector<double>& x) {
        auto xv = pare::tensor_view<const double>(x.data(), {B, C});
        return weighted ? ce(xv, y, w, view2<double>(scratch, B, C)) : ce(xv, y, view2<double>(scratch, B, C));
      };
      auto sv = view2<const double>(s, B, C);
      if (weighted) ce(sv, y, w, view2<double>(g, B, C)); else ce(sv, y, view2<double>(g, B, C));
      const auto fd = pare_test::numeric_gradient(loss, s);
      require_close(g, fd, 1e-7, "grad vs finite differences");
    }
  }
}

TEMPLATE_TEST_CASE("cross_entropy stays finite for ±1e4 and all-equal logits", "[distill][cross_entropy]",
                   float, double) {
  using T = TestType;
  std::vector<T> s = {T(1e4), T(-1e4), 0, T(-1e4), T(1e4), T(1e4), 2, 2, 2}, g(9);
  const std::vector<std::int64_t> y = {1, 0, 2};
  const double v = pare::distill::cross_entropy{}(view2<const T>(s, 3, 3), y, view2<T>(g, 3, 3));
  // row 0: −log softmax = 2e4; row 1: log 2 + 2e4; row 2: log 3
  CHECK(v == pare_test::Approx((2e4 + (2e4 + std::log(2.0)) + std::log(3.0)) / 3).epsilon(1e-6));
  for (T x : g) CHECK(std::isfinite(x));
  CHECK(g[0] == pare_test::Approx(1.0 / 3));
  CHECK(g[1] == pare_test::Approx(-1.0 / 3));
  CHECK(g[6] == pare_test::Approx(1.0 / 9));
  CHECK(g[8] == pare_test::Approx(1.0 / 9 - 1.0 / 3));
}

TEMPLATE_TEST_CASE("a NaN logit makes the value and its row's gradient NaN", "[distill][cross_entropy]",
                   float, double) {
  using T = TestType;
  std::vector<T> s = {1, std::numeric_limits<T>::quiet_NaN(), 3, 1, 2, 3}, g(6);
  const std::vector<std::int64_t> y = {0, 2};
  const double v = pare::distill::cross_entropy{}(view2<const T>(s, 2, 3), y, view2<T>(g, 2, 3));
  CHECK(std::isnan(v));
  for (int j = 0; j < 3; ++j) CHECK(std::isnan(g[static_cast<std::size_t>(j)]));
  for (int j = 3; j < 6; ++j) CHECK(std::isfinite(g[static_cast<std::size_t>(j)]));
}

TEST_CASE("cross_entropy rejects bad labels, weights, shapes and options and leaves grad alone",
          "[distill][cross_entropy][errors]") {
  std::vector<double> s(6, 0.5), g(6, 42.0);
  const auto sv = view2<const double>(s, 2, 3);
  const auto gv = view2<double>(g, 2, 3);
  const pare::distill::cross_entropy ce;
  const char* c = "pare::distill::cross_entropy";
  PARE_REQUIRE_ERROR(ce(sv, std::vector<std::int64_t>{0, 3}, gv), c, "labels[1] must be in [0, 3), got 3");
  PARE_REQUIRE_ERROR(ce(sv, std::vector<std::int64_t>{-1, 0}, gv), c, "labels[0]", "got -1");
  PARE_REQUIRE_ERROR(ce(sv, std::vector<std::int64_t>{0}, gv), c, "labels must be one label per row (2), got 1 labels");
  const std::vector<std::int64_t> y = {0, 1};
  PARE_REQUIRE_ERROR(ce(sv, y, std::vector<double>{1, -1}, gv), c, "sample_weights[1]", "finite and >= 0", "got -1");
  PARE_REQUIRE_ERROR(ce(sv, y, std::vector<double>{1, std::nan("")}, gv), c, "sample_weights[1]", "got nan");
  PARE_REQUIRE_ERROR(ce(sv, y, std::vector<double>{0, 0}, gv), c, "sum of sample_weights", "positive", "got 0");
  PARE_REQUIRE_ERROR(ce(sv, y, std::vector<double>{1}, gv), c, "sample_weights", "one weight per row (2)");
  PARE_REQUIRE_ERROR(ce(sv, y, view2<double>(g, 3, 2)), c, "grad must have the shape of logits [2, 3], got [3, 2]");
  PARE_REQUIRE_ERROR(ce(sv, y, view2<double>(s, 2, 3)), c, "grad must not overlap logits");
  for (double eps : {-0.1, 1.5, std::nan("")})
    PARE_REQUIRE_ERROR((pare::distill::cross_entropy{.label_smoothing = eps}(sv, y, gv)), c, "label_smoothing", "in [0, 1]");
  for (double x : g) CHECK(x == 42.0);
}
