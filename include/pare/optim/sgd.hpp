#pragma once
/// \file
/// Stochastic gradient descent with heavy-ball or Nesterov momentum: the `scale_by_momentum`
/// rule and the named optimizers `sgd`, `momentum` and `nag` (PyTorch's `torch.optim.SGD`).

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

/// PyTorch's momentum rule (Polyak, 1964; Nesterov form as in Sutskever et al., 2013):
///
///     b ← u on the first step, then b ← μ·b + (1 − τ)·u
///     u ← u + μ·b (nesterov) or u ← b
///
/// with μ = momentum and τ = dampening. The buffer holds gradients, not steps (the learning rate
/// is applied after it), and starts as the first gradient, undampened. With momentum = 0 the
/// rule is the identity and allocates nothing. Nesterov needs momentum > 0 and dampening = 0.
struct scale_by_momentum {
  double momentum = 0.9;
  double dampening = 0.0;
  bool nesterov = false;

  static constexpr std::string_view name = "pare::optim::scale_by_momentum";
  void validate() const { validate_as(name); }
  void validate_as(std::string_view component) const {
    detail::require(momentum >= 0, component, "momentum", ">= 0", momentum);
    if (nesterov) {
      detail::require(momentum > 0, component, "momentum", "> 0 when nesterov is true", momentum);
      detail::require(dampening == 0, component, "dampening", "0 when nesterov is true", dampening);
    }
  }

  template <class T>
  struct state {
    state_buffer<T> buffer;  ///< empty when momentum = 0
    bool started = false;    ///< whether the buffer holds a gradient yet
  };
  struct scalars {
    bool first = false;
  };

  template <class T>
  state<T> init(const param_step<T>& ps) const {
    return {momentum != 0 ? state_buffer<T>(ps.param.size()) : state_buffer<T>{}, false};
  }
  template <class T>
  scalars prepare(state<T>& s, const param_step<T>&) const {
    const scalars k{!s.started};
    s.started = true;
    return k;
  }
  template <class T>
  struct heavy_ball_kernel {
    T* buffer;
    T mu, keep;
    bool first, nesterov;
    T operator()(T u, T, std::int64_t i) const noexcept {
      const T b = first ? u : mu * buffer[i] + keep * u;
      buffer[i] = b;
      return nesterov ? u + mu * b : b;
    }
  };
  template <class T>
  std::variant<detail::identity_kernel<T>, heavy_ball_kernel<T>> kernel(const scalars& k, state<T>& s,
                                                                        std::int64_t begin) const noexcept {
    if (momentum == 0) return detail::identity_kernel<T>{};
    return heavy_ball_kernel<T>{s.buffer.data() + begin, static_cast<T>(momentum),
                                static_cast<T>(1 - dampening), k.first, nesterov};
  }
  template <class T>
  void reset(state<T>& s, std::int64_t begin, std::int64_t n, const std::uint8_t* mask) const {
    detail::reset_masked(s.buffer, begin, n, mask);
  }
  template <class T>
  void save(detail::state_writer& w, const state<T>& s) const {
    w.value(s.started);
    w.value(!s.buffer.empty());
    s.buffer.save(w);
  }
  template <class T>
  void load(detail::state_reader& r, state<T>& s) const {
    s.started = r.value<bool>();
    if (r.value<bool>() != !s.buffer.empty())
      detail::fail(r.component(), "the state's momentum buffer must match the options (momentum "
                                  "= 0 has none), got a state saved with other options");
    s.buffer.load(r);
  }
};

/// Options of the SGD family; only the defaults of momentum and nesterov differ between
/// `sgd_options`, `momentum_options` and `nag_options`.
template <double Momentum, bool Nesterov>
struct basic_sgd_options {
  double lr = 1e-3;
  double momentum = Momentum;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = Nesterov;
  bool maximize = false;
};
/// Options of `pare::optim::sgd` (PyTorch's SGD; lr 1e-3 as in torch ≥ 2.0).
using sgd_options = basic_sgd_options<0.0, false>;
/// Options of `pare::optim::momentum`: SGD with heavy-ball momentum 0.9.
using momentum_options = basic_sgd_options<0.9, false>;
/// Options of `pare::optim::nag`: SGD with Nesterov momentum 0.9.
using nag_options = basic_sgd_options<0.9, true>;
/// Per-parameter overrides for the SGD family (`add(p, g, {.weight_decay = 0.0})`).
struct sgd_group {
  std::optional<double> lr{}, momentum{}, dampening{}, weight_decay{};
  std::optional<bool> nesterov{}, maximize{};
};

/// The transforms of SGD: negate if maximizing → coupled weight decay → momentum → −lr.
template <double Momentum, bool Nesterov>
auto as_chain(const basic_sgd_options<Momentum, Nesterov>& o) {
  return chain(scale{.factor = o.maximize ? -1.0 : 1.0}, add_weight_decay{.weight_decay = o.weight_decay},
               scale_by_momentum{.momentum = o.momentum, .dampening = o.dampening, .nesterov = o.nesterov},
               scale_by_learning_rate<double>{.lr = o.lr});
}

namespace detail {
template <class O, const std::string_view& Name>
struct sgd_traits {
  using options = O;
  using group = sgd_group;
  static constexpr std::string_view name = Name;
  static constexpr auto fields = std::tuple{&O::lr, &O::momentum, &O::dampening, &O::weight_decay,
                                            &O::nesterov, &O::maximize};
  static constexpr auto group_fields =
      std::tuple{&sgd_group::lr, &sgd_group::momentum, &sgd_group::dampening,
                 &sgd_group::weight_decay, &sgd_group::nesterov, &sgd_group::maximize};
  static constexpr std::size_t lr_index = 3;
  static void validate(const O& o) {
    require(o.lr >= 0, name, "lr", ">= 0", o.lr);
    require(o.weight_decay >= 0, name, "weight_decay", ">= 0", o.weight_decay);
    scale_by_momentum{.momentum = o.momentum, .dampening = o.dampening, .nesterov = o.nesterov}
        .validate_as(name);
  }
  static auto make_chain(const O& o) { return as_chain(o); }
};
inline constexpr std::string_view sgd_name = "pare::optim::sgd";
inline constexpr std::string_view momentum_name = "pare::optim::momentum";
inline constexpr std::string_view nag_name = "pare::optim::nag";
}  // namespace detail

/// Stochastic gradient descent (Robbins & Monro, 1951), exactly PyTorch's `torch.optim.SGD`:
///
///     g ← −g if maximize;  g ← g + wd·p;  momentum rule (see scale_by_momentum);  p ← p − lr·d
///
///     pare::optim::sgd<float> opt({.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
///     opt.add(w, gw);
///     opt.add(b, gb, {.weight_decay = 0.0});
///     opt.step();
template <class T = float>
class sgd : public detail::named_optimizer<detail::sgd_traits<sgd_options, detail::sgd_name>, T> {
 public:
  using detail::named_optimizer<detail::sgd_traits<sgd_options, detail::sgd_name>, T>::named_optimizer;
};

/// SGD with heavy-ball momentum (Polyak, 1964), momentum 0.9 by default: PyTorch's SGD with
/// `momentum=0.9`.
template <class T = float>
class momentum
    : public detail::named_optimizer<detail::sgd_traits<momentum_options, detail::momentum_name>, T> {
 public:
  using detail::named_optimizer<detail::sgd_traits<momentum_options, detail::momentum_name>, T>::named_optimizer;
};

/// Nesterov accelerated gradient (Nesterov, 1983; in the form of Sutskever et al., 2013):
/// PyTorch's SGD with `momentum=0.9, nesterov=True`.
template <class T = float>
class nag : public detail::named_optimizer<detail::sgd_traits<nag_options, detail::nag_name>, T> {
 public:
  using detail::named_optimizer<detail::sgd_traits<nag_options, detail::nag_name>, T>::named_optimizer;
};

}  // namespace pare::optim
