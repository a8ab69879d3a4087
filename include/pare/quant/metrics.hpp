#pragma once
/// \file
/// How much a quantization lost: mean squared error, largest absolute error and the
/// signal-to-quantization-noise ratio, per tensor, in one pass.
///
///     auto e = pare::quant::quantization_error(w, w_hat);   // e.mse, e.max_abs, e.sqnr_db
///
/// SQNR = 10·log10(Σx² / Σ(x − x̂)²) dB (PyTorch's `torch.ao.ns.fx.utils.compute_sqnr`); about
/// 6.02 dB per bit for uniform quantization of a full-range signal. It is +inf when x̂ = x and
/// −inf when x is all zero but x̂ is not. Sums are accumulated in double. NaN in either input
/// makes every figure NaN.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::quant {

/// Error figures of an approximation x̂ of x.
struct error_stats {
  double mse = 0;      ///< mean of (x − x̂)²
  double max_abs = 0;  ///< max |x − x̂|
  double sqnr_db = 0;  ///< 10·log10(Σx² / Σ(x − x̂)²)
};

/// The error figures of x_hat against x (same shape, non-empty). Throws `pare::error` otherwise.
template <class A, class B>
[[nodiscard]] error_stats quantization_error(tensor_view<A> x, tensor_view<B> x_hat) {
  using V = std::remove_const_t<A>;
  static_assert(std::is_same_v<V, std::remove_const_t<B>> && std::is_floating_point_v<V>,
                "pare::quant::quantization_error: x and x_hat must be float or double views of one type");
  constexpr std::string_view component = "pare::quant::quantization_error";
  ::pare::detail::require_same_shape(component, "x", x, "x_hat", x_hat);
  if (x.empty())
    ::pare::detail::fail(component, "x must be non-empty, got shape " + ::pare::detail::to_text(x.shape()));
  constexpr int lanes = 8;
  double sx[lanes] = {}, se[lanes] = {}, mx[lanes] = {};
  bool nan = false;
  const V* a = x.data();
  const V* b = x_hat.data();
  const std::int64_t n = x.size();
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (int l = 0; l < lanes; ++l) {
      const double v = a[i + l], d = v - static_cast<double>(b[i + l]);
      sx[l] += v * v;
      se[l] += d * d;
      const double ad = std::abs(d);
      mx[l] = ad > mx[l] ? ad : mx[l];
      nan |= d != d;
    }
  for (; i < n; ++i) {
    const double v = a[i], d = v - static_cast<double>(b[i]);
    sx[0] += v * v;
    se[0] += d * d;
    mx[0] = std::max(mx[0], std::abs(d));
    nan |= d != d;
  }
  if (nan) {
    const double q = std::numeric_limits<double>::quiet_NaN();
    return {q, q, q};
  }
  double tx = 0, te = 0, m = 0;
  for (int l = 0; l < lanes; ++l) {
    tx += sx[l];
    te += se[l];
    m = std::max(m, mx[l]);
  }
  error_stats r;
  r.mse = te / static_cast<double>(n);
  r.max_abs = m;
  if (te == 0) r.sqnr_db = std::numeric_limits<double>::infinity();
  else if (tx == 0) r.sqnr_db = -std::numeric_limits<double>::infinity();
  else r.sqnr_db = 10.0 * std::log10(tx / te);
  return r;
}

/// Mean squared error of x_hat against x.
template <class A, class B>
[[nodiscard]] double mean_squared_error(tensor_view<A> x, tensor_view<B> x_hat) {
  return quantization_error(x, x_hat).mse;
}
/// Largest absolute error of x_hat against x.
template <class A, class B>
[[nodiscard]] double max_abs_error(tensor_view<A> x, tensor_view<B> x_hat) {
  return quantization_error(x, x_hat).max_abs;
}
/// Signal-to-quantization-noise ratio in dB.
template <class A, class B>
[[nodiscard]] double sqnr_db(tensor_view<A> x, tensor_view<B> x_hat) {
  return quantization_error(x, x_hat).sqnr_db;
}

}  // namespace pare::quant
