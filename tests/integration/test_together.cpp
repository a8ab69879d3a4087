// The areas used together, as a training loop uses them: a pruner feeding an optimizer's mask,
// a regularizer as an optimizer transform, a schedule driving the learning rate.
#include <pare/optim.hpp>
#include <pare/prune.hpp>
#include <pare/reg.hpp>
#include <pare/sched.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "support/catch.hpp"
#include "support/numeric.hpp"

namespace po = pare::optim;
namespace pp = pare::prune;
using pare::tensor_view;

namespace {

// A gradient that never vanishes and differs per element, so state buffers fill with non-zeros
// wherever nothing resets them: g = 0.5·w + c_i (a quadratic pulled towards −2·c_i).
template <class T>
void fill_gradient(const std::vector<T>& w, const std::vector<T>& c, std::vector<T>& g) {
  for (std::size_t i = 0; i < w.size(); ++i) g[i] = T(0.5) * w[i] + c[i];
}

}  // namespace

TEMPLATE_TEST_CASE("gradual pruning through an optimizer's mask: pruned weights and their state stay zero",
                   "[integration][prune][optim]", float, double) {
  using T = TestType;
  const std::uint64_t seed = 811;
  INFO("seed " << seed);
  auto w1 = pare_test::random_normal<T>(48 * 20, seed);
  auto w2 = pare_test::random_normal<T>(300, seed + 1);
  const auto c1 = pare_test::random_normal<T>(w1.size(), seed + 2);
  const auto c2 = pare_test::random_normal<T>(w2.size(), seed + 3);
  std::vector<T> g1(w1.size()), g2(w2.size());

  pp::pruner<T> pruner({.scope = pp::scope::global});
  pruner.add(tensor_view<T>(w1.data(), {48, 20}));
  pruner.add(tensor_view<T>(w2.data(), {300}));
  pp::gradual driver(pruner, pp::polynomial_decay{.initial_sparsity = 0.2, .final_sparsity = 0.9,
                                                  .begin_step = 5, .end_step = 45, .frequency = 10});
  const double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  auto opt = po::chain<T>(po::as_chain(po::adam_options{.lr = lr, .beta1 = beta1, .beta2 = beta2, .eps = eps}),
                          po::keep_mask(pruner));
  opt.add(tensor_view<T>(w1.data(), {48, 20}), tensor_view<const T>(g1.data(), {48, 20}));
  opt.add(tensor_view<T>(w2.data(), {300}), tensor_view<const T>(g2.data(), {300}));

  const std::int64_t steps = 60;
  for (std::int64_t t = 0; t < steps; ++t) {
    fill_gradient(w1, c1, g1);
    fill_gradient(w2, c2, g2);
    opt.step();     // masked weights get no update
    driver.step();  // masks follow the schedule (and zero newly pruned weights)
    for (std::size_t i = 0; i < w1.size(); ++i)
      if (!pruner.mask(0)[static_cast<std::int64_t>(i)]) REQUIRE(w1[i] == T(0));
    for (std::size_t i = 0; i < w2.size(); ++i)
      if (!pruner.mask(1)[static_cast<std::int64_t>(i)]) REQUIRE(w2[i] == T(0));
  }
  CHECK(pruner.sparsity() == pare_test::Approx(0.9).margin(1e-3));

  // The state of a pruned weight is zero: revive every weight and take one more step. A revived
  // weight (at 0) then moves exactly as Adam's first update from zero moments at step t would:
  // m = (1−β1)g, v = (1−β2)g², p = −lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + eps).
  std::vector<std::uint8_t> was_pruned(w1.size());
  for (std::size_t i = 0; i < w1.size(); ++i) was_pruned[i] = !pruner.mask(0)[static_cast<std::int64_t>(i)];
  std::vector<T> before = w1;
  pruner.reset();
  fill_gradient(w1, c1, g1);
  fill_gradient(w2, c2, g2);
  opt.step();
  const double t = static_cast<double>(steps + 1);
  std::size_t revived = 0;
  for (std::size_t i = 0; i < w1.size(); ++i) {
    if (!was_pruned[i]) continue;
    ++revived;
    const double g = static_cast<double>(g1[i]);
    const double m = (1 - beta1) * g, v = (1 - beta2) * g * g;
    const double expected = -lr * (m / (1 - std::pow(beta1, t))) / (std::sqrt(v / (1 - std::pow(beta2, t))) + eps);
    REQUIRE(before[i] == T(0));
    REQUIRE(static_cast<double>(w1[i]) == pare_test::Approx(expected).epsilon(std::is_same_v<T, float> ? 1e-5 : 1e-12));
  }
  CHECK(revived > 0);
}

TEMPLATE_TEST_CASE("an L2 penalty as an optimizer transform is PyTorch's coupled weight decay 2·l2",
                   "[integration][reg][optim]", float, double) {
  using T = TestType;
  auto w_reg = pare_test::random_normal<T>(257, 5);
  auto w_wd = w_reg;
  const auto c = pare_test::random_normal<T>(257, 6);
  std::vector<T> g_reg(257), g_wd(257);
  const double l2 = 0.015;
  auto with_reg = po::chain<T>(po::add_regularizer{.regularizer = pare::reg::l2{.l2 = l2}},
                               po::as_chain(po::sgd_options{.lr = 0.05, .momentum = 0.9}));
  po::sgd<T> with_wd({.lr = 0.05, .momentum = 0.9, .weight_decay = 2 * l2});
  with_reg.add(tensor_view<T>(w_reg.data(), {257}), tensor_view<const T>(g_reg.data(), {257}));
  with_wd.add(tensor_view<T>(w_wd.data(), {257}), tensor_view<const T>(g_wd.data(), {257}));
  for (int s = 0; s < 25; ++s) {
    fill_gradient(w_reg, c, g_reg);
    fill_gradient(w_wd, c, g_wd);
    with_reg.step();
    with_wd.step();
  }
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (std::size_t i = 0; i < w_reg.size(); ++i)
    REQUIRE(static_cast<double>(w_reg[i]) == pare_test::Approx(static_cast<double>(w_wd[i])).epsilon(tol).margin(tol));
}

TEMPLATE_TEST_CASE("a schedule in the chain, set_schedule, and set_lr(s(t)) by hand give the same steps",
                   "[integration][sched][optim]", float, double) {
  using T = TestType;
  const auto s = pare::sched::warmup(pare::sched::cosine_annealing{.base_lr = 0.1, .t_max = 30, .eta_min = 0.001},
                                     {.steps = 5});
  auto w_chain = pare_test::random_normal<T>(100, 9);
  auto w_named = w_chain, w_hand = w_chain;
  const auto c = pare_test::random_normal<T>(100, 10);
  std::vector<T> g_chain(100), g_named(100), g_hand(100);
  auto chained = po::chain<T>(po::scale_by_adam{}, po::scale_by_learning_rate{.lr = s});
  po::adam<T> named({.lr = 0.1});
  named.set_schedule(s);
  po::adam<T> by_hand({.lr = 0.1});
  chained.add(tensor_view<T>(w_chain.data(), {100}), tensor_view<const T>(g_chain.data(), {100}));
  named.add(tensor_view<T>(w_named.data(), {100}), tensor_view<const T>(g_named.data(), {100}));
  by_hand.add(tensor_view<T>(w_hand.data(), {100}), tensor_view<const T>(g_hand.data(), {100}));
  for (std::int64_t t = 0; t < 40; ++t) {
    fill_gradient(w_chain, c, g_chain);
    fill_gradient(w_named, c, g_named);
    fill_gradient(w_hand, c, g_hand);
    chained.step();
    named.step();
    by_hand.set_lr(s(t));
    by_hand.step();
    CHECK(named.lr() == pare_test::Approx(s(t)).epsilon(1e-15));
  }
  for (std::size_t i = 0; i < w_hand.size(); ++i) {
    REQUIRE(w_named[i] == w_hand[i]);  // the same arithmetic: bit-identical
    REQUIRE(static_cast<double>(w_chain[i]) ==
            pare_test::Approx(static_cast<double>(w_hand[i])).epsilon(std::is_same_v<T, float> ? 1e-5 : 1e-12));
  }
}
