// Batching and shuffling, the training loop and its hooks, and fit with a pare::optim chain
// that carries its own schedule and pruning mask.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include <pare/optim.hpp>
#include <pare/prune.hpp>
#include <pare/sched.hpp>

#include "common/dataset.hpp"
#include "common/runtime.hpp"
#include "common/train.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"

namespace ex = pare_examples;

TEST_CASE("permutation is a seeded shuffle of every index") {
  for (const std::int64_t n : {0, 1, 2, 17, 1000}) {
    const auto p = ex::permutation(n, 42);
    REQUIRE(static_cast<std::int64_t>(p.size()) == n);
    std::vector<std::int64_t> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t i = 0; i < n; ++i) CHECK(sorted[static_cast<std::size_t>(i)] == i);
    CHECK(ex::permutation(n, 42) == p);
  }
  CHECK(ex::permutation(1000, 1) != ex::permutation(1000, 2));
  // Uniform enough: each of 10 positions of a 10-permutation holds 0 about 1/10 of the time.
  std::vector<int> first(10);
  for (std::uint64_t s = 0; s < 5000; ++s) ++first[static_cast<std::size_t>(ex::permutation(10, s)[0])];
  for (const int c : first) CHECK(std::abs(c - 500) < 90);  // > 4 standard deviations
}

TEST_CASE("batcher covers every row once per epoch, in a new order each epoch") {
  ex::batcher b(103, 10, 7);
  CHECK(b.batches() == 11);
  std::vector<std::vector<std::int64_t>> epochs;
  for (int e = 0; e < 3; ++e) {
    b.start_epoch(e);
    std::vector<std::int64_t> seen;
    for (std::int64_t i = 0; i < b.batches(); ++i) {
      const auto rows = b.rows(i);
      CHECK(rows.size() == (i + 1 < b.batches() ? 10u : 3u));
      seen.insert(seen.end(), rows.begin(), rows.end());
    }
    epochs.push_back(seen);
    std::sort(seen.begin(), seen.end());
    for (std::int64_t i = 0; i < 103; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i);
  }
  CHECK(epochs[0] != epochs[1]);
  CHECK(epochs[1] != epochs[2]);
  ex::batcher again(103, 10, 7);
  again.start_epoch(1);
  CHECK(std::vector<std::int64_t>(again.rows(0).begin(), again.rows(0).end()) ==
        std::vector<std::int64_t>(epochs[1].begin(), epochs[1].begin() + 10));
  CHECK_THROWS_AS(ex::batcher(0, 10, 1), std::invalid_argument);
  CHECK_THROWS_AS(ex::batcher(10, 0, 1), std::invalid_argument);
}

namespace {

/// Three Gaussian blobs in 4-D, well separated: a problem a small MLP must solve.
ex::dataset<float> blobs(std::int64_t n, std::uint64_t seed) {
  ex::dataset<float> d;
  d.features = 4;
  const auto noise = pare_test::random_normal<float>(static_cast<std::size_t>(n * 4), seed, 0, 0.5);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t c = i % 3;
    d.y.push_back(c);
    for (std::int64_t k = 0; k < 4; ++k)
      d.x.push_back((k == c ? 3.0f : 0.0f) + noise[static_cast<std::size_t>(i * 4 + k)]);
  }
  return d;
}

/// An optimizer that records what fit asks of it, and takes a plain SGD step.
struct recording_sgd {
  std::vector<std::pair<pare::tensor_view<float>, pare::tensor_view<const float>>> params;
  std::vector<double> lrs;
  double lr_ = 0;
  int steps = 0;
  void add(pare::tensor_view<float> p, pare::tensor_view<const float> g) { params.emplace_back(p, g); }
  void set_lr(double lr) {
    lr_ = lr;
    lrs.push_back(lr);
  }
  void step() {
    for (auto& [p, g] : params) p.array() -= static_cast<float>(lr_) * g.array();
    ++steps;
  }
};

}  // namespace

TEST_CASE("split_off holds out a random subset and keeps the rest") {
  const auto d = blobs(50, 1);
  const auto [rest, held] = ex::split_off(d, 12, 3);
  CHECK(rest.size() == 38);
  CHECK(held.size() == 12);
  // Every original row appears exactly once across the two parts.
  std::multiset<std::vector<float>> all, parts;
  for (std::int64_t i = 0; i < d.size(); ++i) all.insert({d.row(i).begin(), d.row(i).end()});
  for (const auto* p : {&rest, &held})
    for (std::int64_t i = 0; i < p->size(); ++i) parts.insert({p->row(i).begin(), p->row(i).end()});
  CHECK(all == parts);
  CHECK_THROWS_AS(ex::split_off(d, 51, 3), std::invalid_argument);
}

TEST_CASE("fit trains an MLP, calls every hook once per step and honours the schedule") {
  const auto train = blobs(600, 1), val = blobs(300, 2);
  ex::mlp<float> net({.sizes = {4, 16, 3}, .seed = 4});
  recording_sgd opt;
  for (auto& l : net.layers()) {
    opt.add(l.w(), l.dw());
    opt.add(l.b(), l.db());
  }
  const double before = ex::evaluate(net, val).loss;
  std::int64_t forwards = 0, backwards = 0, steps = 0, epochs_seen = 0;
  const auto schedule = [](std::int64_t t) { return 0.1 / (1.0 + 0.01 * static_cast<double>(t)); };
  const auto r = ex::fit(net, opt, schedule, train, &val,
                         {.epochs = 4, .batch_size = 32, .seed = 9, .progress = ex::progress_style::quiet},
                         {.before_forward = [&](std::int64_t s) { CHECK(s == forwards++); },
                          .after_backward = [&](std::int64_t s) { CHECK(s == backwards++); },
                          .after_step = [&](std::int64_t s) { CHECK(s == steps++); },
                          .after_epoch = [&](const ex::epoch_record& e) {
                            CHECK(e.epoch == epochs_seen++);
                            return false;
                          }});
  const std::int64_t per_epoch = (600 + 31) / 32;
  CHECK(r.steps == 4 * per_epoch);
  CHECK(forwards == r.steps);
  CHECK(backwards == r.steps);
  CHECK(steps == r.steps);
  CHECK(opt.steps == r.steps);
  CHECK(epochs_seen == 4);
  CHECK_FALSE(r.stopped_early);
  REQUIRE(opt.lrs.size() == static_cast<std::size_t>(r.steps));
  for (std::size_t t = 0; t < opt.lrs.size(); ++t) CHECK(opt.lrs[t] == schedule(static_cast<std::int64_t>(t)));
  CHECK(r.step_losses.size() == static_cast<std::size_t>(r.steps));
  REQUIRE(r.epochs.size() == 4);
  CHECK(r.epochs.back().train_loss < r.epochs.front().train_loss);
  const auto after = ex::evaluate(net, val);
  CHECK(after.loss < before / 4);
  CHECK(after.accuracy > 0.97);
  CHECK(r.epochs.back().val_accuracy == after.accuracy);
  CHECK(net.training());
}

TEST_CASE("fit stops when after_epoch says so; the loss sees the batch's dataset rows") {
  const auto train = blobs(90, 1);
  ex::mlp<float> net({.sizes = {4, 8, 3}, .seed = 4});
  recording_sgd opt;
  for (auto& l : net.layers()) opt.add(l.w(), l.dw());
  std::vector<int> seen(90);
  const auto loss = [&](pare::tensor_view<const float> z, std::span<const std::int64_t> labels,
                        std::span<const std::int64_t> rows, pare::tensor_view<float> g) {
    for (std::size_t k = 0; k < rows.size(); ++k) {
      CHECK(labels[k] == train.y[static_cast<std::size_t>(rows[k])]);
      ++seen[static_cast<std::size_t>(rows[k])];
    }
    return ex::softmax_cross_entropy(z, labels, g);
  };
  const auto r = ex::fit(net, opt, [](std::int64_t) { return 0.05; }, train, nullptr,
                         {.epochs = 10, .batch_size = 16, .progress = ex::progress_style::quiet},
                         {.after_epoch = [](const ex::epoch_record& e) { return e.epoch == 1; }},
                         loss);
  CHECK(r.epochs.size() == 2);
  CHECK(r.stopped_early);
  for (const int c : seen) CHECK(c == 2);  // every row once per epoch
}

TEST_CASE("evaluate counts the argmax of each row") {
  ex::mlp<double> net({.sizes = {2, 2}, .seed = 0});
  auto& l = net.layers()[0];
  l.weight = {1, 0, 0, 1};  // logits = x
  l.bias = {0, 0};
  ex::dataset<double> d{.features = 2, .x = {1, 0, 0, 1, 2, 3, 5, 4}, .y = {0, 1, 0, 0}};
  const auto e = ex::evaluate(net, d, 3);  // two batches: 3 rows and 1
  CHECK(e.accuracy == 0.75);
  const double want = (std::log(1 + std::exp(-1.0)) * 2 + std::log(1 + std::exp(1.0)) +
                       std::log(1 + std::exp(-1.0))) / 4;
  CHECK(e.loss == pare_test::Approx(want).epsilon(1e-12));
}

TEST_CASE("fit drives a pare::optim chain whose schedule and pruning mask live inside it") {
  // A chain has no set_lr: fit records the schedule it is given, the chain applies its own.
  const auto train = blobs(300, 1), val = blobs(150, 2);
  ex::mlp<float> net({.sizes = {4, 16, 3}, .seed = 4});
  pare::prune::pruner<float> pruner({.scope = pare::prune::scope::global});
  for (auto& l : net.layers()) pruner.add(l.w());
  pruner.prune_to(0.5);
  const pare::sched::cosine_annealing lr{.base_lr = 0.1, .t_max = 200};
  namespace po = pare::optim;
  auto opt = po::chain<float>(po::scale_by_momentum{.momentum = 0.9},
                              po::scale_by_learning_rate<pare::sched::cosine_annealing>{.lr = lr},
                              po::keep_mask(pruner));
  for (auto& l : net.layers()) {
    opt.add(l.w(), l.dw());
    opt.add(l.b(), l.db());
  }
  const auto r = ex::fit(net, opt, lr, train, &val,
                         {.epochs = 3, .batch_size = 32, .seed = 9, .progress = ex::progress_style::quiet});
  CHECK(opt.steps() == r.steps);
  CHECK(r.epochs.back().lr == lr(r.steps - 1));
  CHECK(r.epochs.back().val_accuracy > 0.95);
  std::int64_t zeros = 0, masked = 0;
  for (std::size_t i = 0; i < net.layers().size(); ++i) {
    const auto w = net.layers()[i].w();
    const auto m = pruner.mask(i);
    for (std::int64_t k = 0; k < w.size(); ++k) {
      masked += m.data()[k] == 0;
      if (m.data()[k] == 0) zeros += w.data()[k] == 0.0f;
    }
  }
  CHECK(masked == (4 * 16 + 16 * 3) / 2);
  CHECK(zeros == masked);  // pruned weights stayed exactly zero through training
}

TEST_CASE("thread_picker keeps the faster of 1 and all threads, per epoch") {
  const std::int64_t steps = 40;
  const auto run_epoch = [&](ex::thread_picker& p, double one, double many) {
    for (std::int64_t b = 0; b < steps; ++b) {
      const int n = p.before_step(b, steps);
      CHECK(Eigen::nbThreads() == n);  // applied to Eigen's products and pare's loops
      CHECK(pare::max_threads() == n);
      p.after_step(b, steps, n == 1 ? one : many);
    }
    return p.chosen();
  };
  ex::thread_picker adaptive(0, 4);
  CHECK(adaptive.adaptive());
  CHECK(run_epoch(adaptive, 2.0, 1.0) == 4);   // parallel steps faster
  CHECK(run_epoch(adaptive, 1.0, 9.0) == 1);   // a busy machine: one thread wins
  // Probing alternates 1 and 4 threads after two warm-up steps.
  ex::thread_picker p(0, 4);
  std::vector<int> seen;
  for (std::int64_t b = 0; b < 12; ++b) {
    seen.push_back(p.before_step(b, steps));
    p.after_step(b, steps, 1.0);
  }
  CHECK(seen == std::vector<int>{4, 4, 1, 4, 1, 4, 1, 4, 1, 4, 1, 1});  // a tie keeps 1
  // Parallel steps that turn 3× slower than probed (another process took a core) fall back to
  // one thread after four of them, for that epoch only.
  ex::thread_picker slowed(0, 4);
  std::vector<int> used;
  for (std::int64_t b = 0; b < steps; ++b) {
    const int n = slowed.before_step(b, steps);
    used.push_back(n);
    slowed.after_step(b, steps, n == 1 ? 2.0 : (b < 20 ? 1.0 : 3.5));
  }
  CHECK(used[19] == 4);
  CHECK(used[23] == 4);  // the fourth slow step
  CHECK(used[24] == 1);
  CHECK(used.back() == 1);
  CHECK(slowed.chosen() == 1);
  CHECK(slowed.before_step(0, steps) == 4);  // the next epoch starts from the probed choice
  // Fixed counts never probe; epochs too short to probe keep the last choice.
  ex::thread_picker fixed(3, 4);
  CHECK_FALSE(fixed.adaptive());
  CHECK(run_epoch(fixed, 1.0, 9.0) == 3);
  ex::thread_picker short_epochs(0, 4);
  for (std::int64_t b = 0; b < 5; ++b) CHECK(short_epochs.before_step(b, 5) == 4);
  ex::set_compute_threads(ex::hardware_threads());
}
