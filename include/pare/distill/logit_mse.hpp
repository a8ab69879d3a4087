#pragma once
/// \file
/// `pare::distill::logit_mse`: logit matching by squared error (Ba & Caruana 2014), the
/// T → ∞ limit of soft-target distillation.

#include <cstdint>
#include <string_view>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/distill/detail/squared_error.hpp"

namespace pare::distill {

/// Squared error between student and teacher logits, averaged over every element (PyTorch's
/// `mse_loss(s, t)` with the default `reduction='mean'`):
///
///     value = (1/N) Σ_i (s_i − t_i)²,   grad = 2 (s − t) / N   (N = number of elements)
///
/// Ba & Caruana (2014, "Do Deep Nets Really Need to be Deep?") regress the teacher's logits
/// directly; Hinton et al. (2015) show soft-target KD tends to this as T grows. `grad` is
/// **overwritten**. Any shape, as long as the three views agree. NaN or Inf propagate into the
/// value and the affected gradient elements. Throws `pare::error` (leaving `grad` untouched) for
/// an empty student, shapes that differ, or `grad` overlapping an input.
///
///     double v = pare::distill::logit_mse{}(student_logits, teacher_logits, grad);
struct logit_mse {
  double operator()(tensor_view<const float> student, tensor_view<const float> teacher,
                    tensor_view<float> grad) const {
    return detail::mse_checked(component, student, teacher, grad);
  }
  double operator()(tensor_view<const double> student, tensor_view<const double> teacher,
                    tensor_view<double> grad) const {
    return detail::mse_checked(component, student, teacher, grad);
  }

  static constexpr std::string_view component = "pare::distill::logit_mse";
};

}  // namespace pare::distill
