"""Audit references for pare::optim: option combinations and corners generate.py does not cover.

Run from the repository root:  /usr/bin/python3 tests/reference/optim/audit_generate.py
Writes tests/reference/optim/audit.txt (read by tests/optim/test_audit_reference.cpp).

Same problem, options vectors and keys as generate.py (its init/ values are repeated here), plus:
       <case>/steps        number of steps run (records at 1, 2, 3, 10, 50, 100, 150 up to it)
       <case>/grad_scale   the gradient is multiplied by this (tiny and huge gradients)
       <case>/zero_every   when > 0, the gradient of every parameter is exactly 0 at steps t with
                           t % zero_every == zero_every - 1 (0-based t)
       <case>/schedule     0 none, 1: lr / (1 + 0.1 t), 2: lr * 0.5^floor(t / 30),
                           3: lr * (0 for 10 <= t < 20, else 1)  (torch LambdaLR, groups alike)
The gradient is  g_t = grad_scale * (s * a * (p - c) + n_t)  (0 when zeroed), computed in the
parameter's dtype in that order.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from refio import Writer  # noqa: E402
import generate as base  # noqa: E402

RECORD = [1, 2, 3, 10, 50, 100, 150]
SCHEDULES = {1: lambda t: 1.0 / (1.0 + 0.1 * t), 2: lambda t: 0.5 ** (t // 30),
             3: lambda t: 0.0 if 10 <= t < 20 else 1.0}

# name, kind, options, group overrides for b (or None), negate, schedule, steps, grad_scale, zero_every
CASES = [
    # SGD family: maximize with weight decay, nesterov with explicit dampening 0, dampening 1 and
    # negative (torch checks neither), group overrides of nesterov/maximize, lr = 0.
    ("sgd_maximize_wd", "sgd", dict(lr=0.05, weight_decay=0.1, maximize=True), None, True, 0, 150, 1.0, 0),
    ("sgd_maximize_wd_momentum", "sgd", dict(lr=0.05, momentum=0.9, weight_decay=0.05, maximize=True), None, True, 0, 150, 1.0, 0),
    ("sgd_nesterov_damp0_maximize_wd", "sgd", dict(lr=0.02, momentum=0.95, dampening=0.0, nesterov=True, weight_decay=0.02, maximize=True), None, True, 0, 150, 1.0, 0),
    ("sgd_dampening1", "sgd", dict(lr=0.05, momentum=0.9, dampening=1.0), None, False, 0, 100, 1.0, 0),
    ("sgd_dampening_negative", "sgd", dict(lr=0.01, momentum=0.5, dampening=-0.5), None, False, 0, 100, 1.0, 0),
    ("sgd_group_nesterov", "sgd", dict(lr=0.05, momentum=0.9), dict(nesterov=True, momentum=0.5, weight_decay=0.01), False, 2, 150, 1.0, 0),
    ("sgd_lr0", "sgd", dict(lr=0.0, momentum=0.9, weight_decay=0.1), None, False, 0, 10, 1.0, 0),
    ("sgd_zero_grads", "momentum", dict(lr=0.05, dampening=0.3), None, False, 0, 100, 1.0, 3),
    ("sgd_zero_first", "momentum", dict(lr=0.05, dampening=0.3), None, False, 0, 50, 1.0, 1),
    ("nag_tiny", "nag", dict(lr=0.1), None, False, 0, 100, 1e-7, 0),
    ("nag_lr_off_on", "nag", dict(lr=0.05, weight_decay=0.01), dict(lr=0.02), False, 3, 100, 1.0, 0),
    # Adagrad
    ("adagrad_all", "adagrad", dict(lr=0.2, lr_decay=0.3, weight_decay=0.05, initial_accumulator_value=0.5, eps=1e-6, maximize=True), None, True, 0, 150, 1.0, 0),
    ("adagrad_decay_schedule", "adagrad", dict(lr=0.1, lr_decay=0.02), dict(lr=0.3), False, 2, 150, 1.0, 0),
    ("adagrad_eps0", "adagrad", dict(lr=0.1, eps=0.0, initial_accumulator_value=0.01), None, False, 0, 100, 1.0, 0),
    ("adagrad_zero_grads", "adagrad", dict(lr=0.1), None, False, 0, 100, 1.0, 4),
    ("adagrad_tiny", "adagrad", dict(lr=0.1), None, False, 0, 100, 1e-9, 0),
    ("adagrad_huge", "adagrad", dict(lr=0.1, weight_decay=0.01), None, False, 0, 100, 1e6, 0),
    ("adagrad_group_maximize", "adagrad", dict(lr=0.1, maximize=True), dict(maximize=False, eps=1e-3), True, 0, 100, 1.0, 0),
    # Adadelta
    ("adadelta_lr", "adadelta", dict(lr=0.3), None, False, 0, 150, 1.0, 0),
    ("adadelta_rho1", "adadelta", dict(lr=0.01, rho=1.0), None, False, 0, 100, 1.0, 0),
    ("adadelta_all", "adadelta", dict(lr=2.0, rho=0.7, eps=1e-4, weight_decay=0.1, maximize=True), None, True, 0, 150, 1.0, 0),
    ("adadelta_schedule_group", "adadelta", dict(lr=1.0), dict(lr=0.5, rho=0.95, maximize=False), False, 1, 100, 1.0, 0),
    ("adadelta_zero_grads", "adadelta", dict(lr=1.0), None, False, 0, 100, 1.0, 3),
    ("adadelta_huge", "adadelta", dict(lr=1.0, eps=1e-2), None, False, 0, 100, 1e5, 0),
    # Adam / AdamW
    ("adam_amsgrad_maximize", "adam", dict(lr=0.02, amsgrad=True, maximize=True), None, True, 0, 150, 1.0, 0),
    # beta2 = 0 makes the step ±lr·sign-like: chaotic near the optimum (torch float and double
    # part after ~30 steps), so only the first 10 steps are compared.
    ("adam_beta2_0", "adam", dict(lr=0.01, beta2=0.0), None, False, 0, 10, 1.0, 0),
    ("adam_beta1_0_amsgrad_wd", "adam", dict(lr=0.01, beta1=0.0, amsgrad=True, weight_decay=0.2), None, False, 0, 100, 1.0, 0),
    ("adam_lr0", "adam", dict(lr=0.0, weight_decay=0.1), None, False, 0, 10, 1.0, 0),
    ("adam_tiny", "adam", dict(lr=0.01), None, False, 0, 100, 1e-9, 0),
    ("adam_tiny_eps0", "adam", dict(lr=0.01, eps=0.0), None, False, 0, 100, 1e-12, 0),
    ("adam_huge", "adam", dict(lr=0.01, amsgrad=True), None, False, 0, 100, 1e8, 0),
    ("adam_zero_grads_amsgrad", "adam", dict(lr=0.02, amsgrad=True), None, False, 0, 100, 1.0, 3),
    ("adam_group_all", "adam", dict(lr=0.02, amsgrad=True, maximize=True), dict(amsgrad=False, maximize=False, beta1=0.5, beta2=0.9, eps=1e-3, weight_decay=0.3), True, 2, 150, 1.0, 0),
    ("adam_lr_off_on", "adam", dict(lr=0.02), dict(lr=0.05), False, 3, 100, 1.0, 0),
    ("adamw_amsgrad", "adamw", dict(lr=0.02, amsgrad=True, weight_decay=0.3), None, False, 0, 150, 1.0, 0),
    ("adamw_amsgrad_schedule", "adamw", dict(lr=0.02, amsgrad=True), dict(lr=0.04, weight_decay=0.5), False, 1, 150, 1.0, 0),
    ("adamw_lr0", "adamw", dict(lr=0.0, weight_decay=0.5), None, False, 0, 10, 1.0, 0),
    ("adamw_betas0", "adamw", dict(lr=0.01, beta1=0.0, beta2=0.0, weight_decay=0.1, maximize=True), None, True, 0, 100, 1.0, 0),
    ("adamw_wd_off_on", "adamw", dict(lr=0.02, weight_decay=0.5), None, False, 3, 100, 1.0, 0),
    ("adamw_zero_grads", "adamw", dict(lr=0.02), None, False, 0, 100, 1.0, 2),
    # RMSprop
    ("rmsprop_centered_momentum_wd", "rmsprop", dict(lr=0.005, centered=True, momentum=0.9, weight_decay=0.05), None, False, 0, 150, 1.0, 0),
    ("rmsprop_centered_momentum_wd_maximize", "rmsprop", dict(lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-3, maximize=True), None, True, 0, 150, 1.0, 0),
    ("rmsprop_alpha1", "rmsprop", dict(lr=1e-4, alpha=1.0, eps=1.0), None, False, 0, 100, 1.0, 0),
    ("rmsprop_momentum_schedule_group", "rmsprop", dict(lr=0.01, momentum=0.9), dict(lr=0.002, momentum=0.0, centered=True), False, 2, 150, 1.0, 0),
    ("rmsprop_group_momentum_on", "rmsprop", dict(lr=0.01), dict(momentum=0.8, weight_decay=0.1, maximize=True), False, 0, 100, 1.0, 0),
    ("rmsprop_zero_grads_momentum", "rmsprop", dict(lr=0.01, momentum=0.5, centered=True, eps=1e-4), None, False, 0, 100, 1.0, 3),
    ("rmsprop_tiny", "rmsprop", dict(lr=0.01, momentum=0.5), None, False, 0, 100, 1e-9, 0),
    ("rmsprop_huge", "rmsprop", dict(lr=0.01, centered=True), None, False, 0, 100, 1e7, 0),
    ("rmsprop_lr_off_on", "rmsprop", dict(lr=0.01, momentum=0.9), None, False, 3, 100, 1.0, 0),
    # NAdam (foreach=True)
    ("nadam_decay_0.1_wd_maximize", "nadam", dict(lr=0.01, momentum_decay=0.1, weight_decay=0.05, maximize=True), None, True, 0, 150, 1.0, 0),
    ("nadam_beta1_0", "nadam", dict(lr=0.01, beta1=0.0), None, False, 0, 100, 1.0, 0),
    ("nadam_beta2_0_eps0", "nadam", dict(lr=0.01, beta2=0.0, eps=0.0), None, False, 0, 10, 1.0, 0),
    ("nadam_schedule_group", "nadam", dict(lr=0.01), dict(lr=0.03, beta1=0.8, momentum_decay=0.02), False, 2, 150, 1.0, 0),
    ("nadam_lr_off_on", "nadam", dict(lr=0.01), None, False, 3, 100, 1.0, 0),
    ("nadam_zero_grads", "nadam", dict(lr=0.01, weight_decay=0.1), None, False, 0, 100, 1.0, 3),
    ("nadam_tiny", "nadam", dict(lr=0.01), None, False, 0, 100, 1e-9, 0),
    ("nadam_huge", "nadam", dict(lr=0.01), None, False, 0, 100, 1e8, 0),
]


def run(case, dtype, init):
    name, kind, opts, group, negate, sched, steps, scale, zero_every = case
    return base.run((name, kind, opts, group, negate, sched, None, None), dtype, init, steps=steps, record=RECORD,
                    grad_scale=scale, zero_every=zero_every, schedules=SCHEDULES)[1]


def main():
    init = base.init_values()
    with Writer(os.path.join(HERE, "audit.txt"),
                "Generated by tests/reference/optim/audit_generate.py with torch " + torch.__version__ +
                "\n(see that script for the problem and the keys)") as w:
        base.put_init(w, init)
        for case in CASES:
            name, kind, opts, group, negate, sched, steps, scale, zero_every = case
            base.put_case(w, name, kind, opts, group, negate, sched)
            w.put(name + "/steps", steps)
            w.put(name + "/grad_scale", scale)
            w.put(name + "/zero_every", zero_every)
            base.put_trajectories(w, name, lambda dtype: run(case, dtype, init))


if __name__ == "__main__":
    main()
