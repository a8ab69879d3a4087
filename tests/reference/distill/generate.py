"""Reference values for pare::distill, from torch 1.13 autograd in float64.

Run with Debian's torch:  /usr/bin/python3 tests/reference/distill/generate.py
Writes tests/reference/distill/losses.txt. Every case stores its inputs (so the C++ test needs no
RNG of its own), the loss value and the gradients autograd computes.

Definitions (pare's, restated in torch):
  softmax / log_softmax:  torch.softmax(x / T, 1), torch.log_softmax(x / T, 1)
  cross_entropy:          F.cross_entropy(s, y, label_smoothing=eps)           (mean over rows)
  kd_loss:                alpha * T^2 * F.kl_div(F.log_softmax(s/T, 1), p, reduction='batchmean')
                          + (1 - alpha) * F.cross_entropy(s, y),  p = softmax(t/T)  (online)
                          or p given (offline)
  sample weights:         per-row losses combined as sum(w * loss_b) / sum(w), for both terms
  logit_mse:              F.mse_loss(s, t)                                    (mean over elements)
  hint_loss:              F.mse_loss(v @ W.T + b, u)  (or F.mse_loss(v, u) without regressor)
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from refio import Writer  # noqa: E402

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20261128)


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=gen) * scale


def labels(batch, classes):
    return torch.randint(0, classes, (batch,), generator=gen)


def autograd(fn, *inputs):
    """fn(*inputs) and its gradient with respect to each input, from torch autograd."""
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    v = fn(*leaves)
    v.backward()
    return v.item(), [x.grad for x in leaves]


def kd_value(s, teacher, y, T, alpha, weights=None, offline=False):
    """pare's kd_loss in torch: per-row KL and CE, combined by the (weighted) mean."""
    p = teacher if offline else torch.softmax(teacher / T, 1)
    logq = torch.log_softmax(s / T, 1)
    kl_rows = F.kl_div(logq, p, reduction="none").sum(1)
    total = 0
    if weights is None:
        weights = torch.ones(s.shape[0])
    wn = weights / weights.sum()
    if alpha > 0:
        total = total + alpha * T * T * (wn * kl_rows).sum()
    if alpha < 1:
        ce_rows = F.cross_entropy(s, y, reduction="none")
        total = total + (1 - alpha) * (wn * ce_rows).sum()
    return total


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses.txt")
    with Writer(out, __doc__) as w:
        # --- softmax / log_softmax, including rows of +-1e4 and all-equal logits
        x = randn(5, 7, scale=3.0)
        x[3] = torch.tensor([1e4, -1e4, 0.0, 1e4 - 1, -5e3, 1e4, 2.0])
        x[4] = 0.25
        w.put("softmax/shape", [5, 7])
        w.put("softmax/x", x)
        for T in (1.0, 0.5, 3.0, 20.0):
            w.put(f"softmax/T{T}/p", torch.softmax(x / T, 1))
            w.put(f"softmax/T{T}/logp", torch.log_softmax(x / T, 1))

        # --- cross-entropy, plain, label smoothing, sample weights
        B, C = 6, 9
        s = randn(B, C, scale=2.0)
        s[5] = torch.linspace(-1e4, 1e4, C)
        y = labels(B, C)
        sw = torch.rand(B, generator=gen) + 0.1
        w.put("ce/shape", [B, C])
        w.put("ce/s", s)
        w.put("ce/y", y)
        w.put("ce/w", sw)
        for eps in (0.0, 0.1, 1.0):
            for weighted in (False, True):
                def ce(sv):
                    rows = F.cross_entropy(sv, y, reduction="none", label_smoothing=eps)
                    return (sw * rows).sum() / sw.sum() if weighted else rows.mean()
                v, (g,) = autograd(ce, s)
                key = f"ce/eps{eps}/{'weighted' if weighted else 'mean'}"
                w.put(key + "/value", v)
                w.put(key + "/grad", g)

        # --- kd_loss: several (T, alpha), weighted, offline
        B, C = 5, 8
        s = randn(B, C, scale=2.0)
        t = randn(B, C, scale=3.0)
        s[3] = torch.linspace(-1e4, 1e4, C)      # huge student logits
        t[3] = torch.linspace(1e4, -1e4, C)      # huge teacher logits, reversed
        s[4] = 1.5                               # all-equal student row
        y = labels(B, C)
        sw = torch.rand(B, generator=gen) + 0.1
        w.put("kd/shape", [B, C])
        w.put("kd/s", s)
        w.put("kd/t", t)
        w.put("kd/y", y)
        w.put("kd/w", sw)
        cases = [(1.0, 0.5), (2.0, 0.9), (4.0, 0.7), (0.5, 0.3), (20.0, 1.0), (3.0, 0.0),
                 (7.5, 0.25)]
        w.put("kd/cases", [c for case in cases for c in case])
        for T, alpha in cases:
            for weighted in (False, True):
                for offline in (False, True):
                    teacher = torch.softmax(t / T, 1) if offline else t
                    v, (g,) = autograd(lambda sv: kd_value(sv, teacher, y, T, alpha,
                                                           sw if weighted else None, offline), s)
                    key = (f"kd/T{T}_a{alpha}/{'weighted' if weighted else 'mean'}/"
                           f"{'offline' if offline else 'online'}")
                    w.put(key + "/value", v)
                    w.put(key + "/grad", g)
        # offline with targets that are not normalized and contain exact zeros
        p = torch.rand(B, C, generator=gen)
        p[p < 0.3] = 0.0
        p[0] = p[0] / p[0].sum()
        w.put("kd/raw_p", p)
        for T, alpha in ((2.0, 0.6), (1.0, 1.0)):
            v, (g,) = autograd(lambda sv: kd_value(sv, p, y, T, alpha, None, True), s)
            w.put(f"kd/raw_p/T{T}_a{alpha}/value", v)
            w.put(f"kd/raw_p/T{T}_a{alpha}/grad", g)

        # --- logit_mse
        s = randn(4, 6)
        t = randn(4, 6)
        w.put("mse/shape", [4, 6])
        w.put("mse/s", s)
        w.put("mse/t", t)
        v, (g,) = autograd(lambda sv: F.mse_loss(sv, t), s)
        w.put("mse/value", v)
        w.put("mse/grad", g)

        # --- hint_loss: without regressor (features [3, 2, 4]) and with a linear regressor
        v0 = randn(3, 2, 4)
        u0 = randn(3, 2, 4)
        w.put("hint_plain/shape", [3, 2, 4])
        w.put("hint_plain/v", v0)
        w.put("hint_plain/u", u0)
        val, (g,) = autograd(lambda vv: F.mse_loss(vv, u0), v0)
        w.put("hint_plain/value", val)
        w.put("hint_plain/grad", g)

        B, Fs, Ft = 6, 5, 7
        v = randn(B, Fs)
        u = randn(B, Ft)
        Wt = randn(Ft, Fs, scale=0.5)
        b = randn(Ft, scale=0.1)
        w.put("hint/shape", [B, Fs, Ft])
        w.put("hint/v", v)
        w.put("hint/u", u)
        w.put("hint/W", Wt)
        w.put("hint/b", b)
        for with_bias in (True, False):
            val, (gv, gW, gb) = autograd(
                lambda vv, Wv, bv: F.mse_loss(vv @ Wv.T + (bv if with_bias else 0), u), v, Wt, b)
            key = "hint/bias" if with_bias else "hint/nobias"
            w.put(key + "/value", val)
            w.put(key + "/grad_v", gv)
            w.put(key + "/grad_W", gW)
            if with_bias:
                w.put(key + "/grad_b", gb)

if __name__ == "__main__":
    main()
