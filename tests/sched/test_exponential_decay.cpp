// pare::sched::exponential_decay against torch 1.13 ExponentialLR and Keras ExponentialDecay.
#include <pare/sched/exponential_decay.hpp>

#include <cmath>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

namespace {
ps::exponential_decay exponential_from(const std::string& c) {
  return {.base_lr = option(c, 0), .gamma = option(c, 1), .decay_steps = int_option(c, 2),
          .staircase = option(c, 3) != 0};
}
}  // namespace

TEST_CASE("exponential_decay matches PyTorch ExponentialLR (decay_steps 1)") {
  std::size_t n = 0;
  for (const auto& c : cases("exponential_decay")) {
    if (c.find("/torch_") == std::string::npos) continue;
    CHECK(int_option(c, 2) == 1);
    check_sequence(exponential_from(c), c);
    ++n;
  }
  CHECK(n >= 4);
}

TEST_CASE("exponential_decay matches Keras ExponentialDecay, smooth and staircase") {
  std::size_t n = 0;
  for (const auto& c : cases("exponential_decay")) {
    if (c.find("/keras_") == std::string::npos) continue;
    check_sequence(exponential_from(c), c);
    ++n;
  }
  CHECK(n >= 4);
}

TEST_CASE("exponential_decay: staircase holds each level for decay_steps steps") {
  const ps::exponential_decay s{.base_lr = 1.0, .gamma = 0.5, .decay_steps = 4, .staircase = true};
  CHECK(s(0) == 1.0);
  CHECK(s(3) == 1.0);
  CHECK(s(4) == 0.5);
  CHECK(s(11) == 0.25);
  const ps::exponential_decay smooth{.base_lr = 1.0, .gamma = 0.5, .decay_steps = 4};
  CHECK(smooth(2) == pare_test::Approx(std::sqrt(0.5)).epsilon(1e-15));
}

TEST_CASE("exponential_decay rejects bad fields") {
  PARE_REQUIRE_ERROR((ps::exponential_decay{.base_lr = 0.1}(0)), "pare::sched::exponential_decay",
                     "gamma", "nan");
  PARE_REQUIRE_ERROR((ps::exponential_decay{.gamma = 0.9}(0)), "pare::sched::exponential_decay",
                     "base_lr", "nan");
  PARE_REQUIRE_ERROR((ps::exponential_decay{.base_lr = 0.1, .gamma = 0.9, .decay_steps = 0}(0)),
                     "pare::sched::exponential_decay", "decay_steps", "at least 1", "0");
  PARE_REQUIRE_ERROR((ps::exponential_decay{.base_lr = 0.1, .gamma = -0.9}(0)),
                     "pare::sched::exponential_decay", "gamma", "-0.9");
  PARE_REQUIRE_ERROR((ps::exponential_decay{.base_lr = 0.1, .gamma = 0.9}(-5)),
                     "pare::sched::exponential_decay", "step", "-5");
}
