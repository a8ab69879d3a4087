"""Audit references for pare::sched: option values and corners generate.py does not cover.

Run with Debian's python (it has torch):  /usr/bin/python3 tests/reference/sched/audit_generate.py
Writes tests/reference/sched/audit_lr.txt (read by tests/sched/test_audit.cpp).

Same conventions as generate.py (torch 1.13's lr_scheduler driven the usual way: lr at
construction, then after each optimizer.step(); scheduler.step()), with long runs far past the
end of every schedule, step_size 1, gamma 1 and 0, duplicate milestones (at 0 too), eta_min above
base_lr, T_mult 1 and > 1, power < 1 and 0, one_cycle boundaries that are not integers, three
phases with pct_start 0.5, warmup and sequence combinations, and ReduceLROnPlateau in every mode,
threshold mode, cooldown, min_lr and eps combination on noisy metrics.

Keys: `<schedule>/<case>/options` (pare's field order, enums as numbers), vector options
(`milestones`, `metrics`), `<schedule>/<case>/lr` (index = step).
"""
import os
import sys
import warnings

import torch
from torch.optim import lr_scheduler as L

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from refio import Writer  # noqa: E402

sys.path.insert(0, HERE)
from generate import drive, plateau  # noqa: E402

warnings.filterwarnings("ignore")


with Writer(os.path.join(HERE, "audit_lr.txt"), __doc__ + "\ntorch " + torch.__version__) as w:

    def case(name, options, lr, **vectors):
        w.put(name + "/options", options)
        for k, v in vectors.items():
            w.put(name + "/" + k, v)
        w.put(name + "/lr", lr)

    for n, (b, s, g, steps) in {"size1": (0.1, 1, 0.5, 300), "gamma1": (0.3, 2, 1.0, 50),
                                "gamma0": (0.3, 3, 0.0, 20), "size1_gamma09": (1.0, 1, 0.9, 1000),
                                "far": (0.07, 13, 0.7, 600), "gamma_up": (0.01, 5, 1.5, 60)}.items():
        case("step_decay/" + n, [b, s, g], drive(lambda o: L.StepLR(o, s, g), steps, b))

    for n, (b, ms, g, steps) in {"dup3": (1.0, [3, 3, 3], 0.5, 10), "dup0": (1.0, [0, 0, 4], 0.5, 8),
                                 "gamma1": (0.2, [1, 2], 1.0, 5), "gamma_up": (0.01, [2, 4, 4], 3.0, 10),
                                 "many": (0.9, list(range(0, 200, 3)), 0.97, 250),
                                 "late": (0.1, [500], 0.1, 600)}.items():
        case("multistep_decay/" + n, [b, g], drive(lambda o: L.MultiStepLR(o, ms, g), steps, b), milestones=ms)

    for n, (b, g, steps) in {"long": (0.1, 0.99, 1500), "up": (0.001, 1.01, 300),
                             "tiny": (1.0, 0.5, 1100)}.items():
        case("exponential_decay/" + n, [b, g, 1, 0], drive(lambda o: L.ExponentialLR(o, g), steps, b))

    for n, (b, T, e, steps) in {"t1_far": (0.5, 1, 0.0, 101), "eta_above": (0.1, 6, 0.5, 40),
                                "t3_far": (0.2, 3, 0.01, 300), "t1000": (0.1, 1000, 1e-4, 3100),
                                "t7": (1.0, 7, 0.3, 100)}.items():
        case("cosine_annealing/" + n, [b, T, e], drive(lambda o: L.CosineAnnealingLR(o, T, e), steps, b))

    for n, (b, t0, tm, e, steps) in {"mult1": (0.1, 7, 1, 0.001, 100), "mult3": (0.2, 2, 3, 0.0, 300),
                                     "mult2_eta": (1.0, 4, 2, 0.25, 200), "t0_1_mult1": (0.3, 1, 1, 0.1, 10),
                                     "mult5": (0.05, 3, 5, 0.0, 500)}.items():
        case("cosine_warm_restarts/" + n, [b, t0, tm, e],
             drive(lambda o: L.CosineAnnealingWarmRestarts(o, t0, tm, e), steps, b))

    for n, (b, s, e, T, steps) in {"total1": (0.1, 1.0, 0.0, 1, 5), "up_far": (0.5, 0.01, 0.5, 50, 200),
                                   "down_partial": (0.2, 0.9, 0.3, 13, 40), "flat": (0.4, 1.0, 1.0, 4, 8),
                                   "total1_up": (0.3, 0.2, 1.0, 1, 4)}.items():
        case("linear/" + n, [b, s, e, T], drive(lambda o: L.LinearLR(o, s, e, T), steps, b))

    for n, (b, T, pw, steps) in {"sqrt": (0.1, 20, 0.5, 40), "p03": (1.0, 9, 0.3, 15),
                                 "p0": (0.2, 5, 0.0, 8), "total1": (0.3, 1, 2.0, 4),
                                 "long": (0.05, 300, 1.7, 400)}.items():
        case("polynomial_decay/" + n, [b, T, pw, 0.0], drive(lambda o: L.PolynomialLR(o, T, pw), steps, b))

    for n, (m, T, pct, an, div, fdiv, three) in {
            "three_linear": (0.4, 40, 0.3, "linear", 25.0, 1e4, True),
            "three_half": (1.0, 20, 0.5, "cos", 25.0, 1e4, True),
            "frac_bounds": (0.3, 33, 0.3, "cos", 25.0, 1e4, False),
            "frac_three": (0.3, 33, 0.27, "linear", 8.0, 3.0, True),
            "div1": (0.2, 15, 0.2, "cos", 1.0, 1.0, False),
            "long": (0.01, 1000, 0.1, "cos", 25.0, 1e4, False),
            "pct_small": (0.5, 50, 0.01, "linear", 25.0, 1e4, False)}.items():
        lr = drive(lambda o: L.OneCycleLR(o, max_lr=m, total_steps=T, pct_start=pct, anneal_strategy=an,
                                          div_factor=div, final_div_factor=fdiv, three_phase=three,
                                          cycle_momentum=False), T, m)
        case("one_cycle/" + n, [m, T, pct, 0 if an == "cos" else 1, div, fdiv, int(three)], lr)

    # Compositions (built by hand in tests/sched/test_audit.cpp; options listed there).
    case("composed/warmup_multistep", [],  # warmup(multistep(1, [2, 2, 5], .5), {4, .25})
         drive(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.25, 1.0, 4), L.MultiStepLR(o, [2, 2, 5], 0.5)], [4]),
               20, 1.0))
    case("composed/warmup1_exp", [],  # warmup(exponential(.1, .9), {1, .5})
         drive(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.5, 1.0, 1), L.ExponentialLR(o, 0.9)], [1]), 15, 0.1))
    case("composed/warmup_restarts", [],  # warmup(cosine_warm_restarts(.2, 3, 2, .01), {6, .1})
         drive(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 6),
                                            L.CosineAnnealingWarmRestarts(o, 3, 2, 0.01)], [6]), 40, 0.2))
    case("composed/warmup_poly", [],  # warmup(polynomial(.3, 10, .5), {3, .2})
         drive(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.2, 1.0, 3), L.PolynomialLR(o, 10, 0.5)], [3]), 20, 0.3))
    case("composed/seq_four", [],  # step(1, 1, .5) | linear(1, .5, 1, 4) | cosine(1, 5, .1) | exponential(1, .8); milestones 2, 8, 20
         drive(lambda o: L.SequentialLR(o, [L.StepLR(o, 1, 0.5), L.LinearLR(o, 0.5, 1.0, 4),
                                            L.CosineAnnealingLR(o, 5, 0.1), L.ExponentialLR(o, 0.8)],
                                        [2, 8, 20]), 30, 1.0),
         milestones=[2, 8, 20])
    case("composed/seq_milestone1", [],  # multistep(.5, [0, 1], .1) | step(.5, 2, .5); milestone 1
         drive(lambda o: L.SequentialLR(o, [L.MultiStepLR(o, [0, 1], 0.1), L.StepLR(o, 2, 0.5)], [1]), 10, 0.5),
         milestones=[1])

    def plateau_case(name, metrics, base_lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                     threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        lr = plateau(metrics, base_lr, mode=mode, factor=factor, patience=patience, threshold=threshold,
                     threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr, eps=eps)
        case("reduce_on_plateau/" + name,
             [base_lr, 0 if mode == "min" else 1, factor, patience, threshold,
              0 if threshold_mode == "rel" else 1, cooldown, min_lr, eps], lr, metrics=metrics)

    g = torch.Generator().manual_seed(11)
    down = (1.0 / torch.arange(1, 121, dtype=torch.float64) + 0.03 * torch.rand(120, generator=g,
            dtype=torch.float64)).tolist()
    up = [1.0 - x for x in down]
    neg = [-x for x in up]
    k = 0
    for mname, mode, metrics in (("down", "min", down), ("up", "max", up), ("neg_max", "max", neg),
                                 ("neg_min", "min", [-x for x in down])):
        for tmode in ("rel", "abs"):
            for thr in (0.0, 0.01, 0.05):
                for patience, cooldown in ((0, 0), (0, 2), (3, 1), (5, 0)):
                    for factor, min_lr, eps in ((0.5, 0.0, 1e-8), (0.3, 0.01, 1e-8), (0.7, 0.0, 0.02)):
                        k += 1
                        if k % 3 != 0:  # a third of the grid keeps the file small and still covers every value
                            continue
                        plateau_case("%s_%s_thr%g_p%d_c%d_f%g_m%g_e%g" % (mname, tmode, thr, patience, cooldown,
                                                                          factor, min_lr, eps),
                                     metrics, 0.1, mode=mode, factor=factor, patience=patience, threshold=thr,
                                     threshold_mode=tmode, cooldown=cooldown, min_lr=min_lr, eps=eps)
