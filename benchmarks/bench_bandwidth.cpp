// The machine's STREAM-style bandwidth: copy and triad at 1M/16M/64M floats, one and two
// threads. Later suites report their kernels as a fraction of the triad figure (`of_floor`).
#include <cstdint>
#include <memory>

#include <benchmark/benchmark.h>

#include "support/floor.hpp"

namespace {

struct arrays {
  std::int64_t n = 0;
  std::unique_ptr<float[]> a, b, c;
};

// One set of arrays per size, shared by the threads of a run (each works on its own slice).
arrays& get_arrays(std::int64_t n) {
  static arrays cache;
  if (cache.n != n) {
    cache = {n, std::make_unique<float[]>(n), std::make_unique<float[]>(n), std::make_unique<float[]>(n)};
    for (std::int64_t i = 0; i < n; ++i) { cache.a[i] = 0; cache.b[i] = 1; cache.c[i] = 2; }
  }
  return cache;
}

void BM_copy(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  arrays& x = get_arrays(n);
  const std::int64_t b = n * state.thread_index() / state.threads();
  const std::int64_t e = n * (state.thread_index() + 1) / state.threads();
  float* __restrict a = x.a.get();
  const float* __restrict src = x.b.get();
  for (auto _ : state) {
    for (std::int64_t i = b; i < e; ++i) a[i] = src[i];
    benchmark::ClobberMemory();
  }
  const double m = static_cast<double>(e - b) * 4;
  pare::bench::report_traffic(state, m, m, m, state.threads());
}

void BM_triad(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  arrays& x = get_arrays(n);
  const std::int64_t b = n * state.thread_index() / state.threads();
  const std::int64_t e = n * (state.thread_index() + 1) / state.threads();
  float* __restrict a = x.a.get();
  const float* __restrict pb = x.b.get();
  const float* __restrict pc = x.c.get();
  for (auto _ : state) {
    for (std::int64_t i = b; i < e; ++i) a[i] = pb[i] + 0.5f * pc[i];
    benchmark::ClobberMemory();
  }
  const double m = static_cast<double>(e - b) * 4;
  pare::bench::report_traffic(state, 2 * m, m, m, state.threads());
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 20);
  if (!pare::bench::smoke()) b->Arg(16 << 20)->Arg(64 << 20);
  b->Threads(1)->Threads(2)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_copy)->Apply(sizes);
BENCHMARK(BM_triad)->Apply(sizes);
