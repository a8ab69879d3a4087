// pare::quant: quantize / dequantize / fake-quantize throughput at 16M floats (as a fraction of
// the bandwidth floor: `of_floor` against the floor measured at the start of the run, `vs_triad`
// against a triad timed alternately with the kernel inside the benchmark), and the quantized matvec against Eigen's fp32 matvec on a 4096×4096
// layer, batch 1, single thread, with x in float (exact) and with int8 activations (`q8x`)
// (counter `vs_fp32` = fp32 time / quantized time, both measured
// in the same benchmark, interleaved, best of 15).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <pare/quant.hpp>

#include "support/floor.hpp"

namespace {

using namespace pare::quant;

constexpr std::int64_t big = 16 << 20;

std::vector<float>& data(std::int64_t n) {
  static std::vector<float> v;
  if (static_cast<std::int64_t>(v.size()) != n) {
    v.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
      v[static_cast<std::size_t>(i)] = std::sin(0.001f * static_cast<float>(i)) * (1.0f + static_cast<float>(i % 97) * 0.01f);
  }
  return v;
}

std::int64_t size_arg(const benchmark::State& state) { return state.range(0); }

template <class F>
double best_seconds(F&& f, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

/// The triad floor again, timed inside the benchmark in blocks alternating with the kernel
/// (5 blocks of 3 runs each, best time of each side), so that the shared machine's bandwidth,
/// which drifts during a run, is the same for both: counter `vs_triad` = the kernel's real
/// bytes/s over the triad's real bytes/s (a[i] = b[i] + s·c[i] on 16M floats, 16 B per element
/// with the write-allocate) — `of_floor` measured side by side. Only at the 16M size.
template <class F>
void paired_floor(benchmark::State& state, F&& kernel, double real_bytes) {
  if (size_arg(state) != big) return;
  static std::vector<float> a(big, 0.0f), b(big, 1.0f), c(big, 2.0f);
  auto triad = [&] {
    float* __restrict pa = a.data();
    const float* __restrict pb = b.data();
    const float* __restrict pc = c.data();
    for (std::int64_t i = 0; i < big; ++i) pa[i] = pb[i] + 0.5f * pc[i];
    benchmark::ClobberMemory();
  };
  double tt = 1e30, tk = 1e30;
  for (int r = 0; r < 5; ++r) {
    tt = std::min(tt, best_seconds(triad, 3));
    tk = std::min(tk, best_seconds(kernel, 3));
  }
  state.counters["vs_triad"] = (real_bytes / tk) / (16.0 * static_cast<double>(big) / tt);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 20);
  if (!pare::bench::smoke()) b->Arg(big);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

// ---- quantize --------------------------------------------------------------------------------

/// `passes` = how many times the kernel reads x (2 when one scale needs the whole tensor first).
void run_quantize(benchmark::State& state, quantize_options opt, int passes) {
  const std::int64_t n = size_arg(state);
  auto& x = data(n);
  const std::int64_t cols = 4096;
  const auto v = pare::tensor_view<const float>(x.data(), {n / cols, cols});
  quantized_tensor q = quantize(v, opt);  // allocate and touch the output once
  for (auto _ : state) {
    quantize(v, opt, q);
    benchmark::DoNotOptimize(q.bytes().data());
  }
  const double code_bytes = static_cast<double>(q.bytes().size());
  pare::bench::report_traffic(state, 4.0 * static_cast<double>(n) * passes, code_bytes, code_bytes);
  paired_floor(state, [&] { quantize(v, opt, q); benchmark::DoNotOptimize(q.bytes().data()); },
               4.0 * static_cast<double>(n) * passes + 2 * code_bytes);
}
void BM_quantize_int8_per_tensor(benchmark::State& s) { run_quantize(s, {.bits = 8}, 2); }
void BM_quantize_int8_per_channel(benchmark::State& s) { run_quantize(s, {.bits = 8, .axis = 0}, 1); }
void BM_quantize_int8_affine_per_channel(benchmark::State& s) {
  run_quantize(s, {.bits = 8, .scheme = scheme::affine, .axis = 0}, 1);
}
void BM_quantize_int4_group64(benchmark::State& s) { run_quantize(s, {.bits = 4, .group_size = 64}, 1); }
void BM_quantize_int4_affine_group64(benchmark::State& s) {
  run_quantize(s, {.bits = 4, .scheme = scheme::affine, .group_size = 64}, 1);
}

/// Quantization with qparams given (from an observer): one pass.
void BM_quantize_int8_given_qparams(benchmark::State& state) {
  const std::int64_t n = size_arg(state);
  auto& x = data(n);
  const auto v = pare::tensor_view<const float>(x.data(), {n});
  const qparams qp = choose_qparams(v, {.bits = 8, .scheme = scheme::affine});
  quantized_tensor q = quantize(v, qp);
  for (auto _ : state) {
    quantize(v, qp, q);
    benchmark::DoNotOptimize(q.bytes().data());
  }
  pare::bench::report_traffic(state, 4.0 * static_cast<double>(n), static_cast<double>(n), static_cast<double>(n));
  paired_floor(state, [&] { quantize(v, qp, q); benchmark::DoNotOptimize(q.bytes().data()); }, 6.0 * static_cast<double>(n));
}

// ---- dequantize ------------------------------------------------------------------------------

void run_dequantize(benchmark::State& state, quantize_options opt) {
  const std::int64_t n = size_arg(state);
  auto& x = data(n);
  const std::int64_t cols = 4096;
  const auto v = pare::tensor_view<const float>(x.data(), {n / cols, cols});
  const quantized_tensor q = quantize(v, opt);
  std::vector<float> out(static_cast<std::size_t>(n));
  pare::bench::prefault(out.data(), n * 4);
  const auto o = pare::tensor_view<float>(out.data(), {n / cols, cols});
  for (auto _ : state) {
    dequantize(q, o);
    benchmark::ClobberMemory();
  }
  pare::bench::report_traffic(state, static_cast<double>(q.bytes().size()), 4.0 * static_cast<double>(n),
                              4.0 * static_cast<double>(n));
  paired_floor(state, [&] { dequantize(q, o); benchmark::ClobberMemory(); },
               static_cast<double>(q.bytes().size()) + 8.0 * static_cast<double>(n));
}
void BM_dequantize_int8_per_channel(benchmark::State& s) { run_dequantize(s, {.bits = 8, .axis = 0}); }
void BM_dequantize_int4_group64(benchmark::State& s) { run_dequantize(s, {.bits = 4, .group_size = 64}); }
void BM_dequantize_int4_affine_group64(benchmark::State& s) {
  run_dequantize(s, {.bits = 4, .scheme = scheme::affine, .group_size = 64});
}

// ---- fake quantization (QAT) -----------------------------------------------------------------

void BM_fake_quantize_int8_per_channel(benchmark::State& state) {
  const std::int64_t n = size_arg(state);
  auto& x = data(n);
  const std::int64_t cols = 4096;
  const auto v = pare::tensor_view<const float>(x.data(), {n / cols, cols});
  const qparams qp = choose_qparams(v, {.bits = 8, .axis = 0});
  std::vector<float> out(static_cast<std::size_t>(n));
  pare::bench::prefault(out.data(), n * 4);
  const auto o = pare::tensor_view<float>(out.data(), {n / cols, cols});
  for (auto _ : state) {
    fake_quantize(v, qp, o);
    benchmark::ClobberMemory();
  }
  pare::bench::report_traffic(state, 4.0 * static_cast<double>(n), 4.0 * static_cast<double>(n), 4.0 * static_cast<double>(n));
  paired_floor(state, [&] { fake_quantize(v, qp, o); benchmark::ClobberMemory(); }, 12.0 * static_cast<double>(n));
}

void BM_quantize_log4(benchmark::State& state) {
  const std::int64_t n = size_arg(state);
  auto& x = data(n);
  const auto v = pare::tensor_view<const float>(x.data(), {n});
  log_quantized_tensor q = quantize_log(v, {.bits = 4});
  for (auto _ : state) {
    quantize_log(v, {.bits = 4}, q);
    benchmark::DoNotOptimize(q.bytes().data());
  }
  pare::bench::report_traffic(state, 8.0 * static_cast<double>(n), 0.5 * static_cast<double>(n), 0.5 * static_cast<double>(n));
}

// ---- matvec ----------------------------------------------------------------------------------

using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct layer {
  std::int64_t n = 4096;
  row_major w;
  Eigen::VectorXf x, y;
  layer() : w(row_major::Random(n, n)), x(Eigen::VectorXf::Random(n)), y(n) {}
  static layer& get() {
    static layer l;
    return l;
  }
};

void BM_matvec_fp32_eigen(benchmark::State& state) {
  auto& L = layer::get();
  for (auto _ : state) {
    L.y.noalias() = L.w * L.x;
    benchmark::DoNotOptimize(L.y.data());
  }
  pare::bench::report_traffic(state, 4.0 * static_cast<double>(L.n * L.n + L.n), 4.0 * static_cast<double>(L.n));
}

void run_matvec(benchmark::State& state, quantize_options opt, matvec_options mo = {}) {
  auto& L = layer::get();
  const auto q = quantize(pare::view(L.w), opt);
  const auto x = pare::tensor_view<const float>(L.x.data(), {L.n});
  Eigen::VectorXf yq(L.n);
  const auto y = pare::tensor_view<float>(yq.data(), {L.n});
  for (auto _ : state) {
    matvec(q, x, y, mo);
    benchmark::DoNotOptimize(yq.data());
  }
  // fp32 and quantized, interleaved in this process: the ratio the goal is about
  double tf = 1e30, tq = 1e30;
  for (int r = 0; r < 15; ++r) {
    tf = std::min(tf, best_seconds([&] { L.y.noalias() = L.w * L.x; benchmark::DoNotOptimize(L.y.data()); }, 1));
    tq = std::min(tq, best_seconds([&] { matvec(q, x, y, mo); benchmark::DoNotOptimize(yq.data()); }, 1));
  }
  state.counters["vs_fp32"] = tf / tq;
  state.counters["fp32_ms"] = tf * 1e3;
  state.counters["q_ms"] = tq * 1e3;
  pare::bench::report_traffic(state, static_cast<double>(q.size_bytes()) + 4.0 * static_cast<double>(L.n),
                              4.0 * static_cast<double>(L.n));
}
void BM_matvec_int8_per_channel(benchmark::State& s) { run_matvec(s, {.bits = 8, .axis = 0}); }
void BM_matvec_int8_affine_per_channel(benchmark::State& s) {
  run_matvec(s, {.bits = 8, .scheme = scheme::affine, .axis = 0});
}
void BM_matvec_int8_group64(benchmark::State& s) { run_matvec(s, {.bits = 8, .group_size = 64}); }
void BM_matvec_int4_group64(benchmark::State& s) { run_matvec(s, {.bits = 4, .group_size = 64}); }
void BM_matvec_int4_affine_group64(benchmark::State& s) {
  run_matvec(s, {.bits = 4, .scheme = scheme::affine, .group_size = 64});
}
void BM_matvec_int4_group128(benchmark::State& s) { run_matvec(s, {.bits = 4, .group_size = 128}); }
void BM_matvec_int4_per_channel(benchmark::State& s) { run_matvec(s, {.bits = 4, .axis = 0}); }

void BM_matvec_q8x_int8_per_channel(benchmark::State& s) { run_matvec(s, {.bits = 8, .axis = 0}, {.int8_activations = true}); }
void BM_matvec_q8x_int4_group64(benchmark::State& s) { run_matvec(s, {.bits = 4, .group_size = 64}, {.int8_activations = true}); }
void BM_matvec_q8x_int4_affine_group64(benchmark::State& s) {
  run_matvec(s, {.bits = 4, .scheme = scheme::affine, .group_size = 64}, {.int8_activations = true});
}

void matvec_args(benchmark::internal::Benchmark* b) { b->Unit(benchmark::kMicrosecond)->UseRealTime(); }

}  // namespace

BENCHMARK(BM_quantize_int8_per_tensor)->Apply(sizes);
BENCHMARK(BM_quantize_int8_per_channel)->Apply(sizes);
BENCHMARK(BM_quantize_int8_affine_per_channel)->Apply(sizes);
BENCHMARK(BM_quantize_int4_group64)->Apply(sizes);
BENCHMARK(BM_quantize_int4_affine_group64)->Apply(sizes);
BENCHMARK(BM_quantize_int8_given_qparams)->Apply(sizes);
BENCHMARK(BM_dequantize_int8_per_channel)->Apply(sizes);
BENCHMARK(BM_dequantize_int4_group64)->Apply(sizes);
BENCHMARK(BM_dequantize_int4_affine_group64)->Apply(sizes);
BENCHMARK(BM_fake_quantize_int8_per_channel)->Apply(sizes);
BENCHMARK(BM_quantize_log4)->Apply(sizes);
BENCHMARK(BM_matvec_fp32_eigen)->Apply(matvec_args);
BENCHMARK(BM_matvec_int8_per_channel)->Apply(matvec_args);
BENCHMARK(BM_matvec_int8_affine_per_channel)->Apply(matvec_args);
BENCHMARK(BM_matvec_int8_group64)->Apply(matvec_args);
BENCHMARK(BM_matvec_int4_group64)->Apply(matvec_args);
BENCHMARK(BM_matvec_int4_affine_group64)->Apply(matvec_args);
BENCHMARK(BM_matvec_int4_group128)->Apply(matvec_args);
BENCHMARK(BM_matvec_int4_per_channel)->Apply(matvec_args);
BENCHMARK(BM_matvec_q8x_int8_per_channel)->Apply(matvec_args);
BENCHMARK(BM_matvec_q8x_int4_group64)->Apply(matvec_args);
BENCHMARK(BM_matvec_q8x_int4_affine_group64)->Apply(matvec_args);
