// pare::sched::cosine_annealing against torch 1.13 CosineAnnealingLR, past t_max included.
#include <pare/sched/cosine_annealing.hpp>

#include <cmath>
#include <numbers>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

TEST_CASE("cosine_annealing matches PyTorch CosineAnnealingLR, also past t_max") {
  const auto all = cases("cosine_annealing");
  REQUIRE(all.size() >= 5);
  for (const auto& c : all) {
    const ps::cosine_annealing s{.base_lr = option(c, 0), .t_max = int_option(c, 1),
                                 .eta_min = option(c, 2)};
    CHECK(check_sequence(s, c) > 2 * static_cast<std::size_t>(s.t_max));  // goes past t_max
  }
}

TEST_CASE("cosine_annealing reaches eta_min at t_max and climbs back with period 2·t_max") {
  const ps::cosine_annealing s{.base_lr = 0.1, .t_max = 8, .eta_min = 0.01};
  CHECK(s(0) == 0.1);
  CHECK(s(8) == pare_test::Approx(0.01).epsilon(1e-14));
  CHECK(s(4) == pare_test::Approx(0.055).epsilon(1e-14));  // halfway
  for (std::int64_t t = 0; t < 16; ++t) {
    CHECK(s(t + 16) == pare_test::Approx(s(t)).epsilon(1e-13));
    if (t > 0 && t < 8) CHECK(s(t) < s(t - 1));
    if (t > 8) CHECK(s(t) > s(t - 1));
  }
}

TEST_CASE("cosine_annealing rejects bad fields") {
  PARE_REQUIRE_ERROR((ps::cosine_annealing{.base_lr = 0.1}(0)), "pare::sched::cosine_annealing",
                     "t_max", "at least 1", "0");
  PARE_REQUIRE_ERROR((ps::cosine_annealing{.t_max = 5}(0)), "pare::sched::cosine_annealing",
                     "base_lr", "nan");
  PARE_REQUIRE_ERROR((ps::cosine_annealing{.base_lr = 0.1, .t_max = 5, .eta_min = -1e-3}(0)),
                     "pare::sched::cosine_annealing", "eta_min", "-0.001");
  PARE_REQUIRE_ERROR((ps::cosine_annealing{.base_lr = 0.1, .t_max = 5}(-1)),
                     "pare::sched::cosine_annealing", "step", "-1");
}
