// pare::distill kernels against the bandwidth floor: kd_loss value + gradient (the fused row
// pass, online and offline), cross-entropy, softmax, logit_mse, and an unfused multi-pass Eigen
// version of kd_loss that allocates its temporaries per call as autograd does (the baseline the
// fusion is measured against). Traffic counts each input read once and the gradient written once.
#include <cstdint>
#include <vector>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <pare/distill.hpp>

#include "support/floor.hpp"

namespace {

template <class T>
struct logits {
  std::int64_t batch, classes;
  std::vector<T> s, t, p, g;
  std::vector<std::int64_t> y;
  logits(std::int64_t b, std::int64_t c) : batch(b), classes(c) {
    const auto n = static_cast<std::size_t>(b * c);
    s.resize(n), t.resize(n), p.resize(n), g.resize(n), y.resize(static_cast<std::size_t>(b));
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = static_cast<T>(4 * pare::detail::uniform_double(1, i) - 2);
      t[i] = static_cast<T>(6 * pare::detail::uniform_double(2, i) - 3);
    }
    for (std::size_t r = 0; r < y.size(); ++r) y[r] = static_cast<std::int64_t>(r * 7919) % c;
    pare::distill::softmax(cv(t), v(p), 4.0);
  }
  pare::tensor_view<const T> cv(const std::vector<T>& x) const { return {x.data(), {batch, classes}}; }
  pare::tensor_view<T> v(std::vector<T>& x) { return {x.data(), {batch, classes}}; }
  double bytes() const { return static_cast<double>(batch * classes) * sizeof(T); }
};

void shapes(benchmark::internal::Benchmark* b) {
  b->Args({256, 1000})->Args({64, 100});
  if (!pare::bench::smoke()) b->Args({1024, 10000});
  b->Unit(benchmark::kMicrosecond);
}

template <class T>
void BM_kd_loss(benchmark::State& state) {
  logits<T> d(state.range(0), state.range(1));
  const pare::distill::kd_loss kd{.temperature = 4.0, .alpha = 0.9};
  for (auto _ : state) benchmark::DoNotOptimize(kd(d.cv(d.s), d.cv(d.t), d.y, d.v(d.g)));
  pare::bench::report_traffic(state, 2 * d.bytes(), d.bytes(), d.bytes());
}
BENCHMARK(BM_kd_loss<float>)->Apply(shapes);
BENCHMARK(BM_kd_loss<double>)->Apply(shapes);

template <class T>
void BM_kd_loss_T1(benchmark::State& state) {  // T = 1: the soft and hard softmax coincide
  logits<T> d(state.range(0), state.range(1));
  const pare::distill::kd_loss kd{.temperature = 1.0, .alpha = 0.5};
  for (auto _ : state) benchmark::DoNotOptimize(kd(d.cv(d.s), d.cv(d.t), d.y, d.v(d.g)));
  pare::bench::report_traffic(state, 2 * d.bytes(), d.bytes(), d.bytes());
}
BENCHMARK(BM_kd_loss_T1<float>)->Apply(shapes);

template <class T>
void BM_kd_loss_offline(benchmark::State& state) {
  logits<T> d(state.range(0), state.range(1));
  const pare::distill::kd_loss kd{.temperature = 4.0, .alpha = 0.9};
  for (auto _ : state) benchmark::DoNotOptimize(kd.offline(d.cv(d.s), d.cv(d.p), d.y, d.v(d.g)));
  pare::bench::report_traffic(state, 2 * d.bytes(), d.bytes(), d.bytes());
}
BENCHMARK(BM_kd_loss_offline<float>)->Apply(shapes);

// The unfused version: one Eigen statement per operation, fresh temporaries every call.
template <class T>
void BM_kd_loss_unfused(benchmark::State& state) {
  using matrix = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using cmap = Eigen::Map<const matrix>;
  logits<T> d(state.range(0), state.range(1));
  const T temperature = 4, alpha = T(0.9);
  const auto B = d.batch, C = d.classes;
  auto log_softmax = [](const matrix& x) {
    matrix m = x.colwise() - x.rowwise().maxCoeff();
    matrix lse = m.exp().rowwise().sum().log();
    return matrix(m.colwise() - lse.col(0));
  };
  for (auto _ : state) {
    const cmap s(d.s.data(), B, C), t(d.t.data(), B, C);
    matrix logq = log_softmax(s / temperature);
    matrix logp = log_softmax(t / temperature);
    matrix p = logp.exp();
    const T kl = (p * (logp - logq)).sum() / static_cast<T>(B);
    matrix logr = log_softmax(s);
    T ce = 0;
    matrix onehot = matrix::Zero(B, C);
    for (std::int64_t r = 0; r < B; ++r) {
      ce -= logr(r, d.y[static_cast<std::size_t>(r)]);
      onehot(r, d.y[static_cast<std::size_t>(r)]) = 1;
    }
    matrix grad = (logq.exp() - p) * (alpha * temperature / static_cast<T>(B));
    grad += (logr.exp() - onehot) * ((1 - alpha) / static_cast<T>(B));
    Eigen::Map<matrix>(d.g.data(), B, C) = grad;
    benchmark::DoNotOptimize(alpha * temperature * temperature * kl + (1 - alpha) * ce / static_cast<T>(B));
  }
  pare::bench::report_traffic(state, 2 * d.bytes(), d.bytes(), d.bytes());
}
BENCHMARK(BM_kd_loss_unfused<float>)->Apply(shapes);

template <class T>
void BM_cross_entropy(benchmark::State& state) {
  logits<T> d(state.range(0), state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(pare::distill::cross_entropy{}(d.cv(d.s), d.y, d.v(d.g)));
  pare::bench::report_traffic(state, d.bytes(), d.bytes(), d.bytes());
}
BENCHMARK(BM_cross_entropy<float>)->Apply(shapes);

template <class T>
void BM_softmax(benchmark::State& state) {
  logits<T> d(state.range(0), state.range(1));
  for (auto _ : state) {
    pare::distill::softmax(d.cv(d.s), d.v(d.g), 2.0);
    benchmark::ClobberMemory();
  }
  pare::bench::report_traffic(state, d.bytes(), d.bytes(), d.bytes());
}
BENCHMARK(BM_softmax<float>)->Apply(shapes);

template <class T>
void BM_logit_mse(benchmark::State& state) {
  logits<T> d(state.range(0), state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(pare::distill::logit_mse{}(d.cv(d.s), d.cv(d.t), d.v(d.g)));
  pare::bench::report_traffic(state, 2 * d.bytes(), d.bytes(), d.bytes());
}
BENCHMARK(BM_logit_mse<float>)->Apply(shapes);

}  // namespace
