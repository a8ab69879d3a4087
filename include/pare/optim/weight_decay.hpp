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

#include "pare/core/error.hpp"
#include "pare/optim/transform.hpp"

namespace pare::optim {

namespace detail {
template <class T>
PARE_DETAIL_NO_CONTRACT void add_decay(chunk<T>& c, double weight_decay) {
  PARE_DETAIL_NO_CONTRACT_BODY
  if (weight_decay == 0) return;
  T* __restrict u = c.u.data();
  const T* __restrict p = c.p.data();
  const T wd = static_cast<T>(weight_decay);
  for (std::int64_t i = 0; i < c.size(); ++i) u[i] = u[i] + wd * p[i];
}
}  // namespace detail

/// Coupled weight decay (L2 regularization through the gradient): u ← u + wd·p. Put it before
/// the scaling rule. Equivalent to a loss term (wd/2)·‖p‖² (Keras `l2(wd/2)`).
struct add_weight_decay {
  double weight_decay = 0.0;

  static constexpr std::string_view name = "pare::optim::add_weight_decay";
  void validate() const {
    detail::require(weight_decay >= 0, name, "weight_decay", ">= 0", weight_decay);
  }
  template <class T>
  void update(chunk<T>& c) const {
    detail::add_decay(c, weight_decay);
  }
};

/// Decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019):
/// u ← u + wd·p placed *after* the scaling rule and before `scale_by_learning_rate`, so the
/// step is p·(1 − lr·wd) − lr·rule(g) (Optax's `add_decayed_weights`, PyTorch's AdamW).
struct add_decayed_weights {
  double weight_decay = 0.0;

  static constexpr std::string_view name = "pare::optim::add_decayed_weights";
  void validate() const {
    detail::require(weight_decay >= 0, name, "weight_decay", ">= 0", weight_decay);
  }
  template <class T>
  void update(chunk<T>& c) const {
    detail::add_decay(c, weight_decay);
  }
};

}  // namespace pare::optim
