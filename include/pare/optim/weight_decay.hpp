#pragma once
/// \file
/// Weight decay as transforms: coupled (an L2 term in the gradient) and decoupled (Loshchilov &
/// Hutter, 2019).
///
/// Both add wd·p to the update; what makes them differ is where they sit in the chain:
/// `add_weight_decay` goes *before* the scaling rule, so the decay passes through Adam's
/// normalisation (PyTorch's `weight_decay=` in SGD, Adam, RMSprop, ...); `add_decayed_weights`
/// goes *after* it, so the decay is only scaled by the learning rate:
/// p ← p − lr·(adam(g) + wd·p) = p·(1 − lr·wd) − lr·adam(g), PyTorch's AdamW.

#include <cstdint>
#include <string_view>
#include <variant>

#include "pare/core/error.hpp"
#include "pare/optim/transform.hpp"

namespace pare::optim {

namespace detail {
template <class T>
struct decay_kernel {
  T weight_decay;
  T operator()(T u, T p, std::int64_t) const noexcept { return u + weight_decay * p; }
};
/// wd = 0 leaves the update untouched (as PyTorch skips the term), even for a non-finite p.
template <class T>
std::variant<identity_kernel<T>, decay_kernel<T>> decay(double weight_decay) noexcept {
  if (weight_decay == 0) return identity_kernel<T>{};
  return decay_kernel<T>{static_cast<T>(weight_decay)};
}
}  // namespace detail

namespace detail {
struct coupled_decay {
  static constexpr std::string_view name = "pare::optim::add_weight_decay";
};
struct decoupled_decay {
  static constexpr std::string_view name = "pare::optim::add_decayed_weights";
};
}  // namespace detail

/// u ← u + wd·p; `Where` only names it (see the two aliases below).
template <class Where>
struct basic_weight_decay {
  double weight_decay = 0.0;

  static constexpr std::string_view name = Where::name;
  void validate() const {
    detail::require(weight_decay >= 0, name, "weight_decay", ">= 0", weight_decay);
  }
  template <class T>
  auto kernel(std::int64_t) const noexcept {
    return detail::decay<T>(weight_decay);
  }
};

/// Coupled weight decay (L2 regularization through the gradient): u ← u + wd·p. Put it before
/// the scaling rule. Equivalent to a loss term (wd/2)·‖p‖² (Keras `l2(wd/2)`).
using add_weight_decay = basic_weight_decay<detail::coupled_decay>;

/// Decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019):
/// u ← u + wd·p placed *after* the scaling rule and before `scale_by_learning_rate`, so the
/// step is p·(1 − lr·wd) − lr·rule(g) (Optax's `add_decayed_weights`, PyTorch's AdamW).
using add_decayed_weights = basic_weight_decay<detail::decoupled_decay>;

}  // namespace pare::optim
