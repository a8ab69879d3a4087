"""Audit references for pare::reg: Keras 3's EarlyStopping over a grid of every option.

Run:  /usr/bin/python3 tests/reference/reg/audit_generate.py   (writes audit.txt beside this file)
Read by tests/reg/test_audit.cpp. The callback is generate.py's restatement of
keras/src/callbacks/early_stopping.py (Keras is not installed); same keys as generate.py's es/<i>.
Grid: mode min/max x min_delta 0, 0.01, -0.05 (Keras takes |min_delta|) x patience 0, 1, 3 x
baseline none / loose / tight x restore on/off x start_from_epoch 0, 2, over metric sequences with
plateaus, exact repeats, NaN and infinities.
"""
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from refio import Writer  # noqa: E402
import generate as base  # noqa: E402

LOSS = [1.0, 0.9, 0.9, 0.895, 0.91, 0.85, 0.85, 0.849, 0.86, 0.87, 0.8, 0.8, 0.81, 0.82, 0.83, 0.84]
ODD = [math.nan, 2.0, math.inf, 1.5, 1.5, math.nan, 1.49, 1.6, -math.inf, 0.0, 0.1, 0.2]

scenarios = []
for mode in ("min", "max"):
    for seq_name, seq in (("loss", LOSS), ("odd", ODD)):
        s = seq if mode == "min" else [-x for x in seq]
        for min_delta in (0.0, 0.01, -0.05):
            for patience in (0, 1, 3):
                for bname, baseline in (("none", None), ("loose", 1.2), ("tight", 0.84)):
                    b = baseline if (baseline is None or mode == "min") else -baseline
                    for restore in (False, True):
                        for start in (0, 2):
                            scenarios.append(("grid", dict(mode=mode, min_delta=min_delta, patience=patience, baseline=b,
                                                   restore_best_weights=restore, start_from_epoch=start), s))

with Writer(os.path.join(HERE, "audit.txt"), __doc__) as w:
    base.early_stopping(w, scenarios)
