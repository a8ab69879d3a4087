// pare::reg kernels against the bandwidth floor: dropout forward (x read, y and the byte mask
// written) and backward at 1M and 16M values, the l1_l2 penalty value (one read) and add_grad
// (w, g read, g written), and max_norm over a [4096, 4096] weight.
#include <cstdint>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include <pare/reg.hpp>

#include "support/floor.hpp"

namespace {

template <class T>
std::vector<T> filled(std::int64_t n, std::uint64_t seed) {
  std::vector<T> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(2 * pare::detail::uniform_double(seed, i) - 1);
  return v;
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 20);
  if (!pare::bench::smoke()) b->Arg(16 << 20);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

template <class T>
void BM_dropout_forward(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const auto x = filled<T>(n, 1);
  std::vector<T> y(x.size());
  pare::reg::dropout<T> d({.rate = 0.5, .seed = 7});
  d.reserve(n);
  pare::bench::prefault(y.data(), n * static_cast<std::int64_t>(sizeof(T)));
  for (auto _ : state) {
    d.forward(pare::tensor_view<const T>(x), pare::tensor_view<T>(y));
    benchmark::ClobberMemory();
  }
  const double e = static_cast<double>(n);
  pare::bench::report_traffic(state, e * sizeof(T), e * (sizeof(T) + 1), e * (sizeof(T) + 1));
}
BENCHMARK(BM_dropout_forward<float>)->Apply(sizes);
BENCHMARK(BM_dropout_forward<double>)->Apply(sizes);

template <class T>
void BM_dropout_backward(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  auto dy = filled<T>(n, 2);
  pare::reg::dropout<T> d({.rate = 0.5, .seed = 7});
  d.forward(pare::tensor_view<const T>(dy), pare::tensor_view<T>(dy));
  for (auto _ : state) {  // in place: dy and the mask read, dy written
    d.backward(pare::tensor_view<const T>(dy), pare::tensor_view<T>(dy));
    benchmark::ClobberMemory();
  }
  const double e = static_cast<double>(n);
  pare::bench::report_traffic(state, e * (sizeof(T) + 1), e * sizeof(T));
}
BENCHMARK(BM_dropout_backward<float>)->Apply(sizes);

template <class T>
void BM_penalty_value(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const auto w = filled<T>(n, 3);
  const pare::reg::l1_l2 r{.l1 = 1e-5, .l2 = 1e-4};
  for (auto _ : state) benchmark::DoNotOptimize(r.penalty(pare::tensor_view<const T>(w)));
  pare::bench::report_traffic(state, static_cast<double>(n) * sizeof(T), 0);
}
BENCHMARK(BM_penalty_value<float>)->Apply(sizes);

template <class T>
void BM_penalty_add_grad(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const auto w = filled<T>(n, 4);
  auto g = filled<T>(n, 5);
  const pare::reg::l1_l2 r{.l1 = 1e-5, .l2 = 1e-4};
  for (auto _ : state) {
    r.add_grad(pare::tensor_view<const T>(w), pare::tensor_view<T>(g));
    benchmark::ClobberMemory();
  }
  const double e = static_cast<double>(n) * sizeof(T);
  pare::bench::report_traffic(state, 2 * e, e);
}
BENCHMARK(BM_penalty_add_grad<float>)->Apply(sizes);
BENCHMARK(BM_penalty_add_grad<double>)->Apply(sizes);

template <class T>
void BM_max_norm(benchmark::State& state) {
  const std::int64_t rows = state.range(0) / 4096, cols = 4096;
  auto w = filled<T>(rows * cols, 6);
  const pare::reg::max_norm c{.max_value = 1e9};  // under the limit: w only shrinks by 1e-7/‖w‖
  for (auto _ : state) {
    c.apply(pare::tensor_view<T>(w.data(), {rows, cols}));
    benchmark::ClobberMemory();
  }
  const double e = static_cast<double>(rows * cols) * sizeof(T);
  pare::bench::report_traffic(state, e, e);
}
BENCHMARK(BM_max_norm<float>)->Apply(sizes);

}  // namespace
