#pragma once
/// \file
/// A dense multi-layer perceptron on Eigen: linear layers with ReLU between them, optional
/// dropout after each hidden ReLU, forward and backward over a batch.
///
/// Every layer keeps its weight `[out, in]` (row-major, PyTorch's layout), bias `[out]` and their
/// gradients in buffers of its own, so pare components take them as `pare::tensor_view`s:
///
///     pare_examples::mlp<float> net({.sizes = {784, 512, 256, 10}, .dropout = 0.2, .seed = 1});
///     for (auto& l : net.layers()) { opt.add(l.w(), l.dw()); opt.add(l.b(), l.db()); }
///     auto logits = net.forward(x);          // x: [batch, 784] → logits [batch, 10]
///     double loss = softmax_cross_entropy(logits, labels, dlogits);
///     net.backward(dlogits);                 // overwrites every dw(), db()
///     opt.step();
///
/// Batches are row-major `[batch, features]`, so a layer is one matrix product Z = X·Wᵀ + b (Eigen
/// GEMM, parallel with OpenMP). Activation buffers grow to the largest batch seen and are reused:
/// a training step allocates nothing once the first batch has run.

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <pare/core/tensor_view.hpp>
#include <pare/reg/dropout.hpp>

namespace pare_examples {

/// The dropout that `mlp` applies after each hidden ReLU.
template <class T>
using mlp_dropout = pare::reg::dropout<T>;

/// Options of `mlp`.
struct mlp_options {
  /// Layer widths, inputs first and classes last: {784, 512, 256, 10} is two hidden layers.
  std::vector<std::int64_t> sizes;
  /// Dropout rate after each hidden ReLU (0 = none).
  double dropout = 0;
  /// Seeds the initial weights and the dropout masks.
  std::uint64_t seed = 0;
};

/// A ReLU multi-layer perceptron whose parameters and gradients live in per-layer buffers.
template <class T = float>
class mlp {
 public:
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using map = Eigen::Map<matrix>;
  using const_map = Eigen::Map<const matrix>;
  using row_map = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;

  /// One linear layer: y = x·Wᵀ + b.
  struct layer {
    std::int64_t in = 0, out = 0;
    std::vector<T> weight, bias, weight_grad, bias_grad;

    pare::tensor_view<T> w() { return {weight.data(), {out, in}}; }
    pare::tensor_view<T> b() { return {bias.data(), {out}}; }
    pare::tensor_view<T> dw() { return {weight_grad.data(), {out, in}}; }
    pare::tensor_view<T> db() { return {bias_grad.data(), {out}}; }
    pare::tensor_view<const T> w() const { return {weight.data(), {out, in}}; }
    pare::tensor_view<const T> b() const { return {bias.data(), {out}}; }
  };

  /// Builds the layers and initializes them as torch.nn.Linear does: weights and biases uniform
  /// in ±1/√in (He et al. 2015's uniform init with a = √5), from `std::mt19937_64(seed)`.
  explicit mlp(const mlp_options& o) {
    if (o.sizes.size() < 2)
      throw std::invalid_argument("pare_examples::mlp: sizes must list at least 2 widths, got " +
                                  std::to_string(o.sizes.size()));
    for (const auto s : o.sizes)
      if (s < 1)
        throw std::invalid_argument("pare_examples::mlp: every width must be at least 1, got " +
                                    std::to_string(s));
    std::mt19937_64 rng(o.seed);
    const auto uniform = [&rng](double bound) {
      return static_cast<T>(bound * (2.0 * static_cast<double>(rng() >> 11) * 0x1p-53 - 1.0));
    };
    for (std::size_t i = 0; i + 1 < o.sizes.size(); ++i) {
      layer l;
      l.in = o.sizes[i];
      l.out = o.sizes[i + 1];
      const double bound = 1.0 / std::sqrt(static_cast<double>(l.in));
      l.weight.resize(static_cast<std::size_t>(l.out * l.in));
      l.bias.resize(static_cast<std::size_t>(l.out));
      for (auto& v : l.weight) v = uniform(bound);
      for (auto& v : l.bias) v = uniform(bound);
      l.weight_grad.assign(l.weight.size(), T(0));
      l.bias_grad.assign(l.bias.size(), T(0));
      layers_.push_back(std::move(l));
    }
    for (std::size_t i = 0; i + 1 < layers_.size(); ++i)
      dropout_.emplace_back(pare::reg::dropout_options{
          .rate = o.dropout, .seed = o.seed ^ (0xD1B54A32D192ED03ull * (i + 1))});
    dropout_rate_ = o.dropout;
    z_.resize(layers_.size());
    a_.resize(layers_.size());
  }

  [[nodiscard]] std::vector<layer>& layers() noexcept { return layers_; }
  [[nodiscard]] const std::vector<layer>& layers() const noexcept { return layers_; }
  [[nodiscard]] std::int64_t inputs() const noexcept { return layers_.front().in; }
  [[nodiscard]] std::int64_t outputs() const noexcept { return layers_.back().out; }
  /// Number of weights and biases.
  [[nodiscard]] std::int64_t parameters() const noexcept {
    std::int64_t n = 0;
    for (const auto& l : layers_) n += l.out * l.in + l.out;
    return n;
  }

  /// Training mode applies dropout; evaluation mode does not.
  void set_training(bool on) noexcept {
    training_ = on;
    for (auto& d : dropout_) d.set_training(on);
  }
  [[nodiscard]] bool training() const noexcept { return training_; }

  /// Runs a batch `x` `[batch, inputs()]` through the network and returns the logits
  /// `[batch, outputs()]`, a view valid until the next forward. `x` must stay unchanged until
  /// `backward`, which reads it again.
  pare::tensor_view<const T> forward(pare::tensor_view<const T> x) {
    if (x.rank() != 2 || x.cols() != inputs())
      throw std::invalid_argument("pare_examples::mlp: x must be [batch, " +
                                  std::to_string(inputs()) + "], got " +
                                  pare::detail::to_text(x.shape()));
    const std::int64_t batch = x.rows();
    reserve(batch);
    x_ = x;
    batch_ = batch;
    const T* input = x.data();
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const auto& l = layers_[i];
      const_map in(input, batch, l.in);
      map z(z_[i].data(), batch, l.out);
      z.noalias() = in * const_map(l.weight.data(), l.out, l.in).transpose();
      const auto bias = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(l.bias.data(), l.out);
      if (i + 1 == layers_.size()) {
        z.rowwise() += bias;
        break;
      }
      z = (z.rowwise() + bias).cwiseMax(T(0));
      input = z_[i].data();
      if (dropout_active()) {
        dropout_[i].forward(hidden(z_, i), hidden(a_, i));
        input = a_[i].data();
      }
    }
    return {z_.back().data(), {batch, outputs()}};
  }

  /// Backpropagates `dlogits` (∂loss/∂logits, `[batch, outputs()]` of the last forward) and
  /// overwrites every layer's `dw()` and `db()`.
  void backward(pare::tensor_view<const T> dlogits) {
    if (dlogits.rank() != 2 || dlogits.rows() != batch_ || dlogits.cols() != outputs())
      throw std::invalid_argument("pare_examples::mlp: dlogits must be [" +
                                  std::to_string(batch_) + ", " + std::to_string(outputs()) +
                                  "] like the last forward's logits, got " +
                                  pare::detail::to_text(dlogits.shape()));
    const T* dz = dlogits.data();
    for (std::size_t i = layers_.size(); i-- > 0;) {
      auto& l = layers_[i];
      const_map g(dz, batch_, l.out);
      const T* input = i == 0 ? x_.data() : (dropout_active() ? a_[i - 1] : z_[i - 1]).data();
      map(l.weight_grad.data(), l.out, l.in).noalias() =
          g.transpose() * const_map(input, batch_, l.in);
      row_map(l.bias_grad.data(), l.out).noalias() = g.colwise().sum();
      if (i == 0) break;
      // ∂loss/∂(input of layer i) = g·W, then back through dropout and the ReLU of layer i − 1.
      map d(da_.data(), batch_, l.in);
      d.noalias() = g * const_map(l.weight.data(), l.out, l.in);
      // z_[i − 1] holds ReLU outputs: positive exactly where the pre-activation was.
      const const_map h(z_[i - 1].data(), batch_, l.in);
      if (dropout_active()) {
        dropout_[i - 1].backward(pare::tensor_view<const T>(da_.data(), {batch_, l.in}),
                                 pare::tensor_view<T>(dh_.data(), {batch_, l.in}));
        d.array() = const_map(dh_.data(), batch_, l.in).array() *
                    (h.array() > T(0)).template cast<T>();
      } else {
        d.array() *= (h.array() > T(0)).template cast<T>();
      }
      std::swap(da_, dg_);  // the next layer's product must not read and write the same buffer
      dz = dg_.data();
    }
  }

 private:
  [[nodiscard]] bool dropout_active() const noexcept { return training_ && dropout_rate_ > 0; }
  pare::tensor_view<T> hidden(std::vector<std::vector<T>>& buffers, std::size_t i) {
    return {buffers[i].data(), {batch_, layers_[i].out}};
  }
  /// Sizes the activation buffers for `batch` rows (only ever grows).
  void reserve(std::int64_t batch) {
    if (batch <= capacity_) return;
    std::int64_t widest = 0;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const auto n = static_cast<std::size_t>(batch * layers_[i].out);
      z_[i].resize(n);
      if (i + 1 < layers_.size()) a_[i].resize(n);
      widest = std::max(widest, layers_[i].in);
    }
    for (auto* v : {&da_, &dg_, &dh_}) v->resize(static_cast<std::size_t>(batch * widest));
    capacity_ = batch;
  }

  std::vector<layer> layers_;
  std::vector<mlp_dropout<T>> dropout_;
  double dropout_rate_ = 0;
  bool training_ = true;
  // Per layer: z_ the layer's output (after ReLU for hidden layers; logits for the last), a_ the
  // hidden output after dropout. da_, dg_, dh_: gradient scratch, [batch, widest input].
  std::vector<std::vector<T>> z_, a_;
  std::vector<T> da_, dg_, dh_;
  pare::tensor_view<const T> x_;
  std::int64_t batch_ = 0, capacity_ = 0;
};

}  // namespace pare_examples
