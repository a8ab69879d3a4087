"""Writer for pare's reference-data files (read by tests/support/reference.hpp).

One record per line: `key n v0 ... v(n-1)`, floats in repr (shortest round-trip) form.
Generators run with Debian's torch: `/usr/bin/python3 tests/reference/<area>/generate.py`.
"""
import math


def _fmt(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


class Writer:
    def __init__(self, path, header):
        self.f = open(path, "w")
        for line in header.strip().splitlines():
            self.f.write("# " + line + "\n")

    def put(self, key, values):
        """values: a number, or anything iterable of numbers (a torch tensor is flattened)."""
        if hasattr(values, "detach"):
            values = values.detach().double().flatten().tolist()
        elif not hasattr(values, "__iter__"):
            values = [values]
        values = [float(v) for v in values]
        assert " " not in key
        self.f.write(key + " " + str(len(values)) + " " + " ".join(_fmt(v) for v in values) + "\n")

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
