// pare::sched::sequence against torch 1.13 SequentialLR.
#include <pare/sched.hpp>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

namespace {
// The three schedules of the generator's "linear_exp_step" and "repeated_milestone" cases.
std::vector<ps::any_schedule> three() {
  return {ps::linear{.base_lr = 1.0, .start_factor = 0.1, .total_iters = 3},
          ps::exponential_decay{.base_lr = 1.0, .gamma = 0.5},
          ps::step_decay{.base_lr = 1.0, .step_size = 2, .gamma = 0.1}};
}
}  // namespace

TEST_CASE("sequence matches PyTorch SequentialLR: each schedule restarts its count") {
  for (const std::string c : {"sequence/linear_exp_step", "sequence/repeated_milestone"}) {
    check_sequence(ps::sequence(three(), steps(c, "milestones")), c);
  }
  const std::string ce = "sequence/constant_exp";
  check_sequence(ps::sequence({ps::constant{.lr = 0.1}, ps::exponential_decay{.base_lr = 1.0, .gamma = 0.9}},
                              steps(ce, "milestones")),
                 ce);
  const std::string cr = "sequence/cos_restarts";
  check_sequence(
      ps::sequence({ps::cosine_annealing{.base_lr = 0.1, .t_max = 6},
                    ps::cosine_warm_restarts{.base_lr = 0.1, .t_0 = 2, .t_mult = 2, .eta_min = 0.001}},
                   steps(cr, "milestones")),
      cr);
}

TEST_CASE("sequence mixes pare schedules, lambdas and other compositions") {
  const auto hold = [](std::int64_t) { return 0.05; };
  const ps::sequence q({ps::warmup(ps::constant{.lr = 0.1}, {.steps = 2}), hold,
                        ps::polynomial_decay{.base_lr = 0.05, .total_iters = 2}},
                       {4, 6});
  CHECK(q.size() == 3);
  CHECK(q(0) == 0);
  CHECK(q(1) == pare_test::Approx(0.05).epsilon(1e-15));
  CHECK(q(3) == 0.1);
  CHECK(q(4) == 0.05);
  CHECK(q(6) == 0.05);
  CHECK(q(7) == pare_test::Approx(0.025).epsilon(1e-15));
  CHECK(q(8) == 0);
}

TEST_CASE("sequence with milestone 0 starts with the second schedule at its own step 0") {
  const ps::sequence q({ps::constant{.lr = 9.0}, ps::exponential_decay{.base_lr = 1, .gamma = 0.5}},
                       {0});
  CHECK(q(0) == 1.0);
  CHECK(q(2) == 0.25);
}

TEST_CASE("sequence rejects mismatched, unsorted or negative milestones and bad schedules") {
  const char* c = "pare::sched::sequence";
  PARE_REQUIRE_ERROR(ps::sequence(three(), {3}), c, "milestones", "one fewer than schedules",
                     "got 1");
  PARE_REQUIRE_ERROR(ps::sequence(three(), {3, 6, 9}), c, "milestones", "got 3");
  PARE_REQUIRE_ERROR(ps::sequence(three(), {6, 3}), c, "milestones", "sorted", "[6, 3]");
  PARE_REQUIRE_ERROR(ps::sequence(three(), {-1, 3}), c, "milestones", "non-negative", "[-1, 3]");
  PARE_REQUIRE_ERROR(ps::sequence({}, {}), c, "schedules", "non-empty", "0");
  PARE_REQUIRE_ERROR(ps::sequence({ps::constant{.lr = 1}, ps::cosine_annealing{.base_lr = 1}}, {2}),
                     "pare::sched::cosine_annealing", "t_max", "0");
  const ps::sequence ok(three(), {3, 6});
  PARE_REQUIRE_ERROR(ok(-1), c, "step", "-1");
}
