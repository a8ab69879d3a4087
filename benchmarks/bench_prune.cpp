// Pruning: exact selection of the k lowest scores (radix select vs std::nth_element, O(n) over
// 1M/16M/64M weights, 1 and 2 threads), the whole prune_to, apply(), and sparse vs dense
// matrix-vector products of a pruned 4096×4096 layer at 50/80/90/95 % sparsity and in 2:4 form.
//
// Counters: `of_floor` compares with the time the bandwidth floor (triad) needs to move the
// bytes named in each benchmark; `items_per_second` is weights per second (flat = O(n)).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include <pare/prune.hpp>

#include "support/floor.hpp"

namespace {

namespace pp = pare::prune;

// Gaussian-looking weights without a slow generator: a sum of uniforms from pare's counter RNG.
void fill_weights(float* w, std::int64_t n, std::uint64_t seed) {
  for (std::int64_t i = 0; i < n; ++i) {
    const auto u = static_cast<std::uint64_t>(i) * 4;
    w[i] = (pare::detail::uniform_float(seed, u) + pare::detail::uniform_float(seed, u + 1) +
            pare::detail::uniform_float(seed, u + 2) + pare::detail::uniform_float(seed, u + 3)) -
           2.0f;
  }
}

struct weights {
  std::int64_t n = 0;
  std::unique_ptr<float[]> w, pristine, scratch;
};

weights& get_weights(std::int64_t n) {
  static weights cache;
  if (cache.n != n) {
    cache = {};
    cache.n = n;
    cache.w = std::make_unique<float[]>(static_cast<std::size_t>(n));
    cache.pristine = std::make_unique<float[]>(static_cast<std::size_t>(n));
    cache.scratch = std::make_unique<float[]>(static_cast<std::size_t>(n));
    fill_weights(cache.pristine.get(), n, 1);
    std::copy(cache.pristine.get(), cache.pristine.get() + n, cache.w.get());
    pare::bench::prefault(cache.scratch.get(), n * 4);
  }
  return cache;
}

// The radix select of pare's pruner, alone: keys made on the fly from |w|, cut at 90 %.
void BM_select_radix(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  pare::set_threads(threads);
  weights& x = get_weights(n);
  const float* w = x.pristine.get();
  pp::detail::select_scratch scratch;
  const auto scan = [&](std::int64_t b, std::int64_t e, auto&& g) {
    std::uint32_t keys[pp::detail::scan_block];
    for (std::int64_t i = b; i < e; i += pp::detail::scan_block) {
      const std::int64_t c = std::min(pp::detail::scan_block, e - i);
      for (std::int64_t j = 0; j < c; ++j) keys[j] = pp::detail::order_key(std::abs(w[i + j]));
      g(static_cast<const std::uint32_t*>(keys), c);
    }
  };
  const std::int64_t k = n / 10 * 9;
  for (auto _ : state) {
    const auto cut = pp::detail::select_lowest<std::uint32_t>(n, k, threads, scan, scratch);
    benchmark::DoNotOptimize(cut);
  }
  state.SetItemsProcessed(state.iterations() * n);
  pare::bench::report_traffic(state, 4.0 * static_cast<double>(n), 0, 0, threads);
  pare::set_threads(1);
}

// The usual alternative: copy the scores, std::nth_element (sequential).
void BM_select_nth_element(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  weights& x = get_weights(n);
  const float* w = x.pristine.get();
  float* s = x.scratch.get();
  const std::int64_t k = n / 10 * 9;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) s[i] = std::abs(w[i]);
    std::nth_element(s, s + k, s + n);
    benchmark::DoNotOptimize(s[k]);
  }
  state.SetItemsProcessed(state.iterations() * n);
  pare::bench::report_traffic(state, 4.0 * static_cast<double>(n), 0, 0, 1);
}

// The whole pruner: global 90 % magnitude pruning of four tensors of n/4 weights (select, write
// masks, zero weights). Weights and masks are restored outside the timed region.
void BM_prune_to(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  pare::set_threads(threads);
  weights& x = get_weights(n);
  pp::pruner<float> p({.scope = pp::scope::global});
  const std::int64_t q = n / 4;
  for (int t = 0; t < 4; ++t) p.add(pare::tensor_view<float>(x.w.get() + t * q, {q / 1024, 1024}));
  for (auto _ : state) {
    state.PauseTiming();
    std::copy(x.pristine.get(), x.pristine.get() + n, x.w.get());
    p.reset();
    state.ResumeTiming();
    p.prune_to(0.9);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  // at least: read w and masks, write masks and w
  pare::bench::report_traffic(state, 5.0 * static_cast<double>(n), 5.0 * static_cast<double>(n), 0,
                              threads);
  pare::set_threads(1);
}

// Re-zeroing masked weights after an update that ignored the masks (the gradual driver does it
// every step unless the optimizer masks its updates): read w and the mask, write w.
void BM_apply(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  pare::set_threads(threads);
  weights& x = get_weights(n);
  std::copy(x.pristine.get(), x.pristine.get() + n, x.w.get());
  pp::pruner<float> p;
  p.add(pare::tensor_view<float>(x.w.get(), {n}));
  p.prune_to(0.9);
  for (auto _ : state) {
    p.apply();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  pare::bench::report_traffic(state, 5.0 * static_cast<double>(n), 4.0 * static_cast<double>(n),
                              0, threads);
  pare::set_threads(1);
}

void selection_sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {std::int64_t{1} << 20, std::int64_t{16} << 20, std::int64_t{64} << 20}) {
    if (pare::bench::smoke() && n > (std::int64_t{16} << 20)) continue;
    for (int t : {1, 2}) b->Args({n, t});
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
void nth_sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {std::int64_t{1} << 20, std::int64_t{16} << 20, std::int64_t{64} << 20}) {
    if (pare::bench::smoke() && n > (std::int64_t{16} << 20)) continue;
    b->Args({n, 1});
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

// ---- sparse inference: y = W·x for a pruned 4096×4096 layer ----

constexpr std::int64_t side = 4096;

struct layer {
  std::vector<float> w, x, y;
};

layer& get_layer() {
  static layer l = [] {
    layer m;
    m.w.resize(side * side);
    fill_weights(m.w.data(), side * side, 2);
    m.x.resize(side);
    fill_weights(m.x.data(), side, 3);
    m.y.resize(side);
    return m;
  }();
  return l;
}

void BM_matvec_dense(benchmark::State& state) {
  layer& l = get_layer();
  const auto w = pare::tensor_view<const float>(l.w.data(), {side, side}).matrix();
  const Eigen::Map<const Eigen::VectorXf> x(l.x.data(), side);
  Eigen::Map<Eigen::VectorXf> y(l.y.data(), side);
  for (auto _ : state) {
    y.noalias() = w * x;
    benchmark::ClobberMemory();
  }
  pare::bench::report_traffic(state, 4.0 * side * side, 0, 0, 1);
}

void BM_matvec_csr(benchmark::State& state) {
  const double s = static_cast<double>(state.range(0)) / 100;
  layer& l = get_layer();
  std::vector<float> w = l.w;
  pp::pruner<float> p;
  p.add(pare::tensor_view<float>(w.data(), {side, side}));
  p.prune_to(s);
  const auto a = pp::to_csr(pare::tensor_view<const float>(w.data(), {side, side}));
  for (auto _ : state) {
    pp::matvec(a, l.x, l.y);
    benchmark::ClobberMemory();
  }
  // values and column indices of the nonzeros, and the row pointers
  const double bytes = 8.0 * static_cast<double>(a.nonZeros()) + 4.0 * (side + 1);
  pare::bench::report_traffic(state, bytes, 0, 0, 1);
  state.counters["nnz"] = static_cast<double>(a.nonZeros());
}

void BM_matvec_2of4(benchmark::State& state) {
  layer& l = get_layer();
  std::vector<float> w = l.w;
  pp::pruner<float, pp::magnitude, pp::n_of_m<2, 4>> p;
  p.add(pare::tensor_view<float>(w.data(), {side, side}));
  p.prune_to(0.5);
  const auto a = pp::to_n_of_m<2, 4>(pare::tensor_view<const float>(w.data(), {side, side}));
  for (auto _ : state) {
    pp::matvec(a, l.x, l.y);
    benchmark::ClobberMemory();
  }
  pare::bench::report_traffic(state, static_cast<double>(a.bytes()), 0, 0, 1);
}

}  // namespace

BENCHMARK(BM_select_radix)->Apply(selection_sizes);
BENCHMARK(BM_select_nth_element)->Apply(nth_sizes);
BENCHMARK(BM_prune_to)->Apply(selection_sizes);
BENCHMARK(BM_apply)->Apply(selection_sizes);
BENCHMARK(BM_matvec_dense)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_matvec_csr)->Arg(50)->Arg(60)->Arg(70)->Arg(80)->Arg(90)->Arg(95)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_matvec_2of4)->Unit(benchmark::kMicrosecond);
