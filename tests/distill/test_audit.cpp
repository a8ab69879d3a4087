// Audit: kd_loss for extreme temperatures (0.05 … 100) with alpha 0, 1 and between, sample
// weights containing zeros, offline targets; hint_loss through a regressor with [batch, c, h]
// features — against torch 1.13 autograd (tests/reference/distill/audit_generate.py).
#include <pare/distill.hpp>

#include <string>
#include <vector>

#include "helpers.hpp"

using namespace distill_test;

TEMPLATE_TEST_CASE("audit: kd_loss at extreme T, alpha 0 and 1, zero sample weights, offline",
                   "[distill][kd_loss][audit]", float, double) {
  using T = TestType;
  static const pare_test::reference ref("distill/audit.txt");
  const auto [B, C] = shape2(ref, "kd");
  std::vector<T> s = as<T>(ref["kd/s"]), t = as<T>(ref["kd/t"]), w = as<T>(ref["kd/w"]);
  const std::vector<std::int64_t> y = as_labels(ref["kd/y"]);
  const auto& cases = ref["kd/cases"];
  REQUIRE(cases.size() == 20);
  // float: the softened distributions of T = 0.05 amplify input rounding 20-fold.
  const double rel = std::is_same_v<T, double> ? 1e-10 : 1e-4;
  for (std::size_t c = 0; c < cases.size(); c += 2) {
    const pare::distill::kd_loss kd{.temperature = cases[c], .alpha = cases[c + 1]};
    std::vector<T> p(s.size());
    pare::distill::softmax(view2<const T>(t, B, C), view2<T>(p, B, C), kd.temperature);
    for (bool weighted : {false, true}) {
      for (bool offline : {false, true}) {
        const std::string key = "kd/" + std::to_string(c / 2) + (weighted ? "/weighted" : "/mean") +
                                (offline ? "/offline" : "/online");
        INFO(key << " T " << kd.temperature << " alpha " << kd.alpha);
        std::vector<T> g(s.size(), T(7));
        const double v = run_kd<T>(kd, offline, weighted, s, offline ? p : t, y, w, g, B, C);
        require_close(v, ref.scalar(key + "/value"), rel, key + "/value");
        require_close(g, ref[key + "/grad"], rel, key + "/grad");
      }
    }
  }
}

TEMPLATE_TEST_CASE("audit: hint_loss flattens [batch, c, h] features through the regressor",
                   "[distill][hint_loss][audit]", float, double) {
  using T = TestType;
  static const pare_test::reference ref("distill/audit.txt");
  std::vector<T> v = as<T>(ref["hint/v"]), u = as<T>(ref["hint/u"]), W = as<T>(ref["hint/W"]),
                 b = as<T>(ref["hint/b"]);
  std::vector<T> gv(v.size(), T(9)), gW(W.size(), T(9)), gb(b.size(), T(9));
  pare::distill::linear_regressor<T> r{.weight = pare::tensor_view<const T>(W.data(), {5, 6}),
                                       .bias = pare::tensor_view<const T>(b.data(), {5}),
                                       .grad_weight = pare::tensor_view<T>(gW.data(), {5, 6}),
                                       .grad_bias = pare::tensor_view<T>(gb.data(), {5})};
  const double value = pare::distill::hint_loss{}(pare::tensor_view<const T>(v.data(), {4, 3, 2}),
                                                  pare::tensor_view<const T>(u.data(), {4, 5}),
                                                  pare::tensor_view<T>(gv.data(), {4, 3, 2}), r);
  require_close(value, ref.scalar("hint/value"), tol<T>, "value");
  require_close(gv, ref["hint/grad_v"], tol<T>, "grad_v");
  require_close(gW, ref["hint/grad_W"], tol<T>, "grad_W");
  require_close(gb, ref["hint/grad_b"], tol<T>, "grad_b");
}
