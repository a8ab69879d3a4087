// pare::sched::constant
#include <pare/sched/constant.hpp>

#include <limits>

#include "support/catch.hpp"

namespace ps = pare::sched;

TEST_CASE("constant is the same rate at every step") {
  const ps::constant s{.lr = 0.125};
  for (std::int64_t t : {0, 1, 7, 1000000}) CHECK(s(t) == 0.125);
  CHECK(ps::constant{.lr = 0}(3) == 0);
}

TEST_CASE("constant rejects an unset or bad rate and a negative step") {
  PARE_REQUIRE_ERROR(ps::constant{}(0), "pare::sched::constant", "lr", "nan");
  PARE_REQUIRE_ERROR(ps::constant{.lr = -0.1}(0), "pare::sched::constant", "lr", "-0.1");
  PARE_REQUIRE_ERROR(ps::constant{.lr = std::numeric_limits<double>::infinity()}(0),
                     "pare::sched::constant", "lr", "inf");
  PARE_REQUIRE_ERROR(ps::constant{.lr = 0.1}(-1), "pare::sched::constant", "step", "-1");
}
