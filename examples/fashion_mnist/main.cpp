// The main demo: train a Fashion-MNIST classifier, then make it smaller with every technique
// pare offers, and report each result against the teacher (issue 8).
//
// Stages: 1 teacher, 2 optimizers side by side, 3 pruning, 4 quantization, 5 distillation,
// 6 all together. This build runs stage 1 with stand-ins for the pare components that are still
// being written (examples/common/stand_in.hpp); stages 2–6 plug into the same loop (`fit` and its
// hooks) when pare::optim, sched, prune, quant, distill and reg land.
//
//   fashion_mnist [--quick] [--seed N] [--data DIR] [--threads N] [--json PATH]
#include <pare/pare.hpp>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/fashion_mnist.hpp"
#include "common/json.hpp"
#include "common/mlp.hpp"
#include "common/progress.hpp"
#include "common/stand_in.hpp"
#include "common/runtime.hpp"
#include "common/train.hpp"

namespace ex = pare_examples;

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
  ex::json results = ex::json::object();
  std::vector<table_row> table = {};
  ex::progress_style progress = ex::progress_style::automatic;
};

/// Bytes of a float32 model.
double float_bytes(const ex::mlp<float>& net) { return 4.0 * static_cast<double>(net.parameters()); }

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

/// Stage 1: the teacher, 784-512-256-10 with dropout, SGD with Nesterov momentum on a cosine
/// schedule, weight decay on the weights only, early stopping on validation accuracy with the
/// best epoch's weights restored.
ex::mlp<float> train_teacher(context& ctx) {
  const std::int64_t epochs = ctx.cfg.epochs > 0 ? ctx.cfg.epochs : ctx.cfg.quick ? 3 : 20;
  constexpr std::int64_t batch_size = 128;
  constexpr double base_lr = 0.05, dropout = 0.2, weight_decay = 5e-4;
  ex::mlp<float> net({.sizes = {784, 512, 256, 10}, .dropout = dropout, .seed = ctx.cfg.seed});

  ex::stand_in::sgd<float> opt(
      {.lr = base_lr, .momentum = 0.9, .weight_decay = weight_decay, .nesterov = true});
  ex::stand_in::early_stopping stop(
      {.mode = ex::stand_in::mode::max, .patience = 4, .restore_best = true});
  for (auto& l : net.layers()) {
    opt.add(l.w(), l.dw());
    opt.add(l.b(), l.db(), {.weight_decay = 0.0});
    stop.track(l.w());
    stop.track(l.b());
  }
  const std::int64_t steps_per_epoch = (ctx.data.train.size() + batch_size - 1) / batch_size;
  const auto total_steps = static_cast<double>(epochs * steps_per_epoch);
  // Cosine annealing to zero over the whole run (SGDR without restarts, Loshchilov & Hutter 2017).
  const auto lr = [=](std::int64_t t) {
    return 0.5 * base_lr * (1 + std::cos(M_PI * static_cast<double>(t) / total_steps));
  };
  const auto run = ex::fit(net, opt, lr, ctx.data.train, &ctx.data.val,
                           {.epochs = epochs,
                            .batch_size = batch_size,
                            .seed = ctx.cfg.seed,
                            .label = "teacher",
                            .progress = ctx.progress,
                            .threads = static_cast<int>(ctx.cfg.threads)},
                           {.after_epoch = [&](const ex::epoch_record& r) {
                             return stop.observe(r.val_accuracy);
                           }});
  stop.restore();

  const auto test = ex::evaluate(net, ctx.data.test);
  double train_seconds = 0, samples_per_second = 0;
  std::vector<double> train_loss, val_accuracy, epoch_seconds, epoch_threads;
  for (const auto& r : run.epochs) {
    epoch_threads.push_back(r.threads);
    train_seconds += r.seconds;
    train_loss.push_back(r.train_loss);
    val_accuracy.push_back(r.val_accuracy);
    epoch_seconds.push_back(r.seconds);
  }
  const auto ran = static_cast<double>(run.epochs.size());
  samples_per_second = static_cast<double>(ctx.data.train.size()) * ran / train_seconds;

  auto& t = ctx.results["teacher"];
  t["architecture"] = architecture(net);
  t["dropout"] = dropout;
  t["optimizer"] = ex::json::object({{"name", "sgd"},
                                     {"lr", base_lr},
                                     {"momentum", 0.9},
                                     {"nesterov", true},
                                     {"weight_decay", weight_decay},
                                     {"schedule", "cosine"},
                                     {"batch_size", batch_size}});
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
  t["samples_per_second"] = samples_per_second;
  t["history"] = ex::json::object({{"train_loss", ex::json::array(train_loss)},
                                   {"val_accuracy", ex::json::array(val_accuracy)},
                                   {"epoch_seconds", ex::json::array(epoch_seconds)},
                                   {"epoch_threads", ex::json::array(epoch_threads)}});
  ctx.table.push_back({"teacher", architecture(net), test.accuracy, float_bytes(net),
                       fmt::format("{} epochs, {:.2f} s/epoch", run.epochs.size(),
                                   train_seconds / ran)});
  return net;
}

void print_table(const context& ctx) {
  fmt::print("\n{:<10} {:<22} {:>9} {:>10}  {}\n", "stage", "model", "test acc", "size", "notes");
  fmt::print("{:-<10} {:-<22} {:->9} {:->10}  {:-<30}\n", "", "", "", "", "");
  for (const auto& r : ctx.table)
    fmt::print("{:<10} {:<22} {:>9.4f} {:>10}  {}\n", r.stage, r.model, r.accuracy,
               human_bytes(r.bytes), r.note);
}

splits make_splits(const config& cfg) {
  const ex::stopwatch clock;
  const ex::fashion_mnist fm = ex::load_fashion_mnist(cfg.data);
  splits s;
  // 5,000 training images are held out for validation (early stopping, model selection); the
  // test set is touched only to report. --quick keeps the same pipeline on a tenth of the data.
  auto [train, val] = ex::split_off(fm.train, cfg.quick ? 1000 : 5000, cfg.seed);
  s.train = cfg.quick ? train.head(6000) : std::move(train);
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
      .option("json", cfg.json_path, "PATH", "write every result to PATH (JSON)")
      .option("epochs", cfg.epochs, "N", "teacher epochs (default 20, 3 with --quick)", 0)
      .flag("quiet", cfg.quiet, "no progress bars");
  if (!cli.parse(argc, argv)) return 0;

  const ex::stopwatch clock;
  ex::retain_freed_memory();
  const int threads = cfg.threads > 0 ? static_cast<int>(cfg.threads) : ex::hardware_threads();
  ex::set_compute_threads(threads);

  context ctx{.cfg = cfg, .data = make_splits(cfg)};
  if (cfg.quiet) ctx.progress = ex::progress_style::quiet;
  ctx.results["schema_version"] = 1;
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

  const ex::mlp<float> teacher = train_teacher(ctx);
  (void)teacher;  // stages 2–6 start from it

  const double seconds = clock.seconds();
  ctx.results["seconds"] = seconds;
  print_table(ctx);
  fmt::print("\ntotal {:.1f} s, {}\n", seconds,
             cfg.threads > 0 ? fmt::format("{} thread{}", threads, threads == 1 ? "" : "s")
                             : fmt::format("1 or {} threads, the faster each epoch", threads));
  if (!cfg.json_path.empty()) {
    std::ofstream out(cfg.json_path, std::ios::binary);
    out << ctx.results.dump();
    if (!out.flush())
      throw ex::data_error(fmt::format("{}: cannot write the results", cfg.json_path));
    fmt::print("results written to {}\n", cfg.json_path);
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
