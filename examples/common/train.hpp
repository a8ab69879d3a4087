#pragma once
/// \file
/// The training loop the examples share: mini-batches in a seeded order, a learning-rate
/// schedule, any optimizer with `step()` and `set_lr()`, any loss, hooks around every step and
/// after every epoch, and a progress bar.
///
///     pare_examples::mlp<float> net({.sizes = {784, 256, 10}, .seed = 1});
///     pare::optim::momentum<float> opt({.lr = 0.1});
///     for (auto& l : net.layers()) { opt.add(l.w(), l.dw()); opt.add(l.b(), l.db()); }
///     auto result = pare_examples::fit(net, opt, pare::sched::constant{0.1}, data.train, &val,
///                                      {.epochs = 5, .batch_size = 128, .seed = 1});
///
/// The hooks are where compression techniques plug in without changing the loop: quantization-
/// aware training swaps fake-quantized weights in `before_forward` and restores them in
/// `after_backward`, gradual pruning updates its masks in `after_step`, early stopping answers
/// `after_epoch`. A loss also sees which dataset rows the batch holds, so knowledge distillation
/// can look up the teacher's logits for exactly those rows.

#include <concepts>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/core.h>
#include <pare/core/tensor_view.hpp>
#include <pare/sched/schedule.hpp>

#include "common/dataset.hpp"
#include "common/losses.hpp"
#include "common/mlp.hpp"
#include "common/progress.hpp"
#include "common/runtime.hpp"

namespace pare_examples {

/// What `fit` needs of an optimizer: an update of every registered parameter. When it also has
/// `set_lr` (every named pare::optim optimizer), `fit` sets the rate of each step from the
/// schedule; a pare::optim chain carries its schedule inside (`scale_by_learning_rate{.lr = s}`)
/// and `fit` then only records s(step).
template <class O>
concept trainable_optimizer = requires(O& o) { o.step(); };

/// Whether `fit` drives the optimizer's learning rate itself.
template <class O>
concept lr_settable = requires(O& o, double lr) { o.set_lr(lr); };

/// A loss for `fit`: the batch's mean loss, with ∂loss/∂logits written to `grad`. `rows` are the
/// dataset rows of the batch, in batch order.
template <class L, class T>
concept batch_loss = requires(L& l, pare::tensor_view<const T> logits,
                              std::span<const std::int64_t> labels,
                              std::span<const std::int64_t> rows, pare::tensor_view<T> grad) {
  { l(logits, labels, rows, grad) } -> std::convertible_to<double>;
};
static_assert(batch_loss<cross_entropy_loss, float>);

/// Loss and accuracy of a model on a dataset.
struct evaluation {
  double loss = 0;
  double accuracy = 0;
};

/// Mean cross-entropy and accuracy of `net` on `data`, in evaluation mode (no dropout), in
/// batches of `batch_size`; the model's training mode is restored afterwards. The argmax takes
/// the first maximum, as torch.argmax does.
template <class T>
evaluation evaluate(mlp<T>& net, const dataset<T>& data, std::int64_t batch_size = 1000) {
  const bool was_training = net.training();
  net.set_training(false);
  std::vector<T> grad(static_cast<std::size_t>(batch_size * net.outputs()));
  double loss = 0;
  std::int64_t correct = 0;
  for (std::int64_t begin = 0; begin < data.size(); begin += batch_size) {
    const std::int64_t n = std::min(batch_size, data.size() - begin);
    const auto logits = net.forward(
        pare::tensor_view<const T>(data.x.data() + begin * data.features, {n, data.features}));
    const std::span<const std::int64_t> labels(data.y.data() + begin, static_cast<std::size_t>(n));
    loss += static_cast<double>(n) *
            softmax_cross_entropy(logits, labels, pare::tensor_view<T>(grad.data(), {n, net.outputs()}));
    for (std::int64_t r = 0; r < n; ++r) {
      Eigen::Index k = 0;
      logits.matrix().row(r).maxCoeff(&k);
      correct += k == labels[static_cast<std::size_t>(r)];
    }
  }
  net.set_training(was_training);
  const auto total = static_cast<double>(std::max<std::int64_t>(data.size(), 1));
  return {loss / total, static_cast<double>(correct) / total};
}

/// Options of `fit`.
struct fit_options {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 128;
  /// Seeds the data order (epoch e is shuffled with (seed, e)).
  std::uint64_t seed = 0;
  /// Names the progress bar, followed by " epoch/epochs".
  std::string label = "training";
  progress_style progress = progress_style::automatic;
  /// Threads for the steps: N ≥ 1 fixed, or 0 to pick per epoch the faster of 1 and all cores
  /// by timing a few steps each way (see `thread_picker`).
  int threads = 0;
};

/// One epoch of `fit`.
struct epoch_record {
  std::int64_t epoch = 0;
  double train_loss = 0;      ///< mean of the epoch's batch losses
  double val_loss = 0;        ///< 0 without a validation set
  double val_accuracy = 0;    ///< 0 without a validation set
  double lr = 0;              ///< the learning rate of the epoch's last step
  double seconds = 0;         ///< training time of the epoch, validation excluded
  double samples_per_second = 0;
  int threads = 0;            ///< threads of the epoch's steps after the probes
};

/// Called around every step (with the step count, from 0) and after every epoch.
struct fit_hooks {
  std::function<void(std::int64_t step)> before_forward = {};
  std::function<void(std::int64_t step)> after_backward = {};
  std::function<void(std::int64_t step)> after_step = {};
  /// Called after each epoch's validation; return true to stop training.
  std::function<bool(const epoch_record&)> after_epoch = {};
};

/// What `fit` did.
struct fit_result {
  std::vector<epoch_record> epochs;
  std::vector<double> step_losses;  ///< the loss of every step, in order
  std::int64_t steps = 0;
  double seconds = 0;  ///< wall time, validation included
  bool stopped_early = false;
};

/// Trains `net` on `train` for `o.epochs` epochs: every step gathers a batch, sets the learning
/// rate `lr(step)`, runs forward, the loss, backward and `opt.step()` (on `o.threads` threads).
/// After each epoch it evaluates on `val` (when not null) and asks `hooks.after_epoch` whether to
/// stop. Allocates its batch buffers once; the steps themselves allocate nothing.
template <class T, trainable_optimizer Optimizer, pare::sched::schedule Schedule,
          class Loss = cross_entropy_loss>
  requires batch_loss<Loss, T>
fit_result fit(mlp<T>& net, Optimizer& opt, const Schedule& lr, const dataset<T>& train,
               const std::type_identity_t<dataset<T>>* val, const fit_options& o,
               const fit_hooks& hooks = {},
               Loss loss = {}) {
  batcher batches(train.size(), o.batch_size, o.seed);
  std::vector<T> x(static_cast<std::size_t>(o.batch_size * train.features));
  std::vector<T> grad(static_cast<std::size_t>(o.batch_size * net.outputs()));
  std::vector<std::int64_t> y(static_cast<std::size_t>(o.batch_size));
  fit_result result;
  result.step_losses.reserve(static_cast<std::size_t>(o.epochs * batches.batches()));
  const stopwatch total;
  thread_picker threads(o.threads);
  net.set_training(true);
  for (std::int64_t e = 0; e < o.epochs; ++e) {
    batches.start_epoch(e);
    progress_bar bar(fmt::format("{} {}/{}", o.label, e + 1, o.epochs), train.size(), o.progress);
    epoch_record rec{.epoch = e};
    double loss_sum = 0;
    std::int64_t done = 0;
    for (std::int64_t b = 0; b < batches.batches(); ++b) {
      threads.before_step(b, batches.batches());
      const stopwatch step_clock;
      const auto rows = batches.rows(b);
      const auto n = static_cast<std::int64_t>(rows.size());
      gather<T>(train, rows, x, y);
      const std::int64_t step = result.steps;
      rec.lr = static_cast<double>(lr(step));
      if constexpr (lr_settable<Optimizer>) opt.set_lr(rec.lr);
      if (hooks.before_forward) hooks.before_forward(step);
      const auto logits = net.forward(pare::tensor_view<const T>(x.data(), {n, train.features}));
      const double l = loss(logits, std::span<const std::int64_t>(y.data(), rows.size()), rows,
                            pare::tensor_view<T>(grad.data(), {n, net.outputs()}));
      net.backward(pare::tensor_view<const T>(grad.data(), {n, net.outputs()}));
      if (hooks.after_backward) hooks.after_backward(step);
      opt.step();
      if (hooks.after_step) hooks.after_step(step);
      threads.after_step(b, batches.batches(), step_clock.seconds());
      ++result.steps;
      result.step_losses.push_back(l);
      loss_sum += l;
      done += n;
      bar.update(done, loss_sum / static_cast<double>(b + 1));
    }
    rec.seconds = bar.seconds();
    rec.samples_per_second = static_cast<double>(done) / std::max(rec.seconds, 1e-9);
    rec.train_loss = loss_sum / static_cast<double>(batches.batches());
    rec.threads = threads.chosen();
    std::string summary;
    if (val) {
      const auto v = evaluate(net, *val);
      rec.val_loss = v.loss;
      rec.val_accuracy = v.accuracy;
      summary = fmt::format("val loss {:.4f} acc {:.4f}", v.loss, v.accuracy);
    }
    if (threads.adaptive()) {
      if (!summary.empty()) summary += "  ";
      summary += fmt::format("{} thread{}", rec.threads, rec.threads == 1 ? "" : "s");
    }
    bar.finish(summary);
    result.epochs.push_back(rec);
    if (hooks.after_epoch && hooks.after_epoch(rec)) {
      result.stopped_early = e + 1 < o.epochs;
      break;
    }
  }
  result.seconds = total.seconds();
  return result;
}

}  // namespace pare_examples
