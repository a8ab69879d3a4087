#pragma once
/// \file
/// `pare::distill::kd_loss`: the knowledge-distillation loss of Hinton, Vinyals & Dean (2015),
/// value and gradient with respect to the student logits in one fused pass per row.

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/distill/detail/checks.hpp"
#include "pare/distill/detail/logit_rows.hpp"

namespace pare::distill {

/// Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
/// Network"): the student matches the teacher's softened distribution and the true labels,
///
///     value = alpha · T² · (1/B) Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T))
///           + (1 − alpha) · (1/B) Σ_b CE(s_b, y_b)
///
/// with KL(p ‖ q) = Σ_j p_j (log p_j − log q_j) summed over classes — PyTorch's
/// `T*T * kl_div(log_softmax(s/T), softmax(t/T), reduction='batchmean')` mixed with
/// `cross_entropy(s, y)`. T² keeps the soft term's gradient scale independent of T. `grad` is
/// **overwritten** with d value / d s = alpha·T·(q − p)/B + (1 − alpha)·(softmax(s) − onehot(y))/B.
///
///     pare::distill::kd_loss kd{.temperature = 4.0, .alpha = 0.9};
///     double v = kd(student, teacher, labels, grad);              // teacher logits
///     double w = kd.offline(student, soft_targets, labels, grad); // p = softmax(t/T) computed once
///
/// Sample weights (one per row) make both terms a weighted mean, Σ_b w_b·loss_b / Σ_b w_b.
/// `offline` takes the teacher's probabilities at temperature T instead of its logits; they are
/// used as given (zeros allowed, 0·log 0 = 0; rows that do not sum to 1 get the exact gradient
/// (Σp·q − p)·alpha·T/B of the formula above). With alpha = 1 the labels may be empty; a term
/// whose weight is 0 is not computed. Stable for ±1e4 and all-equal logits and T in
/// [0.5, 20] and beyond; a NaN in a row (student, teacher or probabilities) makes the value
/// and that row's gradient NaN. −inf logits (masked classes) give exactly 0 probability and
/// gradient on every build, and the value is torch's kl_div term by term: a class with teacher
/// probability 0 (logit −inf, a −1e9 that underflows, soft target 0) adds 0 to the KL where
/// the student logit is finite and makes it NaN where the student is −inf too (0·(−inf), as
/// torch; the gradient stays that of the row without the class, exactly 0 there, as torch's
/// backward); a student −inf where the teacher's probability is positive makes the value +inf
/// (as torch). With alpha = 0 the KL is not computed, so such a row gives the cross-entropy.
///
/// Throws `pare::error`, leaving `grad` untouched, for: temperature not finite and > 0, alpha
/// outside [0, 1], logits not rank 2 or empty, teacher or grad of another shape, grad
/// overlapping an input, labels not one per row or outside [0, classes), bad sample weights
/// (negative, not finite, not one per row, zero sum).
struct kd_loss {
  /// T: both distributions are softmax(logits / T). Must be finite and > 0.
  double temperature = 4.0;
  /// Weight of the soft-target term; 1 − alpha weighs the hard-label cross-entropy. In [0, 1].
  double alpha = 0.9;

  /// Throws `pare::error` when an option is out of range.
  void validate() const {
    detail::require_temperature(component, temperature);
    pare::detail::require(alpha >= 0 && alpha <= 1, component, "alpha", "in [0, 1]", alpha);
  }

  /// Online distillation: `teacher` holds the teacher's logits.
  double operator()(tensor_view<const float> student, tensor_view<const float> teacher,
                    std::span<const std::int64_t> labels, tensor_view<float> grad) const {
    return run<float>(student, teacher, false, labels, {}, false, grad);
  }
  double operator()(tensor_view<const double> student, tensor_view<const double> teacher,
                    std::span<const std::int64_t> labels, tensor_view<double> grad) const {
    return run<double>(student, teacher, false, labels, {}, false, grad);
  }
  /// Online, weighted: Σ_b w_b·loss_b / Σ_b w_b.
  double operator()(tensor_view<const float> student, tensor_view<const float> teacher,
                    std::span<const std::int64_t> labels, std::span<const float> sample_weights,
                    tensor_view<float> grad) const {
    return run<float>(student, teacher, false, labels, sample_weights, true, grad);
  }
  double operator()(tensor_view<const double> student, tensor_view<const double> teacher,
                    std::span<const std::int64_t> labels, std::span<const double> sample_weights,
                    tensor_view<double> grad) const {
    return run<double>(student, teacher, false, labels, sample_weights, true, grad);
  }

  /// Offline distillation: `teacher_probs` = softmax(teacher logits / T), computed once (e.g.
  /// with `pare::distill::softmax(t, p, T)`) and reused every epoch.
  double offline(tensor_view<const float> student, tensor_view<const float> teacher_probs,
                 std::span<const std::int64_t> labels, tensor_view<float> grad) const {
    return run<float>(student, teacher_probs, true, labels, {}, false, grad);
  }
  double offline(tensor_view<const double> student, tensor_view<const double> teacher_probs,
                 std::span<const std::int64_t> labels, tensor_view<double> grad) const {
    return run<double>(student, teacher_probs, true, labels, {}, false, grad);
  }
  /// Offline, weighted.
  double offline(tensor_view<const float> student, tensor_view<const float> teacher_probs,
                 std::span<const std::int64_t> labels, std::span<const float> sample_weights,
                 tensor_view<float> grad) const {
    return run<float>(student, teacher_probs, true, labels, sample_weights, true, grad);
  }
  double offline(tensor_view<const double> student, tensor_view<const double> teacher_probs,
                 std::span<const std::int64_t> labels, std::span<const double> sample_weights,
                 tensor_view<double> grad) const {
    return run<double>(student, teacher_probs, true, labels, sample_weights, true, grad);
  }

  static constexpr std::string_view component = "pare::distill::kd_loss";

 private:
  template <class T>
  double run(tensor_view<const T> student, tensor_view<const T> teacher, bool probabilities,
             std::span<const std::int64_t> labels, std::span<const T> weights, bool weighted,
             tensor_view<T> grad) const {
    validate();
    const std::string_view teacher_name = probabilities ? "teacher_probs" : "teacher";
    detail::require_logits(component, "student", student);
    pare::detail::require_same_shape(component, "student", student, teacher_name, teacher);
    pare::detail::require_same_shape(component, "student", student, "grad", grad);
    detail::require_disjoint(component, "grad", grad, "student", student);
    detail::require_disjoint(component, "grad", grad, teacher_name, teacher);
    const std::int64_t rows = student.extent(0), cols = student.extent(1);
    const bool hard = alpha < 1 || !labels.empty();
    if (hard) detail::require_labels(component, labels, rows, cols);
    detail::logit_rows_args<T> a;
    if (weighted) {
      a.weight_sum = detail::require_sample_weights(component, weights, rows);
      detail::require_disjoint(component, "grad", grad, "sample_weights",
                               tensor_view<const T>(weights));
      a.weights = weights.data();
    }
    a.student = student.data();
    a.teacher = teacher.data();
    a.teacher_probabilities = probabilities;
    a.labels = alpha < 1 ? labels.data() : nullptr;
    a.grad = grad.data();
    a.rows = rows;
    a.cols = cols;
    a.temperature = temperature;
    a.alpha = alpha;
    return detail::logit_rows(a);
  }
};

}  // namespace pare::distill
