#pragma once
/// \file
/// Adadelta: the `scale_by_adadelta` rule and the named optimizer `adadelta` (PyTorch's
/// `torch.optim.Adadelta`).

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>

#include "pare/core/error.hpp"
#include "pare/optim/named.hpp"
#include "pare/optim/scale.hpp"
#include "pare/optim/transform.hpp"
#include "pare/optim/weight_decay.hpp"

namespace pare::optim {

/// Adadelta's rule (Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012), as PyTorch:
///
///     E_g ← ρ·E_g + (1 − ρ)·u²
///     u   ← √(E_x + eps) / √(E_g + eps) · u
///     E_x ← ρ·E_x + (1 − ρ)·u²
///
/// E_x accumulates the unscaled step (the learning rate comes after this rule).
struct scale_by_adadelta {
  double rho = 0.9;
  double eps = 1e-6;

  static constexpr std::string_view name = "pare::optim::scale_by_adadelta";
  void validate() const { validate_as(name); }
  void validate_as(std::string_view component) const {
    detail::require(rho >= 0 && rho <= 1, component, "rho", "in [0, 1]", rho);
    detail::require(eps >= 0, component, "eps", ">= 0", eps);
  }

  template <class T>
  struct state {
    state_buffer<T> square_avg, acc_delta;
  };

  template <class T>
  state<T> init(const param_step<T>& ps) const {
    return {state_buffer<T>(ps.param.size()), state_buffer<T>(ps.param.size())};
  }
  template <class T>
  struct adadelta_kernel {
    T* square_avg;
    T* acc_delta;
    T rho, keep, eps;
    T operator()(T g, T, std::int64_t i) const noexcept {
      const T s = rho * square_avg[i] + keep * g * g;
      const T a = acc_delta[i];
      const T delta = std::sqrt(a + eps) / std::sqrt(s + eps) * g;
      square_avg[i] = s;
      acc_delta[i] = rho * a + keep * delta * delta;
      return delta;
    }
  };
  template <class T>
  adadelta_kernel<T> kernel(state<T>& s, std::int64_t begin) const noexcept {
    return {s.square_avg.data() + begin, s.acc_delta.data() + begin, static_cast<T>(rho),
            static_cast<T>(1 - rho), static_cast<T>(eps)};
  }
  template <class T>
  void reset(state<T>& s, std::int64_t begin, std::int64_t n, const std::uint8_t* mask) const {
    detail::reset_masked(s.square_avg, begin, n, mask);
    detail::reset_masked(s.acc_delta, begin, n, mask);
  }
  template <class T>
  void save(detail::state_writer& w, const state<T>& s) const {
    s.square_avg.save(w);
    s.acc_delta.save(w);
  }
  template <class T>
  void load(detail::state_reader& r, state<T>& s) const {
    s.square_avg.load(r);
    s.acc_delta.load(r);
  }
};

/// Options of `pare::optim::adadelta` (PyTorch's defaults).
struct adadelta_options {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0.0;
  bool maximize = false;
};
/// Per-parameter overrides for `adadelta`.
struct adadelta_group {
  std::optional<double> lr{}, rho{}, eps{}, weight_decay{};
  std::optional<bool> maximize{};
};

/// The transforms of Adadelta: negate if maximizing → coupled weight decay → Adadelta → −lr.
inline auto as_chain(const adadelta_options& o) {
  return chain(scale{.factor = o.maximize ? -1.0 : 1.0}, add_weight_decay{.weight_decay = o.weight_decay},
               scale_by_adadelta{.rho = o.rho, .eps = o.eps},
               scale_by_learning_rate<double>{.lr = o.lr});
}

namespace detail {
struct adadelta_traits {
  using options = adadelta_options;
  using group = adadelta_group;
  static constexpr std::string_view name = "pare::optim::adadelta";
  static constexpr auto fields = std::tuple{&options::lr, &options::rho, &options::eps,
                                            &options::weight_decay, &options::maximize};
  static constexpr auto group_fields =
      std::tuple{&group::lr, &group::rho, &group::eps, &group::weight_decay, &group::maximize};
  static constexpr std::size_t lr_index = 3;
  static void validate(const options& o) {
    require(o.lr >= 0, name, "lr", ">= 0", o.lr);
    scale_by_adadelta{.rho = o.rho, .eps = o.eps}.validate_as(name);
    require(o.weight_decay >= 0, name, "weight_decay", ">= 0", o.weight_decay);
  }
  static auto make_chain(const options& o) { return as_chain(o); }
};
}  // namespace detail

/// Adadelta (Zeiler, 2012), exactly PyTorch's `torch.optim.Adadelta` (lr 1.0 scales the step
/// after the accumulators are updated):
///
///     pare::optim::adadelta<float> opt({.rho = 0.95});
template <class T = float>
class adadelta : public detail::named_optimizer<detail::adadelta_traits, T> {
 public:
  using detail::named_optimizer<detail::adadelta_traits, T>::named_optimizer;
};

}  // namespace pare::optim
