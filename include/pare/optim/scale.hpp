#pragma once
/// \file
/// Scaling transforms: by a constant, by the learning rate (fixed or scheduled), by a schedule.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "pare/core/error.hpp"
#include "pare/optim/transform.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::optim {

/// Multiplies the update by a constant: u ← factor·u. `scale{.factor = -1}` is how the named
/// optimizers implement `maximize` (PyTorch negates the gradient first).
struct scale {
  double factor = 1.0;

  static constexpr std::string_view name = "pare::optim::scale";
  void validate() const { detail::require(std::isfinite(factor), name, "factor", "finite", factor); }
  template <class T>
  detail::scale_kernel<T> kernel(std::int64_t) const noexcept {
    return {static_cast<T>(factor)};
  }
  [[nodiscard]] double scale_factor() const noexcept { return factor; }
};

/// Multiplies the update by −lr, turning a direction into a descent step (Optax's
/// `scale_by_learning_rate`): u ← −lr·u. `lr` is a number, or any `pare::sched::schedule`, read
/// at the optimizer's completed-step count t (the first step uses lr(0)):
///
///     pare::optim::scale_by_learning_rate{.lr = 1e-3}
///     pare::optim::scale_by_learning_rate{.lr = pare::sched::cosine_annealing{.base_lr = 0.1, .t_max = 100}}
///
/// A scheduled lr below 0 (or NaN) makes `step()` throw `pare::error` before changing anything.
template <class L = double>
  requires(std::is_arithmetic_v<L> || sched::schedule<L>)
struct scale_by_learning_rate {
  L lr = L(1e-3);

  static constexpr std::string_view name = "pare::optim::scale_by_learning_rate";
  void validate() const {
    if constexpr (std::is_arithmetic_v<L>) detail::require(lr >= 0, name, "lr", ">= 0", static_cast<double>(lr));
  }
  struct scalars {
    double lr = 0;
  };
  template <class T>
  scalars prepare(const param_step<T>& ps) const {
    if constexpr (std::is_arithmetic_v<L>) {
      return {static_cast<double>(lr)};
    } else {
      const double v = static_cast<double>(lr(ps.step));
      if (!(v >= 0))
        detail::fail(name, "lr must be >= 0, got " + detail::to_text(v) +
                               " from the schedule at step " + detail::to_text(ps.step));
      return {v};
    }
  }
  template <class T>
  detail::scale_kernel<T> kernel(const scalars& k, std::int64_t) const noexcept {
    return {static_cast<T>(-k.lr)};
  }
  [[nodiscard]] double scale_factor(const scalars& k) const noexcept { return -k.lr; }
};

/// Multiplies the update by a schedule's value at the optimizer's completed-step count t:
/// u ← s(t)·u (Optax's `scale_by_schedule`: no sign change; combine with `scale_by_learning_rate`
/// or `scale{-1}`). A non-finite s(t) makes `step()` throw `pare::error`.
template <sched::schedule S>
struct scale_by_schedule {
  S schedule;

  static constexpr std::string_view name = "pare::optim::scale_by_schedule";
  void validate() const {}
  struct scalars {
    double factor = 1;
  };
  template <class T>
  scalars prepare(const param_step<T>& ps) const {
    const double v = static_cast<double>(schedule(ps.step));
    if (!std::isfinite(v))
      detail::fail(name, "the schedule's value must be finite, got " + detail::to_text(v) +
                             " at step " + detail::to_text(ps.step));
    return {v};
  }
  template <class T>
  detail::scale_kernel<T> kernel(const scalars& k, std::int64_t) const noexcept {
    return {static_cast<T>(k.factor)};
  }
  [[nodiscard]] double scale_factor(const scalars& k) const noexcept { return k.factor; }
};

}  // namespace pare::optim
