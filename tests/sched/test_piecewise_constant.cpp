// pare::sched::piecewise_constant against Keras PiecewiseConstantDecay's boundary rule.
#include <pare/sched/piecewise_constant.hpp>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

TEST_CASE("piecewise_constant matches Keras PiecewiseConstantDecay") {
  const auto all = cases("piecewise_constant");
  REQUIRE(all.size() >= 3);
  for (const auto& c : all) {
    check_sequence(
        ps::piecewise_constant{.boundaries = steps(c, "boundaries"), .values = field(c, "values")},
        c);
  }
}

TEST_CASE("piecewise_constant: a boundary step belongs to the piece before it") {
  const ps::piecewise_constant s{.boundaries = {10, 20}, .values = {1.0, 0.5, 0.25}};
  CHECK(s(0) == 1.0);
  CHECK(s(10) == 1.0);
  CHECK(s(11) == 0.5);
  CHECK(s(20) == 0.5);
  CHECK(s(21) == 0.25);
  CHECK(ps::piecewise_constant{.values = {0.7}}(5) == 0.7);  // no boundaries: one piece
}

TEST_CASE("piecewise_constant rejects mismatched lengths, unsorted boundaries, bad values") {
  PARE_REQUIRE_ERROR((ps::piecewise_constant{.boundaries = {10, 20}, .values = {1.0, 0.5}}(0)),
                     "pare::sched::piecewise_constant", "values", "one longer than boundaries",
                     "got 2");
  PARE_REQUIRE_ERROR((ps::piecewise_constant{.boundaries = {10}, .values = {1.0, 0.5, 0.1}}(0)),
                     "pare::sched::piecewise_constant", "values", "got 3");
  PARE_REQUIRE_ERROR(ps::piecewise_constant{}(0), "pare::sched::piecewise_constant", "values",
                     "got 0");
  PARE_REQUIRE_ERROR(
      (ps::piecewise_constant{.boundaries = {20, 10}, .values = {1.0, 0.5, 0.1}}(0)),
      "pare::sched::piecewise_constant", "boundaries", "sorted", "[20, 10]");
  PARE_REQUIRE_ERROR((ps::piecewise_constant{.boundaries = {10}, .values = {1.0, -0.5}}(0)),
                     "pare::sched::piecewise_constant", "values", "-0.5");
  PARE_REQUIRE_ERROR((ps::piecewise_constant{.boundaries = {10}, .values = {1.0, 0.5}}(-1)),
                     "pare::sched::piecewise_constant", "step", "-1");
}
