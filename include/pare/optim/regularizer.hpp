#pragma once
/// \file
/// `add_regularizer`: adds a penalty's gradient to the update, chunk by chunk.

#include <concepts>
#include <string_view>

#include "pare/core/tensor_view.hpp"
#include "pare/optim/transform.hpp"

namespace pare::optim {

/// A penalty that can add its gradient for weights `w` to `g`: `r.add_grad(w, g)` with
/// `tensor_view<const T>` and `tensor_view<T>` of the same shape (pare::reg's l1, l2, l1_l2).
template <class R, class T>
concept regularizer_for = std::copy_constructible<R> &&
                          requires(const R& r, tensor_view<const T> w, tensor_view<T> g) {
                            r.add_grad(w, g);
                          };

/// Adds a regularizer's gradient at the current weights to the update:
/// u ← u + ∇R(p) (e.g. pare::reg::l1_l2: l1·sign(p) + 2·l2·p, Keras's convention). Place it
/// before the scaling rule, like coupled weight decay:
///
///     pare::optim::chain<float>(pare::optim::add_regularizer{.regularizer = pare::reg::l1{.l1 = 1e-5}},
///                               pare::optim::scale_by_adam{}, pare::optim::scale_by_learning_rate{.lr = 1e-3});
///
/// The regularizer is called once per chunk with 1-D views of that chunk, so it must be
/// element-wise (a penalty that needs the whole tensor, such as a norm constraint, does not
/// belong here). If it has `validate()`, that is called with the chain's.
template <class R>
struct add_regularizer {
  R regularizer;

  static constexpr std::string_view name = "pare::optim::add_regularizer";
  void validate() const {
    if constexpr (requires { regularizer.validate(); }) regularizer.validate();
  }
  template <class T>
    requires regularizer_for<R, T>
  void update(chunk<T>& c) const {
    regularizer.add_grad(tensor_view<const T>(c.p.data(), {c.size()}),
                         tensor_view<T>(c.u.data(), {c.size()}));
  }
};

}  // namespace pare::optim
