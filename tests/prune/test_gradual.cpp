// The gradual-pruning driver: masks follow the schedule exactly, only at update steps, never
// revive a weight while the sparsity rises, and masked weights stay zero between updates.
#include <pare/prune/gradual.hpp>

#include <cstdint>
#include <vector>

#include "support/catch.hpp"
#include "support/numeric.hpp"

namespace pp = pare::prune;
using pare::tensor_view;

TEMPLATE_TEST_CASE("gradual pruning reaches round(s(t)*n) at each update and never revives", "",
                   float, double) {
  using T = TestType;
  const std::uint64_t seed = 61;
  INFO("seed " << seed);
  auto w1 = pare_test::random_normal<T>(1000, seed);
  auto w2 = pare_test::random_normal<T>(600, seed + 1);
  const auto g1 = pare_test::random_normal<T>(1000, seed + 2);
  const auto g2 = pare_test::random_normal<T>(600, seed + 3);
  pp::pruner<T> p({.scope = pp::scope::global});
  p.add(tensor_view<T>(w1.data(), {40, 25}));
  p.add(tensor_view<T>(w2.data(), {600}));
  const pp::polynomial_decay s{.initial_sparsity = 0.1, .final_sparsity = 0.85,
                               .begin_step = 20, .end_step = 220, .frequency = 20};
  pp::gradual driver(p, s);
  std::vector<std::uint8_t> previous(1600, 1);
  int updates = 0;
  for (std::int64_t t = 0; t < 300; ++t) {
    // a training step that ignores the masks: weights move, pruned ones included
    for (std::size_t i = 0; i < w1.size(); ++i) w1[i] -= T(0.01) * g1[i];
    for (std::size_t i = 0; i < w2.size(); ++i) w2[i] -= T(0.01) * g2[i];
    CHECK(driver.current_step() == t);
    const bool updated = driver.step();
    CHECK(updated == s.should_update(t));
    updates += updated;
    const double target = t < 20 ? 0.0 : s(std::min<std::int64_t>(t - (t - 20) % 20, 220));
    CHECK(p.sparsity() == pare_test::Approx(std::nearbyint(target * 1600) / 1600).margin(1e-12));
    // masked weights are zero after every step, updated or not
    for (std::int64_t i = 0; i < 1600; ++i) {
      const auto m = i < 1000 ? p.mask(0)[i] : p.mask(1)[i - 1000];
      const T x = i < 1000 ? w1[static_cast<std::size_t>(i)] : w2[static_cast<std::size_t>(i - 1000)];
      if (!m) REQUIRE(x == T(0));
      REQUIRE(m <= previous[static_cast<std::size_t>(i)]);  // a masked weight stays masked
      previous[static_cast<std::size_t>(i)] = m;
    }
  }
  CHECK(updates == 11);  // steps 20, 40, …, 220
  CHECK(p.sparsity() == pare_test::Approx(0.85).margin(1e-3));
}

TEMPLATE_TEST_CASE("gradual feeds accumulating criteria every step", "", float, double) {
  using T = TestType;
  std::vector<T> w{T(1), T(2), T(3), T(4)}, g{T(1), T(-1), T(1), T(-1)};
  pp::pruner<T, pp::movement> p;
  p.add(tensor_view<T>(w.data(), {4}), tensor_view<const T>(g.data(), {4}));
  pp::gradual driver(p, pp::constant_sparsity{.target = 0.5, .begin_step = 3, .frequency = 1000});
  for (int t = 0; t < 3; ++t) CHECK(!driver.step());
  CHECK(driver.step());  // step 3: movement scores summed over 4 steps
  CHECK(p.steps() == 4);
  // S = −4·w·g = [−4, 8, −12, 16]: the weights the gradient shrinks go
  CHECK(w == std::vector<T>{T(0), T(2), T(0), T(4)});
}

TEMPLATE_TEST_CASE("gradual applies n_of_m whenever the schedule updates", "", float, double) {
  using T = TestType;
  auto w = pare_test::random_normal<T>(64, 71);
  pp::pruner<T, pp::magnitude, pp::n_of_m<2, 4>> p;
  p.add(tensor_view<T>(w.data(), {8, 8}));
  pp::gradual driver(p, pp::polynomial_decay{.initial_sparsity = 0, .final_sparsity = 0.9,
                                            .begin_step = 2, .end_step = 10, .frequency = 4});
  driver.step();
  driver.step();
  CHECK(p.sparsity() == 0.0);
  CHECK(driver.step());  // step 2: 2:4, whatever the schedule's value
  CHECK(p.sparsity() == 0.5);
}

TEST_CASE("gradual options and errors") {
  std::vector<float> w{1, 2, 3, 4};
  pp::pruner<float> p;
  p.add(tensor_view<float>(w.data(), {4}));
  PARE_REQUIRE_ERROR(pp::gradual(p, pp::constant_sparsity{.target = 1.5}),
                     "pare::prune::constant_sparsity", "target", "got 1.5");
  pp::gradual driver(p, pp::constant_sparsity{.target = 0.5, .frequency = 10},
                     {.apply_every_step = false});
  CHECK(driver.step());
  CHECK(w == std::vector<float>{0, 0, 3, 4});
  w[0] = 7;  // without apply_every_step the driver leaves the weights alone between updates
  CHECK(!driver.step());
  CHECK(w[0] == 7);
  driver.set_step(10);
  CHECK(driver.step());
  CHECK(w[0] == 0);
  PARE_REQUIRE_ERROR(driver.set_step(-1), "pare::prune::gradual", "step", "got -1");
}
