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

/// Σ_j w_j·d_j leaving out the terms whose weight w_j is exactly 0: the KL convention
/// 0·log(0 / q) = 0 for every q, also where the vectorized sum gives 0·(±inf) = NaN — a class
/// that is −inf for the teacher (p = 0), also when it is −inf for the student too (torch 1.13's
/// kl_div gives NaN there; pare gives the limit, 0, as if the class were absent).
template <class T, class D>
[[nodiscard]] double sum_nonzero_weights(const T* w, const D& d, std::int64_t n) {
  double acc = 0;
  for (std::int64_t j = 0; j < n; ++j)
    if (w[j] != T(0)) acc += static_cast<double>(w[j] * d[j]);
  return acc;
}

/// y_j = 0 where x_j = −inf: Eigen's packet exp leaves a tiny positive number there (see
/// detail/exp.hpp), which must not become a probability or a gradient.
template <class T>
void zero_where_minus_inf(row_out<T>& y, const row_in<T>& x) {
  for (std::int64_t j = 0; j < x.size(); ++j)
    if (x[j] == -std::numeric_limits<T>::infinity()) y[j] = T(0);
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
          zero_where_minus_inf(eq, s);
          zero_where_minus_inf(e1, s);
          zero_where_minus_inf(g, t);
          num = sum_nonzero_weights(g.data(), d, C);
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
          zero_where_minus_inf(eq, s);
          zero_where_minus_inf(e1, s);
          pb = sum_nonzero_weights(p.data(), lq, C);
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
