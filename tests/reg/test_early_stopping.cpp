// early_stopping: Keras 3's EarlyStopping on scripted metric sequences (the callback restated in
// tests/reference/reg/generate.py), restoring the best weights, reset, errors.
#include <pare/reg/early_stopping.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/catch.hpp"
#include "support/reference.hpp"

using pare::reg::early_stopping;

TEST_CASE("early_stopping follows Keras 3's callback on scripted sequences", "[reg][early_stopping]") {
  const pare_test::reference ref("reg/reg.txt");
  const auto count = static_cast<int>(ref.scalar("es/count"));
  REQUIRE(count >= 10);
  for (int s = 0; s < count; ++s) {
    const std::string key = "es/" + std::to_string(s);
    early_stopping::options o{
        .mode = ref.scalar(key + "/mode_max") != 0 ? pare::reg::mode::max : pare::reg::mode::min,
        .min_delta = ref.scalar(key + "/min_delta"),
        .patience = static_cast<std::int64_t>(ref.scalar(key + "/patience")),
        .restore_best = ref.scalar(key + "/restore") != 0,
        .start_from_epoch = static_cast<std::int64_t>(ref.scalar(key + "/start_from_epoch"))};
    if (!ref[key + "/baseline"].empty()) o.baseline = ref[key + "/baseline"][0];
    early_stopping es(o);
    std::vector<float> w(3, -1.0f);   // "weights" hold the epoch they were trained in
    std::vector<double> b(2, -1.0);
    es.track(pare::tensor_view<float>(w));
    es.track(pare::tensor_view<double>(b));
    const auto& metrics = ref[key + "/metrics"];
    const auto& waits = ref[key + "/wait"];
    const auto& bests = ref[key + "/best"];
    const auto& stops = ref[key + "/stop"];
    std::size_t epoch = 0;
    for (; epoch < metrics.size(); ++epoch) {
      INFO("scenario " << s << " epoch " << epoch << " metric " << metrics[epoch]);
      std::fill(w.begin(), w.end(), static_cast<float>(epoch));
      std::fill(b.begin(), b.end(), static_cast<double>(epoch));
      const bool stop = es.observe(metrics[epoch]);
      REQUIRE(epoch < stops.size());
      CHECK(stop == (stops[epoch] != 0));
      CHECK(es.wait() == static_cast<std::int64_t>(waits[epoch]));
      CHECK(es.best() == bests[epoch]);
      if (stop) break;
    }
    INFO("scenario " << s);
    CHECK(epoch + (epoch < metrics.size() ? 1 : 0) == stops.size());  // stopped where Keras stops
    CHECK(es.stopped() == (stops.back() != 0));
    const double restored = ref.scalar(key + "/restored_epoch");
    CHECK(es.restore() == (restored >= 0));
    CHECK(es.snapshot_epoch() == static_cast<std::int64_t>(restored));
    const double expect = restored >= 0 ? restored : static_cast<double>(std::min(epoch, metrics.size() - 1));
    for (float x : w) CHECK(x == static_cast<float>(expect));
    for (double x : b) CHECK(x == expect);
  }
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
  CHECK(early_stopping({.min_delta = -0.25}).opts().min_delta == 0.25);  // Keras takes |min_delta|
}
