#pragma once
/// \file
/// The fused row kernel behind `kd_loss` and `cross_entropy`: one trip over each row of the
/// student (and teacher) logits computes the row's soft-target KL, its cross-entropy and the
/// gradient of their mix, while the row sits in L1. Every exponent is taken after subtracting
/// the row maximum, so rows of ±1e4 or all-equal logits stay finite.

#include <cmath>
#include <cstdint>
#include <limits>

#include <Eigen/Core>

#include "pare/distill/detail/exp.hpp"
#include "pare/distill/detail/scratch.hpp"
#include "pare/distill/softmax.hpp"

namespace pare::distill::detail {

/// What one call of `logit_rows` computes. The loss of row b is
///   alpha · T² · KL(p_b ‖ q_b) + (1 − alpha) · CE_smoothed(s_b, y_b)
/// with q = softmax(s / T) and p = softmax(t / T) (or the given probabilities), weighted by
/// w_b / Σw (or 1 / batch), summed over rows.
template <class T>
struct logit_rows_args {
  const T* student = nullptr;
  const T* teacher = nullptr;        // logits, probabilities, or null when alpha == 0
  bool teacher_probabilities = false;
  const std::int64_t* labels = nullptr;  // null when alpha == 1
  const T* weights = nullptr;            // null: every row weighs 1 / rows
  double weight_sum = 0;
  T* grad = nullptr;
  std::int64_t rows = 0, cols = 0;
  double temperature = 1;
  double alpha = 0;       // weight of the soft-target term
  double smoothing = 0;   // label smoothing of the cross-entropy term
};

/// Σ_j w_j·d_j over a row whose vectorized KL sum was not finite, with torch's kl_div terms
/// xlogy(p_j, p_j) − p_j·log q_j: a class with weight w_j = 0 (the teacher's p_j, or the
/// exponential of its logit) adds 0 where the vectorized sum has 0·(±inf) = NaN; a class whose
/// student logit s_j is −inf adds +inf where the teacher's probability is positive and makes the
/// sum NaN where it is exactly 0 (`p_zero(j)`: 0·(−inf), as torch 1.13 — a class masked in both
/// student and teacher makes the KL NaN; only the gradient treats it as absent).
template <class T, class D, class P>
[[nodiscard]] double sum_kl_terms(const T* w, const D& d, const T* s, std::int64_t n, P p_zero) {
  double acc = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    if (s[j] == -std::numeric_limits<T>::infinity() && p_zero(j)) return std::numeric_limits<double>::quiet_NaN();
    if (w[j] != T(0)) acc += static_cast<double>(w[j] * d[j]);
  }
  return acc;
}

/// y_j = 0 where the exponent x_j is below `exp_underflow<T>` (−inf, or a mask like −1e9), as
/// std::exp and torch: Eigen's packet exp may leave a tiny positive number there (≈ 5.6e-309
/// for double; see detail/exp.hpp), which must not become a probability or a gradient.
template <class T, class X>
void zero_where_underflow(row_out<T>& y, const X& x) {
  for (std::int64_t j = 0; j < y.size(); ++j)
    if (x[j] < exp_underflow<T>) y[j] = T(0);
}

template <class T>
[[nodiscard]] double logit_rows(const logit_rows_args<T>& a) {
  const std::int64_t C = a.cols;
  const bool kd = a.alpha > 0;
  const bool ce = a.alpha < 1;
  // At T = 1 the tempered and plain student softmax coincide and share their exponentials.
  const bool same = a.temperature == 1.0;
  const T inv_t = static_cast<T>(1.0 / a.temperature);
  const double t2 = a.temperature * a.temperature;
  // Two rows of per-thread scratch keep exp((s − max)/T) and exp(s − max) between the sums
  // that normalize them and the gradient, so each exponential is computed once per element.
  T* work = kd ? scratch<T>(static_cast<std::size_t>(2 * C)) : nullptr;
  double total = 0;
  for (std::int64_t r = 0; r < a.rows; ++r) {
    const row_in<T> s(a.student + r * C, C);
    row_out<T> g(a.grad + r * C, C);
    const double coef =
        a.weights ? static_cast<double>(a.weights[r]) / a.weight_sum : 1.0 / static_cast<double>(a.rows);
    const double ck = coef * a.alpha * a.temperature;  // d(alpha·T²·KL)/ds = alpha·T·(q − p)
    const double cc = coef * (1 - a.alpha);
    const T ms = row_max(s);

    double row = 0;
    double s1 = 0;  // Σ exp(s − max s)
    if (!kd) {
      // Cross-entropy alone: g keeps exp(s − max s) for the gradient.
      assign_exp(g, s - ms);
      s1 = static_cast<double>(g.sum());
    }
    double sq = 0;  // Σ exp((s − max s) / T)
    row_out<T> eq(work, kd ? C : 0), e1(kd && !same ? work + C : work, kd ? C : 0);
    if (kd) {
      // The plain exponential: a row with a −inf logit has a KL sum that is not finite
      // (0·(−inf) or +inf, below), and only such rows are fixed up, so finite rows pay nothing.
      // (What Eigen gives for −inf, ≈ 5.6e-309, cannot change these sums, which are ≥ 1.)
      eq = ((s - ms) * inv_t).exp();
      sq = static_cast<double>(eq.sum());
      if (ce && !same) {
        e1 = (s - ms).exp();
        s1 = static_cast<double>(e1.sum());
      } else {
        s1 = sq;
      }
    }
    if (ce) {
      const double lse = std::log(s1);
      const std::int64_t y = a.labels[r];
      double ce_row = lse - static_cast<double>(s[y] - ms);
      if (a.smoothing > 0)
        ce_row = lse - (1 - a.smoothing) * static_cast<double>(s[y] - ms) -
                 a.smoothing * static_cast<double>((s - ms).mean());
      row += (1 - a.alpha) * ce_row;
    }

    if (kd) {
      // The gradient is cq·exp((s − max)/T) − (teacher term) [+ cr·exp(s − max) when T ≠ 1]:
      // at T = 1 the hard-label softmax is q itself and folds into cq.
      double cq = 0;
      const double cr = ce && !same ? cc / s1 : 0;
      if (!a.teacher_probabilities) {
        const row_in<T> t(a.teacher + r * C, C);
        const T mt = row_max(t);
        // g holds exp((t − max t) / T) until the gradient overwrites it.
        g = ((t - mt) * inv_t).exp();
        const double st = static_cast<double>(g.sum());
        // Σ p (log p − log q) = Σ e_t·(a − b)/st − log st + log sq, a = (t − mt)/T, b = (s − ms)/T
        const auto d = ((t - s) - (mt - ms)) * inv_t;  // a − b (lazy: over the live maps t, s)
        double num = static_cast<double>((g * d).sum());
        if (!std::isfinite(num)) {  // a −inf in s or t (or a NaN, +inf: then NaN anyway)
          zero_where_underflow(eq, (s - ms) * inv_t);
          zero_where_underflow(e1, s - ms);
          zero_where_underflow(g, (t - mt) * inv_t);
          // torch's p_j = exp((t_j − max t)/T) / Σ: exactly 0 for a teacher −inf, and where the
          // exponential or the division underflows (a mask of −1e9, say)
          const T st_t = static_cast<T>(st);
          num = sum_kl_terms(g.data(), d, s.data(), C, [&](std::int64_t j) { return g[j] / st_t == T(0); });
        }
        row += a.alpha * t2 * (num / st - std::log(st) + std::log(sq));
        cq = (ck + (ce && same ? cc : 0)) / sq;
        const T cp = static_cast<T>(ck / st);
        if (cr != 0)
          g = static_cast<T>(cq) * eq - cp * g + static_cast<T>(cr) * e1;
        else
          g = static_cast<T>(cq) * eq - cp * g;
      } else {
        const row_in<T> p(a.teacher + r * C, C);
        const double sp = static_cast<double>(p.sum());
        // Σ p log p with 0·log 0 = 0 (as torch's xlogy); g is scratch for the terms.
        g = p * p.log();
        T* gp = g.data();
        const T* pp = p.data();
        for (std::int64_t j = 0; j < C; ++j) gp[j] = pp[j] == T(0) ? T(0) : gp[j];
        const double plogp = static_cast<double>(g.sum());
        const auto lq = (s - ms) * inv_t;  // log q + log sq (lazy: over the live map s)
        double pb = static_cast<double>((p * lq).sum());
        if (!std::isfinite(pb)) {  // a −inf in s (or a NaN, +inf, negative p: NaN anyway)
          zero_where_underflow(eq, (s - ms) * inv_t);
          zero_where_underflow(e1, s - ms);
          pb = sum_kl_terms(p.data(), lq, s.data(), C, [&](std::int64_t j) { return p[j] == T(0); });
        }
        row += a.alpha * t2 * (plogp - pb + sp * std::log(sq));
        // d/ds Σ p (log p − log q) = (Σp · q − p) / T: exact also when p does not sum to 1.
        cq = (ck * sp + (ce && same ? cc : 0)) / sq;
        const T cp = static_cast<T>(ck);
        if (cr != 0)
          g = static_cast<T>(cq) * eq - cp * p + static_cast<T>(cr) * e1;
        else
          g = static_cast<T>(cq) * eq - cp * p;
      }
    } else {
      g *= static_cast<T>(cc / s1);
    }

    if (ce) {
      const std::int64_t y = a.labels[r];
      if (a.smoothing > 0) {
        g -= static_cast<T>(cc * a.smoothing / static_cast<double>(C));
        g[y] -= static_cast<T>(cc * (1 - a.smoothing));
      } else {
        g[y] -= static_cast<T>(cc);
      }
    }
    total += coef * row;
  }
  return total;
}

}  // namespace pare::distill::detail
