// pare::sched::cosine_warm_restarts against torch 1.13 CosineAnnealingWarmRestarts.
#include <pare/sched/cosine_warm_restarts.hpp>

#include <limits>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

TEST_CASE("cosine_warm_restarts matches PyTorch CosineAnnealingWarmRestarts (t_mult 1, 2, 3)") {
  const auto all = cases("cosine_warm_restarts");
  REQUIRE(all.size() >= 5);
  for (const auto& c : all) {
    check_sequence(ps::cosine_warm_restarts{.base_lr = option(c, 0), .t_0 = int_option(c, 1),
                                            .t_mult = int_option(c, 2), .eta_min = option(c, 3)},
                   c);
  }
}

TEST_CASE("cosine_warm_restarts restarts at base_lr after cycles of t_0, t_0·t_mult, ...") {
  const ps::cosine_warm_restarts s{.base_lr = 0.5, .t_0 = 10, .t_mult = 2, .eta_min = 0.1};
  for (std::int64_t restart : {0, 10, 30, 70, 150, 310}) {
    CHECK(s(restart) == 0.5);
    if (restart > 0) CHECK(s(restart - 1) < 0.11);  // close to eta_min just before a restart
  }
  const ps::cosine_warm_restarts same{.base_lr = 0.5, .t_0 = 7};
  for (std::int64_t t = 0; t < 21; ++t) CHECK(same(t) == same(t + 7));
}

TEST_CASE("cosine_warm_restarts stays finite at huge steps with a large t_mult") {
  const ps::cosine_warm_restarts s{.base_lr = 1.0, .t_0 = 3, .t_mult = 1000000};
  const double v = s(std::numeric_limits<std::int64_t>::max());
  CHECK(v >= 0.0);
  CHECK(v <= 1.0);
}

TEST_CASE("cosine_warm_restarts rejects bad fields") {
  PARE_REQUIRE_ERROR((ps::cosine_warm_restarts{.base_lr = 0.1}(0)),
                     "pare::sched::cosine_warm_restarts", "t_0", "at least 1", "0");
  PARE_REQUIRE_ERROR((ps::cosine_warm_restarts{.base_lr = 0.1, .t_0 = 3, .t_mult = 0}(0)),
                     "pare::sched::cosine_warm_restarts", "t_mult", "at least 1", "0");
  PARE_REQUIRE_ERROR((ps::cosine_warm_restarts{.t_0 = 3}(0)), "pare::sched::cosine_warm_restarts",
                     "base_lr", "nan");
  PARE_REQUIRE_ERROR((ps::cosine_warm_restarts{.base_lr = 0.1, .t_0 = 3, .eta_min = -1}(0)),
                     "pare::sched::cosine_warm_restarts", "eta_min", "-1");
  PARE_REQUIRE_ERROR((ps::cosine_warm_restarts{.base_lr = 0.1, .t_0 = 3}(-2)),
                     "pare::sched::cosine_warm_restarts", "step", "-2");
}
