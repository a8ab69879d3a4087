#pragma once
/// \file
/// Adam and AdamW: the `scale_by_adam` rule and the named optimizers `adam` and `adamw`
/// (PyTorch's `torch.optim.Adam` and `torch.optim.AdamW`).

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <variant>

#include "pare/core/error.hpp"
#include "pare/optim/named.hpp"
#include "pare/optim/scale.hpp"
#include "pare/optim/transform.hpp"
#include "pare/optim/weight_decay.hpp"

namespace pare::optim {

namespace detail {
inline void validate_betas(std::string_view component, double beta1, double beta2) {
  require(beta1 >= 0 && beta1 < 1, component, "beta1", "in [0, 1)", beta1);
  require(beta2 >= 0 && beta2 < 1, component, "beta2", "in [0, 1)", beta2);
}
}  // namespace detail

/// Adam's rule (Kingma & Ba, "Adam: A Method for Stochastic Optimization", 2015), with
/// PyTorch's epsilon placement and AMSGrad (Reddi, Kale & Kumar, 2018):
///
///     t ← t + 1;  m ← β1·m + (1 − β1)·u;  v ← β2·v + (1 − β2)·u²
///     v̄ ← max(v̄, v) if amsgrad (the raw second moment), else v̄ = v
///     u ← (m / (1 − β1^t)) / (√v̄ / √(1 − β2^t) + eps)
struct scale_by_adam {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;

  static constexpr std::string_view name = "pare::optim::scale_by_adam";
  void validate() const { validate_as(name); }
  void validate_as(std::string_view component) const {
    detail::validate_betas(component, beta1, beta2);
    detail::require(eps >= 0, component, "eps", ">= 0", eps);
  }

  template <class T>
  struct state {
    state_buffer<T> exp_avg, exp_avg_sq, max_exp_avg_sq;  ///< the last only with amsgrad
    std::int64_t count = 0;
  };
  struct scalars {
    double inv_bias_correction1 = 1;       ///< 1 / (1 − β1^t)
    double inv_sqrt_bias_correction2 = 1;  ///< 1 / √(1 − β2^t)
  };

  template <class T>
  state<T> init(const param_step<T>& ps) const {
    const auto n = ps.param.size();
    return {state_buffer<T>(n), state_buffer<T>(n), amsgrad ? state_buffer<T>(n) : state_buffer<T>{}, 0};
  }
  template <class T>
  scalars prepare(state<T>& s, const param_step<T>&) const {
    const double t = static_cast<double>(++s.count);
    return {1.0 / (1.0 - std::pow(beta1, t)), 1.0 / std::sqrt(1.0 - std::pow(beta2, t))};
  }
  template <class T>
  struct adam_kernel {
    T* exp_avg;
    T* exp_avg_sq;
    T b1, k1, b2, k2, c1, c2, eps;
    T operator()(T g, T, std::int64_t i) const noexcept {
      const T m = b1 * exp_avg[i] + k1 * g;
      const T v = b2 * exp_avg_sq[i] + k2 * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      return m / (std::sqrt(v) * c2 + eps) * c1;
    }
  };
  template <class T>
  struct amsgrad_kernel {
    adam_kernel<T> adam;
    T* max_exp_avg_sq;
    T operator()(T g, T, std::int64_t i) const noexcept {
      const T m = adam.b1 * adam.exp_avg[i] + adam.k1 * g;
      const T v = adam.b2 * adam.exp_avg_sq[i] + adam.k2 * g * g;
      const T a = max_exp_avg_sq[i];
      const T vmax = (a < v || v != v) ? v : a;  // a NaN on either side wins, as torch.maximum
      adam.exp_avg[i] = m;
      adam.exp_avg_sq[i] = v;
      max_exp_avg_sq[i] = vmax;
      return m / (std::sqrt(vmax) * adam.c2 + adam.eps) * adam.c1;
    }
  };
  template <class T>
  std::variant<adam_kernel<T>, amsgrad_kernel<T>> kernel(const scalars& k, state<T>& s,
                                                         std::int64_t begin) const noexcept {
    const adam_kernel<T> a{s.exp_avg.data() + begin, s.exp_avg_sq.data() + begin,
                           static_cast<T>(beta1), static_cast<T>(1 - beta1),
                           static_cast<T>(beta2), static_cast<T>(1 - beta2),
                           static_cast<T>(k.inv_bias_correction1),
                           static_cast<T>(k.inv_sqrt_bias_correction2), static_cast<T>(eps)};
    if (!amsgrad) return a;
    return amsgrad_kernel<T>{a, s.max_exp_avg_sq.data() + begin};
  }
  template <class T>
  void reset(state<T>& s, std::int64_t begin, std::int64_t n, const std::uint8_t* mask) const {
    detail::reset_masked(s.exp_avg, begin, n, mask);
    detail::reset_masked(s.exp_avg_sq, begin, n, mask);
    detail::reset_masked(s.max_exp_avg_sq, begin, n, mask);
  }
  template <class T>
  void save(detail::state_writer& w, const state<T>& s) const {
    w.value(s.count);
    w.value(!s.max_exp_avg_sq.empty());
    s.exp_avg.save(w);
    s.exp_avg_sq.save(w);
    s.max_exp_avg_sq.save(w);
  }
  template <class T>
  void load(detail::state_reader& r, state<T>& s) const {
    s.count = r.value<std::int64_t>();
    if (r.value<bool>() != amsgrad)
      detail::fail(r.component(), "the state's amsgrad buffer must match the options (amsgrad = " +
                                      detail::to_text(amsgrad) + "), got a state saved with the other");
    s.exp_avg.load(r);
    s.exp_avg_sq.load(r);
    s.max_exp_avg_sq.load(r);
  }
};

/// Options of `pare::optim::adam` (PyTorch's defaults; weight decay is coupled: an L2 term).
struct adam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool maximize = false;
};
/// Options of `pare::optim::adamw` (PyTorch's defaults; weight decay is decoupled).
struct adamw_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
};
/// Per-parameter overrides for `adam` and `adamw`.
struct adam_group {
  std::optional<double> lr{}, beta1{}, beta2{}, eps{}, weight_decay{};
  std::optional<bool> amsgrad{}, maximize{};
};

/// The transforms of Adam: negate if maximizing → coupled weight decay → Adam → −lr.
inline auto as_chain(const adam_options& o) {
  return chain(scale{.factor = o.maximize ? -1.0 : 1.0}, add_weight_decay{.weight_decay = o.weight_decay},
               scale_by_adam{.beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .amsgrad = o.amsgrad},
               scale_by_learning_rate<double>{.lr = o.lr});
}
/// The transforms of AdamW: negate if maximizing → Adam → decoupled weight decay → −lr.
inline auto as_chain(const adamw_options& o) {
  return chain(scale{.factor = o.maximize ? -1.0 : 1.0},
               scale_by_adam{.beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .amsgrad = o.amsgrad},
               add_decayed_weights{.weight_decay = o.weight_decay},
               scale_by_learning_rate<double>{.lr = o.lr});
}

namespace detail {
template <class O, const std::string_view& Name>
struct adam_traits {
  using options = O;
  using group = adam_group;
  static constexpr std::string_view name = Name;
  static constexpr auto fields = std::tuple{&O::lr, &O::beta1, &O::beta2, &O::eps,
                                            &O::weight_decay, &O::amsgrad, &O::maximize};
  static constexpr auto group_fields =
      std::tuple{&group::lr, &group::beta1, &group::beta2, &group::eps, &group::weight_decay,
                 &group::amsgrad, &group::maximize};
  static constexpr std::size_t lr_index = 3;
  static void validate(const O& o) {
    require(o.lr >= 0, name, "lr", ">= 0", o.lr);
    require(o.eps >= 0, name, "eps", ">= 0", o.eps);
    validate_betas(name, o.beta1, o.beta2);
    require(o.weight_decay >= 0, name, "weight_decay", ">= 0", o.weight_decay);
  }
  static auto make_chain(const O& o) { return as_chain(o); }
};
inline constexpr std::string_view adam_name = "pare::optim::adam";
inline constexpr std::string_view adamw_name = "pare::optim::adamw";
}  // namespace detail

/// Adam (Kingma & Ba, 2015), exactly PyTorch's `torch.optim.Adam`, including AMSGrad, coupled
/// weight decay (g ← g + wd·p before the moments) and maximize:
///
///     pare::optim::adam<float> opt({.lr = 1e-3, .beta1 = 0.9, .weight_decay = 1e-4});
///     opt.add(w, gw);
///     opt.add(b, gb, {.weight_decay = 0.0});
///     opt.step();
template <class T = float>
class adam : public detail::named_optimizer<detail::adam_traits<adam_options, detail::adam_name>, T> {
 public:
  using detail::named_optimizer<detail::adam_traits<adam_options, detail::adam_name>, T>::named_optimizer;
};

/// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019), exactly
/// PyTorch's `torch.optim.AdamW`: p ← p·(1 − lr·wd) − lr·adam(g), weight_decay 1e-2 by default.
template <class T = float>
class adamw : public detail::named_optimizer<detail::adam_traits<adamw_options, detail::adamw_name>, T> {
 public:
  using detail::named_optimizer<detail::adam_traits<adamw_options, detail::adamw_name>, T>::named_optimizer;
};

}  // namespace pare::optim
