// logit_mse: torch's mse_loss value and gradient, finite differences, NaN, errors.
#include <pare/distill/logit_mse.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "distill/helpers.hpp"
#include "support/numeric.hpp"

using namespace distill_test;

TEMPLATE_TEST_CASE("logit_mse matches torch's mse_loss (mean over elements)", "[distill][logit_mse]",
                   float, double) {
  using T = TestType;
  const pare_test::reference ref("distill/losses.txt");
  const auto [B, C] = shape2(ref, "mse");
  auto s = as<T>(ref["mse/s"]), t = as<T>(ref["mse/t"]);
  std::vector<T> g(s.size(), T(9));
  const double v = pare::distill::logit_mse{}(view2<const T>(s, B, C), view2<const T>(t, B, C), view2<T>(g, B, C));
  require_close(v, ref.scalar("mse/value"), tol<T>, "value");
  require_close(g, ref["mse/grad"], tol<T>, "grad");
}

TEST_CASE("logit_mse over many chunks agrees with finite differences and a direct sum", "[distill][logit_mse]") {
  const std::uint64_t seed = 11;
  INFO("seed " << seed);
  const std::size_t n = 20000;  // more than two 8192-element chunks
  const auto s = pare_test::random_normal(n, seed), t = pare_test::random_normal(n, seed + 1);
  std::vector<double> g(n);
  const auto N = static_cast<std::int64_t>(n);
  const double v = pare::distill::logit_mse{}(pare::tensor_view<const double>(s.data(), {N}),
                                              pare::tensor_view<const double>(t.data(), {N}),
                                              pare::tensor_view<double>(g.data(), {N}));
  double direct = 0;
  for (std::size_t i = 0; i < n; ++i) direct += (s[i] - t[i]) * (s[i] - t[i]);
  CHECK(v == pare_test::Approx(direct / static_cast<double>(n)).epsilon(1e-12));
  // finite differences on a small slice
  std::vector<double> small(s.begin(), s.begin() + 12), gs(12), scratch(12);
  auto f = [&](const std::vector<double>& x) {
    return pare::distill::logit_mse{}(pare::tensor_view<const double>(x.data(), {3, 4}),
                                      pare::tensor_view<const double>(t.data(), {3, 4}), view2<double>(scratch, 3, 4));
  };
  pare::distill::logit_mse{}(view2<const double>(small, 3, 4), pare::tensor_view<const double>(t.data(), {3, 4}),
                             view2<double>(gs, 3, 4));
  require_close(gs, pare_test::numeric_gradient(f, small), 1e-8, "grad vs finite differences");
}

TEMPLATE_TEST_CASE("logit_mse propagates NaN and rejects bad shapes", "[distill][logit_mse][errors]", float, double) {
  using T = TestType;
  std::vector<T> s = {1, 2, std::numeric_limits<T>::quiet_NaN(), 4}, t = {0, 0, 0, 0}, g(4, T(5)), big(6);
  const double v = pare::distill::logit_mse{}(view2<const T>(s, 2, 2), view2<const T>(t, 2, 2), view2<T>(g, 2, 2));
  CHECK(std::isnan(v));
  CHECK(std::isnan(g[2]));
  CHECK(g[1] == T(1));
  const char* c = "pare::distill::logit_mse";
  std::fill(g.begin(), g.end(), T(5));
  PARE_REQUIRE_ERROR(pare::distill::logit_mse{}(view2<const T>(s, 2, 2), view2<const T>(big, 2, 3), view2<T>(g, 2, 2)),
                     c, "teacher must have the shape of student [2, 2], got [2, 3]");
  PARE_REQUIRE_ERROR(pare::distill::logit_mse{}(view2<const T>(s, 2, 2), view2<const T>(t, 2, 2), view2<T>(big, 3, 2)),
                     c, "grad must have the shape of student");
  PARE_REQUIRE_ERROR(pare::distill::logit_mse{}(view2<const T>(s, 0, 2), view2<const T>(t, 0, 2), view2<T>(g, 0, 2)),
                     c, "student must be non-empty, got shape [0, 2]");
  PARE_REQUIRE_ERROR(pare::distill::logit_mse{}(view2<const T>(s, 2, 2), view2<const T>(t, 2, 2), view2<T>(t, 2, 2)),
                     c, "grad must not overlap teacher");
  for (T x : g) CHECK(x == T(5));
}
