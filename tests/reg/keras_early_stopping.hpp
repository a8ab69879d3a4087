#pragma once
// Runs pare::reg::early_stopping through the Keras 3 scenarios of a reference file written by
// tests/reference/reg/generate.py's early_stopping(w, scenarios): per epoch the stop flag, wait
// and best, where it stops, and which epoch's weights restore() brings back.

#include <pare/reg/early_stopping.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/reference.hpp"

namespace reg_test {

inline void check_keras_scenarios(const pare_test::reference& ref, int min_count) {
  using pare::reg::early_stopping;
  const auto count = static_cast<int>(ref.scalar("es/count"));
  REQUIRE(count >= min_count);
  for (int s = 0; s < count; ++s) {
    const std::string key = "es/" + std::to_string(s);
    early_stopping::options_type o{
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

}  // namespace reg_test
