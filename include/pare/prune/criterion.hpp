#pragma once
/// \file
/// Pruning criteria: how important each weight is. Lower scores are pruned first.
///
/// A criterion is a small aggregate (its fields are its options) that scores element i of a
/// registered tensor from the weights, an optional second input (a gradient or a Hessian
/// diagonal) and, for criteria that accumulate over training steps, a per-weight accumulator
/// the pruner owns. The pruner turns scores into masks; structures (`rows`, `blocks`, …)
/// aggregate them per group.

#include <cmath>
#include <concepts>
#include <cstdint>
#include <string_view>

#include "pare/core/rng.hpp"

namespace pare::prune {

/// What a criterion sees of one registered tensor. Pointers are to `size` elements; `aux` is
/// the second view given to `pruner::add` (null when none was given), `state` the
/// accumulator the pruner keeps for criteria that accumulate (null otherwise), `steps` the
/// number of `accumulate()` calls so far and `stream` the tensor's registration index.
template <class T>
struct score_inputs {
  const T* w = nullptr;
  const T* aux = nullptr;
  const T* state = nullptr;
  std::int64_t steps = 0;
  std::uint64_t stream = 0;
};

/// What the second view passed to `pruner::add(w, aux)` must hold for a criterion.
enum class input { none, gradient, hessian };

/// A pruning criterion (a policy): scores each weight, lower = pruned first.
///
/// Requirements, for a scalar `T` (float or double):
///  - `c.template score<T>(in, i)` → `T`: the score of element i (`score_inputs<T> in`); must
///    not throw; NaN scores rank above everything (never pruned).
///  - `c.needs()` → `input`: which second view `pruner::add` requires (checked at `add`).
///  - `c.accumulates()` → `bool`: whether the pruner keeps a per-weight accumulator (zeroed at
///    `add`), updated by `c.template accumulate<T>(in, state, b, e)` for elements [b, e) at
///    every `pruner::accumulate()`; `in.steps` counts those calls.
///  - `C::signed_scores` (bool): scores may be negative; structures then rank groups by the
///    sum of their scores instead of a norm.
template <class C, class T>
concept prune_criterion =
    std::copy_constructible<C> &&
    requires(const C& c, const score_inputs<T>& in, std::int64_t i, T* state) {
      { c.template score<T>(in, i) } -> std::same_as<T>;
      { c.needs() } -> std::same_as<input>;
      { c.accumulates() } -> std::same_as<bool>;
      { C::signed_scores } -> std::convertible_to<bool>;
      c.template accumulate<T>(in, state, i, i);
    };

/// Weight magnitude |w|: the classic criterion (Han et al. 2015, "Learning both Weights and
/// Connections"; PyTorch `l1_unstructured`, TF-MOT `prune_low_magnitude`).
struct magnitude {
  [[nodiscard]] constexpr bool accumulates() const noexcept { return false; }
  static constexpr bool signed_scores = false;
  [[nodiscard]] constexpr input needs() const noexcept { return input::none; }
  template <class T>
  [[nodiscard]] T score(const score_inputs<T>& in, std::int64_t i) const noexcept {
    return std::abs(in.w[i]);
  }
  template <class T>
  void accumulate(const score_inputs<T>&, T*, std::int64_t, std::int64_t) const noexcept {}
};

/// Connection sensitivity |w·g|: SNIP (Lee, Ajanthan & Torr 2019), the first-order estimate of
/// the change in loss when the weight is removed. Needs the gradient: `add(w, g)`. SNIP's
/// normalization by Σ|w·g| does not change the order, so it is left out.
struct sensitivity {
  [[nodiscard]] constexpr bool accumulates() const noexcept { return false; }
  static constexpr bool signed_scores = false;
  [[nodiscard]] constexpr input needs() const noexcept { return input::gradient; }
  template <class T>
  [[nodiscard]] T score(const score_inputs<T>& in, std::int64_t i) const noexcept {
    return std::abs(in.w[i] * in.aux[i]);
  }
  template <class T>
  void accumulate(const score_inputs<T>&, T*, std::int64_t, std::int64_t) const noexcept {}
};

/// Optimal Brain Damage saliency ½·h·w² (LeCun, Denker & Solla 1990), h the diagonal of the
/// Hessian of the loss.
///
/// `estimate = false`: h is given, `add(w, h)`. `estimate = true`: `add(w, g)` and h is
/// estimated as the mean of g² over the `accumulate()` calls (the empirical Fisher diagonal, a
/// Gauss-Newton approximation of the Hessian).
struct hessian {
  bool estimate = false;
  [[nodiscard]] constexpr bool accumulates() const noexcept { return estimate; }
  static constexpr bool signed_scores = false;
  [[nodiscard]] constexpr input needs() const noexcept {
    return estimate ? input::gradient : input::hessian;
  }
  template <class T>
  [[nodiscard]] T score(const score_inputs<T>& in, std::int64_t i) const noexcept {
    const T w = in.w[i];
    const T h = estimate ? in.state[i] / static_cast<T>(in.steps) : in.aux[i];
    return T(0.5) * h * w * w;
  }
  template <class T>
  void accumulate(const score_inputs<T>& in, T* state, std::int64_t b,
                  std::int64_t e) const noexcept {
    if (!estimate) return;
    for (std::int64_t i = b; i < e; ++i) state[i] += in.aux[i] * in.aux[i];
  }
};

/// Movement score S = Σ_t −w_t·g_t, accumulated at every `accumulate()` (Sanh, Wolf & Rush
/// 2020, "Movement Pruning"): weights moving away from zero score high, weights the gradient
/// pushes toward zero score low, whatever their size. Needs the gradient: `add(w, g)`.
struct movement {
  [[nodiscard]] constexpr bool accumulates() const noexcept { return true; }
  static constexpr bool signed_scores = true;
  [[nodiscard]] constexpr input needs() const noexcept { return input::gradient; }
  template <class T>
  [[nodiscard]] T score(const score_inputs<T>& in, std::int64_t i) const noexcept {
    return in.state[i];
  }
  template <class T>
  void accumulate(const score_inputs<T>& in, T* state, std::int64_t b,
                  std::int64_t e) const noexcept {
    for (std::int64_t i = b; i < e; ++i) state[i] -= in.w[i] * in.aux[i];
  }
};

/// Random scores, uniform in [0, 1): the baseline every criterion should beat (PyTorch
/// `random_unstructured`). Element i of the tensor registered k-th scores
/// `uniform(random_bits(seed, k), i)` with pare's counter-based generator, so scores are the
/// same for a seed whatever the thread count, and the same at every `prune_to` (so pruning to a
/// higher sparsity keeps the weights pruned before).
struct random {
  std::uint64_t seed = 0;
  [[nodiscard]] constexpr bool accumulates() const noexcept { return false; }
  static constexpr bool signed_scores = false;
  [[nodiscard]] constexpr input needs() const noexcept { return input::none; }
  template <class T>
  [[nodiscard]] T score(const score_inputs<T>& in, std::int64_t i) const noexcept {
    const std::uint64_t s = pare::detail::random_bits(seed, in.stream);
    if constexpr (sizeof(T) == 4)
      return pare::detail::uniform_float(s, static_cast<std::uint64_t>(i));
    else
      return static_cast<T>(pare::detail::uniform_double(s, static_cast<std::uint64_t>(i)));
  }
  template <class T>
  void accumulate(const score_inputs<T>&, T*, std::int64_t, std::int64_t) const noexcept {}
};

static_assert(prune_criterion<magnitude, float> && prune_criterion<magnitude, double>);
static_assert(prune_criterion<sensitivity, float> && prune_criterion<sensitivity, double>);
static_assert(prune_criterion<hessian, float> && prune_criterion<hessian, double>);
static_assert(prune_criterion<movement, float> && prune_criterion<movement, double>);
static_assert(prune_criterion<random, float> && prune_criterion<random, double>);

namespace detail {
[[nodiscard]] constexpr std::string_view input_name(input x) noexcept {
  return x == input::gradient ? "gradient" : x == input::hessian ? "hessian" : "none";
}
}  // namespace detail

}  // namespace pare::prune
