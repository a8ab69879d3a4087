#pragma once
/// \file
/// Softmax cross-entropy for a batch of logits, value and gradient in one fused row-wise pass.

#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include <pare/core/tensor_view.hpp>

namespace pare_examples {

/// Mean softmax cross-entropy of `logits` `[batch, classes]` against class `labels`, and its
/// gradient with respect to the logits written to `grad` (same shape, overwritten):
///
///     loss = (1/B) Σ_b [ log Σ_k exp(z_bk) − z_b,y_b ],   ∂loss/∂z_bk = (softmax(z_b)_k − [k = y_b]) / B
///
/// The log-sum-exp subtracts each row's maximum first, so ±1e4 logits stay finite. Labels must be
/// in [0, classes) (unchecked: datasets are validated when loaded); shapes are checked.
template <class T>
double softmax_cross_entropy(pare::tensor_view<const T> logits,
                             std::span<const std::int64_t> labels, pare::tensor_view<T> grad) {
  constexpr auto component = "pare_examples::softmax_cross_entropy";
  pare::detail::require_same_shape(component, "logits", logits, "grad", grad);
  const std::int64_t b = logits.rows();
  pare::detail::require(static_cast<std::int64_t>(labels.size()) == b, component, "labels size",
                        "the batch size " + std::to_string(b), labels.size());
  const T inv_b = T(1) / static_cast<T>(b);
  double total = 0;
  for (std::int64_t r = 0; r < b; ++r) {
    const auto z = logits.matrix().row(r).array();
    auto g = grad.matrix().row(r).array();
    const T m = z.maxCoeff();
    g = (z - m).exp();
    const T sum = g.sum();
    const auto y = labels[static_cast<std::size_t>(r)];
    total += static_cast<double>(std::log(sum) + m - z(y));
    g *= inv_b / sum;
    g(y) -= inv_b;
  }
  return total / static_cast<double>(b);
}

/// `softmax_cross_entropy` as the loss policy of `fit` (it ignores which dataset rows the batch
/// holds; a distillation loss uses them to look up the teacher's logits).
struct cross_entropy_loss {
  template <class T>
  double operator()(pare::tensor_view<const T> logits, std::span<const std::int64_t> labels,
                    std::span<const std::int64_t> /*rows*/, pare::tensor_view<T> grad) const {
    return softmax_cross_entropy(logits, labels, grad);
  }
};

}  // namespace pare_examples
