"""Reference values for pare::distill with -inf logits (masked classes), torch 1.13 float64.

Run with Debian's torch:  /usr/bin/python3 tests/reference/distill/minus_inf_generate.py
Writes tests/reference/distill/minus_inf.txt. Rows of 37 classes (so that a -inf falls both in
full SIMD packets and in a scalar tail for float and double) with -inf first, in the middle, as
a run across a 16-element boundary, last, and everywhere but one class.

Definitions as in generate.py: the KL is kl_div's own value, xlogy(p, p) - p * log q summed over
classes, so a class that is -inf for the student where the teacher's probability is exactly 0
(teacher -inf, a soft mask like -1e9 that underflows, or an offline soft target 0) gives
0 * -inf = NaN, and pare's value follows. torch's backward is finite there: exactly 0 at such a
class and the other classes' gradient as if the class were absent.

Cases:
  masked   student and teacher -inf at the same classes (plus classes -inf for the teacher
           only); labels on finite classes: with alpha > 0 the value is NaN (kl_div's 0 * -inf),
           the gradient finite; the cross-entropy alone (alpha = 0; the composed reference, like
           pare, skips a term whose weight is 0) is finite, except that label smoothing averages
           the -inf logits (+inf, as torch) and a weight-0 row then gives 0 * inf = NaN.
  softmask the student -inf where the teacher has -1e9 (p underflows to exactly 0): NaN too.
  teacher  the teacher -inf (and -1e9) alone, the student finite: finite value and gradient
           (also checked against finite differences in the tests).
  student  student -inf where the teacher is finite: KL = +inf, gradients finite.
  label    the label's own logit -inf: cross-entropy = +inf, gradients finite.
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


def kd_value(s, teacher, y, T, alpha, weights, offline=False):
    """pare's kd_loss in torch, as generate.py: per-row kl_div and CE, (weighted) mean."""
    p = teacher if offline else torch.softmax(teacher / T, 1)
    logq = torch.log_softmax(s / T, 1)
    wn = weights / weights.sum()
    total = 0
    if alpha > 0:
        kl = F.kl_div(logq, p, reduction="none").sum(1)
        total = total + alpha * T * T * (wn * kl).sum()
    if alpha < 1:
        total = total + (1 - alpha) * (wn * F.cross_entropy(s, y, reduction="none")).sum()
    return total


def put_kd(w, prefix, s, t, y, T, alpha, ww):
    """value and gradient of kd_loss (teacher logits) and kd_loss.offline (softmax(t/T))."""
    v, (g,) = autograd(lambda x: kd_value(x, t, y, T, alpha, ww), s)
    w.put(prefix.format("kd") + "/value", v)
    w.put(prefix.format("kd") + "/grad", g)
    p = torch.softmax(t / T, 1)
    v, (g,) = autograd(lambda x: kd_value(x, p, y, T, alpha, ww, offline=True), s)
    w.put(prefix.format("offline") + "/value", v)
    w.put(prefix.format("offline") + "/grad", g)


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
        for T in (1.0, 4.0):
            w.put(f"masked/p/T{T}", torch.softmax(t / T, 1))
            for alpha in (0.0, 0.5, 1.0):
                for weighted in (False, True):
                    ww = wts if weighted else torch.ones(B)
                    sfx = f"T{T}/a{alpha}" + ("/weighted" if weighted else "/mean")
                    put_kd(w, "masked/{}/" + sfx, s, t, y, T, alpha, ww)

        # --- a soft mask: the teacher -1e9 where the student is -inf, p = 0 exactly: NaN as well
        tm = t.clone()
        tm[torch.isinf(s)] = -1e9
        w.put("softmask/t", tm)
        for T in (1.0, 4.0):
            assert torch.all(torch.softmax(tm / T, 1)[torch.isinf(s)] == 0)
            put_kd(w, "softmask/{}/" + f"T{T}", s, tm, y, T, 0.5, torch.ones(B))

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

        # --- the teacher masked alone (-inf, and -1e9), the student finite: a finite value
        sf = randn(B, C, scale=2.0)
        tt = randn(B, C, scale=3.0)
        tt[0, 0] = -INF
        tt[1, 14:20] = -INF
        tt[2, C - 1] = -1e9
        tt[3, [0, 8, 18, 27, C - 1]] = -INF
        tt[3, 9] = -1e9
        tt[4, :] = -INF
        tt[4, 9] = 1.5
        w.put("teacher/s", sf)
        w.put("teacher/t", tt)
        for T in (1.0, 4.0):
            w.put(f"teacher/p/T{T}", torch.softmax(tt / T, 1))
            for alpha in (0.5, 1.0):
                put_kd(w, "teacher/{}/" + f"T{T}/a{alpha}", sf, tt, y, T, alpha, torch.ones(B))


if __name__ == "__main__":
    main()
