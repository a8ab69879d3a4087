// pare::sched::linear against torch 1.13 LinearLR.
#include <pare/sched/linear.hpp>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

TEST_CASE("linear matches PyTorch LinearLR, rising and falling") {
  const auto all = cases("linear");
  REQUIRE(all.size() >= 6);
  for (const auto& c : all) {
    check_sequence(ps::linear{.base_lr = option(c, 0), .start_factor = option(c, 1),
                              .end_factor = option(c, 2), .total_iters = int_option(c, 3)},
                   c);
  }
}

TEST_CASE("linear defaults are PyTorch's: 1/3 → 1 over 5 steps") {
  const ps::linear s{.base_lr = 0.3};
  CHECK(s.start_factor == 1.0 / 3);
  CHECK(s.end_factor == 1.0);
  CHECK(s.total_iters == 5);
  CHECK(s(0) == pare_test::Approx(0.1).epsilon(1e-15));
  CHECK(s(5) == pare_test::Approx(0.3).epsilon(1e-15));
  CHECK(s(500) == s(5));
}

TEST_CASE("linear rejects factors outside PyTorch's ranges and total_iters < 1") {
  PARE_REQUIRE_ERROR((ps::linear{.base_lr = 0.1, .start_factor = 0}(0)), "pare::sched::linear",
                     "start_factor", "(0, 1]", "got 0");
  PARE_REQUIRE_ERROR((ps::linear{.base_lr = 0.1, .start_factor = 1.5}(0)), "pare::sched::linear",
                     "start_factor", "1.5");
  PARE_REQUIRE_ERROR((ps::linear{.base_lr = 0.1, .end_factor = -0.1}(0)), "pare::sched::linear",
                     "end_factor", "[0, 1]", "-0.1");
  PARE_REQUIRE_ERROR((ps::linear{.base_lr = 0.1, .end_factor = 2}(0)), "pare::sched::linear",
                     "end_factor", "2");
  PARE_REQUIRE_ERROR((ps::linear{.base_lr = 0.1, .total_iters = 0}(0)), "pare::sched::linear",
                     "total_iters", "at least 1", "0");
  PARE_REQUIRE_ERROR(ps::linear{}(0), "pare::sched::linear", "base_lr", "nan");
  PARE_REQUIRE_ERROR((ps::linear{.base_lr = 0.1}(-1)), "pare::sched::linear", "step", "-1");
}
