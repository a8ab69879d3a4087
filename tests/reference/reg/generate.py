"""Reference values for pare::reg.

Run with Debian's torch:  /usr/bin/python3 tests/reference/reg/generate.py
Writes tests/reference/reg/reg.txt:
  - penalties: value and gradient of l1*sum|w| + l2*sum w^2 from torch 1.13 autograd (float64),
    the gradient added to a non-zero starting gradient (pare's add_grad adds);
  - max_norm: Keras MaxNorm's formula w * clip(n, 0, max) / (1e-7 + n), one norm per row,
    evaluated in torch float64 and float32;
  - early_stopping: Keras 3's EarlyStopping callback (keras/src/callbacks/early_stopping.py),
    restated below (Keras is not installed here), run on scripted metric sequences inside a
    minimal fit loop: per epoch the callback's wait, best and stop flag, then the epoch whose
    weights on_train_end restores.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from refio import Writer  # noqa: E402


class KerasEarlyStopping:
    """Keras 3 EarlyStopping restated: same state, same order of operations."""

    def __init__(self, min_delta=0, patience=0, mode="min", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        self.patience = patience
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.less = mode == "min"
        if self.less:
            self.min_delta *= -1
        self.best = math.inf if self.less else -math.inf

    def op(self, a, b):
        return a < b if self.less else a > b

    def is_improvement(self, value, reference):
        return self.op(value - self.min_delta, reference)

    def on_train_begin(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        self.stop_training = False

    def on_epoch_end(self, epoch, current, weights):
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = weights
            self.best_epoch = epoch
        self.wait += 1
        if self.is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = weights
            if self.baseline is None or self.is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.stop_training = True

    def on_train_end(self):
        # the model's weights are "the epoch they were saved at"; -1: nothing restored
        if self.restore_best_weights and self.best_weights is not None:
            return self.best_weights
        return -1


NAN, INF = math.nan, math.inf

# (name, options, metric sequence)
SCENARIOS = [
    ("min_p0", dict(), [1.0, 0.9, 0.95, 0.8]),
    ("min_p2_delta", dict(patience=2, min_delta=0.01),
     [1.0, 0.995, 0.98, 0.975, 0.972, 0.96, 0.9599, 0.95, 0.951, 0.952, 0.953]),
    ("max_p1_baseline_restore", dict(mode="max", patience=1, baseline=0.8, restore_best_weights=True),
     [0.5, 0.7, 0.85, 0.84, 0.86, 0.86, 0.85, 0.9]),
    ("min_nan_restore", dict(patience=1, restore_best_weights=True),
     [2.0, 1.5, NAN, 1.4, NAN, NAN, 1.0]),
    ("start_from_epoch", dict(patience=0, start_from_epoch=3),
     [5.0, 6.0, 7.0, 3.0, 3.0, 2.0]),
    ("baseline_never_beaten", dict(patience=2, baseline=0.5),
     [1.0, 0.9, 0.8, 0.7, 0.6, 0.6, 0.55, 0.56, 0.57]),
    ("nan_first_restore", dict(patience=3, restore_best_weights=True),
     [NAN, 3.0, 2.0, 2.5, 2.5, 2.5, 2.5, 1.0]),
    ("max_inf_negative_delta", dict(mode="max", patience=1, min_delta=-0.5),
     [-INF, 1.0, 1.4, 1.6, INF, INF, 2.0]),
    ("never_stops_restore", dict(patience=10, restore_best_weights=True),
     [3.0, 2.0, 2.5, 1.0, 1.5, 1.2]),
    ("min_inf_p1", dict(patience=1), [INF, INF, INF, 1.0]),
    ("max_delta_restore_start", dict(mode="max", min_delta=0.1, patience=2, restore_best_weights=True,
                                     start_from_epoch=1),
     [9.0, 0.1, 0.15, 0.3, 0.35, 0.39, 0.41, 0.45]),
]


def early_stopping(w, scenarios=None):
    """Writes es/<i>/... for each (name, options, metric sequence); SCENARIOS by default."""
    scenarios = SCENARIOS if scenarios is None else scenarios
    w.put("es/count", len(scenarios))
    for i, (name, opts, seq) in enumerate(scenarios):
        cb = KerasEarlyStopping(**opts)
        cb.on_train_begin()
        waits, bests, stops = [], [], []
        for epoch, metric in enumerate(seq):
            cb.on_epoch_end(epoch, metric, weights=epoch)
            waits.append(cb.wait)
            bests.append(cb.best)
            stops.append(1.0 if cb.stop_training else 0.0)
            if cb.stop_training:
                break
        restored = cb.on_train_end()
        key = f"es/{i}"
        w.put(key + "/mode_max", 1.0 if opts.get("mode") == "max" else 0.0)
        w.put(key + "/min_delta", opts.get("min_delta", 0.0))
        w.put(key + "/patience", opts.get("patience", 0))
        w.put(key + "/baseline", [] if opts.get("baseline") is None else [opts["baseline"]])
        w.put(key + "/restore", 1.0 if opts.get("restore_best_weights") else 0.0)
        w.put(key + "/start_from_epoch", opts.get("start_from_epoch", 0))
        w.put(key + "/metrics", seq)
        w.put(key + "/wait", waits)
        w.put(key + "/best", bests)
        w.put(key + "/stop", stops)
        w.put(key + "/restored_epoch", restored)


def penalties(w):
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    x[0, 0] = 0.0
    x[2, 3] = 0.0
    g0 = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    w.put("pen/w", x)
    w.put("pen/g0", g0)
    cases = [(0.01, 0.0), (0.0, 0.01), (0.003, 0.02), (0.5, 0.25), (0.0, 0.0)]
    w.put("pen/cases", [c for case in cases for c in case])
    for l1, l2 in cases:
        xv = x.clone().requires_grad_(True)
        v = l1 * xv.abs().sum() + l2 * (xv * xv).sum()
        if v.requires_grad:
            v.backward()
            grad = xv.grad
        else:
            grad = torch.zeros_like(x)
        w.put(f"pen/{l1!r}_{l2!r}/value", v.item())
        w.put(f"pen/{l1!r}_{l2!r}/g", g0 + grad)


def max_norm(w):
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(5, 6, generator=gen, dtype=torch.float64)
    x[1] = 0.0                 # a zero row stays zero
    x[2] *= 1e-3               # tiny row
    x[3] *= 10.0               # large row
    w.put("maxnorm/w", x)
    for m in (2.0, 0.5, 0.0, 100.0):
        for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
            xt = x.to(dtype)
            n = torch.sqrt((xt * xt).sum(1, keepdim=True))
            out = xt * (torch.clamp(n, 0, m) / (torch.tensor(1e-7, dtype=dtype) + n))
            w.put(f"maxnorm/{m!r}/{tag}", out)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reg.txt")
    with Writer(out, __doc__) as w:
        penalties(w)
        max_norm(w)
        early_stopping(w)


if __name__ == "__main__":
    main()
