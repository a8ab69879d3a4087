// The main demo: train a Fashion-MNIST classifier, then make it smaller with every technique
// pare offers, and report each result against the teacher (issue 8).
//
// Stages: 1 teacher, 2 optimizers side by side, 3 pruning, 4 quantization, 5 distillation,
// 6 all together. Every stage trains with the same loop (`fit` and its hooks) and pare's
// components: pare::optim optimizers driven by pare::sched schedules, pare::reg dropout and early
// stopping, pare::prune's pruner and gradual driver with the optimizer's keep_mask transform,
// pare::quant's quantizers, fake quantization and quantized matvec, pare::distill's kd_loss.
//
//   fashion_mnist [--quick] [--seed N] [--data DIR] [--threads N] [--json PATH]
#include <pare/pare.hpp>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "common/cli.hpp"
#include "common/fashion_mnist.hpp"
#include "common/inference.hpp"
#include "common/json.hpp"
#include "common/mlp.hpp"
#include "common/progress.hpp"
#include "common/runtime.hpp"
#include "common/svg_chart.hpp"
#include "common/train.hpp"

namespace ex = pare_examples;
namespace po = pare::optim;
namespace ps = pare::sched;
namespace pp = pare::prune;
namespace pq = pare::quant;
namespace pd = pare::distill;

namespace {

struct config {
  bool quick = false;
  std::uint64_t seed = 1;
  std::string data{ex::fashion_mnist_default_dir};
  std::int64_t threads = 0;
  std::string json_path;
  std::int64_t epochs = 0;  // 0 = the stage's default
  bool quiet = false;
};

/// Epochs of each stage (full run; `quick()` for --quick).
struct budget {
  std::int64_t teacher = 20;
  std::int64_t optimizers = 2;
  std::int64_t prune = 6;        /// per sparsity level: pruning over the first half, then fine-tuning
  std::int64_t prune_2_4 = 2;    ///< 2:4: one-shot, then fine-tuning
  std::int64_t qat = 2;
  std::int64_t student = 10;     ///< each student run, alone or distilled
  std::int64_t combined = 3;

  /// --quick: every stage, shorter, so that CI's sanitized (-O1, ASan + UBSan) run also ends in
  /// minutes.
  static budget quick() {
    return {.teacher = 4, .optimizers = 1, .prune = 2, .prune_2_4 = 1, .qat = 1, .student = 3,
            .combined = 2};
  }
};

/// The data every stage uses: a validation split carved from the training set.
struct splits {
  ex::dataset<float> train, val, test;
};

/// One row of the summary table.
struct table_row {
  std::string stage, model;
  double accuracy = 0;
  double bytes = 0;
  std::string note;
};

/// Everything a stage needs and reports into.
struct context {
  config cfg;
  splits data;
  budget epochs = {};
  ex::json results = ex::json::object();
  std::vector<table_row> table = {};
  ex::progress_style progress = ex::progress_style::automatic;
  double teacher_accuracy = 0, teacher_bytes = 0;

  /// `small`: a model too small to share a step between threads (the students): one thread
  /// unless --threads says otherwise, with no probing of two.
  [[nodiscard]] ex::fit_options fit(std::string label, std::int64_t epochs,
                                    std::uint64_t seed_offset = 0, bool small = false) const {
    return {.epochs = epochs,
            .batch_size = 128,
            .seed = cfg.seed + seed_offset,
            .label = std::move(label),
            .progress = progress,
            .threads = cfg.threads > 0 ? static_cast<int>(cfg.threads) : small ? 1 : 0};
  }
  [[nodiscard]] std::int64_t steps_per_epoch() const { return (data.train.size() + 127) / 128; }
};

constexpr double teacher_lr = 0.05, teacher_dropout = 0.2, weight_decay = 5e-4;
constexpr double finetune_lr = 0.01;

std::string human_bytes(double b) {
  if (b >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

std::string architecture(const ex::mlp<float>& net) {
  std::string s = std::to_string(net.inputs());
  for (const auto& l : net.layers()) s += fmt::format("-{}", l.out);
  return s;
}

std::string points(double accuracy, double reference) {
  return fmt::format("{:+.2f} pt", 100 * (accuracy - reference));
}

/// A copy of `net`'s weights and biases in a network of the same shape without dropout.
ex::mlp<float> without_dropout(const ex::mlp<float>& net) {
  std::vector<std::int64_t> sizes = {net.inputs()};
  for (const auto& l : net.layers()) sizes.push_back(l.out);
  ex::mlp<float> copy({.sizes = sizes});
  for (std::size_t i = 0; i < sizes.size() - 1; ++i) {
    copy.layers()[i].weight = net.layers()[i].weight;
    copy.layers()[i].bias = net.layers()[i].bias;
  }
  return copy;
}

/// Bytes of a float32 model.
double float_bytes(const ex::mlp<float>& net) { return 4.0 * static_cast<double>(net.parameters()); }
/// Bytes of the float32 biases (kept in float by every compressed form here).
double bias_bytes(const ex::mlp<float>& net) {
  double b = 0;
  for (const auto& l : net.layers()) b += 4.0 * static_cast<double>(l.out);
  return b;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double load_average() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : 0.0;
}

void stage_header(const context& ctx, std::string_view title) {
  if (!ctx.cfg.quiet) fmt::print("\n== {}\n", title);
  std::fflush(stdout);
}

/// Registers every weight with the optimizer's options and every bias without weight decay
/// (decaying biases only pulls the units' offsets toward zero; PyTorch recipes exclude them).
template <class Optimizer>
void add_with_bias_group(Optimizer& opt, ex::mlp<float>& net) {
  for (auto& l : net.layers()) {
    opt.add(l.w(), l.dw());
    opt.add(l.b(), l.db(), {.weight_decay = 0.0});
  }
}

template <class F>
std::vector<double> history_of(const ex::fit_result& run, F ex::epoch_record::*field) {
  std::vector<double> v;
  for (const auto& r : run.epochs) v.push_back(static_cast<double>(r.*field));
  return v;
}

// --- 1. teacher --------------------------------------------------------------------------------

/// Stage 1: 784-512-256-10 with dropout, pare::optim::nag (SGD with Nesterov momentum) with
/// coupled weight decay on the weights, its lr set every step from a pare::sched cosine schedule,
/// and pare::reg::early_stopping on validation accuracy restoring the best epoch's weights.
ex::mlp<float> train_teacher(context& ctx) {
  stage_header(ctx, "1. teacher");
  const std::int64_t epochs = ctx.epochs.teacher;
  ex::mlp<float> net(
      {.sizes = {784, 512, 256, 10}, .dropout = teacher_dropout, .seed = ctx.cfg.seed});
  po::nag<float> opt({.lr = teacher_lr, .weight_decay = weight_decay});
  add_with_bias_group(opt, net);
  // With the cosine schedule the rate is still high in the first half and validation accuracy
  // jumps around there; only the second half is monitored (Keras' start_from_epoch).
  pare::reg::early_stopping stop({.mode = pare::reg::mode::max,
                                  .patience = 4,
                                  .restore_best = true,
                                  .start_from_epoch = epochs / 2});
  for (auto& l : net.layers()) {
    stop.track(l.w());
    stop.track(l.b());
  }
  // Cosine annealing to zero over the whole run (SGDR without restarts, Loshchilov & Hutter 2017).
  const ps::cosine_annealing lr{.base_lr = teacher_lr,
                                .t_max = epochs * ctx.steps_per_epoch()};
  const auto run = ex::fit(net, opt, lr, ctx.data.train, &ctx.data.val,
                           ctx.fit("teacher", epochs),
                           {.after_epoch = [&](const ex::epoch_record& r) {
                             return stop.observe(r.val_accuracy);
                           }});
  stop.restore();

  const auto test = ex::evaluate(net, ctx.data.test);
  double train_seconds = 0;
  for (const auto& r : run.epochs) train_seconds += r.seconds;
  const auto ran = static_cast<double>(run.epochs.size());

  auto& t = ctx.results["teacher"];
  t["architecture"] = architecture(net);
  t["dropout"] = teacher_dropout;
  t["optimizer"] = ex::json::object({{"name", "nag"},
                                     {"lr", teacher_lr},
                                     {"momentum", 0.9},
                                     {"nesterov", true},
                                     {"weight_decay", weight_decay},
                                     {"schedule", "cosine_annealing"},
                                     {"batch_size", 128}});
  t["test_accuracy"] = test.accuracy;
  t["test_loss"] = test.loss;
  t["val_accuracy"] = stop.best();
  t["parameters"] = net.parameters();
  t["bytes"] = float_bytes(net);
  t["epochs"] = static_cast<std::int64_t>(run.epochs.size());
  t["best_epoch"] = stop.best_epoch() + 1;
  t["stopped_early"] = run.stopped_early;
  t["seconds"] = run.seconds;
  t["seconds_per_epoch"] = train_seconds / ran;
  t["samples_per_second"] = static_cast<double>(ctx.data.train.size()) * ran / train_seconds;
  t["history"] = ex::json::object(
      {{"train_loss", ex::json::array(history_of(run, &ex::epoch_record::train_loss))},
       {"val_accuracy", ex::json::array(history_of(run, &ex::epoch_record::val_accuracy))},
       {"epoch_seconds", ex::json::array(history_of(run, &ex::epoch_record::seconds))},
       {"epoch_threads", ex::json::array(history_of(run, &ex::epoch_record::threads))}});
  ctx.teacher_accuracy = test.accuracy;
  ctx.teacher_bytes = float_bytes(net);
  ctx.table.push_back({"teacher", architecture(net), test.accuracy, float_bytes(net),
                       fmt::format("{} epochs (best {}), {:.2f} s/epoch", run.epochs.size(),
                                   stop.best_epoch() + 1, train_seconds / ran)});
  return net;
}

// --- 2. optimizers ------------------------------------------------------------------------------

struct optimizer_run {
  std::string name;
  double final_loss = 0, last_epoch_loss = 0, test_accuracy = 0, seconds = 0;
  std::vector<double> curve_x = {}, curve_y = {};  // smoothed batch losses against epochs
};

/// Stage 2: the eight optimizers of the seed on a smaller net (784-128-10), the same initial
/// weights and data order, a constant lr each at a sensible setting.
void compare_optimizers(context& ctx, std::vector<optimizer_run>& runs) {
  stage_header(ctx, "2. optimizers side by side");
  const std::vector<std::int64_t> sizes = {784, 128, 10};
  const std::int64_t epochs = ctx.epochs.optimizers;
  auto& setup = ctx.results["optimizers_setup"];
  setup["architecture"] = "784-128-10";
  setup["epochs"] = epochs;
  setup["batch_size"] = 128;
  setup["schedule"] = "constant";
  auto& out = ctx.results["optimizers"];

  const auto run_one = [&](const std::string& name, auto&& opt, double lr, ex::json settings) {
    ex::mlp<float> net({.sizes = sizes, .seed = ctx.cfg.seed + 100});
    for (auto& l : net.layers()) {
      opt.add(l.w(), l.dw());
      opt.add(l.b(), l.db());
    }
    const auto run = ex::fit(net, opt, ps::constant{.lr = lr}, ctx.data.train, nullptr,
                             ctx.fit(fmt::format("{:<8}", name), epochs, 100));
    optimizer_run r{.name = name};
    r.final_loss = ex::evaluate(net, ctx.data.train).loss;
    r.last_epoch_loss = run.epochs.back().train_loss;
    r.test_accuracy = ex::evaluate(net, ctx.data.test).accuracy;
    r.seconds = run.seconds;
    // About 100 points a curve: means of consecutive windows of batch losses.
    const auto steps = static_cast<std::int64_t>(run.step_losses.size());
    const std::int64_t window = std::max<std::int64_t>(1, steps / 100);
    const auto per_epoch = static_cast<double>(ctx.steps_per_epoch());
    for (std::int64_t b = 0; b + window <= steps; b += window) {
      double s = 0;
      for (std::int64_t i = b; i < b + window; ++i) s += run.step_losses[static_cast<std::size_t>(i)];
      r.curve_x.push_back(static_cast<double>(b + window) / per_epoch);
      r.curve_y.push_back(s / static_cast<double>(window));
    }
    settings["lr"] = lr;
    out[name] = ex::json::object({{"final_loss", r.final_loss},
                                  {"test_accuracy", r.test_accuracy},
                                  {"last_epoch_loss", r.last_epoch_loss},
                                  {"seconds", r.seconds},
                                  {"settings", std::move(settings)},
                                  {"curve", ex::json::object({{"epoch", ex::json::array(r.curve_x)},
                                                              {"loss", ex::json::array(r.curve_y)}})}});
    runs.push_back(std::move(r));
  };
  run_one("sgd", po::sgd<float>(), 0.1, ex::json::object());
  run_one("momentum", po::momentum<float>(), 0.02, ex::json::object({{"momentum", 0.9}}));
  run_one("nag", po::nag<float>(), 0.02, ex::json::object({{"momentum", 0.9}, {"nesterov", true}}));
  run_one("adagrad", po::adagrad<float>(), 0.01, ex::json::object({{"eps", 1e-10}}));
  run_one("adadelta", po::adadelta<float>(), 1.0, ex::json::object({{"rho", 0.9}, {"eps", 1e-6}}));
  run_one("adam", po::adam<float>(), 1e-3, ex::json::object({{"beta1", 0.9}, {"beta2", 0.999}}));
  run_one("rmsprop", po::rmsprop<float>({.alpha = 0.9}), 5e-4, ex::json::object({{"alpha", 0.9}}));
  run_one("nadam", po::nadam<float>(), 2e-3,
          ex::json::object({{"beta1", 0.9}, {"beta2", 0.999}, {"momentum_decay", 4e-3}}));
  const auto best = std::max_element(runs.end() - 8, runs.end(), [](const auto& a, const auto& b) {
    return a.test_accuracy < b.test_accuracy;
  });
  ctx.table.push_back({"optimizers", "784-128-10", best->test_accuracy,
                       4.0 * (784 * 128 + 128 + 128 * 10 + 10),
                       fmt::format("best of 8 after {} epoch{}: {}", epochs, epochs == 1 ? "" : "s", best->name)});
}

// --- 3. pruning ---------------------------------------------------------------------------------

/// A fine-tuning optimizer: SGD with Nesterov momentum (`as_chain(nag_options)`) whose lr is
/// scaled by a cosine factor 1 → 0 over the run, with the pruner's masks applied to the update
/// and to the momentum (`keep_mask`): pruned weights and their state stay exactly 0.
template <class Masks>
auto finetune_chain(double wd, std::int64_t total_steps, const Masks& masks) {
  return po::chain(po::as_chain(po::nag_options{.lr = finetune_lr, .weight_decay = wd}),
                   po::scale_by_schedule<ps::cosine_annealing>{
                       .schedule = {.base_lr = 1.0, .t_max = total_steps}},
                   po::keep_mask(masks));
}

template <class Masks>
auto make_finetuner(ex::mlp<float>& net, std::int64_t total_steps, const Masks& masks) {
  auto opt = po::chain<float>(finetune_chain(weight_decay, total_steps, masks));
  const auto bias_chain = finetune_chain(0.0, total_steps, masks);
  for (auto& l : net.layers()) {
    opt.add(l.w(), l.dw());
    opt.add(l.b(), l.db(), bias_chain);
  }
  return opt;
}

/// The schedule fit records for a chain that scales finetune_lr by a cosine factor.
ps::cosine_annealing finetune_lr_schedule(std::int64_t total_steps) {
  return {.base_lr = finetune_lr, .t_max = total_steps};
}

struct pruning_result {
  std::string structure;
  double target = 0, sparsity = 0, accuracy = 0, nonzero_bytes = 0;
  std::int64_t nonzeros = 0;
};

/// Stage 3: gradual global magnitude pruning (polynomial schedule, TF-MOT's recipe) with
/// fine-tuning, to each sparsity; then 2:4 structured. Evaluated through pare's sparse matvec.
void prune_teacher(context& ctx, const ex::mlp<float>& teacher, std::vector<pruning_result>& out) {
  stage_header(ctx, "3. pruning");
  ex::json list;
  const auto report = [&](const pruning_result& r, const ex::evaluation& test,
                          const std::string& storage, std::int64_t epochs, double seconds,
                          std::string model) {
    list.push_back(ex::json::object({{"structure", r.structure},
                                     {"sparsity", r.sparsity},
                                     {"target_sparsity", r.target},
                                     {"test_accuracy", r.accuracy},
                                     {"test_loss", test.loss},
                                     {"nonzero_parameters", r.nonzeros},
                                     {"nonzero_bytes", r.nonzero_bytes},
                                     {"storage", storage},
                                     {"epochs", epochs},
                                     {"seconds", seconds}}));
    ctx.table.push_back({"pruning", std::move(model), r.accuracy, r.nonzero_bytes,
                         fmt::format("{} vs teacher, {}", points(r.accuracy, ctx.teacher_accuracy),
                                     storage)});
    out.push_back(r);
  };
  const std::int64_t per_epoch = ctx.steps_per_epoch();
  // One gradual run through the four levels, as a pruning schedule runs in practice: each level
  // raises the sparsity from the previous one along a polynomial ramp over the first half of its
  // epochs, then fine-tunes at the level (so 90% has been pruned and fine-tuned for 18 epochs).
  // Fine-tuned without dropout: with 10% of the weights left, dropout's extra regularization
  // costs accuracy (90%: −0.44 pt with dropout 0.2, −0.17 pt without, one run each).
  ex::mlp<float> net = without_dropout(teacher);
  pp::pruner<float, pp::magnitude, pp::unstructured> pruner({.scope = pp::scope::global});
  for (auto& l : net.layers()) pruner.add(l.w());
  double previous = 0;
  std::uint64_t level = 0;
  for (const double target : {0.5, 0.8, 0.9, 0.95}) {
    const std::int64_t epochs = ctx.epochs.prune, total = epochs * per_epoch;
    const std::int64_t end = std::max<std::int64_t>(1, total / 2);
    pp::gradual gradual(pruner,
                        pp::polynomial_decay{.initial_sparsity = previous,
                                             .final_sparsity = target,
                                             .begin_step = 0,
                                             .end_step = end,
                                             .frequency = std::max<std::int64_t>(1, end / 16)},
                        {.apply_every_step = false});
    previous = target;
    auto opt = make_finetuner(net, total, pruner);
    const auto run = ex::fit(net, opt, finetune_lr_schedule(total), ctx.data.train, &ctx.data.val,
                             ctx.fit(fmt::format("prune {:.0f}%", 100 * target), epochs, ++level),
                             {.after_step = [&](std::int64_t) { gradual.step(); }});
    // Inference through CSR: y = W·x over the nonzeros only.
    std::vector<pp::csr_matrix<float>> csr;
    double bytes = bias_bytes(net);
    std::int64_t nonzeros = 0;
    for (auto& l : net.layers()) {
      csr.push_back(pp::to_csr(pare::tensor_view<const float>(l.w())));
      const auto& a = csr.back();
      nonzeros += a.nonZeros();
      bytes += static_cast<double>(a.nonZeros()) * (sizeof(float) + sizeof(int)) +
               static_cast<double>(a.rows() + 1) * sizeof(int);
    }
    const auto test = ex::evaluate_layerwise(net, ctx.data.test, [&](std::size_t i, auto x, auto y) {
      pp::matvec(csr[i], x, y);
    });
    report({"unstructured", target, pruner.sparsity(), test.accuracy, bytes, nonzeros}, test, "CSR",
           epochs, run.seconds, fmt::format("{:.0f}% global magnitude", 100 * target));
  }
  {  // 2:4: at most 2 nonzeros in every 4 consecutive inputs, one-shot, then fine-tuned.
    net = without_dropout(teacher);
    pp::pruner<float, pp::magnitude, pp::n_of_m<2, 4>> pruner;
    for (auto& l : net.layers()) pruner.add(l.w());
    pruner.prune_to(0.5);
    const std::int64_t epochs = ctx.epochs.prune_2_4, total = epochs * per_epoch;
    auto opt = make_finetuner(net, total, pruner);
    const auto run = ex::fit(net, opt, finetune_lr_schedule(total), ctx.data.train, &ctx.data.val,
                             ctx.fit("prune 2:4", epochs));
    std::vector<pp::n_of_m_matrix<float>> packed;
    double bytes = bias_bytes(net);
    std::int64_t nonzeros = 0;
    for (auto& l : net.layers()) {
      packed.push_back(pp::to_n_of_m<2, 4>(pare::tensor_view<const float>(l.w())));
      bytes += static_cast<double>(packed.back().bytes());
      for (const float v : l.weight) nonzeros += v != 0.0f;
    }
    const auto test = ex::evaluate_layerwise(net, ctx.data.test, [&](std::size_t i, auto x, auto y) {
      pp::matvec(packed[i], x, y);
    });
    report({"2:4", 0.5, pruner.sparsity(), test.accuracy, bytes, nonzeros}, test, "2:4 packed",
           epochs, run.seconds, "2:4 structured");
  }
  ctx.results["pruning"] = std::move(list);
}

// --- 4. quantization ----------------------------------------------------------------------------

struct quantization_result {
  std::string method;
  int bits = 0;
  double accuracy = 0, bytes = 0;
};

/// The group size for 4-bit per-group quantization of a layer with `in` inputs: 64 when it
/// divides `in`, else the largest divisor of `in` up to 64 (56 for 784).
std::int64_t group_size_for(std::int64_t in) {
  for (std::int64_t g = 64; g > 1; --g)
    if (in % g == 0) return g;
  return in;
}

/// Stage 4: post-training quantization of the teacher's weights (int8 per channel, 4-bit per
/// group, 4-bit logarithmic, and 4-bit per channel for reference), then 4-bit per-channel
/// quantization-aware fine-tuning (fake quantization, straight-through estimator). Linear codes
/// are evaluated through pare::quant::matvec, log codes after dequantize.
void quantize_teacher(context& ctx, const ex::mlp<float>& teacher,
                      std::vector<quantization_result>& out) {
  stage_header(ctx, "4. quantization");
  ex::json list;
  const auto report = [&](const std::string& method, int bits, const std::string& granularity,
                          const std::string& inference, const ex::evaluation& test, double bytes,
                          std::vector<double> sqnr, ex::json extra) {
    ex::json row = ex::json::object({{"method", method},
                                     {"bits", bits},
                                     {"test_accuracy", test.accuracy},
                                     {"test_loss", test.loss},
                                     {"bytes", bytes},
                                     {"granularity", granularity},
                                     {"inference", inference},
                                     {"weight_sqnr_db", ex::json::array(sqnr)}});
    for (const auto& [k, v] : extra.as_object()) row[k] = v;
    list.push_back(std::move(row));
    ctx.table.push_back({"quant", fmt::format("{} ({}-bit)", method, bits), test.accuracy, bytes,
                         fmt::format("{} vs teacher, {}", points(test.accuracy, ctx.teacher_accuracy),
                                     granularity)});
    out.push_back({method, bits, test.accuracy, bytes});
  };
  const auto sqnr_of = [](const ex::mlp<float>::layer& l, const std::vector<float>& w_hat) {
    return pq::quantization_error(pare::tensor_view<const float>(l.weight.data(), {l.out, l.in}),
                                  pare::tensor_view<const float>(w_hat.data(), {l.out, l.in}))
        .sqnr_db;
  };
  // Linear PTQ: quantize every weight, evaluate through the quantized matvec.
  const auto linear = [&](const ex::mlp<float>& net, const std::string& method, int bits,
                          bool per_group, ex::json extra) {
    std::vector<pq::quantized_tensor> q;
    std::vector<double> sqnr;
    double bytes = bias_bytes(net);
    std::vector<std::int64_t> groups;
    for (const auto& l : net.layers()) {
      const std::int64_t g = per_group ? group_size_for(l.in) : 0;
      q.push_back(pq::quantize(l.w(), {.bits = bits, .axis = per_group ? -1 : 0, .group_size = g}));
      bytes += static_cast<double>(q.back().size_bytes());
      std::vector<float> w_hat(l.weight.size());
      pq::dequantize(q.back(), pare::tensor_view<float>(w_hat.data(), {l.out, l.in}));
      sqnr.push_back(sqnr_of(l, w_hat));
      groups.push_back(g);
    }
    const auto test = ex::evaluate_layerwise(net, ctx.data.test, [&](std::size_t i, auto x, auto y) {
      pq::matvec(q[i], x, y);
    });
    if (per_group) extra["group_sizes"] = ex::json::array(groups);
    report(method, bits,
           per_group ? fmt::format("symmetric, per group of {} inputs", fmt::join(groups, "/"))
                     : "symmetric, per output channel",
           "pare::quant::matvec", test, bytes, sqnr, std::move(extra));
  };
  linear(teacher, "int8_per_channel", 8, false, ex::json::object());
  linear(teacher, "int4_per_group", 4, true, ex::json::object());
  {  // 4-bit logarithmic: 0 or ±c·2^−k, one c per output channel.
    ex::mlp<float> net = teacher;
    std::vector<double> sqnr;
    double bytes = bias_bytes(net);
    for (auto& l : net.layers()) {
      const auto q = pq::quantize_log(l.w(), {.bits = 4, .base = 2.0, .axis = 0});
      bytes += static_cast<double>(q.size_bytes());
      std::vector<float> w_hat(l.weight.size());
      pq::dequantize(q, pare::tensor_view<float>(w_hat.data(), {l.out, l.in}));
      sqnr.push_back(sqnr_of(l, w_hat));
      l.weight = std::move(w_hat);
    }
    report("log4", 4, "base 2, one scale per output channel", "dequantize + float",
           ex::evaluate(net, ctx.data.test), bytes, sqnr, ex::json::object());
  }
  linear(teacher, "int4_per_channel", 4, false, ex::json::object());
  {  // QAT: the forward pass sees fake-quantized 4-bit per-channel weights, the float master
     // weights get the straight-through gradient (zero where the code was clamped).
    ex::mlp<float> net = teacher;
    const auto n = net.layers().size();
    std::vector<std::vector<float>> master(n);
    std::vector<pq::qparams> qp(n);
    const pq::quantize_options opts{.bits = 4, .axis = 0};
    const std::int64_t epochs = ctx.epochs.qat, total = epochs * ctx.steps_per_epoch();
    po::nag<float> opt({.lr = finetune_lr, .weight_decay = weight_decay});
    add_with_bias_group(opt, net);
    const ex::fit_hooks hooks{
        .before_forward =
            [&](std::int64_t) {
              for (std::size_t i = 0; i < n; ++i) {
                auto& l = net.layers()[i];
                master[i] = l.weight;  // same size every step: no allocation after the first
                const pare::tensor_view<const float> w(master[i].data(), {l.out, l.in});
                qp[i] = pq::choose_qparams(w, opts);
                pq::fake_quantize(w, qp[i], l.w());
              }
            },
        .after_backward =
            [&](std::int64_t) {
              for (std::size_t i = 0; i < n; ++i) {
                auto& l = net.layers()[i];
                const pare::tensor_view<const float> w(master[i].data(), {l.out, l.in});
                pq::fake_quantize_backward(w, qp[i], pare::tensor_view<const float>(l.dw()), l.dw());
                std::copy(master[i].begin(), master[i].end(), l.weight.begin());
              }
            }};
    const auto run = ex::fit(net, opt, ps::cosine_annealing{.base_lr = finetune_lr, .t_max = total},
                             ctx.data.train, &ctx.data.val, ctx.fit("qat 4-bit", epochs), hooks);
    linear(net, "qat4", 4, false,
           ex::json::object({{"epochs", epochs}, {"seconds", run.seconds},
                             {"fine_tune", "fake_quantize + STE, 4-bit symmetric per channel"}}));
  }
  ctx.results["quantization"] = std::move(list);
}

// --- 5. distillation ----------------------------------------------------------------------------

/// kd_loss from the teacher's soft targets, computed once for the whole training set (offline
/// distillation): the batch's rows pick their targets.
struct kd_batch_loss {
  pd::kd_loss kd;
  const std::vector<float>* soft = nullptr;  // [train size, classes]
  std::int64_t classes = 10;
  std::vector<float> batch = {};             // [batch, classes]

  double operator()(pare::tensor_view<const float> logits, std::span<const std::int64_t> labels,
                    std::span<const std::int64_t> rows, pare::tensor_view<float> grad) {
    const auto c = static_cast<std::size_t>(classes);
    batch.resize(rows.size() * c);  // the first batch sets the size; later ones fit
    for (std::size_t k = 0; k < rows.size(); ++k)
      std::copy_n(soft->data() + static_cast<std::size_t>(rows[k]) * c, c, batch.data() + k * c);
    return kd.offline(logits,
                      pare::tensor_view<const float>(batch.data(), {static_cast<std::int64_t>(rows.size()), classes}),
                      labels, grad);
  }
};

struct summary {
  double mean = 0, std = 0;
  std::vector<double> runs;
};

summary summarize(std::vector<double> runs) {
  summary s{.runs = std::move(runs)};
  const auto n = static_cast<double>(s.runs.size());
  s.mean = std::accumulate(s.runs.begin(), s.runs.end(), 0.0) / n;
  double ss = 0;
  for (const double v : s.runs) ss += (v - s.mean) * (v - s.mean);
  s.std = s.runs.size() > 1 ? std::sqrt(ss / (n - 1)) : 0.0;  // sample standard deviation
  return s;
}

ex::json to_json(const summary& s) {
  return ex::json::object({{"mean", s.mean}, {"std", s.std}, {"runs", ex::json::array(s.runs)}});
}

// T = 1, α = 0.5: in a sweep with a 0.901 teacher (T 1, 1.5, 2, 4; α 0.5, 0.7, 0.9; 10 epochs;
// 2–3 seeds) the usual T = 4 made this 32-unit student worse than training alone (−0.2 to −1 pt:
// it cannot follow the flat high-T targets); T = 1, α = 0.5 gained +0.25 pt on the mean.
constexpr double kd_temperature = 1.0, kd_alpha = 0.5;
const std::vector<std::int64_t> student_sizes = {784, 32, 10};

/// Trains a 784-32-10 student (NAG, cosine schedule, weight decay) with `loss`.
template <class Loss>
ex::mlp<float> train_student(context& ctx, std::uint64_t seed_offset, const std::string& label,
                             Loss loss, double* val_accuracy) {
  ex::mlp<float> net({.sizes = student_sizes, .seed = ctx.cfg.seed + seed_offset});
  po::nag<float> opt({.lr = teacher_lr, .weight_decay = weight_decay});
  add_with_bias_group(opt, net);
  const std::int64_t epochs = ctx.epochs.student;
  const auto run = ex::fit(net, opt,
                           ps::cosine_annealing{.base_lr = teacher_lr,
                                                .t_max = epochs * ctx.steps_per_epoch()},
                           ctx.data.train, &ctx.data.val, ctx.fit(label, epochs, seed_offset, true), {},
                           std::move(loss));
  if (val_accuracy) *val_accuracy = run.epochs.back().val_accuracy;
  return net;
}

/// Stage 5: the student alone and distilled from the teacher, the same budget, three seeds each.
/// Returns the distilled student with the best validation accuracy.
ex::mlp<float> distill(context& ctx, ex::mlp<float>& teacher, std::vector<float>& soft) {
  stage_header(ctx, "5. distillation");
  const ex::stopwatch clock;
  const auto logits = ex::predict_logits(teacher, ctx.data.train);
  soft.resize(logits.size());
  pd::softmax(pare::tensor_view<const float>(logits.data(), {ctx.data.train.size(), 10}),
              pare::tensor_view<float>(soft.data(), {ctx.data.train.size(), 10}), kd_temperature);
  const double teacher_seconds = clock.seconds();

  std::vector<double> alone, distilled;
  std::optional<ex::mlp<float>> best;
  double best_val = -1;
  for (std::uint64_t s = 0; s < 3; ++s) {
    auto a = train_student(ctx, 200 + s, fmt::format("student {} alone", s + 1),
                           ex::cross_entropy_loss{}, nullptr);
    alone.push_back(ex::evaluate(a, ctx.data.test).accuracy);
    double val = 0;
    auto k = train_student(ctx, 200 + s, fmt::format("student {} kd", s + 1),
                           kd_batch_loss{.kd = {.temperature = kd_temperature, .alpha = kd_alpha},
                                         .soft = &soft},
                           &val);
    distilled.push_back(ex::evaluate(k, ctx.data.test).accuracy);
    if (val > best_val) {
      best_val = val;
      best = std::move(k);
    }
  }
  const auto a = summarize(alone), k = summarize(distilled);
  auto& d = ctx.results["distillation"];
  d["student_architecture"] = "784-32-10";
  d["epochs"] = ctx.epochs.student;
  d["temperature"] = kd_temperature;
  d["alpha"] = kd_alpha;
  d["mode"] = "offline (teacher soft targets computed once)";
  d["teacher_logits_seconds"] = teacher_seconds;
  d["student_alone"] = to_json(a);
  d["student_kd"] = to_json(k);
  d["seconds"] = clock.seconds();
  const double bytes = float_bytes(*best);
  ctx.table.push_back({"distill", "784-32-10 alone", a.mean, bytes,
                       fmt::format("mean of 3 seeds, std {:.4f}", a.std)});
  ctx.table.push_back({"distill", "784-32-10 kd_loss", k.mean, bytes,
                       fmt::format("mean of 3, std {:.4f}, {} vs alone", k.std,
                                   points(k.mean, a.mean))});
  return std::move(*best);
}

// --- 6. all together ----------------------------------------------------------------------------

/// Stage 6: the distilled student, pruned to 80% (gradual, fine-tuned with kd_loss), then int8
/// per channel. Size = what a deployment stores: per layer a bitmap of the kept positions, one
/// int8 code per kept weight, a float scale per output channel, and the float biases.
void combine(context& ctx, ex::mlp<float> net, const std::vector<float>& soft) {
  stage_header(ctx, "6. all together");
  constexpr double target = 0.8;
  const ex::stopwatch clock;
  pp::pruner<float, pp::magnitude, pp::unstructured> pruner({.scope = pp::scope::global});
  for (auto& l : net.layers()) pruner.add(l.w());
  const std::int64_t epochs = ctx.epochs.combined, total = epochs * ctx.steps_per_epoch();
  const std::int64_t end = std::max<std::int64_t>(1, total * 2 / 3);
  pp::gradual gradual(pruner,
                      pp::polynomial_decay{.initial_sparsity = 0.0,
                                           .final_sparsity = target,
                                           .begin_step = 0,
                                           .end_step = end,
                                           .frequency = std::max<std::int64_t>(1, end / 16)},
                      {.apply_every_step = false});
  auto opt = make_finetuner(net, total, pruner);
  ex::fit(net, opt, finetune_lr_schedule(total), ctx.data.train, &ctx.data.val,
          ctx.fit("student prune+kd", epochs, 0, true),
          {.after_step = [&](std::int64_t) { gradual.step(); }},
          kd_batch_loss{.kd = {.temperature = kd_temperature, .alpha = kd_alpha}, .soft = &soft});
  std::vector<pq::quantized_tensor> q;
  double bytes = bias_bytes(net), dense_bytes = bias_bytes(net);
  std::int64_t nonzeros = 0;
  for (auto& l : net.layers()) {
    q.push_back(pq::quantize(l.w(), {.bits = 8, .axis = 0}));
    std::int64_t nz = 0;
    for (const float v : l.weight) nz += v != 0.0f;
    nonzeros += nz;
    bytes += static_cast<double>((l.out * l.in + 7) / 8 + nz + 4 * l.out);
    dense_bytes += static_cast<double>(q.back().size_bytes());
  }
  const auto test = ex::evaluate_layerwise(net, ctx.data.test, [&](std::size_t i, auto x, auto y) {
    pq::matvec(q[i], x, y);
  });
  auto& c = ctx.results["combined"];
  c["architecture"] = "784-32-10";
  c["pipeline"] = "kd_loss student, 80% global magnitude pruning (gradual, kd fine-tune), int8 per channel";
  c["sparsity"] = pruner.sparsity();
  c["bits"] = 8;
  c["nonzero_parameters"] = nonzeros;
  c["test_accuracy"] = test.accuracy;
  c["test_loss"] = test.loss;
  c["bytes"] = bytes;
  c["dense_int8_bytes"] = dense_bytes;
  c["times_smaller"] = ctx.teacher_bytes / bytes;
  c["seconds"] = clock.seconds();
  ctx.table.push_back({"combined", "784-32-10 kd+80%+int8", test.accuracy, bytes,
                       fmt::format("{:.0f}x smaller, {} vs teacher", ctx.teacher_bytes / bytes,
                                   points(test.accuracy, ctx.teacher_accuracy))});
}

// --- charts ---------------------------------------------------------------------------------------

/// The three charts, written next to the JSON file.
ex::json write_charts(const context& ctx, const std::filesystem::path& dir,
                      const std::vector<optimizer_run>& optimizers,
                      const std::vector<pruning_result>& pruning,
                      const std::vector<quantization_result>& quant) {
  namespace svg = ex::svg;
  const double t = ctx.teacher_accuracy;
  const auto hline = [](std::string name, double x0, double x1, double y, std::string color) {
    return svg::series{.name = std::move(name), .x = {x0, x1}, .y = {y, y}, .color = std::move(color),
                       .dashed = true};
  };
  ex::json files = ex::json::object();
  {
    svg::panel p{.title = "Accuracy vs sparsity",
                 .subtitle = "teacher 784-512-256-10, pruned and fine-tuned",
                 .x = {.label = "sparsity (% of weights pruned)", .min = 0, .max = 100},
                 .y = {.label = "test accuracy"}};
    svg::series global{.name = "global magnitude, gradual", .markers = true};
    global.x.push_back(0);
    global.y.push_back(t);
    for (const auto& r : pruning)
      if (r.structure == "unstructured") {
        global.x.push_back(100 * r.sparsity);
        global.y.push_back(r.accuracy);
      }
    p.lines.push_back(std::move(global));
    for (const auto& r : pruning)
      if (r.structure == "2:4")
        p.lines.push_back({.name = "2:4 structured", .x = {100 * r.sparsity}, .y = {r.accuracy},
                           .line = false, .markers = true});
    p.lines.push_back(hline("teacher", 0, 100, t, "#777777"));
    p.lines.push_back(hline("teacher − 0.5 pt", 0, 100, t - 0.005, "#bbbbbb"));
    const auto path = dir / "accuracy_vs_sparsity.svg";
    svg::write(path.string(), std::vector{p}, {.columns = 1, .panel_width = 560, .panel_height = 340});
    files["accuracy_vs_sparsity"] = path.string();
  }
  {
    svg::panel bits{.title = "Accuracy vs bits per weight",
                    .subtitle = "teacher's weights quantized (biases float32)",
                    .x = {.label = "bits per weight", .min = 0, .max = 35},
                    .y = {.label = "test accuracy"}};
    svg::panel size{.title = "Accuracy vs model size",
                    .subtitle = "weights, scales and biases",
                    .x = {.label = "model size (kB)", .log = true},
                    .y = {.label = "test accuracy"}};
    // Fixed y ends a little outside the data, so no point sits on the frame.
    double lo = t, hi = t;
    for (const auto& r : quant) {
      lo = std::min(lo, r.accuracy);
      hi = std::max(hi, r.accuracy);
    }
    const double pad = std::max(0.002, 0.15 * (hi - lo));
    bits.y.min = size.y.min = std::floor((lo - pad) * 1000) / 1000;
    bits.y.max = size.y.max = std::ceil((hi + pad) * 1000) / 1000;
    bits.lines.push_back({.name = "float32", .x = {32}, .y = {t}, .line = false, .markers = true});
    size.lines.push_back(
        {.name = "float32", .x = {ctx.teacher_bytes / 1e3}, .y = {t}, .line = false, .markers = true});
    for (const auto& r : quant) {
      bits.lines.push_back({.name = r.method, .x = {static_cast<double>(r.bits)}, .y = {r.accuracy},
                            .line = false, .markers = true});
      size.lines.push_back(
          {.name = r.method, .x = {r.bytes / 1e3}, .y = {r.accuracy}, .line = false, .markers = true});
    }
    bits.lines.push_back(hline("", 0, 35, t, "#777777"));
    const auto path = dir / "accuracy_vs_bits.svg";
    svg::write(path.string(), std::vector{bits, size},
               {.columns = 2, .panel_width = 420, .panel_height = 320});
    files["accuracy_vs_bits"] = path.string();
  }
  {
    svg::panel all{.title = "Training loss of the eight optimizers",
                   .subtitle = "784-128-10, same initial weights and batches; window means",
                   .x = {.label = "epoch", .min = 0},
                   .y = {.label = "training loss (cross-entropy)", .min = 0}};
    svg::panel last{.title = "The last epoch, smoothed",
                    .subtitle = "moving mean of 9 windows",
                    .x = {.label = "epoch"},
                    .y = {.label = "training loss (cross-entropy)"}};
    const double from = static_cast<double>(ctx.epochs.optimizers - 1);
    for (const auto& r : optimizers) {
      all.lines.push_back({.name = r.name, .x = r.curve_x, .y = r.curve_y});
      svg::series tail{.name = r.name};
      const std::size_t n = r.curve_x.size(), half = 4;
      for (std::size_t i = half; i + half < n; ++i)
        if (r.curve_x[i] > from) {
          double sum = 0;
          for (std::size_t k = i - half; k <= i + half; ++k) sum += r.curve_y[k];
          tail.x.push_back(r.curve_x[i]);
          tail.y.push_back(sum / static_cast<double>(2 * half + 1));
        }
      last.lines.push_back(std::move(tail));
    }
    last.legend = false;
    const auto path = dir / "optimizer_loss.svg";
    svg::write(path.string(), std::vector{all, last},
               {.columns = 2, .panel_width = 460, .panel_height = 360});
    files["optimizer_loss"] = path.string();
  }
  return files;
}

// --- report -------------------------------------------------------------------------------------

void print_table(const context& ctx) {
  fmt::print("\n{:<10} {:<26} {:>9} {:>10}  {}\n", "stage", "model", "test acc", "size", "notes");
  fmt::print("{:-<10} {:-<26} {:->9} {:->10}  {:-<36}\n", "", "", "", "", "");
  for (const auto& r : ctx.table)
    fmt::print("{:<10} {:<26} {:>9.4f} {:>10}  {}\n", r.stage, r.model, r.accuracy,
               human_bytes(r.bytes), r.note);
}

splits make_splits(const config& cfg) {
  const ex::stopwatch clock;
  const ex::fashion_mnist fm = ex::load_fashion_mnist(cfg.data);
  splits s;
  // 5,000 training images are held out for validation (early stopping, model selection); the
  // test set is touched only to report. --quick keeps the same pipeline on a fraction of it.
  auto [train, val] = ex::split_off(fm.train, cfg.quick ? 1000 : 5000, cfg.seed);
  s.train = cfg.quick ? train.head(4000) : std::move(train);
  s.val = std::move(val);
  s.test = cfg.quick ? fm.test.head(2000) : fm.test;
  fmt::print("Fashion-MNIST from {}: {} training, {} validation, {} test images ({:.1f} s)\n",
             cfg.data, s.train.size(), s.val.size(), s.test.size(), clock.seconds());
  return s;
}

int run(int argc, const char* const* argv) {
  config cfg;
  ex::cli cli("fashion_mnist",
              "pare's main demo: train a Fashion-MNIST classifier and compress it with pare.");
  cli.flag("quick", cfg.quick, "the same pipeline on a subset, in well under a minute (for CI)")
      .option("seed", cfg.seed, "N", "seed for weights, dropout and data order (default 1)")
      .option("data", cfg.data, "DIR",
              "directory with the four Fashion-MNIST .gz files (default " + cfg.data + ")")
      .option("threads", cfg.threads, "N",
              "threads (default 0: per epoch, the faster of 1 and all cores)", 0)
      .option("json", cfg.json_path, "PATH",
              "write every result to PATH (JSON) and the SVG charts next to it")
      .option("epochs", cfg.epochs, "N", "teacher epochs (default 20, 4 with --quick)", 0)
      .flag("quiet", cfg.quiet, "no progress bars");
  if (!cli.parse(argc, argv)) return 0;

  const ex::stopwatch clock;
  const double cpu0 = cpu_seconds(), load0 = load_average();
  ex::retain_freed_memory();
  const int threads = cfg.threads > 0 ? static_cast<int>(cfg.threads) : ex::hardware_threads();
  ex::set_compute_threads(threads);

  context ctx{.cfg = cfg, .data = make_splits(cfg)};
  if (cfg.quick) ctx.epochs = budget::quick();
  if (cfg.epochs > 0) ctx.epochs.teacher = cfg.epochs;
  if (cfg.quiet) ctx.progress = ex::progress_style::quiet;
  ctx.results["schema_version"] = 2;
  ctx.results["pare_version"] = fmt::format("{}.{}.{}", pare::version.major, pare::version.minor,
                                            pare::version.patch);
  ctx.results["config"] = ex::json::object({{"quick", cfg.quick},
                                            {"seed", cfg.seed},
                                            {"threads", cfg.threads},
                                            {"hardware_threads", ex::hardware_threads()},
                                            {"data", cfg.data},
                                            {"train_samples", ctx.data.train.size()},
                                            {"val_samples", ctx.data.val.size()},
                                            {"test_samples", ctx.data.test.size()}});

  ex::mlp<float> teacher = train_teacher(ctx);
  std::vector<pruning_result> pruning;
  prune_teacher(ctx, teacher, pruning);
  std::vector<quantization_result> quant;
  quantize_teacher(ctx, teacher, quant);
  std::vector<float> soft;
  ex::mlp<float> student = distill(ctx, teacher, soft);
  std::vector<optimizer_run> optimizers;
  compare_optimizers(ctx, optimizers);
  combine(ctx, std::move(student), soft);

  const double seconds = clock.seconds(), cpu = cpu_seconds() - cpu0;
  ctx.results["seconds"] = seconds;
  ctx.results["cpu_seconds"] = cpu;
  ctx.results["load_average"] = ex::json::object({{"start", load0}, {"end", load_average()}});
  print_table(ctx);
  fmt::print("\ntotal {:.1f} s wall, {:.1f} s CPU, {}; load average {:.1f} at the start, {:.1f} at the end\n",
             seconds, cpu,
             cfg.threads > 0 ? fmt::format("{} thread{}", threads, threads == 1 ? "" : "s")
                             : fmt::format("1 or {} threads, the faster each epoch", threads),
             load0, load_average());
  if (!cfg.json_path.empty()) {
    const auto dir = std::filesystem::path(cfg.json_path).parent_path();
    ctx.results["charts"] = write_charts(ctx, dir.empty() ? "." : dir, optimizers, pruning, quant);
    std::ofstream out(cfg.json_path, std::ios::binary);
    out << ctx.results.dump();
    if (!out.flush())
      throw ex::data_error(fmt::format("{}: cannot write the results", cfg.json_path));
    fmt::print("results written to {} (charts beside it)\n", cfg.json_path);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ex::cli_error& e) {
    fmt::print(stderr, "fashion_mnist: {}\n", e.what());
    return 2;
  } catch (const ex::missing_file_error& e) {
    fmt::print(stderr, "fashion_mnist: {}, or use --data DIR\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "fashion_mnist: {}\n", e.what());
    return 1;
  }
}
