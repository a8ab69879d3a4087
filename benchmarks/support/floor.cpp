#include "support/floor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace pare::bench {
namespace {

struct buffers {
  std::int64_t n;
  std::unique_ptr<float[]> a, b, c;
};

// a = b + s·c over [begin, end)
void triad(float* __restrict a, const float* __restrict b, const float* __restrict c, float s,
           std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) a[i] = b[i] + s * c[i];
}
void copy(float* __restrict a, const float* __restrict b, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) a[i] = b[i];
}

template <class F>
double best_seconds(int threads, std::int64_t n, F kernel, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (threads == 1) {
      kernel(0, n);
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back(kernel, n * t / threads, n * (t + 1) / threads);
      for (auto& th : pool) th.join();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
  }
  return best;
}

floor_result measure(int threads) {
  std::int64_t n = std::int64_t{16} << 20;
  if (const char* e = std::getenv("PARE_BENCH_FLOOR_FLOATS")) n = std::max<std::int64_t>(1 << 16, std::atoll(e));
  buffers bf{n, std::make_unique<float[]>(n), std::make_unique<float[]>(n), std::make_unique<float[]>(n)};
  // first touch by the thread that will use each half, as the kernels do
  best_seconds(threads, n, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) { bf.a[i] = 0; bf.b[i] = 1; bf.c[i] = 2; }
  }, 1);
  floor_result r;
  r.threads = threads;
  const double tt = best_seconds(threads, n, [&](std::int64_t b, std::int64_t e) {
    triad(bf.a.get(), bf.b.get(), bf.c.get(), 0.5f, b, e);
  }, 7);
  const double tc = best_seconds(threads, n, [&](std::int64_t b, std::int64_t e) {
    copy(bf.a.get(), bf.b.get(), b, e);
  }, 7);
  benchmark::DoNotOptimize(bf.a[n / 2]);
  r.triad_bytes_per_s = 12.0 * static_cast<double>(n) / tt;
  r.triad_real_bytes_per_s = 16.0 * static_cast<double>(n) / tt;
  r.copy_bytes_per_s = 8.0 * static_cast<double>(n) / tc;
  return r;
}

}  // namespace

const floor_result& floor(int threads) {
  static const floor_result one = measure(1);
  if (threads <= 1) return one;
  static const floor_result two = measure(2);
  return two;
}

void report_traffic(benchmark::State& state, double read, double written, double write_only,
                    int threads) {
  const auto iters = static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(iters * (read + written)));
  const double real = read + written + write_only;
  state.counters["of_floor"] = benchmark::Counter(
      iters * real / floor(threads).triad_real_bytes_per_s, benchmark::Counter::kIsRate);
}

bool smoke() {
  static const bool s = std::getenv("PARE_BENCH_SMOKE") != nullptr;
  return s;
}

void prefault(void* data, std::int64_t bytes) {
  auto* p = static_cast<unsigned char*>(data);
  for (std::int64_t i = 0; i < bytes; i += 4096) p[i] = 0;
  if (bytes > 0) p[bytes - 1] = 0;
}

}  // namespace pare::bench
