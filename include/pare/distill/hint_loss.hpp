#pragma once
/// \file
/// `pare::distill::hint_loss`: FitNets feature matching (Romero et al. 2015), optionally
/// through a user-owned linear regressor, with the gradients of the student feature and of the
/// regressor.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <Eigen/Core>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/distill/detail/checks.hpp"
#include "pare/distill/detail/scratch.hpp"
#include "pare/distill/detail/squared_error.hpp"
#include "pare/reg/detail/reduce.hpp"

namespace pare::distill {

/// A linear regressor r(v) = v·Wᵀ + b that maps student features to the teacher's width, and
/// where `hint_loss` writes its gradients. The user owns all four buffers (and trains W, b with
/// any optimizer). `bias`/`grad_bias` may both be empty (no bias).
///
///     pare::distill::linear_regressor<float> r{.weight = W, .bias = b,
///                                              .grad_weight = dW, .grad_bias = db};
template <class T>
struct linear_regressor {
  tensor_view<const T> weight{};  ///< [teacher_features, student_features]
  tensor_view<const T> bias{};    ///< [teacher_features], or empty
  tensor_view<T> grad_weight{};   ///< same shape as weight; overwritten
  tensor_view<T> grad_bias{};     ///< same shape as bias; overwritten (empty when bias is)
};

/// FitNets hint loss (Romero et al. 2015, "FitNets: Hints for Thin Deep Nets"): the squared
/// error between the teacher's hint features u and the student's guided features v, passed
/// through an optional linear regressor r, averaged over every element:
///
///     without regressor: value = (1/N) Σ (v − u)²,        d/dv = 2 (v − u) / N
///     with regressor:    D = v·Wᵀ + b − u   ([batch, teacher_features], N = its size)
///                        value = (1/N) Σ D²,  d/dv = (2/N)·D·W,
///                        d/dW = (2/N)·Dᵀ·v,   d/db = (2/N)·Σ_rows D
///
/// (FitNets writes ½‖u − r(v)‖² summed; that is N/2 times this mean, as PyTorch's `mse_loss`.)
/// Every gradient is **overwritten**. Without a regressor the views may have any (equal)
/// shape; with one, features are `[batch, …]` views flattened to `[batch, features]`. The
/// regressor path keeps its residual in a per-thread buffer that grows to the largest batch
/// seen and is reused afterwards. NaN or Inf propagate into the value and the gradients.
///
///     double v = pare::distill::hint_loss{}(student_feat, teacher_feat, grad_feat, regressor);
///
/// Throws `pare::error` (writing nothing) for empty or mismatched shapes, a regressor whose
/// weight is not rank 2 [teacher_features, student_features], a bias that is not
/// [teacher_features], gradient views of other shapes, or outputs that overlap inputs or each
/// other.
struct hint_loss {
  double operator()(tensor_view<const float> student, tensor_view<const float> teacher,
                    tensor_view<float> grad) const {
    return detail::mse_checked(component, student, teacher, grad);
  }
  double operator()(tensor_view<const double> student, tensor_view<const double> teacher,
                    tensor_view<double> grad) const {
    return detail::mse_checked(component, student, teacher, grad);
  }
  double operator()(tensor_view<const float> student, tensor_view<const float> teacher,
                    tensor_view<float> grad, const linear_regressor<float>& regressor) const {
    return regressed<float>(student, teacher, grad, regressor);
  }
  double operator()(tensor_view<const double> student, tensor_view<const double> teacher,
                    tensor_view<double> grad, const linear_regressor<double>& regressor) const {
    return regressed<double>(student, teacher, grad, regressor);
  }

  static constexpr std::string_view component = "pare::distill::hint_loss";

 private:
  template <class T>
  static void require_features(std::string_view name, const tensor_view<const T>& v) {
    if (v.empty() || v.rank() < 2)
      pare::detail::fail(component, std::string(name) +
                                        " must be a non-empty [batch, features] view, got shape " +
                                        pare::detail::to_text(v.shape()));
  }

  template <class T>
  static double regressed(tensor_view<const T> student, tensor_view<const T> teacher,
                          tensor_view<T> grad, const linear_regressor<T>& r) {
    using pare::detail::to_text;
    require_features("student", student);
    require_features("teacher", teacher);
    pare::detail::require_same_shape(component, "student", student, "grad", grad);
    const std::int64_t batch = student.rows(), fs = student.cols(), ft = teacher.cols();
    pare::detail::require(teacher.rows() == batch, component, "teacher rows",
                          "the student's batch (" + to_text(batch) + ")", teacher.rows());
    const std::int64_t want_w[] = {ft, fs};
    if (r.weight.rank() != 2 || r.weight.extent(0) != ft || r.weight.extent(1) != fs)
      pare::detail::fail(component, "regressor weight must have shape " + to_text(std::span<const std::int64_t>(want_w)) +
                                        " [teacher_features, student_features], got " +
                                        to_text(r.weight.shape()));
    pare::detail::require_same_shape(component, "regressor weight", r.weight,
                                     "regressor grad_weight", r.grad_weight);
    const bool has_bias = !r.bias.empty();
    if (has_bias && (r.bias.rank() != 1 || r.bias.extent(0) != ft))
      pare::detail::fail(component, "regressor bias must have shape [" + to_text(ft) +
                                        "] or be empty, got " + to_text(r.bias.shape()));
    if (has_bias || !r.grad_bias.empty())
      pare::detail::require_same_shape(component, "regressor bias", r.bias,
                                       "regressor grad_bias", r.grad_bias);
    // Outputs must not overlap inputs or one another.
    const tensor_view<const T> inputs[] = {student, teacher, r.weight, r.bias};
    const char* input_names[] = {"student", "teacher", "regressor weight", "regressor bias"};
    const tensor_view<T> outputs[] = {grad, r.grad_weight, r.grad_bias};
    const char* output_names[] = {"grad", "regressor grad_weight", "regressor grad_bias"};
    for (int o = 0; o < 3; ++o) {
      for (int i = 0; i < 4; ++i)
        detail::require_disjoint(component, output_names[o], outputs[o], input_names[i], inputs[i]);
      for (int p = o + 1; p < 3; ++p)
        detail::require_disjoint(component, output_names[o], outputs[o], output_names[p],
                                 outputs[p]);
    }

    using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using cmap = Eigen::Map<const matrix>;
    using map = Eigen::Map<matrix>;
    const cmap v(student.data(), batch, fs), u(teacher.data(), batch, ft), w(r.weight.data(), ft, fs);
    map d(detail::scratch<T>(static_cast<std::size_t>(batch * ft)), batch, ft);
    d.noalias() = v * w.transpose();
    if (has_bias) d.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(r.bias.data(), ft);
    d -= u;
    const double n = static_cast<double>(batch * ft);
    const double value =
        pare::reg::detail::sum_as_double(d.data(), batch * ft, [](double x) { return x * x; }) / n;
    d *= static_cast<T>(2.0 / n);
    map(grad.data(), batch, fs).noalias() = d * w;
    map(r.grad_weight.data(), ft, fs).noalias() = d.transpose() * v;
    if (has_bias)
      Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>(r.grad_bias.data(), ft) = d.colwise().sum();
    return value;
  }
};

}  // namespace pare::distill
