// Cost of one schedule call, validation included. Schedules are scalar, not memory-bound, so
// there is no traffic to compare with the floor: the figure to read is ns per call, next to an
// inline cosine written without pare (the difference is the cost of validation).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <pare/sched.hpp>

namespace ps = pare::sched;

template <class S>
void run(benchmark::State& state, const S& s) {
  std::int64_t t = 0;
  double acc = 0;
  for (auto _ : state) {
    acc += s(t);
    t = (t + 1) & 1023;
    benchmark::DoNotOptimize(acc);
  }
}

// The same cosine written inline, without pare: the cost of validation is the difference.
static void inline_cosine(benchmark::State& state) {
  const double base = 0.1;
  const std::int64_t t_max = 1024;
  run(state, [&](std::int64_t t) {
    return base * (1 + std::cos(std::numbers::pi * static_cast<double>(t) /
                                static_cast<double>(t_max))) /
           2;
  });
}
BENCHMARK(inline_cosine);

static void cosine_annealing(benchmark::State& state) {
  run(state, ps::cosine_annealing{.base_lr = 0.1, .t_max = 1024});
}
BENCHMARK(cosine_annealing);

static void step_decay(benchmark::State& state) {
  run(state, ps::step_decay{.base_lr = 0.1, .step_size = 30});
}
BENCHMARK(step_decay);

static void multistep_decay(benchmark::State& state) {
  run(state, ps::multistep_decay{.base_lr = 0.1, .milestones = {100, 200, 300, 500, 800}});
}
BENCHMARK(multistep_decay);

static void one_cycle(benchmark::State& state) {
  run(state, ps::one_cycle{.max_lr = 0.1, .total_steps = 1024});
}
BENCHMARK(one_cycle);

static void cosine_warm_restarts(benchmark::State& state) {
  run(state, ps::cosine_warm_restarts{.base_lr = 0.1, .t_0 = 10, .t_mult = 2});
}
BENCHMARK(cosine_warm_restarts);

static void warmup_cosine(benchmark::State& state) {
  run(state, ps::warmup(ps::cosine_annealing{.base_lr = 0.1, .t_max = 1024}, {.steps = 100}));
}
BENCHMARK(warmup_cosine);

static void sequence_of_3(benchmark::State& state) {
  run(state, ps::sequence({ps::linear{.base_lr = 0.1}, ps::constant{.lr = 0.1},
                           ps::cosine_annealing{.base_lr = 0.1, .t_max = 600}},
                          {100, 400}));
}
BENCHMARK(sequence_of_3);

static void plateau_observe(benchmark::State& state) {
  ps::reduce_on_plateau p({.base_lr = 0.1});
  double metric = 1;
  for (auto _ : state) {
    metric *= 0.99999;
    benchmark::DoNotOptimize(p.observe(metric));
  }
}
BENCHMARK(plateau_observe);

