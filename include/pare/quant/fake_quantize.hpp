#pragma once
/// \file
/// Quantization-aware training: `fake_quantize` (quantize then dequantize, in float) and its
/// straight-through gradient; `lsq_backward` adds the learnable-scale gradient of LSQ.
///
///     auto qp = pare::quant::choose_qparams(w, {.bits = 4, .axis = 0});
///     pare::quant::fake_quantize(w, qp, w_q);                 // forward with w_q
///     pare::quant::fake_quantize_backward(w, qp, dw_q, dw);   // dw = dw_q where w is in range
///
/// Forward: y = (clamp(round_half_even(x / s) + z, qmin, qmax) − z)·s, exactly what
/// `dequantize(quantize(x, qp))` gives. Backward (straight-through estimator, Bengio et al. 2013):
/// dx = dy · 1[qmin ≤ round_half_even(x / s) + z ≤ qmax] — the mask is taken on the unclamped
/// rounded value, as PyTorch's `fake_quantize_per_tensor_affine` does. PyTorch computes x / s as
/// x · (1/s) with a float32 reciprocal; pare divides, so both agree except when x / s is within
/// an ulp of a .5 tie. A NaN in x gives NaN in y and a zero gradient; ±inf clamps to the range
/// ends with a zero gradient.

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/quant/linear.hpp"
#include "pare/quant/qparams.hpp"

namespace pare::quant {
namespace detail {

template <class T>
inline void fake_quantize_run(const T* x, T* y, std::int64_t n, float s, int z, int q0,
                              int q1) noexcept {
  const T st = static_cast<T>(s), zt = static_cast<T>(z), lo = static_cast<T>(q0),
          hi = static_cast<T>(q1);
  for (std::int64_t i = 0; i < n; ++i) y[i] = (clamped_code(x[i], st, zt, lo, hi) - zt) * st;
}

template <class T>
inline void ste_run(const T* x, const T* dy, T* dx, std::int64_t n, float s, int z, int q0,
                    int q1) noexcept {
  const T st = static_cast<T>(s), zt = static_cast<T>(z), lo = static_cast<T>(q0),
          hi = static_cast<T>(q1);
  for (std::int64_t i = 0; i < n; ++i) {
    const T r = std::nearbyint(x[i] / st) + zt;
    dx[i] = (r >= lo && r <= hi) ? dy[i] : T(0);
  }
}

}  // namespace detail

/// y = fake-quantized x (see the file comment); y must have x's shape and may be x's memory.
/// Throws `pare::error` when the qparams do not fit x (see `quantize`) or y's shape differs.
template <class T>
void fake_quantize(tensor_view<T> x, const qparams& qp, tensor_view<std::remove_const_t<T>> y) {
  using V = std::remove_const_t<T>;
  static_assert(std::is_floating_point_v<V>, "pare::quant::fake_quantize: x must be float or double");
  constexpr std::string_view component = "pare::quant::fake_quantize";
  const auto l = detail::check_qparams(component, qp, x.shape());
  detail::require_same_shape(component, "x", x, "y", y);
  const V* xp = x.data();
  V* yp = y.data();
  detail::for_each_run(0, x.size(), l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    const auto kk = static_cast<std::size_t>(k);
    detail::fake_quantize_run(xp + b, yp + b, e - b, qp.scales[kk], qp.zero_points[kk], qp.qmin(),
                              qp.qmax());
  });
}

/// Straight-through gradient: dx = dy where x is inside the representable range (its rounded
/// code before clamping lies in [qmin, qmax]), 0 elsewhere. dx is overwritten and may alias dy.
template <class T>
void fake_quantize_backward(tensor_view<T> x, const qparams& qp,
                            tensor_view<const std::remove_const_t<T>> dy,
                            tensor_view<std::remove_const_t<T>> dx) {
  using V = std::remove_const_t<T>;
  static_assert(std::is_floating_point_v<V>,
                "pare::quant::fake_quantize_backward: x must be float or double");
  constexpr std::string_view component = "pare::quant::fake_quantize_backward";
  const auto l = detail::check_qparams(component, qp, x.shape());
  detail::require_same_shape(component, "x", x, "dy", dy);
  detail::require_same_shape(component, "x", x, "dx", dx);
  const V* xp = x.data();
  const V* g = dy.data();
  V* o = dx.data();
  detail::for_each_run(0, x.size(), l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    const auto kk = static_cast<std::size_t>(k);
    detail::ste_run(xp + b, g + b, o + b, e - b, qp.scales[kk], qp.zero_points[kk], qp.qmin(),
                    qp.qmax());
  });
}

/// Learned step size (LSQ, Esser et al. 2020; zero-point gradient as in LSQ+, Bhalgat et al.
/// 2020 and PyTorch's `_LearnableFakeQuantize`): writes dx (the straight-through gradient) and,
/// per slice, the gradients of the scale and the zero point, each multiplied by `grad_factor`
/// (LSQ uses 1/√(n·qmax), n the slice's element count). With r = round(x/s) + z:
///   inside  (qmin ≤ r ≤ qmax): ds += dy·(x̂ − x)/s,  dz += 0
///   below   (r < qmin):        ds += dy·(qmin − z),  dz −= dy·s
///   above   (r > qmax):        ds += dy·(qmax − z),  dz −= dy·s
/// dscale and dzero_point hold one value per slice and are overwritten.
template <class T>
void lsq_backward(tensor_view<T> x, const qparams& qp, tensor_view<const std::remove_const_t<T>> dy,
                  tensor_view<std::remove_const_t<T>> dx, std::span<double> dscale,
                  std::span<double> dzero_point, double grad_factor = 1.0) {
  using V = std::remove_const_t<T>;
  constexpr std::string_view component = "pare::quant::lsq_backward";
  const auto l = detail::check_qparams(component, qp, x.shape());
  detail::require_same_shape(component, "x", x, "dy", dy);
  detail::require_same_shape(component, "x", x, "dx", dx);
  detail::require(dscale.size() == qp.scales.size(), component, "dscale",
                  "one value per slice (" + detail::to_text(static_cast<std::int64_t>(qp.scales.size())) + ")",
                  static_cast<std::int64_t>(dscale.size()));
  detail::require(dzero_point.size() == qp.scales.size(), component, "dzero_point",
                  "one value per slice (" + detail::to_text(static_cast<std::int64_t>(qp.scales.size())) + ")",
                  static_cast<std::int64_t>(dzero_point.size()));
  for (auto& v : dscale) v = 0;
  for (auto& v : dzero_point) v = 0;
  const V* xp = x.data();
  const V* g = dy.data();
  V* o = dx.data();
  const double q0 = qp.qmin(), q1 = qp.qmax();
  detail::for_each_run(0, x.size(), l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    const auto kk = static_cast<std::size_t>(k);
    const V s = static_cast<V>(qp.scales[kk]);
    const V z = static_cast<V>(qp.zero_points[kk]);
    double ds = 0, dz = 0;
    for (std::int64_t i = b; i < e; ++i) {
      const V r = std::nearbyint(xp[i] / s) + z;
      if (r < static_cast<V>(q0)) {
        o[i] = 0;
        ds += static_cast<double>(g[i]) * (q0 - static_cast<double>(z));
        dz -= static_cast<double>(g[i]) * static_cast<double>(s);
      } else if (r > static_cast<V>(q1)) {
        o[i] = 0;
        ds += static_cast<double>(g[i]) * (q1 - static_cast<double>(z));
        dz -= static_cast<double>(g[i]) * static_cast<double>(s);
      } else {
        o[i] = g[i];
        const V xhat = (r - z) * s;
        ds += static_cast<double>(g[i]) * static_cast<double>((xhat - xp[i]) / s);
      }
    }
    dscale[kk] += ds * grad_factor;
    dzero_point[kk] += dz * grad_factor;
  });
}

}  // namespace pare::quant
