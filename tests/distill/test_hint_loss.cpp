// hint_loss (FitNets): torch autograd values and gradients with and without a linear regressor
// (gradients of the student feature, the regressor weight and bias), finite differences, errors.
#include <pare/distill/hint_loss.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "distill/helpers.hpp"
#include "support/numeric.hpp"

using namespace distill_test;
using pare::distill::hint_loss;
using pare::distill::linear_regressor;

TEMPLATE_TEST_CASE("hint_loss without a regressor matches torch on a [3, 2, 4] feature map",
                   "[distill][hint_loss]", float, double) {
  using T = TestType;
  const pare_test::reference ref("distill/losses.txt");
  auto v = as<T>(ref["hint_plain/v"]), u = as<T>(ref["hint_plain/u"]);
  std::vector<T> g(v.size());
  const double value = hint_loss{}(pare::tensor_view<const T>(v.data(), {3, 2, 4}),
                                   pare::tensor_view<const T>(u.data(), {3, 2, 4}),
                                   pare::tensor_view<T>(g.data(), {3, 2, 4}));
  require_close(value, ref.scalar("hint_plain/value"), tol<T>, "value");
  require_close(g, ref["hint_plain/grad"], tol<T>, "grad");
}

TEMPLATE_TEST_CASE("hint_loss through a linear regressor matches torch for the feature, weight and bias",
                   "[distill][hint_loss]", float, double) {
  using T = TestType;
  const pare_test::reference ref("distill/losses.txt");
  const auto shape = ref["hint/shape"];
  const auto B = static_cast<std::int64_t>(shape[0]), Fs = static_cast<std::int64_t>(shape[1]),
             Ft = static_cast<std::int64_t>(shape[2]);
  auto v = as<T>(ref["hint/v"]), u = as<T>(ref["hint/u"]), W = as<T>(ref["hint/W"]), b = as<T>(ref["hint/b"]);
  for (bool with_bias : {true, false}) {
    const std::string key = with_bias ? "hint/bias" : "hint/nobias";
    INFO(key);
    std::vector<T> gv(v.size(), T(3)), gW(W.size(), T(3)), gb(b.size(), T(3));
    linear_regressor<T> r{.weight = view2<const T>(W, Ft, Fs), .grad_weight = view2<T>(gW, Ft, Fs)};
    if (with_bias) {
      r.bias = pare::tensor_view<const T>(b);
      r.grad_bias = pare::tensor_view<T>(gb);
    }
    const double value = hint_loss{}(view2<const T>(v, B, Fs), view2<const T>(u, B, Ft), view2<T>(gv, B, Fs), r);
    require_close(value, ref.scalar(key + "/value"), tol<T>, "value");
    require_close(gv, ref[key + "/grad_v"], tol<T>, "grad_v");
    require_close(gW, ref[key + "/grad_W"], tol<T>, "grad_W");
    if (with_bias) require_close(gb, ref[key + "/grad_b"], tol<T>, "grad_b");
    else for (T x : gb) CHECK(x == T(3));  // no bias: its buffer is not touched
  }
}

TEST_CASE("hint_loss gradients agree with finite differences in the feature, weight and bias",
          "[distill][hint_loss]") {
  const std::uint64_t seed = 99;
  INFO("seed " << seed);
  const std::int64_t B = 4, Fs = 3, Ft = 5;
  const auto v = pare_test::random_normal(static_cast<std::size_t>(B * Fs), seed);
  const auto u = pare_test::random_normal(static_cast<std::size_t>(B * Ft), seed + 1);
  const auto W = pare_test::random_normal(static_cast<std::size_t>(Ft * Fs), seed + 2);
  const auto b = pare_test::random_normal(static_cast<std::size_t>(Ft), seed + 3);
  std::vector<double> gv(v.size()), gW(W.size()), gb(b.size());
  std::vector<double> sv(v.size()), sW(W.size()), sb(b.size());
  auto loss = [&](const std::vector<double>& vv, const std::vector<double>& WW, const std::vector<double>& bb,
                  std::vector<double>& ov, std::vector<double>& oW, std::vector<double>& ob) {
    linear_regressor<double> r{.weight = pare::tensor_view<const double>(WW.data(), {Ft, Fs}),
                               .bias = pare::tensor_view<const double>(bb),
                               .grad_weight = view2<double>(oW, Ft, Fs),
                               .grad_bias = pare::tensor_view<double>(ob)};
    return hint_loss{}(pare::tensor_view<const double>(vv.data(), {B, Fs}),
                       pare::tensor_view<const double>(u.data(), {B, Ft}), view2<double>(ov, B, Fs), r);
  };
  loss(v, W, b, gv, gW, gb);
  require_close(gv, pare_test::numeric_gradient([&](const std::vector<double>& x) { return loss(x, W, b, sv, sW, sb); }, v),
                1e-8, "d/dv");
  require_close(gW, pare_test::numeric_gradient([&](const std::vector<double>& x) { return loss(v, x, b, sv, sW, sb); }, W),
                1e-8, "d/dW");
  require_close(gb, pare_test::numeric_gradient([&](const std::vector<double>& x) { return loss(v, W, x, sv, sW, sb); }, b),
                1e-8, "d/db");
}

TEST_CASE("hint_loss reuses its scratch across batches of different sizes", "[distill][hint_loss]") {
  // a big batch, then a small one, then a big one again: each must be exact on its own
  const std::int64_t Fs = 6, Ft = 4;
  const auto W = pare_test::random_normal(static_cast<std::size_t>(Ft * Fs), 5);
  std::vector<double> gW(W.size());
  for (std::int64_t B : {64, 2, 64}) {
    const auto v = pare_test::random_normal(static_cast<std::size_t>(B * Fs), static_cast<std::uint64_t>(B));
    const auto u = pare_test::random_normal(static_cast<std::size_t>(B * Ft), static_cast<std::uint64_t>(B) + 1);
    std::vector<double> gv(v.size());
    linear_regressor<double> r{.weight = pare::tensor_view<const double>(W.data(), {Ft, Fs}),
                               .grad_weight = view2<double>(gW, Ft, Fs)};
    const double value = hint_loss{}(pare::tensor_view<const double>(v.data(), {B, Fs}),
                                     pare::tensor_view<const double>(u.data(), {B, Ft}), view2<double>(gv, B, Fs), r);
    double direct = 0;
    for (std::int64_t i = 0; i < B; ++i)
      for (std::int64_t o = 0; o < Ft; ++o) {
        double d = -u[static_cast<std::size_t>(i * Ft + o)];
        for (std::int64_t k = 0; k < Fs; ++k) d += v[static_cast<std::size_t>(i * Fs + k)] * W[static_cast<std::size_t>(o * Fs + k)];
        direct += d * d;
      }
    CHECK(value == pare_test::Approx(direct / static_cast<double>(B * Ft)).epsilon(1e-12));
  }
}

TEST_CASE("hint_loss rejects mismatched features, regressors and overlapping outputs",
          "[distill][hint_loss][errors]") {
  std::vector<float> v(6, 1), u(8, 0.5f), W(12, 0.1f), b(4), gv(6, 42), gW(12, 42), gb(4, 42), other(20);
  const auto vv = view2<const float>(v, 2, 3), uu = view2<const float>(u, 2, 4);
  const auto gvv = view2<float>(gv, 2, 3);
  const char* c = "pare::distill::hint_loss";
  auto reg = [&] {
    return linear_regressor<float>{.weight = view2<const float>(W, 4, 3), .bias = pare::tensor_view<const float>(b),
                                   .grad_weight = view2<float>(gW, 4, 3), .grad_bias = pare::tensor_view<float>(gb)};
  };
  PARE_REQUIRE_ERROR(hint_loss{}(vv, uu, gvv), c, "teacher must have the shape of student [2, 3], got [2, 4]");
  PARE_REQUIRE_ERROR(hint_loss{}(view2<const float>(v, 0, 3), view2<const float>(u, 0, 3), view2<float>(gv, 0, 3)),
                     c, "student must be non-empty");
  auto r = reg();
  r.weight = view2<const float>(W, 3, 4);
  PARE_REQUIRE_ERROR(hint_loss{}(vv, uu, gvv, r), c, "regressor weight must have shape [4, 3]", "got [3, 4]");
  r = reg();
  r.grad_weight = view2<float>(gW, 3, 4);
  PARE_REQUIRE_ERROR(hint_loss{}(vv, uu, gvv, r), c, "regressor grad_weight must have the shape of regressor weight");
  r = reg();
  r.bias = pare::tensor_view<const float>(b.data(), {3});
  PARE_REQUIRE_ERROR(hint_loss{}(vv, uu, gvv, r), c, "regressor bias must have shape [4] or be empty, got [3]");
  r = reg();
  r.grad_bias = {};
  PARE_REQUIRE_ERROR(hint_loss{}(vv, uu, gvv, r), c, "regressor grad_bias must have the shape of regressor bias");
  r = reg();
  PARE_REQUIRE_ERROR(hint_loss{}(vv, view2<const float>(other, 3, 4), gvv, r), c, "teacher rows must be the student's batch (2), got 3");
  PARE_REQUIRE_ERROR(hint_loss{}(vv, uu, view2<float>(gv, 3, 2), r), c, "grad must have the shape of student");
  PARE_REQUIRE_ERROR(hint_loss{}(pare::tensor_view<const float>(v), uu, pare::tensor_view<float>(gv), r), c,
                     "student must be a non-empty [batch, features] view, got shape [6]");
  r.grad_weight = view2<float>(W, 4, 3);
  PARE_REQUIRE_ERROR(hint_loss{}(vv, uu, gvv, r), c, "regressor grad_weight must not overlap regressor weight");
  r = reg();
  r.grad_bias = pare::tensor_view<float>(gW.data(), {4});
  PARE_REQUIRE_ERROR(hint_loss{}(vv, uu, gvv, r), c, "regressor grad_weight must not overlap regressor grad_bias");
  for (float x : gv) CHECK(x == 42.0f);
  for (float x : gW) CHECK(x == 42.0f);
  for (float x : gb) CHECK(x == 42.0f);
}
