"""Reference trajectories for pare::optim from PyTorch (Debian's torch 1.13).

Run from the repository root:  /usr/bin/python3 tests/reference/optim/generate.py
Writes tests/reference/optim/trajectories.txt (read by tests/optim/test_reference.cpp).

Problem: two parameters, W [3, 4] and b [5], with the parameter-dependent gradient
    g_t = s * a * (p - c) + n_t,   n_t[i] = 0.05 * (((7 i + 3 t) mod 11) - 5)
(s = -1 for the maximize cases, so maximizing is stable; t is the 0-based step; i the flat
index within the parameter). a, c, p0 are fixed below and written to the file; every case runs
100 steps in float64 and in float32 and records both parameters after steps 1, 2, 3, 10, 50, 100.

Keys:  init/<W|b>/{a,c,p0}
       <case>/kind         index into KINDS
       <case>/options      the options in pare's field order (DESIGN.md section 3; bools 0/1)
       <case>/group        overrides for the second parameter (b): same order, nan = unset
                           (absent: both parameters use the options)
       <case>/negate       1 when the gradient sign s is -1
       <case>/schedule     0 none, 1: lr_t = lr / (1 + 0.1 t), 2: lr_t = lr * 0.5^floor(t / 30)
                           (torch LambdaLR; groups scale alike)
       <case>/clip_norm    clip_grad_norm_(max_norm) before each step (absent: none)
       <case>/clip_value   clip_grad_value_(clip_value) before each step (absent: none)
       <case>/<double|float>/<W|b>/step_<k>
       golden/<name>/...   anchors-mission section 2.20: p0 = [1, -2, 0.5], fixed gradients
                           G1..G3, double, steps 1..3

NAdam runs with foreach=True (torch 1.13's default path counts mu_t twice; the foreach path is
torch >= 2.0's formula); its mu_product tensor follows the default dtype, so float64 runs set the
default dtype to float64. torch 1.13's NAdam has no maximize: it is emulated by negating the
gradient first, which is what torch 2.x's maximize does.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from refio import Writer  # noqa: E402

KINDS = ["sgd", "momentum", "nag", "adagrad", "adadelta", "adam", "adamw", "rmsprop", "nadam"]
FIELDS = {
    "sgd": ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"],
    "adagrad": ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"],
    "adadelta": ["lr", "rho", "eps", "weight_decay", "maximize"],
    "adam": ["lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "maximize"],
    "rmsprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"],
    "nadam": ["lr", "beta1", "beta2", "eps", "weight_decay", "momentum_decay", "maximize"],
}
FIELDS["momentum"] = FIELDS["nag"] = FIELDS["sgd"]
FIELDS["adamw"] = FIELDS["adam"]
DEFAULTS = {
    "sgd": dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
    "momentum": dict(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
    "nag": dict(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True, maximize=False),
    "adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, maximize=False),
    "adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False),
    "adam": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False),
    "adamw": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False),
    "nadam": dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, maximize=False),
}
SHAPES = {"W": (3, 4), "b": (5,)}
RECORD = [1, 2, 3, 10, 50, 100]
STEPS = 100


def init_values():
    out = {}
    for k, (name, shape) in enumerate(SHAPES.items()):
        n = math.prod(shape)
        a = [0.5 + 1.5 * (0.5 + 0.5 * math.sin(1.3 * i + k)) for i in range(n)]
        c = [math.cos(0.7 * i + 2 * k) for i in range(n)]
        p0 = [2.0 * math.sin(0.9 * i + 1.7 * k + 0.3) for i in range(n)]
        out[name] = dict(a=a, c=c, p0=p0)
    return out


def noise(n, t):
    return [0.05 * (((7 * i + 3 * t) % 11) - 5) for i in range(n)]


def torch_kwargs(kind, o):
    """pare options (a full dict) -> torch constructor kwargs."""
    if kind in ("sgd", "momentum", "nag"):
        return dict(lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                    weight_decay=o["weight_decay"], nesterov=o["nesterov"], maximize=o["maximize"])
    if kind == "adagrad":
        return dict(lr=o["lr"], lr_decay=o["lr_decay"], weight_decay=o["weight_decay"],
                    initial_accumulator_value=o["initial_accumulator_value"], eps=o["eps"],
                    maximize=o["maximize"])
    if kind == "adadelta":
        return dict(lr=o["lr"], rho=o["rho"], eps=o["eps"], weight_decay=o["weight_decay"],
                    maximize=o["maximize"])
    if kind in ("adam", "adamw"):
        return dict(lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                    weight_decay=o["weight_decay"], amsgrad=o["amsgrad"], maximize=o["maximize"])
    if kind == "rmsprop":
        return dict(lr=o["lr"], alpha=o["alpha"], eps=o["eps"], weight_decay=o["weight_decay"],
                    momentum=o["momentum"], centered=o["centered"], maximize=o["maximize"])
    if kind == "nadam":  # no maximize in torch 1.13: emulated by negating the gradient
        return dict(lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                    weight_decay=o["weight_decay"], momentum_decay=o["momentum_decay"], foreach=True)
    raise ValueError(kind)


TORCH_CLASS = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "nag": torch.optim.SGD,
               "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta,
               "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "rmsprop": torch.optim.RMSprop, "nadam": torch.optim.NAdam}

SCHEDULES = {1: lambda t: 1.0 / (1.0 + 0.1 * t), 2: lambda t: 0.5 ** (t // 30)}

# name, kind, options, group overrides for b (or None), negate, schedule, clip_norm, clip_value
CASES = [
    ("sgd_plain", "sgd", dict(lr=0.1), None, False, 0, None, None),
    ("sgd_momentum", "sgd", dict(lr=0.05, momentum=0.9), None, False, 0, None, None),
    ("sgd_dampening", "sgd", dict(lr=0.05, momentum=0.9, dampening=0.5), None, False, 0, None, None),
    ("sgd_nesterov_wd", "sgd", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01), None, False, 0, None, None),
    ("sgd_maximize", "sgd", dict(lr=0.05, momentum=0.5, maximize=True), None, True, 0, None, None),
    ("sgd_group", "sgd", dict(lr=0.1, momentum=0.9), dict(lr=0.02, weight_decay=0.1, momentum=0.5), False, 0, None, None),
    ("sgd_schedule", "sgd", dict(lr=0.1, momentum=0.9), dict(lr=0.05), False, 1, None, None),
    ("sgd_clip_norm", "sgd", dict(lr=0.1, momentum=0.9), None, False, 0, 0.5, None),
    ("momentum_default", "momentum", dict(lr=0.05), None, False, 0, None, None),
    ("momentum_wd_dampening", "momentum", dict(lr=0.02, momentum=0.7, dampening=0.1, weight_decay=0.05), None, False, 0, None, None),
    ("nag_default", "nag", dict(lr=0.05), None, False, 0, None, None),
    ("nag_group_maximize", "nag", dict(lr=0.05, weight_decay=0.001, maximize=True), dict(lr=0.01, momentum=0.5), True, 0, None, None),
    ("adagrad_default", "adagrad", dict(), None, False, 0, None, None),
    ("adagrad_decay_init", "adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1), None, False, 0, None, None),
    ("adagrad_wd_eps_maximize", "adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-3, maximize=True), None, True, 0, None, None),
    ("adagrad_group", "adagrad", dict(lr=0.1), dict(lr=0.5, initial_accumulator_value=1.0, lr_decay=0.01), False, 0, None, None),
    ("adadelta_default", "adadelta", dict(), None, False, 0, None, None),
    ("adadelta_options", "adadelta", dict(lr=0.5, rho=0.5, eps=1e-3, weight_decay=0.05), None, False, 0, None, None),
    ("adadelta_rho0_maximize", "adadelta", dict(rho=0.0, maximize=True), None, True, 0, None, None),
    ("adadelta_group", "adadelta", dict(lr=1.0), dict(rho=0.99, lr=2.0, eps=1e-4), False, 0, None, None),
    ("adam_default", "adam", dict(), None, False, 0, None, None),
    ("adam_amsgrad", "adam", dict(lr=0.05, amsgrad=True), None, False, 0, None, None),
    ("adam_betas_eps_wd", "adam", dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1), None, False, 0, None, None),
    ("adam_maximize_amsgrad_wd", "adam", dict(lr=0.05, amsgrad=True, weight_decay=0.01, maximize=True), None, True, 0, None, None),
    ("adam_beta1_0_eps_0", "adam", dict(lr=0.05, beta1=0.0, eps=0.0), None, False, 0, None, None),
    ("adam_group", "adam", dict(lr=0.05), dict(lr=0.01, weight_decay=0.5, amsgrad=True), False, 0, None, None),
    ("adam_schedule_group", "adam", dict(lr=0.05), dict(lr=0.1), False, 2, None, None),
    ("adam_clip_norm_inactive", "adam", dict(lr=0.05), None, False, 0, 100.0, None),
    ("adamw_default", "adamw", dict(), None, False, 0, None, None),
    ("adamw_wd", "adamw", dict(lr=0.05, weight_decay=0.1), None, False, 0, None, None),
    ("adamw_amsgrad_maximize", "adamw", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True), None, True, 0, None, None),
    ("adamw_group", "adamw", dict(lr=0.05, weight_decay=0.2), dict(weight_decay=0.0, lr=0.1, beta2=0.9), False, 0, None, None),
    ("rmsprop_default", "rmsprop", dict(), None, False, 0, None, None),
    ("rmsprop_centered_momentum", "rmsprop", dict(lr=0.01, centered=True, momentum=0.9), None, False, 0, None, None),
    ("rmsprop_alpha_eps_wd_momentum", "rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-4, weight_decay=0.05, momentum=0.5), None, False, 0, None, None),
    ("rmsprop_maximize_centered", "rmsprop", dict(lr=0.01, alpha=0.5, centered=True, eps=0.1, maximize=True), None, True, 0, None, None),
    ("rmsprop_alpha0", "rmsprop", dict(lr=0.01, alpha=0.0), None, False, 0, None, None),
    ("rmsprop_group", "rmsprop", dict(lr=0.01), dict(momentum=0.9, centered=True, lr=0.005), False, 0, None, None),
    ("rmsprop_clip_value", "rmsprop", dict(lr=0.01, momentum=0.5), None, False, 0, None, 0.05),
    ("nadam_default", "nadam", dict(), None, False, 0, None, None),
    ("nadam_decay1_wd", "nadam", dict(lr=0.05, momentum_decay=1.0, weight_decay=0.01), None, False, 0, None, None),
    ("nadam_betas_eps_decay0", "nadam", dict(lr=0.05, beta1=0.5, beta2=0.9, eps=1e-6, momentum_decay=0.0), None, False, 0, None, None),
    ("nadam_maximize", "nadam", dict(lr=0.05, maximize=True), None, True, 0, None, None),
    ("nadam_group", "nadam", dict(lr=0.05), dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1), False, 0, None, None),
]


def run(case, dtype, init, steps=STEPS, record=RECORD, grad_scale=None, zero_every=0, schedules=SCHEDULES):
    """The torch trajectory of one case: {(parameter, step): values} at the steps in `record`.
    grad_scale multiplies the gradient; with zero_every > 0 every gradient is exactly 0 at the
    steps t with t % zero_every == zero_every - 1 (tests/reference/optim/audit_generate.py)."""
    name, kind, opts, group, negate, sched, clip_norm, clip_value = case
    torch.set_default_dtype(dtype)
    o = dict(DEFAULTS[kind], **opts)
    params = {k: torch.tensor(v["p0"], dtype=dtype).reshape(SHAPES[k]) for k, v in init.items()}
    for p in params.values():
        p.requires_grad_(True)
    a = {k: torch.tensor(v["a"], dtype=dtype).reshape(SHAPES[k]) for k, v in init.items()}
    c = {k: torch.tensor(v["c"], dtype=dtype).reshape(SHAPES[k]) for k, v in init.items()}
    if group is None:
        groups = [{"params": [params["W"], params["b"]]}]
    else:
        og = dict(o, **group)
        kw = torch_kwargs(kind, og)
        groups = [{"params": [params["W"]]}, dict(kw, params=[params["b"]])]
    opt = TORCH_CLASS[kind](groups, **torch_kwargs(kind, o))
    if kind == "adagrad" and group is not None and "initial_accumulator_value" in group:
        # torch fills every accumulator from the constructor's initial_accumulator_value and
        # ignores a group's own; pare honours the group's (docs/optim.md), so start b from it.
        opt.state[params["b"]]["sum"].fill_(group["initial_accumulator_value"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, schedules[sched]) if sched else None
    s = -1.0 if negate else 1.0
    out = {}
    for t in range(steps):
        with torch.no_grad():
            for k, p in params.items():
                if zero_every and t % zero_every == zero_every - 1:
                    p.grad = torch.zeros_like(p)
                    continue
                n = torch.tensor(noise(p.numel(), t), dtype=dtype).reshape(p.shape)
                p.grad = s * a[k] * (p - c[k]) + n
                if grad_scale is not None:
                    p.grad = grad_scale * p.grad
        if kind == "nadam":  # emulate maximize per group
            for grp_index, grp in enumerate(groups):
                maximize = (dict(o, **group) if (group is not None and grp_index == 1) else o)["maximize"]
                if maximize:
                    for p in grp["params"]:
                        p.grad = -p.grad
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(list(params.values()), clip_norm)
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(list(params.values()), clip_value)
        opt.step()
        if scheduler is not None:
            scheduler.step()
        if t + 1 in record:
            for k, p in params.items():
                out[(k, t + 1)] = p.detach().clone()
    torch.set_default_dtype(torch.float32)
    return o, out


def put_init(w, init):
    """init/<W|b>/{a,c,p0}: the problem's constants."""
    for k, v in init.items():
        for f in ("a", "c", "p0"):
            w.put("init/%s/%s" % (k, f), v[f])


def put_case(w, name, kind, opts, group, negate, sched):
    """The keys that describe a case: kind, options, group, negate, schedule."""
    w.put(name + "/kind", KINDS.index(kind))
    w.put(name + "/options", vector(kind, dict(DEFAULTS[kind], **opts)))
    if group is not None:
        w.put(name + "/group", vector(kind, group))
    w.put(name + "/negate", 1 if negate else 0)
    w.put(name + "/schedule", sched)


def put_trajectories(w, name, trajectory):
    """<name>/<double|float>/<W|b>/step_<k> from trajectory(dtype) = {(parameter, step): values}."""
    for dtype, label in ((torch.float64, "double"), (torch.float32, "float")):
        for (k, step), p in sorted(trajectory(dtype).items()):
            w.put("%s/%s/%s/step_%d" % (name, label, k, step), p)


def vector(kind, d):
    return [float(d[f]) if d.get(f) is not None else float("nan") for f in FIELDS[kind]]


GOLDEN_P0 = [1.0, -2.0, 0.5]
GOLDEN_G = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.2, 0.2]]
GOLDEN = [  # anchors-mission section 2.20
    ("sgd_lr0.1", "sgd", dict(lr=0.1)),
    ("sgd_momentum", "sgd", dict(lr=0.1, momentum=0.9)),
    ("sgd_dampening", "sgd", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("sgd_nesterov", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd_momentum_wd", "sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("adagrad_default", "adagrad", dict()),
    ("adagrad_decay_init", "adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.1)),
    ("adadelta_default", "adadelta", dict()),
    ("adam_default", "adam", dict()),
    ("adam_amsgrad", "adam", dict(lr=0.1, amsgrad=True)),
    ("adam_l2", "adam", dict(lr=0.1, weight_decay=0.1)),
    ("adamw", "adamw", dict(lr=0.1, weight_decay=0.1)),
    ("rmsprop_default", "rmsprop", dict()),
    ("rmsprop_centered_momentum", "rmsprop", dict(centered=True, momentum=0.9)),
    ("nadam_default", "nadam", dict()),
    ("nadam_decay1", "nadam", dict(lr=0.1, momentum_decay=1.0)),
]


def golden(w):
    torch.set_default_dtype(torch.float64)
    w.put("golden/p0", GOLDEN_P0)
    for i, g in enumerate(GOLDEN_G):
        w.put("golden/grad_%d" % (i + 1), g)
    for name, kind, opts in GOLDEN:
        o = dict(DEFAULTS[kind], **opts)
        p = torch.tensor(GOLDEN_P0, requires_grad=True)
        opt = TORCH_CLASS[kind]([p], **torch_kwargs(kind, o))
        w.put("golden/%s/kind" % name, KINDS.index(kind))
        w.put("golden/%s/options" % name, vector(kind, o))
        for t, g in enumerate(GOLDEN_G):
            p.grad = torch.tensor(g)
            opt.step()
            w.put("golden/%s/step_%d" % (name, t + 1), p)
    torch.set_default_dtype(torch.float32)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    init = init_values()
    with Writer(os.path.join(here, "trajectories.txt"),
                "Generated by tests/reference/optim/generate.py with torch " + torch.__version__ +
                "\n(see that script for the problem and the keys)") as w:
        put_init(w, init)
        for case in CASES:
            name, kind, opts, group, negate, sched, clip_norm, clip_value = case
            put_case(w, name, kind, opts, group, negate, sched)
            if clip_norm is not None:
                w.put(name + "/clip_norm", clip_norm)
            if clip_value is not None:
                w.put(name + "/clip_value", clip_value)
            put_trajectories(w, name, lambda dtype: run(case, dtype, init)[1])
        golden(w)


if __name__ == "__main__":
    main()
