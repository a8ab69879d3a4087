"""Reference masks for pare::prune from PyTorch's torch.nn.utils.prune (Debian torch 1.13).

Run: /usr/bin/python3 tests/reference/prune/generate.py   (writes prune.txt beside this file)

Keys (mask values 1 = kept, 0 = pruned; weights flattened row-major):
  l1/<case>/w, l1/<case>/mask_<amount>         L1Unstructured on one tensor
  sens/<case>/w, g, mask_<amount>              L1Unstructured with importance_scores = |w*g|
  iter/<case>/mask_a_b                         l1_unstructured(a) then (b) of the survivors
  global/t<i>/w, global/t<i>/mask_<amount>     global_unstructured over three tensors
  ln<p>/<case>/w, ln<p>/<case>/mask_<amount>   LnStructured(n=p, dim=0)
  sched/<case>/params, steps, sparsity, should  TF-MOT PolynomialDecay / ConstantSparsity,
                                               transcribed from pruning_schedule.py (float32
                                               arithmetic as TensorFlow does it)
Amounts are written as in the key, e.g. mask_0.35. Values are distinct, so ties (whose order
torch.topk leaves unspecified) never arise.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.utils.prune as prune

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from refio import Writer  # noqa: E402

AMOUNTS = [0.0, 0.1, 0.25, 0.35, 0.5, 0.7, 0.9, 0.95, 1.0]


def distinct(shape, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(shape, generator=g, dtype=torch.float64).float()
    assert len(set(t.flatten().abs().tolist())) == t.numel()
    return t


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prune.txt")
    with Writer(out, __doc__) as w:
        # one tensor, L1 (magnitude) unstructured; sizes chosen to hit round-half-to-even
        for name, shape, seed in [("n5", (5,), 1), ("n7", (7,), 2), ("m6x5", (6, 5), 3),
                                  ("c4x3x2x2", (4, 3, 2, 2), 4), ("n1000", (1000,), 5)]:
            t = distinct(shape, seed)
            w.put(f"l1/{name}/w", t)
            for a in AMOUNTS:
                m = prune.L1Unstructured(a).compute_mask(t, torch.ones_like(t))
                w.put(f"l1/{name}/mask_{a}", m)
            # iterative: PyTorch prunes a fraction of the survivors each time
            for a, b in [(0.5, 0.5), (0.3, 0.6), (0.25, 0.25)]:
                lin = torch.nn.Module()
                lin.weight = torch.nn.Parameter(t.clone())
                prune.l1_unstructured(lin, "weight", amount=a)
                prune.l1_unstructured(lin, "weight", amount=b)
                w.put(f"iter/{name}/mask_{a}_{b}", lin.weight_mask)
        # sensitivity = L1 of importance scores |w*g|
        for name, shape, seed in [("m8x6", (8, 6), 11), ("n9", (9,), 12)]:
            t = distinct(shape, seed)
            g = distinct(shape, seed + 100)
            s = (t * g).abs()
            assert len(set(s.flatten().tolist())) == s.numel()
            w.put(f"sens/{name}/w", t)
            w.put(f"sens/{name}/g", g)
            for a in AMOUNTS:
                lin = torch.nn.Module()
                lin.weight = torch.nn.Parameter(t.clone())
                prune.l1_unstructured(lin, "weight", amount=a, importance_scores=s)
                w.put(f"sens/{name}/mask_{a}", lin.weight_mask)
        # global unstructured over three tensors of different shapes
        shapes = [(10, 8), (7,), (3, 4, 5)]
        ts = [distinct(s, 20 + i) for i, s in enumerate(shapes)]
        assert len(set(torch.cat([t.flatten() for t in ts]).abs().tolist())) == 147
        for i, t in enumerate(ts):
            w.put(f"global/t{i}/w", t)
        for a in AMOUNTS:
            mods = []
            for t in ts:
                m = torch.nn.Module()
                m.weight = torch.nn.Parameter(t.clone())
                mods.append(m)
            prune.global_unstructured([(m, "weight") for m in mods],
                                      pruning_method=prune.L1Unstructured, amount=a)
            for i, m in enumerate(mods):
                w.put(f"global/t{i}/mask_{a}", m.weight_mask)
        # Ln structured along dim 0 (rows / output channels)
        for p in (1, 2):
            for name, shape, seed in [("m10x6", (10, 6), 30), ("c6x3x2x2", (6, 3, 2, 2), 31),
                                      ("m5x7", (5, 7), 32)]:
                t = distinct(shape, seed + p)
                norms = t.flatten(1).norm(p=p, dim=1)
                assert len(set(norms.tolist())) == shape[0]
                w.put(f"ln{p}/{name}/w", t)
                for a in AMOUNTS:
                    m = prune.LnStructured(a, n=p, dim=0).compute_mask(t, torch.ones_like(t))
                    w.put(f"ln{p}/{name}/mask_{a}", m)
        schedules(w)


def should_prune_in_step(step, begin, end, frequency):
    # TF-MOT PruningSchedule._should_prune_in_step
    in_range = step >= begin and (step <= end or end < 0)
    return in_range and (step - begin) % frequency == 0


def polynomial_decay(step, initial, final, begin, end, power):
    # TF-MOT PolynomialDecay.__call__: p and the result are float32 tensors
    f32 = np.float32
    p = min(f32(1.0), max(f32(0.0), f32(f32(step - begin) / f32(end - begin))))
    return f32(f32(f32(initial - final) * f32(np.power(f32(1) - p, f32(power)))) + f32(final))


def schedules(w):
    poly = [  # initial, final, begin, end, frequency, power
        (0.0, 0.9, 0, 1000, 100, 3),
        (0.5, 0.8, 200, 1200, 50, 3),
        (0.1, 0.95, 10, 110, 7, 2),
        (0.2, 0.6, 0, 64, 1, 1),
        (0.0, 0.75, 100, 400, 25, 4.5),
    ]
    for i, (ini, fin, b, e, f, pw) in enumerate(poly):
        steps = sorted(set([0, 1, b - 1, b, b + 1, (b + e) // 2, e - 1, e, e + 1, e + 1000]
                           + list(range(b, e + 1, max(1, (e - b) // 13)))))
        steps = [t for t in steps if t >= 0]
        w.put(f"sched/poly{i}/params", [ini, fin, b, e, f, pw])
        w.put(f"sched/poly{i}/steps", steps)
        w.put(f"sched/poly{i}/sparsity", [polynomial_decay(t, ini, fin, b, e, pw) for t in steps])
        w.put(f"sched/poly{i}/should", [should_prune_in_step(t, b, e, f) for t in steps])
    const = [  # target, begin, end, frequency
        (0.5, 0, -1, 100), (0.8, 30, 300, 40), (0.25, 5, 5, 3), (0.9, 1, -1, 1)]
    for i, (tg, b, e, f) in enumerate(const):
        steps = list(range(0, 420, 1 if f < 5 else 5)) + [10**6]
        w.put(f"sched/const{i}/params", [tg, b, e, f])
        w.put(f"sched/const{i}/steps", steps)
        w.put(f"sched/const{i}/should", [should_prune_in_step(t, b, e, f) for t in steps])


if __name__ == "__main__":
    main()
