#pragma once
/// \file
/// The exponential of the softmax kernels, exactly 0 for a −inf argument on every instruction
/// set, still one vectorized pass: `assign_exp(dst, x)` and `sum_exp(x)`.
///
/// Why: Eigen 3.4's packet `exp` clamps its argument (to about −709.8 for double, −88.7 for
/// float) and, except for AVX-512 float, returns a tiny positive number for −inf (≈ 5.6e-309
/// for double, ≈ 2.9e-39 for float with SSE/AVX2) where std::exp and torch give exactly 0, so a
/// masked class (logit −inf) would get a nonzero probability and gradient. Which lanes take the
/// packet path depends on the row length and alignment (the rest use std::exp), so a result
/// must not rely on it. `exp_op` clears the −inf lanes with two packet operations after the
/// exponential (a compare and an and-not; Eigen's `select` would not vectorize). Those cost
/// ~10–20 % of a float softmax with AVX-512, whose packet exp is already exact — so whether the
/// fix is needed is measured once per scalar type, on the packet path itself, and the plain
/// exponential is used where it already gives 0. Every other argument, NaN included, gets
/// exactly Eigen's exp either way.

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

namespace pare::distill::detail {

/// exp(x), with exp(−inf) = 0 exactly on every instruction set: `expr.unaryExpr(exp_op<T>{})`.
template <class T>
struct exp_op {
  [[nodiscard]] T operator()(const T& x) const { return std::exp(x); }  // std::exp(−inf) == 0
  template <class Packet>
  [[nodiscard]] Packet packetOp(const Packet& x) const {
    namespace ei = Eigen::internal;
    const Packet minus_inf = ei::pset1<Packet>(-std::numeric_limits<T>::infinity());
    return ei::pandnot(ei::pexp(x), ei::pcmp_eq(x, minus_inf));  // exp(x) & ~(x == −inf)
  }
};

/// Whether Eigen's own `exp` gives exactly 0 for −inf in every lane, packet lanes included, on
/// this build (true for float with AVX-512 in Eigen 3.4). Measured once, on the first call.
template <class T>
[[nodiscard]] bool eigen_exp_exact_at_minus_inf() {
  static const bool exact = [] {
    // 64 elements span several of the widest packets (and a scalar tail if there is one).
    const Eigen::Array<T, Eigen::Dynamic, 1> x =
        Eigen::Array<T, Eigen::Dynamic, 1>::Constant(64, -std::numeric_limits<T>::infinity());
    const Eigen::Array<T, Eigen::Dynamic, 1> y = x.exp();
    return std::all_of(y.data(), y.data() + y.size(), [](T v) { return v == T(0); });
  }();
  return exact;
}

/// dst = exp(x) element-wise, with exp(−inf) = 0 exactly. `dst` may be `x`'s own storage.
template <class Dst, class Src>
void assign_exp(Dst& dst, const Src& x) {
  using T = typename Src::Scalar;
  if (eigen_exp_exact_at_minus_inf<T>())
    dst = x.exp();
  else
    dst = x.unaryExpr(exp_op<T>{});
}

/// Σ exp(x), with exp(−inf) = 0 exactly.
template <class Src>
[[nodiscard]] typename Src::Scalar sum_exp(const Src& x) {
  using T = typename Src::Scalar;
  if (eigen_exp_exact_at_minus_inf<T>()) return x.exp().sum();
  return x.unaryExpr(exp_op<T>{}).sum();
}

}  // namespace pare::distill::detail

namespace Eigen::internal {
template <class T>
struct functor_traits<pare::distill::detail::exp_op<T>> {
  enum {
    Cost = functor_traits<scalar_exp_op<T>>::Cost + 2 * NumTraits<T>::AddCost,
    PacketAccess = functor_traits<scalar_exp_op<T>>::PacketAccess && packet_traits<T>::HasCmp
  };
};
}  // namespace Eigen::internal
