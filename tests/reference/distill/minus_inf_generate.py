"""Reference values for pare::distill with -inf logits (masked classes), torch 1.13 float64.

Run with Debian's torch:  /usr/bin/python3 tests/reference/distill/minus_inf_generate.py
Writes tests/reference/distill/minus_inf.txt. Rows of 37 classes (so that a -inf falls both in
full SIMD packets and in a scalar tail for float and double) with -inf first, in the middle, as
a run across a 16-element boundary, last, and everywhere but one class.

Definitions as in generate.py, with one difference: KL(p || q) takes 0 * log(0 / q) = 0 for
every q, also q = 0. torch's kl_div computes xlogy(p, p) - p * log q, which is NaN for a class
that is -inf for both teacher and student (0 * -inf); pare gives the limit, 0, as if the class
were absent. So the KL below is sum(where(p > 0, p * (log p - log q), 0)) — identical to
kl_div wherever kl_div is not NaN (checked below), including +inf where p > 0 and q = 0.

Cases:
  masked  student and teacher -inf at the same classes (plus classes -inf for the teacher
          only); labels on finite classes: every value finite, except that label smoothing
          averages the -inf logits (+inf, as torch) and a weight-0 row then gives 0 * inf = NaN.
  student student -inf where the teacher is finite: KL = +inf, gradients finite.
  label   the label's own logit -inf: cross-entropy = +inf, gradients finite.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from refio import Writer  # noqa: E402

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20261129)
INF = float("inf")
B, C = 6, 37


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=gen) * scale


def autograd(fn, *inputs):
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    v = fn(*leaves)
    v.backward()
    return v.item(), [x.grad for x in leaves]


def kl_rows(logq, p):
    """sum_j p_j (log p_j - log q_j) per row, with 0 * log(0 / q) = 0 for every q."""
    terms = torch.where(p > 0, p * (torch.log(p) - logq), torch.zeros(()))
    return terms.sum(1)


def kd_value(s, teacher, y, T, alpha, weights, offline=False):
    p = teacher if offline else torch.softmax(teacher / T, 1)
    logq = torch.log_softmax(s / T, 1)
    wn = weights / weights.sum()
    total = 0
    if alpha > 0:
        kl = kl_rows(logq, p)
        # pare's KL is kl_div's wherever kl_div is not NaN
        torch_kl = F.kl_div(logq.detach(), p, reduction="none").sum(1)
        ok = ~torch.isnan(torch_kl)
        assert torch.allclose(kl.detach()[ok], torch_kl[ok], rtol=1e-12, atol=0)
        total = total + alpha * T * T * (wn * kl).sum()
    if alpha < 1:
        total = total + (1 - alpha) * (wn * F.cross_entropy(s, y, reduction="none")).sum()
    return total


def student_logits():
    s = randn(B, C, scale=2.0)
    s[0, 0] = -INF                      # first
    s[1, 14:20] = -INF                  # a run across the 16-element boundary
    s[2, C - 1] = -INF                  # last
    s[3, [0, 8, 18, 27, C - 1]] = -INF  # several, spread
    s[4, :] = -INF                      # all but one class
    s[4, 9] = 1.5
    return s                            # row 5: no -inf


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "minus_inf.txt")
    with Writer(out, __doc__) as w:
        w.put("shape", [B, C])
        s = student_logits()
        w.put("s", s)
        # --- softmax / log_softmax
        for T in (1.0, 2.5):
            w.put(f"softmax/T{T}/p", torch.softmax(s / T, 1))
            w.put(f"softmax/T{T}/logp", torch.log_softmax(s / T, 1))

        # --- masked: the teacher is -inf wherever the student is, and at a few more classes
        t = randn(B, C, scale=3.0)
        t[torch.isinf(s)] = -INF
        t[0, [5, 6]] = -INF
        t[2, 20] = -INF
        t[5, [3, C - 1]] = -INF
        y = torch.tensor([1, 3, 0, 2, 9, 4])
        wts = torch.tensor([0.5, 2.0, 1.0, 0.0, 1.25, 3.0])
        w.put("masked/t", t)
        w.put("masked/y", y)
        w.put("masked/w", wts)
        for eps in (0.0, 0.1):
            for weighted in (False, True):
                key = f"masked/ce/eps{eps}" + ("/weighted" if weighted else "/mean")
                ww = wts if weighted else torch.ones(B)

                def ce(x, eps=eps, ww=ww):
                    rows = F.cross_entropy(x, y, reduction="none", label_smoothing=eps)
                    return (ww / ww.sum() * rows).sum()

                v, (g,) = autograd(ce, s)
                w.put(key + "/value", v)
                w.put(key + "/grad", g)
        p_t = {T: torch.softmax(t / T, 1) for T in (1.0, 4.0)}
        for T in (1.0, 4.0):
            w.put(f"masked/p/T{T}", p_t[T])
            for alpha in (0.0, 0.5, 1.0):
                for weighted in (False, True):
                    ww = wts if weighted else torch.ones(B)
                    sfx = f"T{T}/a{alpha}" + ("/weighted" if weighted else "/mean")
                    v, (g,) = autograd(lambda x: kd_value(x, t, y, T, alpha, ww), s)
                    w.put("masked/kd/" + sfx + "/value", v)
                    w.put("masked/kd/" + sfx + "/grad", g)
                    v, (g,) = autograd(lambda x: kd_value(x, p_t[T], y, T, alpha, ww, offline=True), s)
                    w.put("masked/offline/" + sfx + "/value", v)
                    w.put("masked/offline/" + sfx + "/grad", g)

        # --- student -inf where the teacher is finite: KL = +inf, the gradient finite
        t2 = randn(B, C, scale=3.0)
        w.put("student/t", t2)
        for T in (1.0, 4.0):
            v, (g,) = autograd(lambda x: kd_value(x, t2, y, T, 0.5, torch.ones(B)), s)
            w.put(f"student/kd/T{T}/value", v)
            w.put(f"student/kd/T{T}/grad", g)

        # --- the label's own logit is -inf: cross-entropy = +inf, the gradient finite
        yl = torch.tensor([0, 15, C - 1, 18, 0, 4])
        w.put("label/y", yl)
        for eps in (0.0, 0.1):
            v, (g,) = autograd(lambda x: F.cross_entropy(x, yl, label_smoothing=eps), s)
            w.put(f"label/ce/eps{eps}/value", v)
            w.put(f"label/ce/eps{eps}/grad", g)


if __name__ == "__main__":
    main()
