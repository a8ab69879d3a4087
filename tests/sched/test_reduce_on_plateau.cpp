// pare::sched::reduce_on_plateau against torch 1.13 ReduceLROnPlateau.
#include <pare/sched/reduce_on_plateau.hpp>

#include <limits>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;


TEST_CASE("reduce_on_plateau matches PyTorch ReduceLROnPlateau epoch by epoch") {
  const auto all = cases("reduce_on_plateau");
  REQUIRE(all.size() >= 13);
  for (const auto& c : all) {
    ps::reduce_on_plateau p(plateau_options(field(c, "options")));
    CHECK(p.lr() == option(c, 0));
    const auto& metrics = field(c, "metrics");
    const auto& lr = field(c, "lr");
    REQUIRE(metrics.size() == lr.size());
    for (std::size_t e = 0; e < metrics.size(); ++e) {
      const double got = p.observe(metrics[e]);
      INFO(c << " epoch " << e << ": metric " << metrics[e] << ", pare " << got << ", torch "
             << lr[e]);
      CHECK(got == lr[e]);  // a product of factors: bit-exact
      CHECK(p.lr() == got);
    }
  }
}

TEST_CASE("reduce_on_plateau reduces on the (patience+1)-th bad epoch, then cools down") {
  ps::reduce_on_plateau p({.base_lr = 1.0, .factor = 0.5, .patience = 2, .cooldown = 1});
  CHECK(p.observe(1.0) == 1.0);  // first metric: always an improvement
  CHECK(p.best() == 1.0);
  CHECK(p.observe(1.0) == 1.0);  // bad 1
  CHECK(p.observe(1.0) == 1.0);  // bad 2
  CHECK(p.bad_epochs() == 2);
  CHECK(p.observe(1.0) == 0.5);  // bad 3 > patience: reduce, cooldown 1 starts
  CHECK(p.cooldown_left() == 1);
  CHECK(p.bad_epochs() == 0);
  CHECK(p.observe(1.0) == 0.5);  // in cooldown: not counted
  CHECK(p.observe(1.0) == 0.5);
  CHECK(p.observe(1.0) == 0.5);
  CHECK(p.observe(1.0) == 0.25);
  CHECK(p.observe(0.5) == 0.25);  // an improvement resets the count
  CHECK(p.bad_epochs() == 0);
  p.reset();
  CHECK(p.lr() == 0.25);  // reset forgets the metrics, not the rate
  CHECK(p.best() == std::numeric_limits<double>::infinity());
}

TEST_CASE("reduce_on_plateau defaults are PyTorch's") {
  const ps::reduce_on_plateau_options o{.base_lr = 0.1};
  CHECK(o.mode == ps::mode::min);
  CHECK(o.factor == 0.1);
  CHECK(o.patience == 10);
  CHECK(o.threshold == 1e-4);
  CHECK(o.threshold_mode == ps::threshold_mode::rel);
  CHECK(o.cooldown == 0);
  CHECK(o.min_lr == 0);
  CHECK(o.eps == 1e-8);
  const ps::reduce_on_plateau p(o);
  CHECK(p.options().patience == 10);
}

TEST_CASE("reduce_on_plateau rejects bad options when it is made") {
  const char* c = "pare::sched::reduce_on_plateau";
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .factor = 1.0}), c, "factor",
                     "[0, 1)", "got 1");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .factor = 2.5}), c, "factor", "2.5");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .factor = -0.5}), c, "factor", "-0.5");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({}), c, "base_lr", "nan");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .patience = -1}), c, "patience", "-1");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .threshold = -1e-4}), c, "threshold",
                     "-1e-04");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .cooldown = -2}), c, "cooldown", "-2");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .min_lr = -1}), c, "min_lr", "-1");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .eps = -1e-8}), c, "eps", "-1e-08");
  PARE_REQUIRE_ERROR(ps::reduce_on_plateau({.base_lr = 0.1, .mode = ps::mode{3}}), c, "mode", "3");
  PARE_REQUIRE_ERROR(
      ps::reduce_on_plateau({.base_lr = 0.1, .threshold_mode = ps::threshold_mode{2}}), c,
      "threshold_mode", "2");
}
