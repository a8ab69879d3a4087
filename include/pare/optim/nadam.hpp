#pragma once
/// \file
/// NAdam: the `scale_by_nadam` rule and the named optimizer `nadam` (PyTorch's
/// `torch.optim.NAdam`, in the corrected form of torch ≥ 2.0).

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>

#include "pare/core/error.hpp"
#include "pare/optim/adam.hpp"
#include "pare/optim/named.hpp"
#include "pare/optim/scale.hpp"
#include "pare/optim/transform.hpp"
#include "pare/optim/weight_decay.hpp"

namespace pare::optim {

/// NAdam's rule (Dozat, "Incorporating Nesterov Momentum into Adam", 2016), with PyTorch's
/// momentum schedule ψ = momentum_decay:
///
///     t ← t + 1;  μ_t = β1·(1 − ½·0.96^(t·ψ));  μ_{t+1} = β1·(1 − ½·0.96^((t+1)·ψ));  Π ← Π·μ_t
///     m ← β1·m + (1 − β1)·u;  v ← β2·v + (1 − β2)·u²;  d = √v / √(1 − β2^t) + eps
///     u ← (1 − μ_t)/(1 − Π) · u/d  +  μ_{t+1}/(1 − Π·μ_{t+1}) · m/d
///
/// This is torch ≥ 2.0's formula, which torch 1.13 computes only with foreach=True (its
/// default path counts μ_t twice in the second term). Π (the product of the μ) is kept in
/// double for every scalar type.
struct scale_by_nadam {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum_decay = 4e-3;

  static constexpr std::string_view name = "pare::optim::scale_by_nadam";
  void validate() const { validate_as(name); }
  void validate_as(std::string_view component) const {
    detail::require(eps >= 0, component, "eps", ">= 0", eps);
    detail::validate_betas(component, beta1, beta2);
    detail::require(momentum_decay >= 0, component, "momentum_decay", ">= 0", momentum_decay);
  }

  template <class T>
  struct state {
    state_buffer<T> exp_avg, exp_avg_sq;
    std::int64_t count = 0;
    double mu_product = 1;
  };
  struct scalars {
    double grad_coefficient = 0;      ///< (1 − μ_t)/(1 − Π)
    double momentum_coefficient = 0;  ///< μ_{t+1}/(1 − Π·μ_{t+1})
    double inv_sqrt_bias_correction2 = 1;
  };

  template <class T>
  state<T> init(const param_step<T>& ps) const {
    return {state_buffer<T>(ps.param.size()), state_buffer<T>(ps.param.size()), 0, 1.0};
  }
  template <class T>
  scalars prepare(state<T>& s, const param_step<T>&) const {
    const double t = static_cast<double>(++s.count);
    const double mu = beta1 * (1.0 - 0.5 * std::pow(0.96, t * momentum_decay));
    const double mu_next = beta1 * (1.0 - 0.5 * std::pow(0.96, (t + 1) * momentum_decay));
    s.mu_product *= mu;
    return {(1.0 - mu) / (1.0 - s.mu_product), mu_next / (1.0 - s.mu_product * mu_next),
            1.0 / std::sqrt(1.0 - std::pow(beta2, t))};
  }
  template <class T>
  struct nadam_kernel {
    T* exp_avg;
    T* exp_avg_sq;
    T b1, k1, b2, k2, cg, cm, c2, eps;
    T operator()(T g, T, std::int64_t i) const noexcept {
      const T m = b1 * exp_avg[i] + k1 * g;
      const T v = b2 * exp_avg_sq[i] + k2 * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      return (cg * g + cm * m) / (std::sqrt(v) * c2 + eps);
    }
  };
  template <class T>
  nadam_kernel<T> kernel(const scalars& k, state<T>& s, std::int64_t begin) const noexcept {
    return {s.exp_avg.data() + begin, s.exp_avg_sq.data() + begin,
            static_cast<T>(beta1), static_cast<T>(1 - beta1),
            static_cast<T>(beta2), static_cast<T>(1 - beta2),
            static_cast<T>(k.grad_coefficient), static_cast<T>(k.momentum_coefficient),
            static_cast<T>(k.inv_sqrt_bias_correction2), static_cast<T>(eps)};
  }
  template <class T>
  void reset(state<T>& s, std::int64_t begin, std::int64_t n, const std::uint8_t* mask) const {
    detail::reset_masked(s.exp_avg, begin, n, mask);
    detail::reset_masked(s.exp_avg_sq, begin, n, mask);
  }
  template <class T>
  void save(detail::state_writer& w, const state<T>& s) const {
    w.value(s.count);
    w.value(s.mu_product);
    s.exp_avg.save(w);
    s.exp_avg_sq.save(w);
  }
  template <class T>
  void load(detail::state_reader& r, state<T>& s) const {
    s.count = r.value<std::int64_t>();
    s.mu_product = r.value<double>();
    s.exp_avg.load(r);
    s.exp_avg_sq.load(r);
  }
};

/// Options of `pare::optim::nadam` (PyTorch's defaults).
struct nadam_options {
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum_decay = 4e-3;
  bool maximize = false;
};
/// Per-parameter overrides for `nadam`.
struct nadam_group {
  std::optional<double> lr{}, beta1{}, beta2{}, eps{}, weight_decay{}, momentum_decay{};
  std::optional<bool> maximize{};
};

/// The transforms of NAdam: negate if maximizing → coupled weight decay → NAdam → −lr.
inline auto as_chain(const nadam_options& o) {
  return chain(scale{.factor = o.maximize ? -1.0 : 1.0}, add_weight_decay{.weight_decay = o.weight_decay},
               scale_by_nadam{.beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps,
                              .momentum_decay = o.momentum_decay},
               scale_by_learning_rate<double>{.lr = o.lr});
}

namespace detail {
struct nadam_traits {
  using options = nadam_options;
  using group = nadam_group;
  static constexpr std::string_view name = "pare::optim::nadam";
  static constexpr auto fields =
      std::tuple{&options::lr, &options::beta1, &options::beta2, &options::eps,
                 &options::weight_decay, &options::momentum_decay, &options::maximize};
  static constexpr auto group_fields =
      std::tuple{&group::lr, &group::beta1, &group::beta2, &group::eps, &group::weight_decay,
                 &group::momentum_decay, &group::maximize};
  static constexpr std::size_t lr_index = 3;
  static void validate(const options& o) {
    require(o.lr >= 0, name, "lr", ">= 0", o.lr);
    scale_by_nadam{.beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .momentum_decay = o.momentum_decay}
        .validate_as(name);
    require(o.weight_decay >= 0, name, "weight_decay", ">= 0", o.weight_decay);
  }
  static auto make_chain(const options& o) { return as_chain(o); }
};
}  // namespace detail

/// NAdam (Dozat, 2016), PyTorch's `torch.optim.NAdam` with torch ≥ 2.0's corrected formula
/// (torch 1.13 with foreach=True), including maximize (negate the gradient first, as torch 2.x):
///
///     pare::optim::nadam<float> opt({.lr = 2e-3, .momentum_decay = 4e-3});
template <class T = float>
class nadam : public detail::named_optimizer<detail::nadam_traits, T> {
 public:
  using detail::named_optimizer<detail::nadam_traits, T>::named_optimizer;
};

}  // namespace pare::optim
