// pare::sched::one_cycle against torch 1.13 OneCycleLR (learning rate only).
#include <pare/sched/one_cycle.hpp>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

TEST_CASE("one_cycle matches PyTorch OneCycleLR: cos/linear, two and three phases, corners") {
  const auto all = cases("one_cycle");
  REQUIRE(all.size() >= 9);
  for (const auto& c : all) {
    const ps::one_cycle s{.max_lr = option(c, 0),
                          .total_steps = int_option(c, 1),
                          .pct_start = option(c, 2),
                          .anneal = option(c, 3) == 0 ? ps::anneal_strategy::cos
                                                      : ps::anneal_strategy::linear,
                          .div_factor = option(c, 4),
                          .final_div_factor = option(c, 5),
                          .three_phase = option(c, 6) != 0};
    check_sequence(s, c);
  }
}

TEST_CASE("one_cycle: initial, peak and final rates") {
  const ps::one_cycle s{.max_lr = 0.1, .total_steps = 101, .pct_start = 0.2};
  CHECK(s(0) == pare_test::Approx(0.1 / 25).epsilon(1e-13));
  // Phase 1 ends at step pct_start·total_steps − 1 = 19.2: the peak is between steps 19 and 20.
  CHECK(s(19) > 0.0999);
  CHECK(s(20) > 0.0999);
  CHECK(s(100) == pare_test::Approx(0.1 / 25 / 1e4).epsilon(1e-12));
  const ps::one_cycle three{.max_lr = 0.1, .total_steps = 100, .pct_start = 0.25,
                            .anneal = ps::anneal_strategy::linear, .three_phase = true};
  CHECK(three(24) == pare_test::Approx(0.1).epsilon(1e-14));  // end of phase 1
  CHECK(three(48) == pare_test::Approx(0.004).epsilon(1e-12));  // back to initial, end of phase 2
  CHECK(three(99) == pare_test::Approx(0.1 / 25 / 1e4).epsilon(1e-12));
}

TEST_CASE("one_cycle refuses steps past total_steps, as PyTorch does") {
  const ps::one_cycle s{.max_lr = 1.0, .total_steps = 10};
  CHECK_NOTHROW(s(10));  // PyTorch's last allowed step
  PARE_REQUIRE_ERROR(s(11), "pare::sched::one_cycle", "step", "at most total_steps (10)", "11");
  PARE_REQUIRE_ERROR(s(-1), "pare::sched::one_cycle", "step", "-1");
}

TEST_CASE("one_cycle refuses empty phases where PyTorch divides by zero") {
  // pct_start·total_steps = 1: phase 1 ends at step 0 (PyTorch fails when it is built).
  PARE_REQUIRE_ERROR((ps::one_cycle{.max_lr = 1.0, .total_steps = 10, .pct_start = 0.1}(5)),
                     "pare::sched::one_cycle", "pct_start", "0.1");
  // pct_start = 1: phase 2 is empty; every step before total_steps is fine.
  const ps::one_cycle all_up{.max_lr = 1.0, .total_steps = 10, .pct_start = 1.0};
  CHECK(all_up(9) == pare_test::Approx(1.0).epsilon(1e-14));
  PARE_REQUIRE_ERROR(all_up(10), "pare::sched::one_cycle", "pct_start", "phase 2", "step 10");
  // three_phase with pct_start > 0.5: phase 3 starts after it should end.
  const ps::one_cycle over{.max_lr = 1.0, .total_steps = 10, .pct_start = 0.55,
                           .three_phase = true};
  CHECK_NOTHROW(over(9));
  PARE_REQUIRE_ERROR(over(10), "pare::sched::one_cycle", "pct_start", "phase 3", "0.55");
}

TEST_CASE("one_cycle rejects bad fields") {
  const char* c = "pare::sched::one_cycle";
  PARE_REQUIRE_ERROR((ps::one_cycle{.max_lr = 0.1}(0)), c, "total_steps", "at least 1", "0");
  PARE_REQUIRE_ERROR((ps::one_cycle{.total_steps = 5}(0)), c, "max_lr", "nan");
  PARE_REQUIRE_ERROR((ps::one_cycle{.max_lr = 0.1, .total_steps = 5, .pct_start = 1.5}(0)), c,
                     "pct_start", "[0, 1]", "1.5");
  PARE_REQUIRE_ERROR((ps::one_cycle{.max_lr = 0.1, .total_steps = 5, .pct_start = -0.1}(0)), c,
                     "pct_start", "-0.1");
  PARE_REQUIRE_ERROR(
      (ps::one_cycle{.max_lr = 0.1, .total_steps = 5, .anneal = ps::anneal_strategy{7}}(0)), c,
      "anneal", "7");
  PARE_REQUIRE_ERROR((ps::one_cycle{.max_lr = 0.1, .total_steps = 5, .div_factor = 0}(0)), c,
                     "div_factor", "positive", "0");
  PARE_REQUIRE_ERROR((ps::one_cycle{.max_lr = 0.1, .total_steps = 5, .final_div_factor = -1}(0)),
                     c, "final_div_factor", "-1");
}
