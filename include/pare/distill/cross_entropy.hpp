#pragma once
/// \file
/// `pare::distill::cross_entropy`: softmax cross-entropy with integer labels, its value and its
/// gradient with respect to the logits, in one fused pass per row.

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/distill/detail/checks.hpp"
#include "pare/distill/detail/logit_rows.hpp"

namespace pare::distill {

/// Softmax cross-entropy of `[batch, classes]` logits against integer labels, averaged over the
/// batch (PyTorch's `CrossEntropyLoss()`, optionally with `label_smoothing`):
///
///     loss_b = log Σ_j exp(z_bj) − (1 − ε)·z_b,y_b − ε·mean_j z_bj
///     value  = (1/B) Σ_b loss_b        or, with sample weights, Σ_b w_b·loss_b / Σ_b w_b
///     grad   = d value / d z  (overwritten) = coef_b·(softmax(z_b) − (1 − ε)·onehot(y_b) − ε/C)
///
///     std::vector<float> g(batch * classes);
///     double v = pare::distill::cross_entropy{}(logits, labels, pare::tensor_view<float>(g, {batch, classes}));
///
/// Stable for ±1e4 and all-equal logits. A NaN logit makes the value and its row's gradient NaN.
/// A −inf logit is a class with probability exactly 0 and gradient exactly 0 (−coef·ε/C with
/// label smoothing), on every build; at the label, or with ε > 0, the value is +inf (as torch).
/// Throws `pare::error` (leaving `grad` untouched) for: logits not rank 2 or empty, `grad` of
/// another shape or overlapping the inputs, a label count other than the batch, a label outside
/// [0, classes), a label_smoothing outside [0, 1], sample weights that are negative, not finite,
/// not one per row or that sum to 0.
struct cross_entropy {
  /// ε of label smoothing (Szegedy et al. 2016): the target is (1 − ε)·onehot + ε/C.
  double label_smoothing = 0.0;

  /// Throws `pare::error` when an option is out of range.
  void validate() const {
    pare::detail::require(label_smoothing >= 0 && label_smoothing <= 1, component,
                          "label_smoothing", "in [0, 1]", label_smoothing);
  }

  double operator()(tensor_view<const float> logits, std::span<const std::int64_t> labels,
                    tensor_view<float> grad) const {
    return run<float>(logits, labels, {}, false, grad);
  }
  double operator()(tensor_view<const double> logits, std::span<const std::int64_t> labels,
                    tensor_view<double> grad) const {
    return run<double>(logits, labels, {}, false, grad);
  }
  /// Weighted: Σ_b w_b·loss_b / Σ_b w_b (a weighted mean, so all-equal weights give the
  /// unweighted value).
  double operator()(tensor_view<const float> logits, std::span<const std::int64_t> labels,
                    std::span<const float> sample_weights, tensor_view<float> grad) const {
    return run<float>(logits, labels, sample_weights, true, grad);
  }
  double operator()(tensor_view<const double> logits, std::span<const std::int64_t> labels,
                    std::span<const double> sample_weights, tensor_view<double> grad) const {
    return run<double>(logits, labels, sample_weights, true, grad);
  }

  static constexpr std::string_view component = "pare::distill::cross_entropy";

 private:
  template <class T>
  double run(tensor_view<const T> logits, std::span<const std::int64_t> labels,
             std::span<const T> weights, bool weighted, tensor_view<T> grad) const {
    validate();
    detail::require_logits(component, "logits", logits);
    pare::detail::require_same_shape(component, "logits", logits, "grad", grad);
    detail::require_disjoint(component, "grad", grad, "logits", logits);
    detail::require_labels(component, labels, logits.extent(0), logits.extent(1));
    detail::logit_rows_args<T> a;
    if (weighted) {
      a.weight_sum = detail::require_sample_weights(component, weights, logits.extent(0));
      detail::require_disjoint(component, "grad", grad, "sample_weights",
                               tensor_view<const T>(weights));
      a.weights = weights.data();
    }
    a.student = logits.data();
    a.labels = labels.data();
    a.grad = grad.data();
    a.rows = logits.extent(0);
    a.cols = logits.extent(1);
    a.smoothing = label_smoothing;
    return detail::logit_rows(a);
  }
};

}  // namespace pare::distill
