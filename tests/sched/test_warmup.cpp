// pare::sched::warmup against torch 1.13 SequentialLR([LinearLR(f, 1, W), s], [W]).
#include <pare/sched/cosine_annealing.hpp>
#include <pare/sched/step_decay.hpp>
#include <pare/sched/warmup.hpp>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

TEST_CASE("warmup then cosine matches PyTorch LinearLR → CosineAnnealingLR") {
  const std::string c = "warmup/cosine";
  const ps::warmup w(ps::cosine_annealing{.base_lr = option(c, 2), .t_max = int_option(c, 3)},
                     {.steps = int_option(c, 0), .start_factor = option(c, 1)});
  check_sequence(w, c);
}

TEST_CASE("warmup then step decay matches PyTorch LinearLR → StepLR") {
  const std::string c = "warmup/step";
  const ps::warmup w(ps::step_decay{.base_lr = option(c, 2), .step_size = int_option(c, 3),
                                    .gamma = option(c, 4)},
                     {.steps = int_option(c, 0), .start_factor = option(c, 1)});
  check_sequence(w, c);
}

TEST_CASE("warmup from 0 ramps linearly to s(0) and hands over without a jump") {
  const auto inner = [](std::int64_t t) { return 0.2 / (1.0 + static_cast<double>(t)); };
  const ps::warmup w(inner, {.steps = 4});
  CHECK(w.options().start_factor == 0);
  CHECK(w(0) == 0);
  CHECK(w(1) == pare_test::Approx(0.05).epsilon(1e-15));
  CHECK(w(3) == pare_test::Approx(0.15).epsilon(1e-15));
  CHECK(w(4) == 0.2);
  CHECK(w(10) == inner(6));
  const ps::warmup none(inner, {.steps = 0});  // no warm-up at all
  CHECK(none(0) == inner(0));
  CHECK(none(9) == inner(9));
}

TEST_CASE("warmup validates its options and its inner schedule when it is made") {
  const ps::step_decay ok{.base_lr = 0.1, .step_size = 3};
  PARE_REQUIRE_ERROR(ps::warmup(ok, {.steps = -1}), "pare::sched::warmup", "steps", "-1");
  PARE_REQUIRE_ERROR(ps::warmup(ok, {.steps = 3, .start_factor = 1.5}), "pare::sched::warmup",
                     "start_factor", "[0, 1]", "1.5");
  PARE_REQUIRE_ERROR(ps::warmup(ps::step_decay{.base_lr = 0.1}, {.steps = 3}),
                     "pare::sched::step_decay", "step_size", "0");
  const ps::warmup w(ok, {.steps = 3});
  PARE_REQUIRE_ERROR(w(-1), "pare::sched::warmup", "step", "-1");
}
