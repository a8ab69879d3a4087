// pare::sched::step_decay against torch 1.13 StepLR (tests/reference/sched/generate.py).
#include <pare/sched/step_decay.hpp>

#include <cmath>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

TEST_CASE("step_decay matches PyTorch StepLR") {
  const auto all = cases("step_decay");
  REQUIRE(all.size() >= 4);
  for (const auto& c : all) {
    check_sequence(ps::step_decay{.base_lr = option(c, 0), .step_size = int_option(c, 1),
                                  .gamma = option(c, 2)},
                   c);
  }
}

TEST_CASE("step_decay decays cumulatively, not only at exact multiples of step_size") {
  const ps::step_decay s{.base_lr = 0.1, .step_size = 30};
  CHECK(s(29) == 0.1);
  CHECK(s(30) == pare_test::Approx(0.01).epsilon(1e-15));
  CHECK(s(31) == s(30));
  CHECK(s(59) == s(30));
  CHECK(s(61) == pare_test::Approx(0.001).epsilon(1e-15));
  CHECK(s(300) == pare_test::Approx(0.1 * std::pow(0.1, 10)).epsilon(1e-14));
}

TEST_CASE("step_decay defaults: gamma 0.1; base_lr and step_size must be set") {
  CHECK(ps::step_decay{}.gamma == 0.1);
  PARE_REQUIRE_ERROR(ps::step_decay{.step_size = 3}(0), "pare::sched::step_decay", "base_lr",
                     "nan");
  PARE_REQUIRE_ERROR(ps::step_decay{.base_lr = 0.1}(0), "pare::sched::step_decay", "step_size",
                     "at least 1", "got 0");
  PARE_REQUIRE_ERROR((ps::step_decay{.base_lr = 0.1, .step_size = -2}(0)),
                     "pare::sched::step_decay", "step_size", "-2");
  PARE_REQUIRE_ERROR((ps::step_decay{.base_lr = 0.1, .step_size = 2, .gamma = -0.5}(0)),
                     "pare::sched::step_decay", "gamma", "-0.5");
  PARE_REQUIRE_ERROR((ps::step_decay{.base_lr = -1, .step_size = 2}(0)),
                     "pare::sched::step_decay", "base_lr", "-1");
  PARE_REQUIRE_ERROR((ps::step_decay{.base_lr = 0.1, .step_size = 2}(-3)),
                     "pare::sched::step_decay", "step", "non-negative", "-3");
}
