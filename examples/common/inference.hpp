#pragma once
/// \file
/// Inference of a compressed MLP one image at a time, the way a deployed model runs: each layer's
/// y = W·x comes from a caller-given product (a quantized `pare::quant::matvec`, a sparse
/// `pare::prune::matvec`, …), then the float bias and the ReLU.
///
///     std::vector<pare::quant::quantized_tensor> q = …;      // one per layer
///     auto e = pare_examples::evaluate_layerwise(net, test, [&](std::size_t i, auto x, auto y) {
///       pare::quant::matvec(q[i], x, y);
///     });
///
/// The network gives the shapes and biases (its weights are not read). The product runs on one
/// thread: a 512-row product is far too small to share, and on a busy machine a thread waiting for
/// a descheduled peer would cost more than the product.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>
#include <pare/core/tensor_view.hpp>

#include "common/dataset.hpp"
#include "common/losses.hpp"
#include "common/mlp.hpp"
#include "common/runtime.hpp"
#include "common/train.hpp"

namespace pare_examples {

/// Loss and accuracy of the MLP `net` on `data` when layer i's W·x is `matvec(i, x, y)` (x a
/// `tensor_view<const float>` of the layer's inputs, y a `tensor_view<float>` of its outputs).
/// Runs in evaluation mode (no dropout), one image at a time, on one thread (restored after).
template <class MatVec>
evaluation evaluate_layerwise(const mlp<float>& net, const dataset<float>& data, MatVec&& matvec) {
  const auto& layers = net.layers();
  std::int64_t widest = net.inputs();
  for (const auto& l : layers) widest = std::max(widest, l.out);
  std::vector<float> a(static_cast<std::size_t>(widest)), b(a.size()), grad(static_cast<std::size_t>(net.outputs()));
  const int threads = pare::max_threads();
  set_compute_threads(1);
  double loss = 0;
  std::int64_t correct = 0;
  for (std::int64_t r = 0; r < data.size(); ++r) {
    std::copy_n(data.x.data() + r * data.features, data.features, a.data());
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      matvec(i, pare::tensor_view<const float>(a.data(), {l.in}), pare::tensor_view<float>(b.data(), {l.out}));
      auto y = Eigen::Map<Eigen::ArrayXf>(b.data(), l.out);
      y += Eigen::Map<const Eigen::ArrayXf>(l.bias.data(), l.out);
      if (i + 1 < layers.size()) y = y.cwiseMax(0.0f);
      std::swap(a, b);
    }
    const std::int64_t label = data.y[static_cast<std::size_t>(r)];
    loss += softmax_cross_entropy(pare::tensor_view<const float>(a.data(), {1, net.outputs()}),
                                  std::span<const std::int64_t>(&label, 1),
                                  pare::tensor_view<float>(grad.data(), {1, net.outputs()}));
    Eigen::Index k = 0;
    Eigen::Map<const Eigen::ArrayXf>(a.data(), net.outputs()).maxCoeff(&k);
    correct += k == label;
  }
  set_compute_threads(threads);
  const auto n = static_cast<double>(std::max<std::int64_t>(data.size(), 1));
  return {loss / n, static_cast<double>(correct) / n};
}

/// The logits of `net` for every row of `data` (`[size, outputs]`, row-major), in evaluation
/// mode and batches of `batch_size`; the model's training mode is restored afterwards. What a
/// distillation run computes once from its teacher.
template <class T>
std::vector<T> predict_logits(mlp<T>& net, const dataset<T>& data, std::int64_t batch_size = 1000) {
  const bool was_training = net.training();
  net.set_training(false);
  std::vector<T> out(static_cast<std::size_t>(data.size() * net.outputs()));
  for (std::int64_t begin = 0; begin < data.size(); begin += batch_size) {
    const std::int64_t n = std::min(batch_size, data.size() - begin);
    const auto logits = net.forward(
        pare::tensor_view<const T>(data.x.data() + begin * data.features, {n, data.features}));
    std::copy_n(logits.data(), n * net.outputs(), out.data() + begin * net.outputs());
  }
  net.set_training(was_training);
  return out;
}

}  // namespace pare_examples
