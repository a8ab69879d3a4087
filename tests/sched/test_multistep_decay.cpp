// pare::sched::multistep_decay against torch 1.13 MultiStepLR.
#include <pare/sched/multistep_decay.hpp>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

TEST_CASE("multistep_decay matches PyTorch MultiStepLR, repeated milestones included") {
  const auto all = cases("multistep_decay");
  REQUIRE(all.size() >= 5);
  for (const auto& c : all) {
    check_sequence(ps::multistep_decay{.base_lr = option(c, 0),
                                       .milestones = steps(c, "milestones"),
                                       .gamma = option(c, 1)},
                   c);
  }
}

TEST_CASE("multistep_decay switches at the milestone and counts repeats") {
  const ps::multistep_decay s{.base_lr = 1.0, .milestones = {2, 5, 5}, .gamma = 0.5};
  CHECK(s(1) == 1.0);
  CHECK(s(2) == 0.5);
  CHECK(s(4) == 0.5);
  CHECK(s(5) == 0.125);
  CHECK(s(1000) == 0.125);
  CHECK(ps::multistep_decay{.base_lr = 0.3}(99) == 0.3);  // no milestones: constant
}

TEST_CASE("multistep_decay rejects unsorted or negative milestones") {
  PARE_REQUIRE_ERROR((ps::multistep_decay{.base_lr = 0.1, .milestones = {30, 10}}(0)),
                     "pare::sched::multistep_decay", "milestones", "sorted", "[30, 10]");
  PARE_REQUIRE_ERROR((ps::multistep_decay{.base_lr = 0.1, .milestones = {-1, 10}}(0)),
                     "pare::sched::multistep_decay", "milestones", "non-negative", "[-1, 10]");
  PARE_REQUIRE_ERROR((ps::multistep_decay{.milestones = {1}}(0)), "pare::sched::multistep_decay",
                     "base_lr", "nan");
  PARE_REQUIRE_ERROR((ps::multistep_decay{.base_lr = 0.1, .gamma = -1}(0)),
                     "pare::sched::multistep_decay", "gamma", "-1");
  PARE_REQUIRE_ERROR((ps::multistep_decay{.base_lr = 0.1}(-1)), "pare::sched::multistep_decay",
                     "step", "-1");
}
