// The `schedule` concept and `any_schedule`: what pare accepts as a learning-rate schedule.
#include <pare/sched.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "support/catch.hpp"

namespace ps = pare::sched;

// Every pare schedule models the concept; so do lambdas, function pointers and compositions.
static_assert(ps::schedule<ps::constant>);
static_assert(ps::schedule<ps::step_decay>);
static_assert(ps::schedule<ps::multistep_decay>);
static_assert(ps::schedule<ps::exponential_decay>);
static_assert(ps::schedule<ps::piecewise_constant>);
static_assert(ps::schedule<ps::cosine_annealing>);
static_assert(ps::schedule<ps::cosine_warm_restarts>);
static_assert(ps::schedule<ps::linear>);
static_assert(ps::schedule<ps::polynomial_decay>);
static_assert(ps::schedule<ps::one_cycle>);
static_assert(ps::schedule<ps::sequence>);
static_assert(ps::schedule<ps::any_schedule>);
static_assert(ps::schedule<ps::warmup<ps::constant>>);
static_assert(ps::schedule<double (*)(std::int64_t)>);
inline constexpr auto inverse_time = [](std::int64_t t) { return 1.0 / (1.0 + 0.5 * t); };
static_assert(ps::schedule<decltype(inverse_time)>);
static_assert(ps::schedule<decltype([](std::int64_t) { return 1.0f; })>);  // float converts
// Not schedules: wrong argument, no result, not callable, stateful-only (not const-callable).
static_assert(!ps::schedule<decltype([](const std::string&) { return 1.0; })>);
static_assert(!ps::schedule<decltype([](std::int64_t) {})>);
static_assert(!ps::schedule<int>);
static_assert(!ps::schedule<decltype([n = 0](std::int64_t) mutable { return double(++n); })>);
// reduce_on_plateau depends on metrics, not on the step: it is not a schedule.
static_assert(!ps::schedule<ps::reduce_on_plateau>);

namespace {
double halve_every_two(std::int64_t t) { return 1.0 / static_cast<double>(1 << (t / 2)); }
}  // namespace

TEST_CASE("any_schedule holds any schedule and answers what it would") {
  const std::vector<ps::any_schedule> v{ps::step_decay{.base_lr = 0.4, .step_size = 2},
                                        inverse_time, &halve_every_two};
  for (std::int64_t t = 0; t < 7; ++t) {
    CHECK(v[0](t) == ps::step_decay{.base_lr = 0.4, .step_size = 2}(t));
    CHECK(v[1](t) == inverse_time(t));
    CHECK(v[2](t) == halve_every_two(t));
  }
  const ps::any_schedule copy = v[1];  // copies are independent values
  CHECK(copy(3) == inverse_time(3));
}

TEST_CASE("any_schedule passes a pare::error of the schedule it holds through") {
  const ps::any_schedule bad = ps::step_decay{.base_lr = 0.1};  // step_size unset
  PARE_REQUIRE_ERROR(bad(0), "pare::sched::step_decay", "step_size", "0");
}
