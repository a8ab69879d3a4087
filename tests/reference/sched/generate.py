"""Reference learning-rate sequences for pare::sched (tests/sched/).

PyTorch cases: torch 1.13's lr_scheduler driven the usual way — build the scheduler (that is
step 0), then per step optimizer.step() followed by scheduler.step() — recording the optimizer's
lr after each. Keras cases: the formulas of keras.optimizers.schedules (Keras is not installed
here), evaluated in float64 at steps 0, 1, 2, ...

Each case writes `<schedule>/<case>/options` (the options in pare's field order, enums as
numbers) plus vector options (`milestones`, `boundaries`, `values`, `metrics`) and the sequence
`<schedule>/<case>/lr` (index = step).

Run with Debian's python (it has torch):  /usr/bin/python3 tests/reference/sched/generate.py
"""
import math
import os
import sys
import warnings

import torch
from torch.optim import lr_scheduler as L

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from refio import Writer  # noqa: E402

warnings.filterwarnings("ignore")  # torch warns about deprecated step(epoch) inside SequentialLR


def drive(make, steps, base_lr):
    """lr at construction, then after each optimizer.step(); scheduler.step()."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def plateau(metrics, base_lr, **kw):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = L.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        opt.step()
        sched.step(m)
        out.append(opt.param_groups[0]["lr"])
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with Writer(os.path.join(here, "lr.txt"), __doc__ + "\ntorch " + torch.__version__) as w:

        def case(name, options, lr, **vectors):
            w.put(name + "/options", options)
            for k, v in vectors.items():
                w.put(name + "/" + k, v)
            w.put(name + "/lr", lr)

        # step_decay: base_lr, step_size, gamma
        for n, (b, s, g, steps) in {"a": (1.0, 3, 0.5, 20), "b": (0.1, 1, 0.9, 30),
                                    "c": (0.05, 7, 0.1, 40), "d": (0.2, 100, 0.3, 250)}.items():
            case("step_decay/" + n, [b, s, g], drive(lambda o: L.StepLR(o, s, g), steps, b))

        # multistep_decay: base_lr, gamma (+ milestones)
        for n, (b, ms, g, steps) in {"a": (1.0, [2, 5, 5], 0.1, 10), "b": (0.1, [0, 3, 10], 0.5, 15),
                                     "c": (0.3, [], 0.1, 5), "d": (0.01, [4, 8], 2.0, 12),
                                     "e": (0.5, [1, 2, 3, 4, 5, 6], 0.7, 9)}.items():
            case("multistep_decay/" + n, [b, g], drive(lambda o: L.MultiStepLR(o, ms, g), steps, b),
                 milestones=ms)

        # exponential_decay (PyTorch ExponentialLR): base_lr, gamma, decay_steps=1, staircase=0
        for n, (b, g, steps) in {"torch_a": (0.1, 0.9, 60), "torch_b": (1.0, 0.999, 500),
                                 "torch_c": (0.5, 1.0, 5), "torch_d": (0.05, 0.0, 4)}.items():
            case("exponential_decay/" + n, [b, g, 1, 0], drive(lambda o: L.ExponentialLR(o, g), steps, b))
        # Keras ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase):
        #   p = step / decay_steps, floored if staircase; lr = initial * decay_rate ** p
        for n, (b, g, d, st, steps) in {"keras_a": (0.1, 0.96, 10, False, 50),
                                        "keras_b": (0.1, 0.96, 10, True, 50),
                                        "keras_c": (1.0, 0.5, 3, True, 20),
                                        "keras_d": (0.01, 0.3, 7, False, 30)}.items():
            lr = [b * g ** (math.floor(t / d) if st else t / d) for t in range(steps + 1)]
            case("exponential_decay/" + n, [b, g, d, int(st)], lr)

        # piecewise_constant (Keras PiecewiseConstantDecay): values[0] while step <= boundaries[0],
        # values[i] for boundaries[i-1] < step <= boundaries[i], values[-1] after the last.
        def keras_piecewise(bs, vs, t):
            if t <= bs[0]:
                return vs[0]
            for i in range(1, len(bs)):
                if bs[i - 1] < t <= bs[i]:
                    return vs[i]
            return vs[-1]
        for n, (bs, vs, steps) in {"a": ([3, 7], [1.0, 0.5, 0.1], 12),
                                   "b": ([0, 5, 5, 9], [0.3, 0.2, 0.15, 0.1, 0.05], 12),
                                   "c": ([100], [0.01, 0.001], 150)}.items():
            case("piecewise_constant/" + n, [], [keras_piecewise(bs, vs, t) for t in range(steps + 1)],
                 boundaries=bs, values=vs)

        # cosine_annealing: base_lr, t_max, eta_min — run past t_max (PyTorch keeps oscillating)
        for n, (b, T, e, steps) in {"a": (1.0, 4, 0.1, 20), "b": (0.1, 10, 0.0, 45),
                                    "c": (0.05, 50, 1e-3, 175), "d": (0.2, 1, 0.0, 6),
                                    "e": (0.1, 100, 0.0, 400), "f": (0.8, 460, 0.0, 1382),
                                    "g": (0.07, 331, 0.06, 1000)}.items():
            case("cosine_annealing/" + n, [b, T, e], drive(lambda o: L.CosineAnnealingLR(o, T, e), steps, b))

        # cosine_warm_restarts: base_lr, t_0, t_mult, eta_min
        for n, (b, t0, tm, e, steps) in {"a": (1.0, 3, 1, 0.0, 20), "b": (1.0, 3, 2, 0.0, 50),
                                         "c": (0.1, 5, 3, 0.01, 90), "d": (0.5, 1, 2, 0.0, 40),
                                         "e": (0.05, 1, 1, 0.0, 5)}.items():
            case("cosine_warm_restarts/" + n, [b, t0, tm, e],
                 drive(lambda o: L.CosineAnnealingWarmRestarts(o, t0, tm, e), steps, b))

        # linear: base_lr, start_factor, end_factor, total_iters
        for n, (b, s, e, T, steps) in {"a": (1.0, 0.25, 1.0, 4, 8), "b": (0.1, 1.0, 0.1, 10, 15),
                                       "c": (0.3, 0.5, 0.0, 7, 10), "d": (0.01, 1 / 3, 1.0, 5, 8),
                                       "e": (0.2, 0.1, 1.0, 100, 110), "f": (1.0, 0.7, 0.7, 3, 5)}.items():
            case("linear/" + n, [b, s, e, T], drive(lambda o: L.LinearLR(o, s, e, T), steps, b))

        # polynomial_decay (PyTorch PolynomialLR, end_lr = 0): base_lr, total_iters, power, end_lr
        for n, (b, T, pw, steps) in {"torch_a": (1.0, 4, 2.0, 8), "torch_b": (0.1, 7, 1.0, 10),
                                     "torch_c": (0.3, 10, 0.5, 14), "torch_d": (0.05, 6, 3.0, 9),
                                     "torch_e": (0.2, 100, 1.5, 105)}.items():
            case("polynomial_decay/" + n, [b, T, pw, 0.0], drive(lambda o: L.PolynomialLR(o, T, pw), steps, b))
        # Keras PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate, power,
        # cycle=False): step = min(step, decay_steps); (initial - end) * (1 - step/decay_steps)**power + end
        for n, (b, D, e, pw, steps) in {"keras_a": (0.1, 10, 1e-4, 1.0, 15),
                                        "keras_b": (1.0, 8, 0.2, 2.0, 12),
                                        "keras_c": (0.01, 5, 0.05, 0.5, 8),
                                        "keras_d": (0.3, 20, 0.003, 3.0, 25)}.items():
            lr = [(b - e) * (1 - min(t, D) / D) ** pw + e for t in range(steps + 1)]
            case("polynomial_decay/" + n, [b, D, pw, e], lr)

        # one_cycle: max_lr, total_steps, pct_start, anneal (0 cos, 1 linear), div_factor,
        # final_div_factor, three_phase — every step 0 ... total_steps (the last one PyTorch allows)
        for n, (m, T, pct, an, div, fdiv, three) in {
                "a": (1.0, 10, 0.3, "cos", 25.0, 1e4, False),
                "b": (0.1, 100, 0.25, "linear", 25.0, 1e4, False),
                "c": (0.5, 50, 0.3, "cos", 25.0, 1e4, True),
                "d": (0.2, 30, 0.4, "linear", 10.0, 100.0, True),
                "e": (1.0, 20, 0.0, "cos", 25.0, 1e4, False),
                "f": (1.0, 1, 0.3, "cos", 25.0, 1e4, False),
                "g": (0.3, 7, 0.5, "cos", 5.0, 10.0, False),
                "h": (0.1, 12, 0.05, "linear", 25.0, 1e4, True),
                "i": (0.8, 10, 1.0, "cos", 25.0, 1e4, False)}.items():
            steps = T - 1 if pct == 1.0 else T  # with pct_start = 1 PyTorch divides by zero at step T
            lr = drive(lambda o: L.OneCycleLR(o, max_lr=m, total_steps=T, pct_start=pct,
                                              anneal_strategy=an, div_factor=div,
                                              final_div_factor=fdiv, three_phase=three,
                                              cycle_momentum=False), steps, m)
            case("one_cycle/" + n, [m, T, pct, 0 if an == "cos" else 1, div, fdiv, int(three)], lr)

        # warmup(s, {steps W, start_factor f}) == SequentialLR([LinearLR(f, 1, W), s], [W])
        case("warmup/cosine", [5, 0.1, 0.1, 20],   # steps, start_factor; cosine base_lr, t_max
             drive(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 5), L.CosineAnnealingLR(o, 20)],
                                            [5]), 40, 0.1))
        case("warmup/step", [3, 0.5, 1.0, 4, 0.5],  # steps, start_factor; step_decay base, size, gamma
             drive(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.5, 1.0, 3), L.StepLR(o, 4, 0.5)], [3]),
                   20, 1.0))

        # sequence: SequentialLR
        case("sequence/linear_exp_step", [],  # linear(1, .1, 1, 3), exponential(1, .5), step(1, 2, .1)
             drive(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 3), L.ExponentialLR(o, 0.5),
                                                L.StepLR(o, 2, 0.1)], [3, 6]), 12, 1.0),
             milestones=[3, 6])
        case("sequence/repeated_milestone", [],  # the same three schedules, milestones 3, 3
             drive(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 3), L.ExponentialLR(o, 0.5),
                                                L.StepLR(o, 2, 0.1)], [3, 3]), 10, 1.0),
             milestones=[3, 3])
        case("sequence/constant_exp", [],  # ConstantLR(.1, 2) = constant(.1) for 2 steps, then exponential(1, .9)
             drive(lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.1, 2), L.ExponentialLR(o, 0.9)], [2]),
                   10, 1.0),
             milestones=[2])
        case("sequence/cos_restarts", [],  # cosine(0.1, 6) until 6, then warm restarts(0.1, 2, 2, 0.001)
             drive(lambda o: L.SequentialLR(o, [L.CosineAnnealingLR(o, 6),
                                                L.CosineAnnealingWarmRestarts(o, 2, 2, 0.001)], [6]),
                   25, 0.1),
             milestones=[6])

        # reduce_on_plateau: options base_lr, mode (0 min, 1 max), factor, patience, threshold,
        # threshold_mode (0 rel, 1 abs), cooldown, min_lr, eps; `metrics` fed one per epoch and
        # `lr` the rate after each.
        def plateau_case(name, metrics, base_lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                         threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
            lr = plateau(metrics, base_lr, mode=mode, factor=factor, patience=patience,
                         threshold=threshold, threshold_mode=threshold_mode, cooldown=cooldown,
                         min_lr=min_lr, eps=eps)
            case("reduce_on_plateau/" + name,
                 [base_lr, 0 if mode == "min" else 1, factor, patience, threshold,
                  0 if threshold_mode == "rel" else 1, cooldown, min_lr, eps], lr, metrics=metrics)

        flat = [1.0] + [0.9] * 14
        plateau_case("patience2", flat, 1.0, factor=0.5, patience=2)
        plateau_case("cooldown1", flat, 1.0, factor=0.5, patience=2, cooldown=1)
        plateau_case("cooldown3_patience0", flat, 1.0, factor=0.5, patience=0, cooldown=3)
        g = torch.Generator().manual_seed(4)
        noisy = (1.0 / torch.arange(1, 61, dtype=torch.float64) + 0.05 * torch.rand(60, generator=g,
                 dtype=torch.float64)).tolist()
        plateau_case("noisy_default", noisy, 0.1)
        plateau_case("noisy_rel_threshold", noisy, 0.1, patience=3, threshold=0.1)
        plateau_case("noisy_abs", noisy, 0.1, patience=2, threshold=0.01, threshold_mode="abs")
        acc = [0.5, 0.6, 0.65, 0.66, 0.661, 0.662, 0.65, 0.67, 0.668, 0.671, 0.6705, 0.669, 0.672,
               0.66, 0.673, 0.65, 0.64, 0.674, 0.6741, 0.6742]
        plateau_case("max_rel", acc, 0.05, mode="max", patience=1, threshold=0.01)
        plateau_case("max_abs", acc, 0.05, mode="max", patience=1, threshold=0.005,
                     threshold_mode="abs", cooldown=2)
        plateau_case("min_lr", flat + [0.9] * 10, 1.0, factor=0.5, patience=1, min_lr=0.2)
        plateau_case("eps_blocks", flat + [0.9] * 10, 1e-6, factor=0.5, patience=1, eps=3e-7)
        plateau_case("factor0", flat, 0.3, factor=0.0, patience=3, min_lr=0.01)
        plateau_case("negative_rel", [-1.0, -1.05, -1.1, -1.1001, -0.9, -1.2, -1.2, -1.2, -1.3], 1.0,
                     factor=0.5, patience=1)
        plateau_case("nonfinite", [1.0, float("nan"), 0.5, float("inf"), float("nan"), 0.49, 0.4,
                                   float("-inf"), 0.3, 0.2], 1.0, factor=0.5, patience=1)


if __name__ == "__main__":
    main()
