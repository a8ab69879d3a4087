#pragma once
/// \file
/// AdaGrad: the `scale_by_adagrad` rule and the named optimizer `adagrad` (PyTorch's
/// `torch.optim.Adagrad`).

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

/// AdaGrad's rule (Duchi, Hazan & Singer, "Adaptive Subgradient Methods", 2011), as PyTorch:
///
///     t ← t + 1;  s ← s + u²;  u ← u / (√s + eps) / (1 + (t − 1)·lr_decay)
///
/// s starts at initial_accumulator_value; eps is outside the root; the lr decay uses t − 1, so
/// the first step has the full rate.
struct scale_by_adagrad {
  double lr_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;

  static constexpr std::string_view name = "pare::optim::scale_by_adagrad";
  void validate() const { validate_as(name); }
  void validate_as(std::string_view component) const {
    detail::require(lr_decay >= 0, component, "lr_decay", ">= 0", lr_decay);
    detail::require(initial_accumulator_value >= 0, component, "initial_accumulator_value",
                    ">= 0", initial_accumulator_value);
    detail::require(eps >= 0, component, "eps", ">= 0", eps);
  }

  template <class T>
  struct state {
    state_buffer<T> sum;
    std::int64_t count = 0;
  };
  struct scalars {
    double decay = 1;  ///< 1 / (1 + (t − 1)·lr_decay)
  };

  template <class T>
  state<T> init(const param_step<T>& ps) const {
    return {state_buffer<T>(ps.param.size(), static_cast<T>(initial_accumulator_value)), 0};
  }
  template <class T>
  scalars prepare(state<T>& s, const param_step<T>&) const {
    ++s.count;
    return {1.0 / (1.0 + static_cast<double>(s.count - 1) * lr_decay)};
  }
  template <class T>
  struct adagrad_kernel {
    T* sum;
    T eps, decay;
    T operator()(T g, T, std::int64_t i) const noexcept {
      const T s = sum[i] + g * g;
      sum[i] = s;
      return g / (std::sqrt(s) + eps) * decay;
    }
  };
  template <class T>
  adagrad_kernel<T> kernel(const scalars& k, state<T>& s, std::int64_t begin) const noexcept {
    return {s.sum.data() + begin, static_cast<T>(eps), static_cast<T>(k.decay)};
  }
  template <class T>
  void reset(state<T>& s, std::int64_t begin, std::int64_t n, const std::uint8_t* mask) const {
    detail::reset_masked(s.sum, begin, n, mask, static_cast<T>(initial_accumulator_value));
  }
  template <class T>
  void save(detail::state_writer& w, const state<T>& s) const {
    w.value(s.count);
    s.sum.save(w);
  }
  template <class T>
  void load(detail::state_reader& r, state<T>& s) const {
    s.count = r.value<std::int64_t>();
    s.sum.load(r);
  }
};

/// Options of `pare::optim::adagrad` (PyTorch's defaults).
struct adagrad_options {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
  bool maximize = false;
};
/// Per-parameter overrides for `adagrad`.
struct adagrad_group {
  std::optional<double> lr{}, lr_decay{}, weight_decay{}, initial_accumulator_value{}, eps{};
  std::optional<bool> maximize{};
};

/// The transforms of Adagrad: negate if maximizing → coupled weight decay → AdaGrad → −lr.
inline auto as_chain(const adagrad_options& o) {
  return chain(scale{.factor = o.maximize ? -1.0 : 1.0}, add_weight_decay{.weight_decay = o.weight_decay},
               scale_by_adagrad{.lr_decay = o.lr_decay,
                                .initial_accumulator_value = o.initial_accumulator_value,
                                .eps = o.eps},
               scale_by_learning_rate<double>{.lr = o.lr});
}

namespace detail {
struct adagrad_traits {
  using options = adagrad_options;
  using group = adagrad_group;
  static constexpr std::string_view name = "pare::optim::adagrad";
  static constexpr auto fields =
      std::tuple{&options::lr, &options::lr_decay, &options::weight_decay,
                 &options::initial_accumulator_value, &options::eps, &options::maximize};
  static constexpr auto group_fields =
      std::tuple{&group::lr, &group::lr_decay, &group::weight_decay,
                 &group::initial_accumulator_value, &group::eps, &group::maximize};
  static constexpr std::size_t lr_index = 3;
  static void validate(const options& o) {
    require(o.lr >= 0, name, "lr", ">= 0", o.lr);
    require(o.weight_decay >= 0, name, "weight_decay", ">= 0", o.weight_decay);
    scale_by_adagrad{o.lr_decay, o.initial_accumulator_value, o.eps}.validate_as(name);
  }
  static auto make_chain(const options& o) { return as_chain(o); }
};
}  // namespace detail

/// AdaGrad (Duchi, Hazan & Singer, 2011), exactly PyTorch's `torch.optim.Adagrad`:
///
///     g ← −g if maximize;  g ← g + wd·p;  s ← s + g²;  p ← p − lr/(1 + (t−1)·lr_decay) · g/(√s + eps)
///
///     pare::optim::adagrad<float> opt({.lr = 0.01, .initial_accumulator_value = 0.1});
template <class T = float>
class adagrad : public detail::named_optimizer<detail::adagrad_traits, T> {
 public:
  using detail::named_optimizer<detail::adagrad_traits, T>::named_optimizer;
};

}  // namespace pare::optim
