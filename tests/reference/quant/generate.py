"""Reference data for pare::quant from Debian's torch 1.13.

Run: /usr/bin/python3 tests/reference/quant/generate.py   (writes torch_quant.txt beside it)

pare's affine codes are torch's quint8 codes shifted by -2^(bits-1); for bits < 8 torch's
observers and fake-quant ops take the custom range [0, 2^bits - 1], which pare shifts the same way.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from refio import Writer  # noqa: E402

torch.manual_seed(1234)
out = os.path.join(os.path.dirname(__file__), "torch_quant.txt")
w = Writer(out, __doc__ + "\ntorch " + torch.__version__)


def put_tensor(key, t):
    w.put(key + "/shape", list(t.shape))
    w.put(key + "/x", t)


# --- per-tensor affine: MinMaxObserver + quantize_per_tensor (8 bits) --------------------------
cases = {
    "normal": torch.randn(7, 9) * 0.7 + 0.1,
    "positive": torch.rand(5, 8) * 3 + 0.5,   # widened to include 0: min becomes 0
    "negative": -torch.rand(4, 6) * 2 - 0.25,
    "wide": torch.randn(33) * 50,
}
for name, x in cases.items():
    for bits in (8, 6, 4, 3, 2):
        key = f"tensor_affine/{name}/b{bits}"
        qmax = 2 ** bits - 1
        obs = torch.ao.quantization.MinMaxObserver(dtype=torch.quint8, quant_min=0, quant_max=qmax)
        obs(x)
        s, z = obs.calculate_qparams()
        put_tensor(key, x)
        w.put(key + "/scale", s)
        w.put(key + "/zero_point", z.double())  # torch's (unshifted) zero point
        if bits == 8:
            q = torch.quantize_per_tensor(x, float(s), int(z), torch.quint8)
            w.put(key + "/codes", q.int_repr().double())
            w.put(key + "/dequantized", q.dequantize())
        else:
            fq = torch.fake_quantize_per_tensor_affine(x, float(s), int(z), 0, qmax)
            w.put(key + "/dequantized", fq)

# --- per-channel affine on several axes ----------------------------------------------------------
x3 = torch.randn(4, 5, 6) * torch.linspace(0.2, 3.0, 6)
for axis in (0, 1, 2):
    for bits in (8, 4):
        key = f"channel_affine/a{axis}/b{bits}"
        qmax = 2 ** bits - 1
        obs = torch.ao.quantization.PerChannelMinMaxObserver(
            ch_axis=axis, dtype=torch.quint8, qscheme=torch.per_channel_affine, quant_min=0, quant_max=qmax)
        obs(x3)
        s, z = obs.calculate_qparams()
        put_tensor(key, x3)
        w.put(key + "/scale", s)
        w.put(key + "/zero_point", z.double())
        if bits == 8:
            q = torch.quantize_per_channel(x3, s.double(), z, axis, torch.quint8)
            w.put(key + "/codes", q.int_repr().double())
            w.put(key + "/dequantized", q.dequantize())
        else:
            fq = torch.fake_quantize_per_channel_affine(x3, s, z.int(), axis, 0, qmax)
            w.put(key + "/dequantized", fq)

# --- observers fed batch by batch ----------------------------------------------------------------
batches = [torch.randn(8, 5) * (1 + 0.5 * i) + 0.3 * i for i in range(4)]
for name, obs in (
    ("minmax", torch.ao.quantization.MinMaxObserver(dtype=torch.quint8)),
    ("moving_average", torch.ao.quantization.MovingAverageMinMaxObserver(dtype=torch.quint8)),
    ("moving_average_c0.3", torch.ao.quantization.MovingAverageMinMaxObserver(
        averaging_constant=0.3, dtype=torch.quint8)),
    ("per_channel_minmax", torch.ao.quantization.PerChannelMinMaxObserver(
        ch_axis=1, dtype=torch.quint8, qscheme=torch.per_channel_affine)),
    ("per_channel_moving_average", torch.ao.quantization.MovingAveragePerChannelMinMaxObserver(
        ch_axis=1, dtype=torch.quint8, qscheme=torch.per_channel_affine)),
):
    for i, b in enumerate(batches):
        obs(b)
        s, z = obs.calculate_qparams()
        key = f"observer/{name}/{i}"
        w.put(key + "/min", obs.min_val)
        w.put(key + "/max", obs.max_val)
        w.put(key + "/scale", s)
        w.put(key + "/zero_point", z.double())
for i, b in enumerate(batches):
    put_tensor(f"observer/batch/{i}", b)

# --- fake quantization forward and straight-through gradient ------------------------------------
for name, (scale, zp, qmin, qmax) in {
    "u8": (0.05, 131, 0, 255),
    "u4": (0.3, 7, 0, 15),
    "u4_zero_edge": (0.25, 0, 0, 15),
}.items():
    x = (torch.randn(40) * 1.5).requires_grad_()
    y = torch.fake_quantize_per_tensor_affine(x, scale, zp, qmin, qmax)
    g = torch.randn(40)
    y.backward(g)
    key = f"fake_quant/{name}"
    w.put(key + "/x", x)
    w.put(key + "/params", [scale, zp, qmin, qmax])
    w.put(key + "/y", y)
    w.put(key + "/dy", g)
    w.put(key + "/dx", x.grad)

xc = (torch.randn(3, 10) * 2).requires_grad_()
sc = torch.tensor([0.02, 0.1, 0.3])
zc = torch.tensor([120, 128, 140], dtype=torch.int32)
y = torch.fake_quantize_per_channel_affine(xc, sc, zc, 0, 0, 255)
g = torch.randn(3, 10)
y.backward(g)
w.put("fake_quant_channel/x", xc)
w.put("fake_quant_channel/scale", sc)
w.put("fake_quant_channel/zero_point", zc.double())
w.put("fake_quant_channel/y", y)
w.put("fake_quant_channel/dy", g)
w.put("fake_quant_channel/dx", xc.grad)

# --- LSQ: learnable scale and zero point ----------------------------------------------------------
for name, (scale, zp, qmin, qmax, gf) in {"u8": (0.04, 125, 0, 255, 1.0), "u4": (0.35, 6, 0, 15, 0.5)}.items():
    x = (torch.randn(50) * 2).requires_grad_()
    s = torch.tensor([scale], requires_grad=True)
    z = torch.tensor([float(zp)], requires_grad=True)
    y = torch._fake_quantize_learnable_per_tensor_affine(x, s, z, qmin, qmax, gf)
    g = torch.randn(50)
    y.backward(g)
    key = f"lsq/{name}"
    w.put(key + "/x", x)
    w.put(key + "/params", [scale, zp, qmin, qmax, gf])
    w.put(key + "/y", y)
    w.put(key + "/dy", g)
    w.put(key + "/dx", x.grad)
    w.put(key + "/dscale", s.grad)
    w.put(key + "/dzero_point", z.grad)

w.close()
print("wrote", out)
