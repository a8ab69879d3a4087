// One optimizer step of each named optimizer at 1M, 16M and 64M floats, on 1 and 2 threads:
// pare's fused chain, a naive Eigen version (one statement per state update, as one would write
// it by hand), and libtorch's torch::optim when it was found (PARE_BENCH_TORCH). Every result
// carries `of_floor`: its real bytes/s over the triad floor measured in the same run (1.0 = as
// fast as a hand-fused loop can move the memory). Run:
//
//     ./build/release/benchmarks/bench_optim --benchmark_filter='/16777216/'
//
// Traffic per element (float): p and g are read, each state buffer read and written, p written.
// The naive version uses Eigen's float sqrt, whose AVX-512 code makes GCC 12 warn about an
// uninitialized intrinsic operand (a false positive in Eigen's headers).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <pare/optim.hpp>

#ifdef PARE_BENCH_TORCH
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>
#endif

#include "support/floor.hpp"

namespace {

using array = Eigen::Array<float, Eigen::Dynamic, 1>;
using map = Eigen::Map<array>;

// The user's parameter and gradient, shared by every benchmark of a size.
struct data {
  std::int64_t n = 0;
  std::unique_ptr<float[]> p, g;
};
data& get_data(std::int64_t n) {
  static data d;
  if (d.n != n) {
    d = {};  // free the previous size first
    d = {n, std::make_unique<float[]>(n), std::make_unique<float[]>(n)};
    for (std::int64_t i = 0; i < n; ++i) {
      d.p[i] = 0.01f * static_cast<float>(i % 101) - 0.5f;
      d.g[i] = 0.001f * static_cast<float>(i % 37) - 0.018f;
    }
  }
  return d;
}

void set_threads(int t) {
#ifdef _OPENMP
  omp_set_num_threads(t);
#else
  (void)t;
#endif
}

enum class kind { sgd, momentum, nag, adagrad, adadelta, adam, adamw, rmsprop, nadam };
constexpr const char* kind_name[] = {"sgd", "momentum", "nag", "adagrad", "adadelta",
                                     "adam", "adamw", "rmsprop", "nadam"};
/// State buffers per element (each read and written once per step).
constexpr int state_buffers[] = {0, 1, 1, 1, 2, 2, 2, 1, 2};

void report(benchmark::State& state, kind k, std::int64_t n, int threads) {
  const double b = 4.0 * static_cast<double>(n);
  const int s = state_buffers[static_cast<int>(k)];
  pare::bench::report_traffic(state, (2 + s) * b, (1 + s) * b, 0, threads);
}

// ---- pare --------------------------------------------------------------------------------

template <class Opt>
void run_pare(benchmark::State& state, kind k, typename Opt::options_type o) {
  const std::int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  set_threads(threads);
  data& d = get_data(n);
  Opt opt(o);
  opt.add(pare::tensor_view<float>(d.p.get(), {n}), pare::tensor_view<const float>(d.g.get(), {n}));
  opt.step();  // the first step: OpenMP's thread pool starts
  for (auto _ : state) {
    opt.step();
    benchmark::ClobberMemory();
  }
  report(state, k, n, threads);
  set_threads(1);
}

void bm_pare(benchmark::State& state, kind k) {
  using namespace pare::optim;
  switch (k) {
    case kind::sgd: run_pare<sgd<float>>(state, k, {.lr = 1e-3}); break;
    case kind::momentum: run_pare<momentum<float>>(state, k, {.lr = 1e-3}); break;
    case kind::nag: run_pare<nag<float>>(state, k, {.lr = 1e-3}); break;
    case kind::adagrad: run_pare<adagrad<float>>(state, k, {}); break;
    case kind::adadelta: run_pare<adadelta<float>>(state, k, {}); break;
    case kind::adam: run_pare<adam<float>>(state, k, {}); break;
    case kind::adamw: run_pare<adamw<float>>(state, k, {}); break;
    case kind::rmsprop: run_pare<rmsprop<float>>(state, k, {}); break;
    case kind::nadam: run_pare<nadam<float>>(state, k, {}); break;
  }
}

// ---- naive Eigen: one statement per state update -----------------------------------------

struct naive_state {
  array a, b;
  std::int64_t t = 0;
  double mu_product = 1;
};

// Defaults of each optimizer (PyTorch's), the update written the obvious way on [lo, hi).
void naive_step(kind k, float* pp, const float* gp, naive_state& s, std::int64_t lo, std::int64_t hi,
                std::int64_t t) {
  const std::int64_t n = hi - lo;
  map p(pp + lo, n);
  Eigen::Map<const array> g(gp + lo, n);
  auto a = s.a.segment(lo, k == kind::sgd ? 0 : n);
  auto b = s.b.segment(lo, state_buffers[static_cast<int>(k)] == 2 ? n : 0);
  const double td = static_cast<double>(t);
  switch (k) {
    case kind::sgd:
      p -= 1e-3f * g;
      break;
    case kind::momentum:
      a = 0.9f * a + g;
      p -= 1e-3f * a;
      break;
    case kind::nag:
      a = 0.9f * a + g;
      p -= 1e-3f * (g + 0.9f * a);
      break;
    case kind::adagrad:
      a += g.square();
      p -= 1e-2f * g / (a.sqrt() + 1e-10f);
      break;
    case kind::adadelta:
      a = 0.9f * a + 0.1f * g.square();
      b = 0.9f * b + 0.1f * ((b + 1e-6f).sqrt() / (a + 1e-6f).sqrt() * g).square();
      p -= ((b + 1e-6f).sqrt() / (a + 1e-6f).sqrt() * g);  // (as written by hand: recomputed)
      break;
    case kind::adam:
    case kind::adamw: {
      if (k == kind::adamw) p *= 1.0f - 1e-3f * 1e-2f;
      a = 0.9f * a + 0.1f * g;
      b = 0.999f * b + 0.001f * g.square();
      const auto c1 = static_cast<float>(1e-3 / (1 - std::pow(0.9, td)));
      const auto c2 = static_cast<float>(1 / std::sqrt(1 - std::pow(0.999, td)));
      p -= c1 * a / (b.sqrt() * c2 + 1e-8f);
      break;
    }
    case kind::rmsprop:
      a = 0.99f * a + 0.01f * g.square();
      p -= 1e-2f * g / (a.sqrt() + 1e-8f);
      break;
    case kind::nadam: {
      const double mu = 0.9 * (1 - 0.5 * std::pow(0.96, td * 4e-3));
      const double mu1 = 0.9 * (1 - 0.5 * std::pow(0.96, (td + 1) * 4e-3));
      const double prod = s.mu_product * mu;
      a = 0.9f * a + 0.1f * g;
      b = 0.999f * b + 0.001f * g.square();
      const auto c2 = static_cast<float>(1 / std::sqrt(1 - std::pow(0.999, td)));
      p -= static_cast<float>(2e-3 * (1 - mu) / (1 - prod)) * g / (b.sqrt() * c2 + 1e-8f);
      p -= static_cast<float>(2e-3 * mu1 / (1 - prod * mu1)) * a / (b.sqrt() * c2 + 1e-8f);
      break;
    }
  }
}

void bm_naive(benchmark::State& state, kind k) {
  const std::int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  data& d = get_data(n);
  naive_state s;
  s.a = array::Zero(k == kind::sgd ? 0 : n);
  s.b = array::Zero(state_buffers[static_cast<int>(k)] == 2 ? n : 0);
  auto step = [&] {
    ++s.t;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
    {
      const std::int64_t i = omp_get_thread_num(), m = omp_get_num_threads();
      naive_step(k, d.p.get(), d.g.get(), s, n * i / m, n * (i + 1) / m, s.t);
    }
#else
    naive_step(k, d.p.get(), d.g.get(), s, 0, n, s.t);
#endif
    if (k == kind::nadam) s.mu_product *= 0.9 * (1 - 0.5 * std::pow(0.96, static_cast<double>(s.t) * 4e-3));
  };
  step();
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  report(state, k, n, threads);
}

// ---- libtorch ----------------------------------------------------------------------------

#ifdef PARE_BENCH_TORCH
void bm_torch(benchmark::State& state, kind k) {
  const std::int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  torch::set_num_threads(threads);
  data& d = get_data(n);
  torch::NoGradGuard no_grad;
  auto p = torch::from_blob(d.p.get(), {n}, torch::kFloat);
  p.set_requires_grad(true);
  p.mutable_grad() = torch::from_blob(d.g.get(), {n}, torch::kFloat);
  std::vector<torch::Tensor> params{p};
  std::unique_ptr<torch::optim::Optimizer> opt;
  switch (k) {
    case kind::sgd: opt = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(1e-3)); break;
    case kind::momentum: opt = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(1e-3).momentum(0.9)); break;
    case kind::nag: opt = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(1e-3).momentum(0.9).nesterov(true)); break;
    case kind::adagrad: opt = std::make_unique<torch::optim::Adagrad>(params, torch::optim::AdagradOptions(1e-2)); break;
    case kind::adam: opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(1e-3)); break;
    case kind::adamw: opt = std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(1e-3)); break;
    case kind::rmsprop: opt = std::make_unique<torch::optim::RMSprop>(params, torch::optim::RMSpropOptions(1e-2)); break;
    default: state.SkipWithError("no such optimizer in libtorch's C++ API"); return;
  }
  opt->step();
  for (auto _ : state) {
    opt->step();
    benchmark::ClobberMemory();
  }
  report(state, k, n, threads);
  torch::set_num_threads(1);
}
#endif

void args(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {std::int64_t{1} << 20, std::int64_t{16} << 20, std::int64_t{64} << 20}) {
    if (pare::bench::smoke() && n > (std::int64_t{16} << 20)) continue;
    for (int t : {1, 2}) b->Args({n, t});
  }
  b->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

const bool registered = [] {
  for (int i = 0; i < 9; ++i) {
    const auto k = static_cast<kind>(i);
    const std::string name = kind_name[i];
    benchmark::RegisterBenchmark((name + "/pare").c_str(), bm_pare, k)->Apply(args);
    benchmark::RegisterBenchmark((name + "/naive").c_str(), bm_naive, k)->Apply(args);
#ifdef PARE_BENCH_TORCH
    if (k != kind::adadelta && k != kind::nadam)
      benchmark::RegisterBenchmark((name + "/libtorch").c_str(), bm_torch, k)->Apply(args);
#endif
  }
  return true;
}();

}  // namespace
