#pragma once
/// \file
/// The exponential of the softmax kernels, exactly 0 for a −inf argument (and wherever std::exp
/// and torch underflow to 0, e.g. a mask of −1e9) on every instruction set, still one
/// vectorized pass: `assign_exp(dst, x)`.
///
/// Why: Eigen 3.4's packet `exp` clamps its argument (to about −709.8 for double, −88.7 for
/// float) and, except for AVX-512 float, returns a tiny positive number for −inf (≈ 5.6e-309
/// for double, ≈ 2.9e-39 for float with SSE/AVX2) where std::exp and torch give exactly 0, so a
/// masked class (logit −inf, or a soft mask like −1e9) would get a nonzero probability and
/// gradient. Which lanes take the packet path depends on the row length and alignment (the rest
/// use std::exp), so a result must not rely on it. `exp_op` clears the lanes below
/// `exp_underflow<T>` (−inf included) after the exponential (a compare and an
/// and-not; with AVX-512 a compare into a mask register and a zero-masking move, which the
/// compiler folds into exp's last instruction; Eigen's `select` would not vectorize). The
/// generic form slowed a float softmax with AVX-512 by 10–20 % (measured), and there Eigen's
/// packet exp is already exact there (it flushes everything below ≈ −87.3 to 0) — so whether
/// the fix is needed is measured once per scalar type, on the packet path itself, and the plain
/// exponential is used where it already gives 0. Every other argument, NaN included, gets
/// exactly Eigen's exp either way (between the clamp and the underflow bound Eigen's tiny
/// number stands for a subnormal: a difference of < 1e-308 or 1e-38). (kd_loss's rows
/// need neither: a −inf there always shows in a non-finite KL sum, and only such rows are
/// fixed up — see logit_rows.hpp.)

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include <Eigen/Core>

namespace pare::distill::detail {

/// Below this argument the exponential rounds to 0 (exp(x) < half the smallest subnormal,
/// 2^−1075 for double, 2^−150 for float: x < −1075·ln 2, −150·ln 2), as with std::exp and torch.
template <class T>
inline constexpr T exp_underflow = std::is_same_v<T, float> ? T(-103.972077083991796) : T(-745.133219101941108);

/// exp(x), with exp(x) = 0 exactly below `exp_underflow<T>` (−inf included) on every instruction set: `expr.unaryExpr(exp_op<T>{})`.
template <class T>
struct exp_op {
  [[nodiscard]] T operator()(const T& x) const { return std::exp(x); }  // std::exp(−inf) == 0
  template <class Packet>
  [[nodiscard]] Packet packetOp(const Packet& x) const {
    namespace ei = Eigen::internal;
    const Packet bound = ei::pset1<Packet>(exp_underflow<T>);
    return ei::pandnot(ei::pexp(x), ei::pcmp_lt(x, bound));  // exp(x) & ~(x < bound); NaN kept
  }
#ifdef EIGEN_VECTORIZE_AVX512
  // With AVX-512 the compare writes a mask register and a zero-masking move applies it: one
  // operation less than turning the mask into a vector for the and-not.
  [[nodiscard]] Eigen::internal::Packet8d packetOp(const Eigen::internal::Packet8d& x) const {
    const __mmask8 keep = _mm512_cmp_pd_mask(x, _mm512_set1_pd(exp_underflow<double>), _CMP_NLT_UQ);  // ≥ bound or NaN
    return _mm512_maskz_mov_pd(keep, Eigen::internal::pexp(x));
  }
  [[nodiscard]] Eigen::internal::Packet16f packetOp(const Eigen::internal::Packet16f& x) const {
    const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(exp_underflow<float>), _CMP_NLT_UQ);  // ≥ bound or NaN
    return _mm512_maskz_mov_ps(keep, Eigen::internal::pexp(x));
  }
#endif
};

/// Whether Eigen's own `exp` gives exactly 0 below `exp_underflow<T>` (−inf, −1e9 and just
/// below the bound) in every lane, packet lanes included, on this build (true for float with
/// AVX-512 in Eigen 3.4). Measured once, on the first call.
template <class T>
[[nodiscard]] bool eigen_exp_exact_at_underflow() {
  static const bool exact = [] {
    // 64 elements span several of the widest packets (and a scalar tail if there is one).
    const T below[3] = {-std::numeric_limits<T>::infinity(), T(-1e9),
                        std::nextafter(exp_underflow<T>, -std::numeric_limits<T>::infinity())};
    Eigen::Array<T, Eigen::Dynamic, 1> x(64);
    for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = below[i % 3];
    const Eigen::Array<T, Eigen::Dynamic, 1> y = x.exp();
    return std::all_of(y.data(), y.data() + y.size(), [](T v) { return v == T(0); });
  }();
  return exact;
}

/// dst = exp(x) element-wise, exactly 0 below `exp_underflow<T>` (−inf included). `dst` may be
/// `x`'s own storage.
template <class Dst, class Src>
void assign_exp(Dst& dst, const Src& x) {
  using T = typename Src::Scalar;
  if (eigen_exp_exact_at_underflow<T>())
    dst = x.exp();
  else
    dst = x.unaryExpr(exp_op<T>{});
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
