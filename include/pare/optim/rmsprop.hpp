#pragma once
/// \file
/// RMSprop: the `scale_by_rms` rule and the named optimizer `rmsprop` (PyTorch's
/// `torch.optim.RMSprop`).

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <variant>

#include "pare/core/error.hpp"
#include "pare/optim/named.hpp"
#include "pare/optim/scale.hpp"
#include "pare/optim/sgd.hpp"
#include "pare/optim/transform.hpp"
#include "pare/optim/weight_decay.hpp"

namespace pare::optim {

/// RMSprop's rule (Tieleman & Hinton, Coursera lecture 6.5, 2012; centered form from Graves,
/// "Generating Sequences With Recurrent Neural Networks", 2013), as PyTorch:
///
///     s ← α·s + (1 − α)·u²
///     centered: a ← α·a + (1 − α)·u,  u ← u / (√(s − a²) + eps)
///     else:                            u ← u / (√s + eps)
///
/// eps is outside the root; s − a² is not clamped (as in PyTorch, rounding can make it slightly
/// negative, and the root NaN). Momentum, when wanted, is a `scale_by_momentum` after this rule.
struct scale_by_rms {
  double alpha = 0.99;
  double eps = 1e-8;
  bool centered = false;

  static constexpr std::string_view name = "pare::optim::scale_by_rms";
  void validate() const { validate_as(name); }
  void validate_as(std::string_view component) const {
    detail::require(eps >= 0, component, "eps", ">= 0", eps);
    detail::require(alpha >= 0, component, "alpha", ">= 0", alpha);
  }

  template <class T>
  struct state {
    state_buffer<T> square_avg, grad_avg;  ///< grad_avg only when centered
  };

  template <class T>
  state<T> init(const param_step<T>& ps) const {
    const auto n = ps.param.size();
    return {state_buffer<T>(n), centered ? state_buffer<T>(n) : state_buffer<T>{}};
  }
  template <class T>
  struct rms_kernel {
    T* square_avg;
    T alpha, keep, eps;
    T operator()(T g, T, std::int64_t i) const noexcept {
      const T s = alpha * square_avg[i] + keep * g * g;
      square_avg[i] = s;
      return g / (std::sqrt(s) + eps);
    }
  };
  template <class T>
  struct centered_kernel {
    T* square_avg;
    T* grad_avg;
    T alpha, keep, eps;
    T operator()(T g, T, std::int64_t i) const noexcept {
      const T s = alpha * square_avg[i] + keep * g * g;
      const T a = alpha * grad_avg[i] + keep * g;
      square_avg[i] = s;
      grad_avg[i] = a;
      return g / (std::sqrt(s - a * a) + eps);
    }
  };
  template <class T>
  std::variant<rms_kernel<T>, centered_kernel<T>> kernel(state<T>& s, std::int64_t begin) const noexcept {
    const T a = static_cast<T>(alpha), keep = static_cast<T>(1 - alpha), e = static_cast<T>(eps);
    if (!centered) return rms_kernel<T>{s.square_avg.data() + begin, a, keep, e};
    return centered_kernel<T>{s.square_avg.data() + begin, s.grad_avg.data() + begin, a, keep, e};
  }
  template <class T>
  void reset(state<T>& s, std::int64_t begin, std::int64_t n, const std::uint8_t* mask) const {
    detail::reset_masked(s.square_avg, begin, n, mask);
    detail::reset_masked(s.grad_avg, begin, n, mask);
  }
  template <class T>
  void save(detail::state_writer& w, const state<T>& s) const {
    w.value(!s.grad_avg.empty());
    s.square_avg.save(w);
    s.grad_avg.save(w);
  }
  template <class T>
  void load(detail::state_reader& r, state<T>& s) const {
    if (r.value<bool>() != centered)
      detail::fail(r.component(), "the state's centered buffer must match the options (centered = " +
                                      detail::to_text(centered) + "), got a state saved with the other");
    s.square_avg.load(r);
    s.grad_avg.load(r);
  }
};

/// Options of `pare::optim::rmsprop` (PyTorch's defaults).
struct rmsprop_options {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
  bool maximize = false;
};
/// Per-parameter overrides for `rmsprop`.
struct rmsprop_group {
  std::optional<double> lr{}, alpha{}, eps{}, weight_decay{}, momentum{};
  std::optional<bool> centered{}, maximize{};
};

/// The transforms of RMSprop: negate if maximizing → coupled weight decay → RMS scaling →
/// momentum (PyTorch's buffer starts at zero, so its first value is the first scaled update,
/// exactly scale_by_momentum's) → −lr.
inline auto as_chain(const rmsprop_options& o) {
  return chain(scale{.factor = o.maximize ? -1.0 : 1.0}, add_weight_decay{.weight_decay = o.weight_decay},
               scale_by_rms{.alpha = o.alpha, .eps = o.eps, .centered = o.centered},
               scale_by_momentum{.momentum = o.momentum, .dampening = 0.0, .nesterov = false},
               scale_by_learning_rate<double>{.lr = o.lr});
}

namespace detail {
struct rmsprop_traits {
  using options = rmsprop_options;
  using group = rmsprop_group;
  static constexpr std::string_view name = "pare::optim::rmsprop";
  static constexpr auto fields =
      std::tuple{&options::lr, &options::alpha, &options::eps, &options::weight_decay,
                 &options::momentum, &options::centered, &options::maximize};
  static constexpr auto group_fields =
      std::tuple{&group::lr, &group::alpha, &group::eps, &group::weight_decay, &group::momentum,
                 &group::centered, &group::maximize};
  static constexpr std::size_t lr_index = 4;
  static void validate(const options& o) {
    require(o.lr >= 0, name, "lr", ">= 0", o.lr);
    scale_by_rms{.alpha = o.alpha, .eps = o.eps, .centered = o.centered}.validate_as(name);
    require(o.momentum >= 0, name, "momentum", ">= 0", o.momentum);
    require(o.weight_decay >= 0, name, "weight_decay", ">= 0", o.weight_decay);
  }
  static auto make_chain(const options& o) { return as_chain(o); }
};
}  // namespace detail

/// RMSprop (Tieleman & Hinton, 2012), exactly PyTorch's `torch.optim.RMSprop`, including the
/// centered variant and momentum (applied to g/avg before the learning rate):
///
///     pare::optim::rmsprop<float> opt({.lr = 1e-3, .momentum = 0.9, .centered = true});
template <class T = float>
class rmsprop : public detail::named_optimizer<detail::rmsprop_traits, T> {
 public:
  using detail::named_optimizer<detail::rmsprop_traits, T>::named_optimizer;
};

}  // namespace pare::optim
