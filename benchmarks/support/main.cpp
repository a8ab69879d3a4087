// Every suite's main: measure the bandwidth floor first and put it in the run's context, so the
// `of_floor` counters of the suite and the floor come from the same run.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "support/floor.hpp"

namespace {

// `of_floor` is computed as a rate (Google Benchmark divides by the time) but it is a plain
// ratio: show it without the "/s" suffix.
class console_reporter : public benchmark::ConsoleReporter {
 public:
  using benchmark::ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> copy = runs;
    for (auto& r : copy) {
      auto it = r.counters.find("of_floor");
      if (it != r.counters.end()) it->second.flags = benchmark::Counter::Flags{};
    }
    benchmark::ConsoleReporter::ReportRuns(copy);
  }
};

}  // namespace

int main(int argc, char** argv) {
  bool console = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--benchmark_format=") && a != "--benchmark_format=console") console = false;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (int threads : {1, 2}) {
    const auto& f = pare::bench::floor(threads);
    const std::string t = std::to_string(threads) + "t";
    benchmark::AddCustomContext("floor_triad_" + t + "_GBps", std::to_string(f.triad_bytes_per_s / 1e9));
    benchmark::AddCustomContext("floor_triad_real_" + t + "_GBps", std::to_string(f.triad_real_bytes_per_s / 1e9));
    benchmark::AddCustomContext("floor_copy_" + t + "_GBps", std::to_string(f.copy_bytes_per_s / 1e9));
  }
  if (console) {
    console_reporter reporter(benchmark::ConsoleReporter::OO_None);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}
