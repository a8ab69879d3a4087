#pragma once
/// \file
/// Gradient clipping transforms: element-wise by value, and by the global norm of all updates.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

#include <Eigen/Core>

#include "pare/core/error.hpp"
#include "pare/optim/transform.hpp"

namespace pare::optim {

/// Clamps every element of the update to [−clip_value, clip_value] (PyTorch's
/// `clip_grad_value_`, Optax's `clip`). NaN stays NaN.
struct clip_by_value {
  double clip_value = 1.0;

  static constexpr std::string_view name = "pare::optim::clip_by_value";
  void validate() const {
    detail::require(clip_value >= 0, name, "clip_value", ">= 0", clip_value);
  }
  template <class T>
  struct clamp_kernel {
    T lo, hi;
    T operator()(T u, T, std::int64_t) const noexcept {
      // NaN compares false and stays (as torch.clamp); vectorizes to max/min.
      const T x = u < lo ? lo : u;
      return x > hi ? hi : x;
    }
  };
  template <class T>
  clamp_kernel<T> kernel(std::int64_t) const noexcept {
    return {static_cast<T>(-clip_value), static_cast<T>(clip_value)};
  }
};

/// Rescales the updates of all parameters together so that their global L2 norm is at most
/// max_norm (Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
/// networks", 2013):
///
///     n = ‖(u_1, …, u_k)‖₂,   u_i ← u_i · min(1, max_norm / (n + eps))
///
/// With the default eps = 1e-6 this is exactly PyTorch's `clip_grad_norm_` (so a clipped norm
/// lands slightly below max_norm); eps = 0 gives Optax's `clip_by_global_norm` and Keras's
/// `global_clipnorm`. The norm is measured over the updates as they arrive at this transform —
/// the raw gradients when it comes first — in one extra read-only pass before the step. A
/// non-finite norm propagates as in PyTorch: an Inf norm scales every update by 0 (Inf·0 = NaN
/// where the gradient was Inf), a NaN norm makes every update NaN; put `skip_non_finite` first
/// to skip such steps instead. The optimizer's `status<clip_by_global_norm>()` holds the last
/// norm and factor.
struct clip_by_global_norm {
  double max_norm = 1.0;
  double eps = 1e-6;

  static constexpr std::string_view name = "pare::optim::clip_by_global_norm";
  void validate() const {
    detail::require(max_norm >= 0, name, "max_norm", ">= 0", max_norm);
    detail::require(eps >= 0, name, "eps", ">= 0", eps);
  }

  struct partial {
    double sum_of_squares = 0;
  };
  /// What the last step measured.
  struct status {
    double norm = 0;
    double factor = 1;
  };
  struct scalars {
    double factor = 1;
  };

  template <class T>
  void reduce(partial& a, const chunk<T>& c) const {
    a.sum_of_squares += detail::lanewise_sum(c.u.data(), c.size(), [](T x) { return x * x; });
  }
  void combine(partial& a, const partial& b) const { a.sum_of_squares += b.sum_of_squares; }
  bool finish(const partial& total, status& st, scalars& k) const {
    st.norm = std::sqrt(total.sum_of_squares);
    const double denominator = st.norm + eps;
    // std::min keeps a NaN coefficient (as torch.clamp does); 0/0 (no gradient, eps = 0) is 1.
    st.factor = denominator == 0 ? 1.0 : std::min(max_norm / denominator, 1.0);
    k.factor = st.factor;
    return true;
  }
  template <class T>
  detail::scale_kernel<T> kernel(const scalars& k, std::int64_t) const noexcept {
    return {static_cast<T>(k.factor)};
  }
  [[nodiscard]] double scale_factor(const scalars& k) const noexcept { return k.factor; }
  void save(detail::state_writer& w, const status& st) const {
    w.value(st.norm);
    w.value(st.factor);
  }
  void load(detail::state_reader& r, status& st) const {
    st.norm = r.value<double>();
    st.factor = r.value<double>();
  }
};

}  // namespace pare::optim
