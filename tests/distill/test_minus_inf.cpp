// −inf logits (masked classes): exactly 0 probability, exactly −inf log-probability and exactly 0
// gradient on every instruction set, wherever the −inf sits in a row (first, middle, a run,
// last, all but one; in full SIMD packets and in a scalar tail), through softmax, log_softmax,
// cross_entropy and kd_loss (online and offline) — torch 1.13 values
// (tests/reference/distill/minus_inf_generate.py): a student −inf where the teacher's probability
// is exactly 0 makes the KD value NaN (kl_div's 0·(−inf)) with the gradient of the row without
// that class; central finite differences where the value is finite.
#include <pare/distill/cross_entropy.hpp>
#include <pare/distill/kd_loss.hpp>
#include <pare/distill/softmax.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "distill/helpers.hpp"
#include "support/numeric.hpp"

using namespace distill_test;
using pare::distill::kd_loss;

namespace {

// The records of tests/reference/distill/minus_inf.txt, in the scalar type under test.
template <class T>
struct inf_data {
  pare_test::reference ref{"distill/minus_inf.txt"};
  std::int64_t B = static_cast<std::int64_t>(ref["shape"].at(0)), C = static_cast<std::int64_t>(ref["shape"].at(1));
  std::vector<T> s = as<T>(ref["s"]);
  std::vector<std::int64_t> y = as_labels(ref["masked/y"]);  // labels on finite classes
};

// Positions of −inf in a row of n classes: first, middle, a run of five across a 16-element
// boundary, last, two spread, all but one.
std::vector<std::vector<std::int64_t>> masks(std::int64_t n) {
  std::vector<std::vector<std::int64_t>> m = {{0}, {n / 2}, {n - 1}, {0, n - 1}};
  if (n >= 20) m.push_back({13, 14, 15, 16, 17});
  if (n >= 4) m.push_back({1, n / 2, n - 2});
  if (n == 2) m.pop_back();  // {0, 1} would mask the whole row
  std::vector<std::int64_t> all_but_one;
  for (std::int64_t j = 0; j < n; ++j)
    if (j != n / 3) all_but_one.push_back(j);
  m.push_back(all_but_one);
  return m;
}

bool masked(const std::vector<std::int64_t>& mask, std::int64_t j) {
  for (std::int64_t k : mask)
    if (k == j) return true;
  return false;
}

// Three rows of n classes from N(0, stddev²), seeded by n.
template <class T>
std::vector<T> three_rows(std::int64_t n, std::uint64_t seed, double stddev) {
  return pare_test::random_normal<T>(static_cast<std::size_t>(3 * n), seed + static_cast<std::uint64_t>(n), 0, stddev);
}

// kd_loss (online on logits, or offline on probabilities) against the torch record
// <key>/value, <key>/grad; returns the value.
template <class T>
double require_kd_record(const pare_test::reference& ref, const std::string& key, const kd_loss& kd, bool offline,
                         std::vector<T> s, std::vector<T> teacher, const std::vector<std::int64_t>& y, std::int64_t B,
                         std::int64_t C) {
  INFO(key);
  std::vector<T> w, g(s.size());
  const double v = run_kd(kd, offline, false, s, teacher, y, w, g, B, C);
  require_match(v, ref.scalar(key + "/value"), tol<T>, key + "/value");
  require_match(g, ref[key + "/grad"], tol<T>, key + "/grad");
  return v;
}

// The row lengths: shorter than, equal to, and longer than a float/double packet of SSE,
// AVX2 and AVX-512, with and without a scalar tail.
const std::vector<std::int64_t> lengths = {2, 3, 7, 8, 9, 16, 17, 33, 37, 64, 100};

}  // namespace

TEMPLATE_TEST_CASE("softmax and log_softmax of −inf logits match torch: exactly 0 and −inf",
                   "[distill][softmax][inf]", float, double) {
  using T = TestType;
  inf_data<T> d;
  for (double temperature : {1.0, 2.5}) {
    const std::string key = "softmax/T" + py(temperature);
    INFO(key);
    std::vector<T> p(d.s.size()), logp(d.s.size()), inplace = d.s;
    pare::distill::softmax(view2<const T>(d.s, d.B, d.C), view2<T>(p, d.B, d.C), temperature);
    pare::distill::log_softmax(view2<const T>(d.s, d.B, d.C), view2<T>(logp, d.B, d.C), temperature);
    require_match(p, d.ref[key + "/p"], tol<T>, key + "/p");
    require_match(logp, d.ref[key + "/logp"], tol<T>, key + "/logp");
    pare::distill::softmax(view2<const T>(inplace, d.B, d.C), view2<T>(inplace, d.B, d.C), temperature);
    require_match(inplace, d.ref[key + "/p"], tol<T>, key + "/p in place");
  }
}

TEMPLATE_TEST_CASE("softmax gives exactly 0 for −inf at any position, row length and temperature",
                   "[distill][softmax][inf]", float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity();
  for (std::int64_t n : lengths) {
    const auto base = three_rows<T>(n, 7, 2);
    for (const auto& mask : masks(n)) {
      for (double temperature : {1.0, 0.5, 3.0}) {
        INFO("n " << n << " mask starts at " << mask.front() << " (" << mask.size() << " classes) T " << temperature);
        // the masked row is the middle one of three, so it starts unaligned for most n
        std::vector<T> x = base, p(x.size()), logp(x.size());
        for (std::int64_t j : mask) x[static_cast<std::size_t>(n + j)] = -inf;
        pare::distill::softmax(view2<const T>(x, 3, n), view2<T>(p, 3, n), temperature);
        pare::distill::log_softmax(view2<const T>(x, 3, n), view2<T>(logp, 3, n), temperature);
        for (std::int64_t r = 0; r < 3; ++r) {
          // softmax from its definition over the finite classes, in long double
          long double m = -inf, sum = 0;
          for (std::int64_t j = 0; j < n; ++j) m = std::max(m, static_cast<long double>(x[static_cast<std::size_t>(r * n + j)]));
          for (std::int64_t j = 0; j < n; ++j) sum += std::exp((x[static_cast<std::size_t>(r * n + j)] - m) / temperature);
          double total = 0;
          for (std::int64_t j = 0; j < n; ++j) {
            const auto i = static_cast<std::size_t>(r * n + j);
            if (r == 1 && masked(mask, j)) {
              REQUIRE(p[i] == T(0));
              REQUIRE(!std::signbit(p[i]));
              REQUIRE(logp[i] == -inf);
            } else {
              const long double want = std::exp((x[i] - m) / temperature) / sum;
              REQUIRE(close(static_cast<double>(p[i]), static_cast<double>(want), tol<T>));
              REQUIRE(close(static_cast<double>(logp[i]), static_cast<double>(std::log(want)), tol<T>));
            }
            total += static_cast<double>(p[i]);
          }
          CHECK(total == pare_test::Approx(1.0).epsilon(10 * std::numeric_limits<T>::epsilon()));
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("softmax gives exactly 0 where the exponential underflows (a mask of −1e9), as torch",
                   "[distill][softmax][inf]", float, double) {
  using T = TestType;
  for (std::int64_t n : lengths) {
    const auto base = three_rows<T>(n, 11, 2);
    for (const auto& mask : masks(n)) {
      for (double temperature : {1.0, 3.0}) {
        INFO("n " << n << " mask starts at " << mask.front() << " (" << mask.size() << " classes) T " << temperature);
        std::vector<T> x = base, p(x.size());
        for (std::int64_t j : mask) x[static_cast<std::size_t>(n + j)] = T(-1e9);
        pare::distill::softmax(view2<const T>(x, 3, n), view2<T>(p, 3, n), temperature);
        double kept = 0;
        for (std::int64_t j = 0; j < n; ++j) {
          const auto i = static_cast<std::size_t>(n + j);
          if (masked(mask, j))
            REQUIRE(p[i] == T(0));  // std::exp(−1e9) and torch: exactly 0, not Eigen's ≈ 5.6e-309
          else
            kept += static_cast<double>(p[i]);
        }
        CHECK(kept == pare_test::Approx(1.0).epsilon(10 * std::numeric_limits<T>::epsilon()));
      }
    }
  }
}

TEMPLATE_TEST_CASE("rows that are all −inf or hold +inf stay NaN, as torch",
                   "[distill][softmax][inf]", float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity();
  for (std::int64_t n : lengths) {
    INFO("n " << n);
    std::vector<T> x(static_cast<std::size_t>(2 * n), -inf), p(x.size()), logp(x.size());
    for (std::int64_t j = 0; j < n; ++j) x[static_cast<std::size_t>(n + j)] = static_cast<T>(j % 5);
    x[static_cast<std::size_t>(n + n / 2)] = inf;
    pare::distill::softmax(view2<const T>(x, 2, n), view2<T>(p, 2, n));
    pare::distill::log_softmax(view2<const T>(x, 2, n), view2<T>(logp, 2, n));
    for (std::size_t i = 0; i < x.size(); ++i) {
      REQUIRE(std::isnan(p[i]));
      REQUIRE(std::isnan(logp[i]));
    }
  }
}

TEMPLATE_TEST_CASE("cross_entropy and kd_loss with masked classes match torch, with exactly 0 gradients there",
                   "[distill][kd_loss][cross_entropy][inf]", float, double) {
  using T = TestType;
  inf_data<T> d;
  auto& [ref, B, C, s, y] = d;
  auto t = as<T>(ref["masked/t"]), w = as<T>(ref["masked/w"]);
  const auto sv = view2<const T>(s, B, C);
  for (double eps : {0.0, 0.1}) {
    for (bool weighted : {false, true}) {
      const std::string key = "masked/ce/eps" + py(eps) + (weighted ? "/weighted" : "/mean");
      INFO(key);
      std::vector<T> g(s.size(), T(7));
      const pare::distill::cross_entropy ce{.label_smoothing = eps};
      const double v = weighted ? ce(sv, y, w, view2<T>(g, B, C)) : ce(sv, y, view2<T>(g, B, C));
      const double want = ref.scalar(key + "/value");
      if (std::isnan(want))
        CHECK(std::isnan(v));  // a weight-0 row whose smoothed loss is +inf: 0·inf, as torch
      else
        require_match(v, want, tol<T>, key + "/value");
      require_match(g, ref[key + "/grad"], tol<T>, key + "/grad");
    }
  }
  for (double temperature : {1.0, 4.0}) {
    auto p = as<T>(ref["masked/p/T" + py(temperature)]);
    for (double alpha : {0.0, 0.5, 1.0}) {
      for (bool weighted : {false, true}) {
        for (bool offline : {false, true}) {
          const std::string key = std::string(offline ? "masked/offline/" : "masked/kd/") + "T" + py(temperature) +
                                  "/a" + py(alpha) + (weighted ? "/weighted" : "/mean");
          INFO(key);
          std::vector<T> g(s.size(), T(7));
          const kd_loss kd{.temperature = temperature, .alpha = alpha};
          const double v = run_kd(kd, offline, weighted, s, offline ? p : t, y, w, g, B, C);
          // every row but the last has a class masked in both: kl_div's 0·(−inf) = NaN whenever
          // the KL counts; the cross-entropy alone (alpha = 0, the KL not computed) is finite
          REQUIRE(std::isnan(v) == (alpha > 0));
          require_match(v, ref.scalar(key + "/value"), tol<T>, key + "/value");
          require_match(g, ref[key + "/grad"], tol<T>, key + "/grad");
          for (std::size_t i = 0; i < g.size(); ++i)
            if (std::isinf(s[i]) && std::isinf(t[i])) REQUIRE(g[i] == T(0));
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("a student −inf where the teacher's probability underflows to 0 is NaN too, as torch",
                   "[distill][kd_loss][inf]", float, double) {
  using T = TestType;
  inf_data<T> d;
  auto& [ref, B, C, s, y] = d;
  auto tm = as<T>(ref["softmask/t"]);  // −1e9 where the student is −inf: p = 0 exactly
  for (double temperature : {1.0, 4.0}) {
    std::vector<T> p(s.size());  // pare's soft targets, exactly 0 at the −1e9 as torch's
    pare::distill::softmax(view2<const T>(tm, B, C), view2<T>(p, B, C), temperature);
    for (bool offline : {false, true}) {
      const std::string key = std::string(offline ? "softmask/offline/T" : "softmask/kd/T") + py(temperature);
      const kd_loss kd{.temperature = temperature, .alpha = 0.5};
      REQUIRE(std::isnan(require_kd_record(ref, key, kd, offline, s, offline ? p : tm, y, B, C)));
    }
  }
}

TEMPLATE_TEST_CASE("a teacher −inf (or −1e9) against a finite student adds nothing to the KL: finite, as torch",
                   "[distill][kd_loss][inf]", float, double) {
  using T = TestType;
  inf_data<T> d;
  const auto& ref = d.ref;
  const auto s = as<T>(ref["teacher/s"]), t = as<T>(ref["teacher/t"]);
  for (double temperature : {1.0, 4.0}) {
    const auto p = as<T>(ref["teacher/p/T" + py(temperature)]);
    for (double alpha : {0.5, 1.0}) {
      for (bool offline : {false, true}) {
        const std::string key =
            std::string(offline ? "teacher/offline/T" : "teacher/kd/T") + py(temperature) + "/a" + py(alpha);
        const kd_loss kd{.temperature = temperature, .alpha = alpha};
        REQUIRE(std::isfinite(require_kd_record(ref, key, kd, offline, s, offline ? p : t, d.y, d.B, d.C)));
      }
    }
  }
}

TEMPLATE_TEST_CASE("a student −inf against a finite teacher, or at the label, gives +inf and torch's finite gradient",
                   "[distill][kd_loss][cross_entropy][inf]", float, double) {
  using T = TestType;
  inf_data<T> d;
  auto& [ref, B, C, s, y] = d;
  const std::vector<T> t = as<T>(ref["student/t"]);
  for (double temperature : {1.0, 4.0}) {
    const kd_loss kd{.temperature = temperature, .alpha = 0.5};
    REQUIRE(std::isinf(require_kd_record(ref, "student/kd/T" + py(temperature), kd, false, s, t, y, B, C)));
  }
  const auto yl = as_labels(ref["label/y"]);
  for (double eps : {0.0, 0.1}) {
    const std::string key = "label/ce/eps" + py(eps);
    INFO(key);
    std::vector<T> g(s.size());
    const double v = pare::distill::cross_entropy{.label_smoothing = eps}(view2<const T>(s, B, C), yl, view2<T>(g, B, C));
    require_match(v, ref.scalar(key + "/value"), tol<T>, key + "/value");
    require_match(g, ref[key + "/grad"], tol<T>, key + "/grad");
  }
}

TEMPLATE_TEST_CASE("a class masked in student and teacher makes the KD value NaN and its gradient that of the row without it",
                   "[distill][kd_loss][cross_entropy][inf]", float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity();
  // the student −inf; the teacher −inf, or a soft mask of −1e9 whose probability underflows to
  // exactly 0 (in torch, and in pare's softmax for the offline soft targets)
  for (const T teacher_mask : {-inf, T(-1e9)}) {
    for (std::int64_t n : lengths) {
      const auto s0 = three_rows<T>(n, 100, 2), t0 = three_rows<T>(n, 200, 3);
      for (const auto& mask : masks(n)) {
        // the kept classes, and the labels on kept classes
        std::vector<std::int64_t> kept;
        for (std::int64_t j = 0; j < n; ++j)
          if (!masked(mask, j)) kept.push_back(j);
        const auto k = static_cast<std::int64_t>(kept.size());
        const std::vector<std::int64_t> y = {(n - 1) / 2, kept[kept.size() / 2], n / 3};
        std::vector<std::int64_t> y_reduced = y;
        for (std::int64_t j = 0; j < k; ++j)
          if (kept[static_cast<std::size_t>(j)] == y[1]) y_reduced[1] = j;
        // full rows: row 1 masked; reduced rows: row 1 without its masked classes
        std::vector<T> s = s0, t = t0, sr, tr;
        for (std::int64_t j : mask) {
          s[static_cast<std::size_t>(n + j)] = -inf;
          t[static_cast<std::size_t>(n + j)] = teacher_mask;
        }
        std::vector<T> s_row1(kept.size()), t_row1(kept.size());
        for (std::size_t j = 0; j < kept.size(); ++j) {
          s_row1[j] = s[static_cast<std::size_t>(n + kept[j])];
          t_row1[j] = t[static_cast<std::size_t>(n + kept[j])];
        }
        for (double temperature : {1.0, 4.0}) {
          for (double alpha : {0.0, 0.5, 1.0}) {
            for (bool offline : {false, true}) {
              INFO("teacher mask " << teacher_mask << " n " << n << " mask starts at " << mask.front() << " ("
                        << mask.size() << " classes) T " << temperature << " alpha " << alpha << " offline " << offline);
              const kd_loss kd{.temperature = temperature, .alpha = alpha};
              std::vector<T> teacher = t, teacher_row1 = t_row1, w, g(s.size()), gr(kept.size());
              if (offline) {  // the teacher's soft targets, exact zeros at the masked classes
                pare::distill::softmax(view2<const T>(t, 3, n), view2<T>(teacher, 3, n), temperature);
                pare::distill::softmax(view2<const T>(t_row1, 1, k), view2<T>(teacher_row1, 1, k), temperature);
              }
              const double v = run_kd(kd, offline, false, s, teacher, y, w, g, 3, n);
              // row 1 alone, full and reduced
              std::vector<T> s1(s.begin() + n, s.begin() + 2 * n), te1(teacher.begin() + n, teacher.begin() + 2 * n), g1(s1.size());
              const std::vector<std::int64_t> y1 = {y[1]}, y1r = {y_reduced[1]};
              const double v1 = run_kd(kd, offline, false, s1, te1, y1, w, g1, 1, n);
              const double vr = run_kd(kd, offline, false, s_row1, teacher_row1, y1r, w, gr, 1, k);
              // the value: kl_div's 0·(−inf) = NaN once the KL counts; the cross-entropy alone is
              // that of the row without the masked classes
              REQUIRE(std::isfinite(vr));
              if (alpha > 0) {
                REQUIRE(std::isnan(v));
                REQUIRE(std::isnan(v1));
              } else {
                REQUIRE(std::isfinite(v));
                REQUIRE(close(v1, vr, 10 * tol<T>));
              }
              for (std::int64_t j = 0, kk = 0; j < n; ++j) {
                const auto i = static_cast<std::size_t>(j);
                if (masked(mask, j)) {
                  REQUIRE(g1[i] == T(0));
                  REQUIRE(g[static_cast<std::size_t>(n) + i] == T(0));
                } else {
                  REQUIRE(close(static_cast<double>(g1[i]), static_cast<double>(gr[static_cast<std::size_t>(kk++)]), 10 * tol<T>));
                  // in the batch, row 1 weighs 1/3 of what it weighs alone
                  REQUIRE(close(3 * static_cast<double>(g[static_cast<std::size_t>(n) + i]), static_cast<double>(g1[i]), 10 * tol<T>));
                }
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("gradients with masked classes agree with central finite differences", "[distill][kd_loss][inf]") {
  // Where the value is finite, so that its difference quotients mean something: kd_loss with
  // the teacher masked alone (−inf and −1e9; p = 0 exactly), online and offline, and the
  // cross-entropy of the masked student. (A student −inf makes the KD value NaN against p = 0
  // and +inf against p > 0; its gradient is checked against torch and the row without it above.)
  inf_data<double> d;
  const auto B = d.B, C = d.C;
  const auto st = d.ref["teacher/s"], t = d.ref["teacher/t"], p = d.ref["teacher/p/T4.0"], w = d.ref["masked/w"];
  const auto& y = d.y;
  std::vector<double> scratch(d.s.size());
  const auto vs = [&](const std::vector<double>& x) { return pare::tensor_view<const double>(x.data(), {B, C}); };
  const auto gv = [&](std::vector<double>& g) { return view2<double>(g, B, C); };
  const kd_loss kd{.temperature = 4.0, .alpha = 0.5};
  const pare::distill::cross_entropy ce{};
  for (int which = 0; which < 3; ++which) {
    INFO((which == 0 ? "kd_loss" : which == 1 ? "kd_loss.offline" : "cross_entropy"));
    auto loss = [&](const std::vector<double>& x) {
      if (which == 0) return kd(vs(x), vs(t), y, w, gv(scratch));
      if (which == 1) return kd.offline(vs(x), vs(p), y, w, gv(scratch));
      return ce(vs(x), y, w, gv(scratch));
    };
    const std::vector<double>& x = which == 2 ? d.s : st;
    const double v = loss(x);
    REQUIRE(std::isfinite(v));
    const std::vector<double> g = scratch;
    // a −inf logit stays −inf when nudged: its difference quotient is exactly 0, as the gradient
    const auto fd = pare_test::numeric_gradient(loss, x);
    require_match(g, fd, 1e-7, "grad vs finite differences");
  }
}
