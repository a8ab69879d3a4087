"""Audit references for pare::distill: corners generate.py does not cover (torch 1.13 autograd, float64).

Run with Debian's torch:  /usr/bin/python3 tests/reference/distill/audit_generate.py
Writes tests/reference/distill/audit.txt (read by tests/distill/test_audit.cpp).

kd_loss for extreme temperatures (0.05 … 100) with alpha 0, 1 and between, sample weights that
contain zeros, offline targets at those temperatures; hint_loss through a regressor with
[batch, c, h] features flattened to [batch, c·h] (pare's documented rule). Definitions as in
generate.py (its kd_value is reused).
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from refio import Writer  # noqa: E402
from generate import autograd, kd_value  # noqa: E402

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(77)

with Writer(os.path.join(HERE, "audit.txt"), __doc__) as w:
    B, C = 6, 10
    s = torch.randn(B, C, generator=gen) * 3.0
    t = torch.randn(B, C, generator=gen) * 4.0
    s[2] = torch.linspace(-50, 50, C)
    t[2] = torch.linspace(30, -30, C)
    t[5] = -2.0                              # all-equal teacher row
    y = torch.randint(0, C, (B,), generator=gen)
    sw = torch.rand(B, generator=gen) + 0.1
    sw[1] = 0.0
    sw[4] = 0.0
    w.put("kd/shape", [B, C])
    w.put("kd/s", s)
    w.put("kd/t", t)
    w.put("kd/y", y)
    w.put("kd/w", sw)
    cases = [(0.05, 0.5), (0.1, 1.0), (0.2, 0.0), (1.0, 1.0), (1.0, 0.0), (10.0, 0.1), (50.0, 0.95),
             (100.0, 1.0), (100.0, 0.5), (3.3, 0.0)]
    w.put("kd/cases", [c for case in cases for c in case])
    for i, (T, alpha) in enumerate(cases):
        for weighted in (False, True):
            for offline in (False, True):
                teacher = torch.softmax(t / T, 1) if offline else t
                v, (g,) = autograd(lambda sv: kd_value(sv, teacher, y, T, alpha, sw if weighted else None,
                                                       offline), s)
                key = "kd/%d/%s/%s" % (i, "weighted" if weighted else "mean", "offline" if offline else "online")
                w.put(key + "/value", v)
                w.put(key + "/grad", g)

    Bh, c, h, Ft = 4, 3, 2, 5
    v = torch.randn(Bh, c, h, generator=gen)
    u = torch.randn(Bh, Ft, generator=gen)
    Wt = torch.randn(Ft, c * h, generator=gen) * 0.4
    b = torch.randn(Ft, generator=gen) * 0.2
    w.put("hint/v", v)
    w.put("hint/u", u)
    w.put("hint/W", Wt)
    w.put("hint/b", b)
    val, (gv, gW, gb) = autograd(lambda vv, Wv, bv: F.mse_loss(vv.flatten(1) @ Wv.T + bv, u), v, Wt, b)
    w.put("hint/value", val)
    w.put("hint/grad_v", gv)
    w.put("hint/grad_W", gW)
    w.put("hint/grad_b", gb)
