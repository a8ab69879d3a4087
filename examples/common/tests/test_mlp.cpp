// The dense MLP and the cross-entropy: forward against a direct computation, every gradient
// against central finite differences, dropout in training only.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/losses.hpp"
#include "common/mlp.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"

namespace ex = pare_examples;

namespace {

template <class T>
constexpr double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;

/// The MLP's forward computed with plain loops in double, from its own weights.
template <class T>
std::vector<double> direct_forward(const ex::mlp<T>& net, const std::vector<T>& x, std::int64_t batch) {
  std::vector<double> h(x.begin(), x.end());
  std::int64_t width = net.inputs();
  for (std::size_t i = 0; i < net.layers().size(); ++i) {
    const auto& l = net.layers()[i];
    std::vector<double> z(static_cast<std::size_t>(batch * l.out));
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t o = 0; o < l.out; ++o) {
        double s = l.bias[static_cast<std::size_t>(o)];
        for (std::int64_t k = 0; k < width; ++k)
          s += static_cast<double>(l.weight[static_cast<std::size_t>(o * l.in + k)]) *
               h[static_cast<std::size_t>(b * width + k)];
        z[static_cast<std::size_t>(b * l.out + o)] = i + 1 < net.layers().size() ? std::max(s, 0.0) : s;
      }
    h = z;
    width = l.out;
  }
  return h;
}

/// Mean cross-entropy in double by log-sum-exp.
double direct_cross_entropy(const std::vector<double>& z, const std::vector<std::int64_t>& y,
                            std::int64_t classes) {
  double total = 0;
  const auto batch = static_cast<std::int64_t>(y.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::int64_t k = 0; k < classes; ++k) m = std::max(m, z[static_cast<std::size_t>(b * classes + k)]);
    double s = 0;
    for (std::int64_t k = 0; k < classes; ++k) s += std::exp(z[static_cast<std::size_t>(b * classes + k)] - m);
    total += std::log(s) + m - z[static_cast<std::size_t>(b * classes + y[static_cast<std::size_t>(b)])];
  }
  return total / static_cast<double>(batch);
}

}  // namespace

TEMPLATE_TEST_CASE("mlp forward is relu(x·Wᵀ + b) layer after layer", "", float, double) {
  using T = TestType;
  ex::mlp<T> net({.sizes = {5, 7, 4, 3}, .seed = 3});
  net.set_training(false);
  const std::int64_t batch = 6;
  const auto x = pare_test::random_normal<T>(static_cast<std::size_t>(batch * 5), 11);
  const auto logits = net.forward(pare::tensor_view<const T>(x.data(), {batch, 5}));
  REQUIRE(logits.rows() == batch);
  REQUIRE(logits.cols() == 3);
  const auto want = direct_forward(net, x, batch);
  for (std::int64_t i = 0; i < logits.size(); ++i)
    CHECK(static_cast<double>(logits[i]) == pare_test::Approx(want[static_cast<std::size_t>(i)]).margin(tol<T>));
}

TEMPLATE_TEST_CASE("mlp initializes like torch.nn.Linear, reproducibly from the seed", "", float, double) {
  using T = TestType;
  ex::mlp<T> a({.sizes = {100, 30, 10}, .seed = 5}), b({.sizes = {100, 30, 10}, .seed = 5}),
      c({.sizes = {100, 30, 10}, .seed = 6});
  CHECK(a.parameters() == 100 * 30 + 30 + 30 * 10 + 10);
  CHECK(a.layers()[0].weight == b.layers()[0].weight);
  CHECK(a.layers()[0].weight != c.layers()[0].weight);
  for (const auto& l : a.layers()) {
    const double bound = 1 / std::sqrt(static_cast<double>(l.in));
    double max_abs = 0, sum_sq = 0;
    for (const T w : l.weight) {
      max_abs = std::max(max_abs, std::abs(static_cast<double>(w)));
      sum_sq += static_cast<double>(w) * static_cast<double>(w);
    }
    CHECK(max_abs <= bound);
    CHECK(max_abs > 0.9 * bound);
    // U(−a, a) has variance a²/3.
    CHECK(sum_sq / static_cast<double>(l.weight.size()) == pare_test::Approx(bound * bound / 3).epsilon(0.1));
    for (const T v : l.bias) CHECK(std::abs(static_cast<double>(v)) <= bound);
  }
}

TEST_CASE("mlp backward matches central finite differences of the cross-entropy") {
  for (const double rate : {0.0, 0.3}) {
    INFO("dropout rate " << rate << ", seed 21");
    const ex::mlp<double> proto({.sizes = {4, 6, 5, 3}, .dropout = rate, .seed = 21});
    const std::int64_t batch = 5;
    const auto x = pare_test::random_normal<double>(static_cast<std::size_t>(batch * 4), 21);
    const std::vector<std::int64_t> y = {0, 2, 1, 2, 0};
    std::vector<double> dz(static_cast<std::size_t>(batch * 3));

    // A fresh copy of the prototype per evaluation: its dropout stream restarts, so every
    // evaluation sees the same mask.
    const auto loss_with = [&](std::size_t layer, bool bias, const std::vector<double>& p) {
      ex::mlp<double> net = proto;
      auto& l = net.layers()[layer];
      (bias ? l.bias : l.weight) = p;
      const auto z = net.forward(pare::tensor_view<const double>(x.data(), {batch, 4}));
      return ex::softmax_cross_entropy(z, y, pare::tensor_view<double>(dz.data(), {batch, 3}));
    };
    ex::mlp<double> net = proto;
    const auto z = net.forward(pare::tensor_view<const double>(x.data(), {batch, 4}));
    ex::softmax_cross_entropy(z, y, pare::tensor_view<double>(dz.data(), {batch, 3}));
    net.backward(pare::tensor_view<const double>(dz.data(), {batch, 3}));

    for (std::size_t i = 0; i < net.layers().size(); ++i)
      for (const bool bias : {false, true}) {
        INFO("layer " << i << (bias ? " bias" : " weight"));
        const auto& l = proto.layers()[i];
        const auto numeric = pare_test::numeric_gradient(
            [&](const std::vector<double>& p) { return loss_with(i, bias, p); },
            bias ? l.bias : l.weight);
        const auto& analytic = bias ? net.layers()[i].bias_grad : net.layers()[i].weight_grad;
        for (std::size_t k = 0; k < numeric.size(); ++k)
          CHECK(analytic[k] == pare_test::Approx(numeric[k]).margin(1e-8));
      }
  }
}

TEST_CASE("mlp gradients in float agree with double") {
  ex::mlp<double> d({.sizes = {8, 16, 4}, .seed = 2});
  ex::mlp<float> f({.sizes = {8, 16, 4}, .seed = 2});
  for (std::size_t i = 0; i < d.layers().size(); ++i) {
    // The same weights in both (float's init rounds the same draws).
    for (std::size_t k = 0; k < d.layers()[i].weight.size(); ++k)
      d.layers()[i].weight[k] = f.layers()[i].weight[k];
    for (std::size_t k = 0; k < d.layers()[i].bias.size(); ++k)
      d.layers()[i].bias[k] = f.layers()[i].bias[k];
  }
  const auto xd = pare_test::random_normal<double>(3 * 8, 4);
  const std::vector<float> xf(xd.begin(), xd.end());
  const std::vector<double> xr(xf.begin(), xf.end());
  const std::vector<std::int64_t> y = {3, 0, 1};
  std::vector<double> gd(12);
  std::vector<float> gf(12);
  ex::softmax_cross_entropy(d.forward(pare::tensor_view<const double>(xr.data(), {3, 8})), y,
                            pare::tensor_view<double>(gd.data(), {3, 4}));
  ex::softmax_cross_entropy(f.forward(pare::tensor_view<const float>(xf.data(), {3, 8})), y,
                            pare::tensor_view<float>(gf.data(), {3, 4}));
  d.backward(pare::tensor_view<const double>(gd.data(), {3, 4}));
  f.backward(pare::tensor_view<const float>(gf.data(), {3, 4}));
  for (std::size_t i = 0; i < d.layers().size(); ++i)
    for (std::size_t k = 0; k < d.layers()[i].weight_grad.size(); ++k)
      CHECK(f.layers()[i].weight_grad[k] ==
            pare_test::Approx(d.layers()[i].weight_grad[k]).margin(1e-5));
}

TEST_CASE("mlp applies dropout in training mode only") {
  ex::mlp<float> net({.sizes = {20, 64, 2}, .dropout = 0.5, .seed = 8});
  const auto x = pare_test::random_normal<float>(4 * 20, 8);
  const pare::tensor_view<const float> xv(x.data(), {4, 20});
  net.set_training(false);
  const auto e = net.forward(xv);
  const std::vector<float> e1(e.data(), e.data() + 8);
  const auto e2 = net.forward(xv);
  for (int i = 0; i < 8; ++i) CHECK(e2[i] == e1[static_cast<std::size_t>(i)]);
  net.set_training(true);
  const auto t = net.forward(xv);
  int differ = 0;
  for (int i = 0; i < 8; ++i) differ += t[i] != e1[static_cast<std::size_t>(i)];
  CHECK(differ > 0);
  CHECK(net.training());
}

TEMPLATE_TEST_CASE("softmax_cross_entropy: value, gradient, and huge logits", "", float, double) {
  using T = TestType;
  const std::vector<T> z = {1, 2, 3, -1, 0.5, 4, 0, 0, 0};
  const std::vector<std::int64_t> y = {2, 0, 1};
  std::vector<T> g(9);
  const double v = ex::softmax_cross_entropy(pare::tensor_view<const T>(z.data(), {3, 3}), y,
                                             pare::tensor_view<T>(g.data(), {3, 3}));
  const std::vector<double> zd(z.begin(), z.end());
  CHECK(v == pare_test::Approx(direct_cross_entropy(zd, y, 3)).margin(tol<T>));
  const auto numeric = pare_test::numeric_gradient(
      [&](const std::vector<double>& p) { return direct_cross_entropy(p, y, 3); }, zd);
  for (std::size_t i = 0; i < 9; ++i)
    CHECK(static_cast<double>(g[i]) == pare_test::Approx(numeric[i]).margin(std::is_same_v<T, float> ? 1e-6 : 1e-9));
  // Each row of the gradient sums to zero.
  CHECK(static_cast<double>(g[0] + g[1] + g[2]) == pare_test::Approx(0).margin(tol<T>));

  const std::vector<T> huge = {T(1e4), T(-1e4), T(1e4), T(1e4)};
  std::vector<T> gh(4);
  const double vh = ex::softmax_cross_entropy(pare::tensor_view<const T>(huge.data(), {2, 2}),
                                              std::vector<std::int64_t>{1, 0},
                                              pare::tensor_view<T>(gh.data(), {2, 2}));
  // Row 0 puts all mass on the wrong class: loss 2e4; row 1 ties: log 2. Mean (2e4 + log 2)/2.
  CHECK(vh == pare_test::Approx((2e4 + std::log(2.0)) / 2).epsilon(1e-6));
  for (const T x : gh) CHECK(std::isfinite(x));
  CHECK(gh[0] == pare_test::Approx(0.5).epsilon(1e-6));
  CHECK(gh[1] == pare_test::Approx(-0.5).epsilon(1e-6));
}

namespace {
/// Requires that `f()` throws std::invalid_argument whose message contains `part`.
template <class F>
void require_invalid(F&& f, const std::string& part) {
  try {
    f();
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    INFO("message: " << e.what());
    CHECK(std::string(e.what()).find(part) != std::string::npos);
  }
}
}  // namespace

TEST_CASE("mlp and softmax_cross_entropy reject bad shapes") {
  require_invalid([] { ex::mlp<float>({.sizes = {5}}); }, "at least 2 widths, got 1");
  require_invalid([] { ex::mlp<float>({.sizes = {5, 0, 2}}); }, "at least 1, got 0");
  ex::mlp<float> net({.sizes = {4, 3, 2}});
  std::vector<float> x(12), g(6);
  require_invalid([&] { (void)net.forward(pare::tensor_view<const float>(x.data(), {2, 6})); },
                  "x must be [batch, 4], got [2, 6]");
  (void)net.forward(pare::tensor_view<const float>(x.data(), {3, 4}));
  require_invalid([&] { net.backward(pare::tensor_view<const float>(g.data(), {2, 2})); },
                  "dlogits must be [3, 2]");
  const std::vector<std::int64_t> labels = {0, 1};
  PARE_REQUIRE_ERROR(ex::softmax_cross_entropy(pare::tensor_view<const float>(x.data(), {3, 2}),
                                               labels, pare::tensor_view<float>(g.data(), {3, 2})),
                     "pare_examples::softmax_cross_entropy", "labels size", "2");
  PARE_REQUIRE_ERROR(ex::softmax_cross_entropy(pare::tensor_view<const float>(x.data(), {3, 2}),
                                               labels, pare::tensor_view<float>(g.data(), {2, 3})),
                     "pare_examples::softmax_cross_entropy", "grad", "[2, 3]");
}
