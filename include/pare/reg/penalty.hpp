#pragma once
/// \file
/// Weight and activity penalties with the Keras convention: `l1`, `l2`, `l1_l2`, each giving its
/// value (`penalty`) and adding its gradient to a gradient buffer (`add_grad`), and the
/// `regularizer` concept that optimizers accept as a transform.

#include <cmath>
#include <concepts>
#include <cstdint>
#include <string_view>

#include "pare/core/error.hpp"
#include "pare/core/parallel.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/reg/detail/reduce.hpp"

namespace pare::reg {

/// A penalty on a tensor (weights or activations): `r.penalty(w)` returns its value as a double
/// and `r.add_grad(w, g)` **adds** its gradient to `g` (same shape), so it composes with the
/// loss gradient already there and can run chunk by chunk inside an optimizer's fused step.
template <class R, class T>
concept regularizer = requires(const R& r, tensor_view<const T> w, tensor_view<T> g) {
  { r.penalty(w) } -> std::convertible_to<double>;
  { r.add_grad(w, g) } -> std::same_as<void>;
};

namespace detail {

inline void require_coefficient(std::string_view component, std::string_view name, double v) {
  pare::detail::require(v >= 0 && std::isfinite(v), component, name, "finite and >= 0", v);
}

/// l1·Σ|w| + l2·Σw², summed in double chunk by chunk. A zero coefficient skips its term (as
/// Keras does), so l2 = 0 with an infinite weight gives l1·∞, not NaN.
template <class T>
[[nodiscard]] double penalty_value(const T* w, std::int64_t n, double l1, double l2) {
  double abs_sum = 0, square_sum = 0;
  // Chunk by chunk so both sums read the chunk while it is in cache.
  pare::detail::for_each_chunk(
      n, pare::detail::chunk_elements,
      [&](std::int64_t b, std::int64_t e) {
        if (l1 != 0) abs_sum += sum_as_double(w + b, e - b, [](double x) { return std::abs(x); });
        if (l2 != 0) square_sum += sum_as_double(w + b, e - b, [](double x) { return x * x; });
      },
      /*parallel=*/false);  // a reduction in a fixed order: the same value on every run
  double v = 0;
  if (l1 != 0) v += l1 * abs_sum;
  if (l2 != 0) v += l2 * square_sum;
  return v;
}

/// g[0, n) += a·sign(w) + b·w on one chunk, with sign(±0) = 0 and sign(NaN) = NaN (so NaN
/// weights show up in the gradient instead of vanishing). Everything arrives by value, so the
/// stores to g cannot alias the loop's state and the loop vectorizes; a zero coefficient
/// drops its term (0·∞ would be NaN).
template <class T>
void add_grad_chunk(const T* w, T* g, std::int64_t n, T a, T b) {
  if (a == T(0)) {
    for (std::int64_t i = 0; i < n; ++i) g[i] += b * w[i];
  } else if (b == T(0)) {
    for (std::int64_t i = 0; i < n; ++i) {
      const T x = w[i];
      g[i] += x > T(0) ? a : (x < T(0) ? -a : x * T(0));
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      const T x = w[i];
      g[i] += (x > T(0) ? a : (x < T(0) ? -a : x * T(0))) + b * x;
    }
  }
}

/// g += l1·sign(w) + 2·l2·w over n elements, chunk by chunk (on several threads with OpenMP).
template <class T>
void penalty_add_grad(const T* w, T* g, std::int64_t n, double l1, double l2) {
  const T a = static_cast<T>(l1), b = static_cast<T>(2 * l2);
  if (l1 == 0 && l2 == 0) return;
  pare::detail::for_each_chunk(n, pare::detail::chunk_elements, [=](std::int64_t lo, std::int64_t hi) {
    add_grad_chunk(w + lo, g + lo, hi - lo, a, b);
  });
}

/// The shared front end of the three penalties: validates, then runs the kernels.
template <class T>
[[nodiscard]] double penalty_checked(std::string_view component, double l1, double l2,
                                     tensor_view<const T> w) {
  require_coefficient(component, "l1", l1);
  require_coefficient(component, "l2", l2);
  return penalty_value(w.data(), w.size(), l1, l2);
}
template <class T>
void add_grad_checked(std::string_view component, double l1, double l2, tensor_view<const T> w,
                      tensor_view<T> g) {
  require_coefficient(component, "l1", l1);
  require_coefficient(component, "l2", l2);
  pare::detail::require_same_shape(component, "w", w, "g", g);
  penalty_add_grad(w.data(), g.data(), w.size(), l1, l2);
}

}  // namespace detail

/// L1 penalty (Keras `L1`): value l1·Σ|w|, gradient l1·sign(w) with sign(0) = 0 (the
/// subgradient TensorFlow and torch autograd use). Drives weights to exact zeros (Tibshirani
/// 1996, the lasso).
///
///     pare::reg::l1 r{.l1 = 1e-4};
///     loss += r.penalty(w);  r.add_grad(w, g);   // g += 1e-4·sign(w)
///
/// On activations it is Keras' activity regularizer: pass the activation and its gradient.
/// NaN weights give a NaN penalty and NaN gradient entries. Throws `pare::error` for l1 < 0,
/// non-finite l1, or `g` of another shape than `w`.
struct l1 {
  double l1 = 0.01;

  void validate() const { detail::require_coefficient(component, "l1", l1); }
  [[nodiscard]] double penalty(tensor_view<const float> w) const {
    return detail::penalty_checked(component, l1, 0.0, w);
  }
  [[nodiscard]] double penalty(tensor_view<const double> w) const {
    return detail::penalty_checked(component, l1, 0.0, w);
  }
  void add_grad(tensor_view<const float> w, tensor_view<float> g) const {
    detail::add_grad_checked(component, l1, 0.0, w, g);
  }
  void add_grad(tensor_view<const double> w, tensor_view<double> g) const {
    detail::add_grad_checked(component, l1, 0.0, w, g);
  }
  static constexpr std::string_view component = "pare::reg::l1";
};

/// L2 penalty (Keras `L2`): value l2·Σw², gradient 2·l2·w — no ½, so Keras `L2(λ/2)` equals
/// PyTorch's `weight_decay = λ` (Krogh & Hertz 1992, weight decay).
///
///     pare::reg::l2 r{.l2 = 5e-5};
///     loss += r.penalty(w);  r.add_grad(w, g);   // g += 1e-4·w
///
/// Throws `pare::error` for l2 < 0, non-finite l2, or `g` of another shape than `w`.
struct l2 {
  double l2 = 0.01;

  void validate() const { detail::require_coefficient(component, "l2", l2); }
  [[nodiscard]] double penalty(tensor_view<const float> w) const {
    return detail::penalty_checked(component, 0.0, l2, w);
  }
  [[nodiscard]] double penalty(tensor_view<const double> w) const {
    return detail::penalty_checked(component, 0.0, l2, w);
  }
  void add_grad(tensor_view<const float> w, tensor_view<float> g) const {
    detail::add_grad_checked(component, 0.0, l2, w, g);
  }
  void add_grad(tensor_view<const double> w, tensor_view<double> g) const {
    detail::add_grad_checked(component, 0.0, l2, w, g);
  }
  static constexpr std::string_view component = "pare::reg::l2";
};

/// Elastic net in the Keras convention (`L1L2`): value l1·Σ|w| + l2·Σw², gradient
/// l1·sign(w) + 2·l2·w (Zou & Hastie 2005; scikit-learn's form has a ½ on the L2 term, Keras'
/// and pare's do not). A zero coefficient skips its term. Defaults 0.01 for both, as Keras'
/// `'l1_l2'` shortcut (its `L1L2` class defaults to 0).
///
/// Throws `pare::error` for a negative or non-finite coefficient, or `g` of another shape.
struct l1_l2 {
  double l1 = 0.01;
  double l2 = 0.01;

  void validate() const {
    detail::require_coefficient(component, "l1", l1);
    detail::require_coefficient(component, "l2", l2);
  }
  [[nodiscard]] double penalty(tensor_view<const float> w) const {
    return detail::penalty_checked(component, l1, l2, w);
  }
  [[nodiscard]] double penalty(tensor_view<const double> w) const {
    return detail::penalty_checked(component, l1, l2, w);
  }
  void add_grad(tensor_view<const float> w, tensor_view<float> g) const {
    detail::add_grad_checked(component, l1, l2, w, g);
  }
  void add_grad(tensor_view<const double> w, tensor_view<double> g) const {
    detail::add_grad_checked(component, l1, l2, w, g);
  }
  static constexpr std::string_view component = "pare::reg::l1_l2";
};

static_assert(regularizer<l1, float> && regularizer<l1, double>);
static_assert(regularizer<l2, float> && regularizer<l2, double>);
static_assert(regularizer<l1_l2, float> && regularizer<l1_l2, double>);

}  // namespace pare::reg
