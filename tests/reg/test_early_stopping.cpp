// early_stopping: Keras 3's EarlyStopping on scripted metric sequences (the callback restated in
// tests/reference/reg/generate.py), restoring the best weights, reset, errors.
#include <pare/reg/early_stopping.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/catch.hpp"
#include "support/reference.hpp"
#include "keras_early_stopping.hpp"

using pare::reg::early_stopping;

TEST_CASE("early_stopping follows Keras 3's callback on scripted sequences", "[reg][early_stopping]") {
  reg_test::check_keras_scenarios(pare_test::reference("reg/reg.txt"), 10);
}

TEST_CASE("early_stopping counts patience on a hand-checked sequence and resets", "[reg][early_stopping]") {
  early_stopping es({.patience = 2});
  // 1.0 best; 1.1, 1.2 are two bad epochs → stop at the second (wait 2 ≥ patience 2)
  CHECK_FALSE(es.observe(1.0));
  CHECK_FALSE(es.observe(1.1));
  CHECK(es.wait() == 1);
  CHECK(es.observe(1.2));
  CHECK(es.stopped_epoch() == 2);
  CHECK(es.best_epoch() == 0);
  CHECK_FALSE(es.restore());  // restore_best is off
  es.reset();
  CHECK(es.epochs() == 0);
  CHECK(es.best() == std::numeric_limits<double>::infinity());
  CHECK_FALSE(es.stopped());
  CHECK_FALSE(es.observe(5.0));
  CHECK(es.best() == 5.0);
}

TEST_CASE("early_stopping restores only what it tracked, and tracks only before observing", "[reg][early_stopping]") {
  early_stopping es({.mode = pare::reg::mode::max, .restore_best = true});
  std::vector<double> w = {1, 2};
  es.track(pare::tensor_view<double>(w));
  CHECK_FALSE(es.restore());  // nothing observed yet
  CHECK_FALSE(es.observe(0.5));
  w = {3, 4};
  CHECK(es.observe(0.4));
  CHECK(es.restore());
  CHECK(w == std::vector<double>{1, 2});
  std::vector<float> late(2);
  PARE_REQUIRE_ERROR(es.track(pare::tensor_view<float>(late)), "pare::reg::early_stopping",
                     "track must be called before the first observe");
}

TEST_CASE("early_stopping rejects bad options", "[reg][early_stopping][errors]") {
  const char* c = "pare::reg::early_stopping";
  PARE_REQUIRE_ERROR(early_stopping({.patience = -1}), c, "patience must be >= 0, got -1");
  PARE_REQUIRE_ERROR(early_stopping({.start_from_epoch = -2}), c, "start_from_epoch must be >= 0, got -2");
  PARE_REQUIRE_ERROR(early_stopping({.min_delta = std::nan("")}), c, "min_delta must be finite, got nan");
  PARE_REQUIRE_ERROR(early_stopping({.min_delta = INFINITY}), c, "min_delta", "got inf");
  PARE_REQUIRE_ERROR(early_stopping({.baseline = std::nan("")}), c, "baseline must be a number", "got nan");
  CHECK(early_stopping({.min_delta = -0.25}).options().min_delta == 0.25);  // Keras takes |min_delta|
}
