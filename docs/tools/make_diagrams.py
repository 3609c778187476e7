"""Every diagram of the course text, drawn as SVG from this one script.

    python docs/tools/make_diagrams.py            # writes docs/assets/diagrams/*.svg (about a second)
    python docs/tools/make_diagrams.py --out DIR  # somewhere else (the drift test does this)

The pictures are drawn with docs/tools/svgdraw.py (plain SVG, no dependencies). Every
number that appears on a diagram (the worked example's values and gradients, the curves of
the plots, the im2col indices, the tokens of the text pipeline) is computed here when the
script runs, never typed in. tests/docs/test_docs_diagrams.py regenerates all of them and fails
if a committed SVG differs from what this script draws now, or if a chapter lacks a figure.

Colours: blue solid arrows are the forward pass (values), red dashed arrows the backward
pass (gradients).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from svgdraw import ACCENT, BWD, COLUMN_PX, FWD, GREY, INK, LIGHT, MIN_TEXT_PX, NOTE, PAD, Drawing, bar  # noqa: E402, F401

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "assets" / "diagrams"

DIAGRAMS = {}


def diagram(fn):
    DIAGRAMS[fn.__name__] = fn
    return fn


def num(v: float, digits: int = 3) -> str:
    """A value as printed on a wire: up to ``digits`` decimals, no trailing zeros, no -0."""
    s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s.replace("-", "−")


# ====================================================================== layer contract
# The worked example of the layer-contract chapter: the same numbers are computed by the
# chapter's code (tests/docs/test_docs_diagrams.py checks the inputs agree).
WORKED = dict(x1=2.0, w1=-0.5, x2=-1.0, w2=0.8, b=1.2, t=1.0)


def worked_example_values(x1, w1, x2, w2, b, t):
    """Forward values and backward gradients of L = ½(tanh(w1·x1 + w2·x2 + b) − t)²."""
    f = {}
    f["a1"] = w1 * x1
    f["a2"] = w2 * x2
    f["s"] = f["a1"] + f["a2"]
    f["u"] = f["s"] + b
    f["h"] = math.tanh(f["u"])
    f["e"] = f["h"] - t
    f["L"] = 0.5 * f["e"] ** 2
    g = {"L": 1.0}
    g["e"] = g["L"] * f["e"]  # d(½e²)/de = e
    g["h"] = g["e"]  # e = h − t
    g["t"] = -g["e"]
    g["u"] = g["h"] * (1 - f["h"] ** 2)  # tanh' = 1 − h²
    g["s"] = g["u"]  # an add hands its gradient to both inputs unchanged
    g["b"] = g["u"]
    g["a1"] = g["s"]
    g["a2"] = g["s"]
    g["w1"], g["x1"] = g["a1"] * x1, g["a1"] * w1  # a multiply swaps its inputs
    g["w2"], g["x2"] = g["a2"] * x2, g["a2"] * w2
    return f, g


@diagram
def worked_example(out):
    v = WORKED
    f, g = worked_example_values(**v)
    # numerical check of every input gradient (central differences): the picture is right
    for name in v:
        eps = 1e-6
        up, dn = dict(v), dict(v)
        up[name] += eps
        dn[name] -= eps
        num_grad = (worked_example_values(**up)[0]["L"] - worked_example_values(**dn)[0]["L"]) / (2 * eps)
        assert abs(num_grad - g[name]) < 1e-8, (name, num_grad, g[name])
    d = Drawing(980, 420, "A tiny computational graph with its forward values and backward gradients",
                "L = one half of (tanh(w1 x1 + w2 x2 + b) minus t) squared. Above each wire its value in "
                "the forward pass (blue), below it the gradient of L with respect to it (red).")

    def wire(pts, fwd_value, grad, at=0, dy=(-10, 12)):
        d.fwd(*pts)
        (xa, ya), (xb, yb) = pts[at], pts[at + 1]
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        d.text(mx, my + dy[0], num(fwd_value), 13, color=FWD, bold=True)
        d.text(mx, my + dy[1], num(grad), 13, color=BWD, bold=True)

    ys = {"w1": 60, "x1": 115, "w2": 185, "x2": 240, "b": 300, "t": 355}
    for name, y in ys.items():
        d.text(42, y, name[0] + "_" + name[1] if len(name) == 2 else name, 16, math=True)
    m1, m2, s1, s2, th, mi, sq = (230, 88), (230, 212), (380, 150), (510, 205), (650, 205), (790, 255), (900, 255)
    wire([(58, 60), (150, 60), (m1[0] - 16, m1[1] - 6)], v["w1"], g["w1"])
    wire([(58, 115), (150, 115), (m1[0] - 16, m1[1] + 6)], v["x1"], g["x1"])
    wire([(58, 185), (150, 185), (m2[0] - 16, m2[1] - 6)], v["w2"], g["w2"])
    wire([(58, 240), (150, 240), (m2[0] - 16, m2[1] + 6)], v["x2"], g["x2"])
    wire([(58, 300), (460, 300), (s2[0] - 12, s2[1] + 10)], v["b"], g["b"])
    wire([(58, 355), (730, 355), (mi[0] - 12, mi[1] + 10)], v["t"], g["t"])
    wire([(m1[0] + 16, m1[1]), (s1[0] - 16, s1[1] - 6)], f["a1"], g["a1"], dy=(-14, 14))
    wire([(m2[0] + 16, m2[1]), (s1[0] - 16, s1[1] + 6)], f["a2"], g["a2"], dy=(-12, 16))
    wire([(s1[0] + 16, s1[1]), (s2[0] - 16, s2[1] - 6)], f["s"], g["s"], dy=(-14, 14))
    wire([(s2[0] + 16, s2[1]), (th[0] - 26, th[1])], f["u"], g["u"])
    wire([(th[0] + 26, th[1]), (mi[0] - 16, mi[1] - 6)], f["h"], g["h"], dy=(-14, 14))
    wire([(mi[0] + 16, mi[1]), (sq[0] - 28, sq[1])], f["e"], g["e"])
    wire([(sq[0] + 28, sq[1]), (972, sq[1])], f["L"], g["L"])
    for (cx, cy), label in [(m1, "×"), (m2, "×"), (s1, "+"), (s2, "+"), (mi, "−")]:
        d.op(cx, cy, label, r=16, size=18)
    d.op(th[0], th[1], "tanh", r=26, size=17)
    d.op(sq[0], sq[1], "½(·)²", r=28, size=16)
    d.text(972, 226, "L", 16, math=True, anchor="end")
    d.legend(40, 402, (("forward: the value on a wire (above it)", FWD, None),
                       ("backward: ∂L/∂(that value) (below it)", BWD, "5,3")))
    return d


@diagram
def cache_stack(out):
    d = Drawing(860, 300, "The cache stack: three forward calls push, three backward calls pop",
                "A module called three times keeps three caches; each backward call pops the newest one, "
                "so the backward calls run last call first, as back-propagation through time needs.")
    cols = ["forward(x_1)", "forward(x_2)", "forward(x_3)", "backward(ȳ_3)", "backward(ȳ_2)", "backward(ȳ_1)"]
    stacks = [[1], [1, 2], [1, 2, 3], [1, 2], [1], []]
    for k, (label, stack) in enumerate(zip(cols, stacks)):
        x = 30 + k * 138
        is_bwd = k >= 3
        d.text(x + 55, 30, label.replace("ȳ", bar("y")), 14, math=False, mono=True,
               color=BWD if is_bwd else FWD)
        d.rect(x + 10, 60, 90, 170, fill="#fafafa", stroke=GREY, rx=2, dash="3,3")
        for j, c in enumerate(stack):
            d.box(x + 16, 200 - j * 46, 78, 38, f"cache_{c}", fill=ACCENT[c - 1], math=False, size=13)
        if not is_bwd:
            new = stack[-1]
            d.fwd((x + 55, 48), (x + 55, 200 - (len(stack) - 1) * 46 - 2))
            d.text(x + 55, 252, f"push cache_{new}", 12.5, color=FWD)
            d.text(x + 55, 270, f"(for step {new})", 11.5, color=NOTE)
        else:
            popped = 6 - k
            y0 = 200 - len(stack) * 46
            d.rect(x + 16, y0, 78, 38, fill=ACCENT[popped - 1], stroke=GREY, rx=6, dash="4,3", opacity=0.35)
            d.text(x + 55, y0 + 19, f"cache_{popped}", 13, color=NOTE)
            d.bwd((x + 55, y0 - 2), (x + 55, 46))
            d.text(x + 55, 252, f"pop cache_{popped}", 12.5, color=BWD)
            d.text(x + 55, 270, f"returns {bar('x')}_{popped}", 11.5, color=NOTE, math=False)
    d.polyline([(442, 40), (442, 280)], GREY, 1, "2,4")
    return d


# ====================================================================== RNN
@diagram
def rnn_unrolled(out):
    d = Drawing(880, 450, "A vanilla RNN unrolled over four steps, forward and backward",
                "Each step computes h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T + b) with the same weights. "
                "Backward: each h_t receives the gradient of its output (y bar t) plus what step t+1 sends "
                "back (z bar t+1 times W_hh); its pre-activation gradient z bar t is h bar t times (1 - h_t^2).")
    T = 4
    xs = [180 + k * 175 for k in range(T)]
    cy, w, h = 190, 96, 64
    d.text(60, cy - 10, "h_0", 16, math=True)
    d.fwd((78, cy - 10), (xs[0] - w / 2, cy - 10))
    d.bwd((xs[0] - w / 2, cy + 14), (78, cy + 14))
    d.text(60, cy + 14, bar("h") + "_0", 15, math=True, color=BWD)
    for k, x in enumerate(xs):
        t = k + 1
        tt = str(t) if t < T else "T"
        d.box(x - w / 2, cy - h / 2, w, h, "tanh", sub=f"step {tt}")
        # input
        d.text(x - 16, 350, f"x_{tt}", 16, math=True)
        d.fwd((x - 16, 336), (x - 16, cy + h / 2))
        d.bwd((x + 16, cy + h / 2), (x + 16, 336))
        d.text(x + 18, 350, bar("x") + f"_{tt}", 15, math=True, color=BWD)
        # output
        d.fwd((x - 16, cy - h / 2), (x - 16, 70))
        d.text(x - 18, 56, f"h_{tt}", 16, math=True)
        d.bwd((x + 16, 70), (x + 16, cy - h / 2))
        d.text(x + 22, 56, bar("y") + f"_{tt}", 15, math=True, color=BWD)
        # recurrence
        if k + 1 < T:
            nx = xs[k + 1]
            d.fwd((x + w / 2, cy - 10), (nx - w / 2, cy - 10))
            d.text((x + nx) / 2, cy - 24, f"h_{tt}", 14, math=True, color=FWD)
            d.bwd((nx - w / 2, cy + 14), (x + w / 2, cy + 14))
            nt = str(t + 1) if t + 1 < T else "T"
            d.text((x + nx) / 2, cy + 32, f"{bar('z')}_{nt} W_{{hh}}", 13.5, math=True, color=BWD)
    x = xs[-1]
    d.fwd((x + w / 2, cy - 10), (840, cy - 10))
    d.text(852, cy - 10, "h_n", 15, math=True, anchor="middle")
    d.bwd((840, cy + 14), (x + w / 2, cy + 14))
    d.text(852, cy + 14, bar("h") + "_n", 15, math=True, color=BWD)
    d.text(440, 18, "the loss reads the outputs h_t (gradients ȳ_t) and/or the last state h_n (gradient h̄_n)",
           12.5, color=NOTE)
    d.text(440, 384, f"step t backwards:   {bar('h')}_t = {bar('y')}_t + {bar('z')}_{{t+1}} W_{{hh}},   "
           f"{bar('z')}_t = {bar('h')}_t ⊙ (1 − h_t²),   {bar('x')}_t = {bar('z')}_t W_{{ih}}", 14, math=True,
           color=BWD)
    d.text(440, 406, "W_{ih}, W_{hh} and b are shared by all steps: their gradients are sums over t", 12.5,
           color=NOTE)
    d.legend(250, 436)
    return d


# ====================================================================== arrays
@diagram
def broadcast_sum(out):
    d = Drawing(840, 250, "Broadcasting a bias forward, summing its gradient backward",
                "Forward: the bias b of shape (M,) is added to every one of the N rows of x. Backward: "
                "every row of y bar sends its gradient back to b, so b bar is the sum of the rows.")
    c = 34
    N, M = 3, 4

    def grid(x0, y0, rows, cols, label, fill, color=INK):
        for i in range(rows):
            for j in range(cols):
                d.rect(x0 + j * c, y0 + i * c, c, c, fill=fill, stroke=color, rx=0, width=1)
        d.text(x0 + cols * c / 2, y0 + rows * c + 16, label, 15, math=True, color=color)

    d.text(205, 20, "forward: y = x + b", 14, color=FWD)
    grid(30, 40, 1, M, "b  (M,)", ACCENT[0])
    grid(230, 40, N, M, "y_{nm} = x_{nm} + b_m   (N, M)", LIGHT)
    for i in range(N):
        d.fwd((30 + M * c + 4, 57), (226, 40 + i * c + 17))
    d.text(600, 20, "backward: b̄ = Σ_n ȳ_{n,:}", 14, color=BWD)
    grid(450, 40, N, M, "ȳ  (N, M)", "#fbe3e0", BWD)
    grid(660, 74, 1, M, "", ACCENT[0], BWD)
    d.text(660 + M * c / 2 - 10, 128, "b̄  (M,): one sum per column", 14, color=BWD)
    for i in range(N):
        d.bwd((450 + M * c + 4, 40 + i * c + 17), (656, 91))
    d.text(410, 200, "a value used k times receives the sum of its k gradients", 14, color=NOTE)
    d.text(410, 224, "(the same rule gives += for shared weights and the two branches of a residual sum)", 12.5,
           color=NOTE)
    return d


# ====================================================================== linear
@diagram
def linear_shapes(out):
    d = Drawing(860, 420, "The shapes of Linear's forward and backward products",
                "Forward y = x W transpose. Backward: x bar = y bar W, W bar = y bar transpose x, b bar = "
                "column sums of y bar. Each product is the only one whose shapes fit.")
    c = 16
    N, D, M = 5, 4, 3

    def mat(x, y, rows, cols, label, fill, color=INK):
        d.rect(x, y, cols * c, rows * c, fill=fill, stroke=color, rx=0, width=1.3)
        for i in range(1, rows):
            d.polyline([(x, y + i * c), (x + cols * c, y + i * c)], "#b8b8b8", 0.6)
        for j in range(1, cols):
            d.polyline([(x + j * c, y), (x + j * c, y + rows * c)], "#b8b8b8", 0.6)
        d.text(x + cols * c / 2, y + rows * c + 16, label, 14, math=True, color=color)
        return x + cols * c

    def row(y, items, title, color):
        d.text(20, y + 40, title, 14, anchor="start", color=color, bold=True)
        x = 200
        for kind, *args in items:
            if kind == "m":
                x = mat(x, y, *args) + 12
            else:
                d.text(x + 8, y + 40, args[0], 20, color=INK)
                x += 30

    row(20, [("m", N, D, "x  (N, D)", LIGHT), ("t", "·"), ("m", D, M, "Wᵀ  (D, M)", ACCENT[0]), ("t", "="),
             ("m", N, M, "y  (N, M)", LIGHT)], "forward", FWD)
    row(150, [("m", N, M, "ȳ  (N, M)", "#fbe3e0", BWD), ("t", "·"), ("m", M, D, "W  (M, D)", ACCENT[0]),
              ("t", "="), ("m", N, D, "x̄  (N, D)", "#fbe3e0", BWD)], "backward, input", BWD)
    row(290, [("m", M, N, "ȳᵀ  (M, N)", "#fbe3e0", BWD), ("t", "·"), ("m", N, D, "x  (N, D)", LIGHT),
              ("t", "="), ("m", M, D, "W̄  (M, D)", "#fbe3e0", BWD)], "backward, weight", BWD)
    d.text(720, 190, "b̄ = Σ_n ȳ_n  (M,)", 15, math=True, color=BWD)
    d.text(720, 215, "(bias: column sums of ȳ)", 12, color=NOTE)
    return d


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


@diagram
def activations(out):
    d = Drawing(900, 262, "ReLU, tanh and the sigmoid with their derivatives",
                "Each panel shows the activation (solid) and its derivative (dashed), the factor the "
                "backward multiplies the upstream gradient by. The derivative is written from the output: "
                "1 - y squared for tanh, y (1 - y) for the sigmoid.")
    xs = np.linspace(-4, 4, 161)
    panels = [("ReLU", np.maximum(xs, 0), (xs > 0).astype(float), "f′ = [x > 0]", (-0.5, 2.0)),
              ("tanh", np.tanh(xs), 1 - np.tanh(xs) ** 2, "f′ = 1 − y²", (-1.1, 1.1)),
              ("sigmoid σ", _sigmoid(xs), _sigmoid(xs) * (1 - _sigmoid(xs)), "f′ = y(1 − y) ≤ ¼", (-0.1, 1.1))]
    for k, (name, f, fp, label, ylim) in enumerate(panels):
        x0 = 70 + k * 290
        to = d.axes(x0, 30, 220, 160, (-4, 4), ylim, "x", "", xticks=(-4, -2, 0, 2, 4),
                    yticks=(ylim[0] if name == "ReLU" else -1 if name == "tanh" else 0, 0 if name != "sigmoid σ"
                            else 0.5, 1))
        d.curve(to, xs, f, FWD, 2.2, clip=ylim)
        d.curve(to, xs, fp, BWD, 2.0, "5,3", clip=ylim)
        d.text(x0 + 110, 18, name, 14, bold=True)
        d.text(x0 + 110, 246, label, 13, color=BWD)
    return d


# ====================================================================== losses
@diagram
def losses_plot(out):
    d = Drawing(900, 330, "Cross-entropy against NLL on raw scores, as the target's score grows",
                "Two classes, the other score fixed at 0. Cross-entropy (equal to BCE with logits) "
                "levels off at zero and its gradient p - 1 vanishes as the target wins; NLL fed raw scores "
                "is minus the score, falls without bound and its gradient stays -1.")
    z = np.linspace(-6, 6, 241)
    ce = np.logaddexp(0, -z)  # -log softmax([0, z])[1] = log(1 + e^{-z})
    nll = -z
    to = d.axes(80, 30, 330, 200, (-6, 6), (-6, 6), "target score z_c (other score 0)", "loss",
                xticks=(-6, -3, 0, 3, 6), yticks=(-6, -3, 0, 3, 6))
    d.curve(to, z, ce, FWD, 2.4)
    d.curve(to, z, nll, BWD, 2.2, "7,4")
    d.text(240, 18, "loss", 14, bold=True)
    to2 = d.axes(540, 30, 330, 200, (-6, 6), (-1.2, 0.2), "target score z_c (other score 0)", "gradient",
                 xticks=(-6, -3, 0, 3, 6), yticks=(-1, -0.5, 0))
    d.curve(to2, z, _sigmoid(z) - 1, FWD, 2.4)
    d.curve(to2, z, -np.ones_like(z), BWD, 2.2, "7,4")
    d.text(705, 18, "∂loss/∂z_c", 14, bold=True)
    d.polyline([(120, 294), (154, 294)], FWD, 2.4)
    d.text(162, 294, "cross-entropy = log(1 + exp(−z_c)) = BCE with logits (t = 1); gradient p_c − 1 → 0", 12.5,
           anchor="start", color=FWD)
    d.polyline([(120, 316), (154, 316)], BWD, 2.2, "7,4")
    d.text(162, 316, "NLL on raw scores = −z_c: no lower bound, gradient −1 forever", 12.5, anchor="start",
           color=BWD)
    return d


# ====================================================================== gradient checking
@diagram
def secant_tangent(out):
    theta, eps = 0.7, 0.55
    f = np.tanh
    fp = 1 - np.tanh(theta) ** 2
    central = (f(theta + eps) - f(theta - eps)) / (2 * eps)
    forward = (f(theta + eps) - f(theta)) / eps
    d = Drawing(688, 420, "Tangent, central secant and one-sided secant of tanh at 0.7",
                f"With the step exaggerated to {eps}: the central secant's slope {central:.3f} is close to the "
                f"tangent's {fp:.3f}, the one-sided secant's {forward:.3f} is not.")
    xs = np.linspace(-0.3, 1.6, 200)
    to = d.axes(80, 25, 580, 220, (-0.3, 1.6), (-0.3, 1.0), "θ", "f(θ) = tanh θ",
                xticks=(0, 0.5, 1, 1.5), yticks=(0, 0.5, 1), size=13)
    d.curve(to, xs, f(xs), INK, 2.4)
    d.curve(to, xs, f(theta) + fp * (xs - theta), FWD, 2.0, clip=(-0.3, 1.0))
    # each secant drawn through the two points it is computed from
    d.curve(to, xs, f(theta - eps) + central * (xs - theta + eps), "#2e8b57", 2.0, "6,4", clip=(-0.3, 1.0))
    d.curve(to, xs, f(theta) + forward * (xs - theta), BWD, 2.0, "2,3", clip=(-0.3, 1.0))
    for xv in (theta - eps, theta, theta + eps):
        px, py = to(xv, f(xv))
        d.circle(px, py, 4.5, fill=INK)
    for xv, lab in ((theta - eps, "θ − ε"), (theta, "θ"), (theta + eps, "θ + ε")):
        px, _ = to(xv, -0.3)
        d.text(px, 233, lab, 13, math=True, color=NOTE)
    ly = 305
    for color, dash, text in ((FWD, None, f"tangent, slope f′(θ) = {fp:.4f}"),
                              ("#2e8b57", "6,4", f"central secant, slope {central:.4f} (error ∝ ε²)"),
                              (BWD, "2,3", f"one-sided secant, slope {forward:.4f} (error ∝ ε)")):
        d.polyline([(80, ly), (115, ly)], color, 2.0, dash)
        d.text(123, ly, text, 13, anchor="start", color=color)
        ly += 24
    d.text(80, 385, f"ε = {eps} here, to make the gap visible; gradient checks use ε = 10⁻⁶ in float64", 13,
           anchor="start", color=NOTE)
    return d


# ====================================================================== optimizers
@diagram
def adam_update(out):
    d = Drawing(688, 340, "One Adam step as a dataflow",
                "The gradient feeds two moving averages, m of g and v of g squared, each with a state "
                "kept from the last step; both are divided by one minus beta to the power t; the step is "
                "eta times m hat over (square root of v hat plus epsilon).")
    d.text(22, 80, "g_t", 17, math=True)
    d.text(22, 200, "g_t", 17, math=True)
    d.box(62, 55, 190, 50, "m_t = β₁m_{t−1} + (1−β₁)g_t", size=14, math=True)
    d.box(50, 175, 50, 50, "g²", size=15, math=True)
    d.box(120, 175, 190, 50, "v_t = β₂v_{t−1} + (1−β₂)g_t²", size=14, math=True)
    d.box(290, 55, 150, 50, "m̂_t = m_t / (1−β₁ᵗ)", size=14, math=True)
    d.box(330, 175, 140, 50, "v̂_t = v_t / (1−β₂ᵗ)", size=14, math=True)
    d.box(500, 110, 176, 60, "Δ_t = η m̂_t / (√v̂_t + ε)", size=14, math=True)
    d.box(513, 250, 150, 46, "θ_t = θ_{t−1} − Δ_t", size=14, math=True)
    d.fwd((38, 80), (62, 80))
    d.fwd((38, 200), (50, 200))
    d.fwd((100, 200), (120, 200))
    d.fwd((252, 80), (290, 80))
    d.fwd((310, 200), (330, 200))
    d.fwd((440, 80), (470, 80), (470, 130), (500, 130))
    d.fwd((470, 200), (484, 200), (484, 150), (500, 150))
    d.fwd((588, 170), (588, 250))
    # state loops
    d.polyline([(220, 55), (220, 30), (110, 30), (110, 55)], GREY, 1.4, "3,3", True)
    d.text(165, 16, "m kept for the next step", 13, color=NOTE)
    d.polyline([(280, 225), (280, 252), (170, 252), (170, 225)], GREY, 1.4, "3,3", True)
    d.text(225, 268, "v kept for the next step", 13, color=NOTE)
    d.text(344, 324, "m₀ = v₀ = 0; the divisions by 1 − βᵗ undo that start (β₁ = 0.9, β₂ = 0.999)", 13,
           color=NOTE)
    return d


@diagram
def adam_steps(out):
    b1, b2, lr, g = 0.9, 0.999, 1.0, 3.0  # the step size in units of lr does not depend on g
    T = 60
    steps = {k: [] for k in ("both", "none", "m only", "v only")}
    m = v = 0.0
    for t in range(1, T + 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
        steps["both"].append(lr * mh / math.sqrt(vh))
        steps["none"].append(lr * m / math.sqrt(v))
        steps["m only"].append(lr * mh / math.sqrt(v))
        steps["v only"].append(lr * m / math.sqrt(vh))
    d = Drawing(688, 390, "Adam's step size for a constant gradient, with and without bias correction",
                f"Step size in units of eta over the first {T} steps. Corrected: exactly 1. Without either "
                f"correction the first step is {steps['none'][0]:.2f} eta; correcting m alone makes it "
                f"{steps['m only'][0]:.1f} eta; correcting v alone {steps['v only'][0]:.2f} eta.")
    ts = np.arange(1, T + 1)
    x0, w = 80, 590
    to = d.axes(x0, 20, w, 220, (1, T), (math.log10(0.05), math.log10(50)), "step t", "|Δθ| / η (log scale)",
                xticks=(1, 10, 20, 30, 40, 50, 60), yticks=(), size=13)
    for val in (0.1, 1, 10):
        px, py = to(1, math.log10(val))
        d.polyline([(x0, py), (x0 + w, py)], "#e4e4e4", 1)
        d.text(x0 - 6, py, f"{val:g}", 12, anchor="end", color=NOTE)
    styles = {"both": (FWD, None, "both corrections (Adam)"),
              "none": (BWD, None, "no correction"),
              "m only": ("#e67e22", "6,4", "m corrected, v not"),
              "v only": ("#2e8b57", "2,3", "v corrected, m not")}
    ly = 296
    for key, (color, dash, label) in styles.items():
        d.curve(to, ts, [math.log10(s) for s in steps[key]], color, 2.2, dash)
        d.polyline([(x0, ly), (x0 + 35, ly)], color, 2.2, dash)
        d.text(x0 + 43, ly, f"{label}: first step {steps[key][0]:.2f} η", 13, anchor="start", color=color)
        ly += 24
    d.text(560, 310, "a constant gradient g (any value):", 13, color=NOTE)
    d.text(560, 330, "the step does not depend", 13, color=NOTE)
    d.text(560, 350, "on its scale", 13, color=NOTE)
    return d


# ====================================================================== embedding
@diagram
def embedding_scatter(out):
    ids = [2, 5, 2, 0]
    d = Drawing(900, 330, "Embedding: a row gather forward, a scatter-add backward",
                "Forward: each id selects a row of the table W. Backward: each row of y bar is added into "
                "the row of W bar its id selected; id 2 occurs twice, so its row receives two contributions; "
                "the padding row 0 gets no gradient.")
    c = 26
    V, E = 6, 3

    def table(x, y, label, fill_fn, color):
        for v in range(V):
            for e in range(E):
                d.rect(x + e * c, y + v * c, c, c, fill=fill_fn(v), stroke=color, rx=0, width=1)
            d.text(x - 10, y + v * c + c / 2, str(v), 12, anchor="end", color=NOTE)
        d.text(x + E * c / 2, y + V * c + 18, label, 14, math=True, color=color)

    def rows(x, y, label, fill, color):
        for n, i in enumerate(ids):
            for e in range(E):
                d.rect(x + e * c, y + n * c * 1.2, c, c, fill=fill(i), stroke=color, rx=0, width=1)
            d.text(x + E * c + 10, y + n * c * 1.2 + c / 2, f"id {i}" + (" (pad)" if i == 0 else ""), 12,
                   anchor="start", color=NOTE)
        d.text(x + E * c / 2, y + len(ids) * c * 1.2 + 14, label, 14, math=True, color=color)

    def fill(v):
        return PAD if v == 0 else ACCENT[v % len(ACCENT)]

    d.text(220, 22, "forward: y[n] = W[ids[n]]", 14, color=FWD)
    table(60, 50, "W  (V, E)", fill, INK)
    rows(300, 70, "y  (4, E)", fill, INK)
    for n, i in enumerate(ids):
        d.fwd((60 + E * c + 4, 50 + i * c + c / 2), (296, 70 + n * c * 1.2 + c / 2))
    d.text(650, 22, "backward: W̄[v] = Σ_{n: ids[n] = v} ȳ[n]", 14, color=BWD)
    rows(470, 70, "ȳ  (4, E)", lambda v: "#fbe3e0", BWD)
    table(720, 50, "W̄  (V, E)", lambda v: "#ffffff" if v in (1, 3, 4, 0) else "#fbe3e0", BWD)
    for n, i in enumerate(ids):
        if i == 0:
            continue
        d.bwd((470 + E * c + 58, 70 + n * c * 1.2 + c / 2), (716, 50 + i * c + c / 2))
    d.text(808, 50 + 2 * c + c / 2 - 4, "two", 11.5, anchor="start", color=BWD)
    d.text(808, 50 + 2 * c + c / 2 + 14, "terms", 11.5, anchor="start", color=BWD)
    d.text(808, 50 + c / 2, "0", 12, anchor="start", color=BWD)
    d.text(450, 300, "xp.add.at(dW, ids, dy) or one bincount; dW[ids] += dy keeps only one of the two "
           "contributions to row 2", 12.5, color=NOTE)
    d.text(450, 320, "padding\\_idx = 0: row 0 embeds to zeros and its gradient is set to zero (a rule, "
           "not a derivative)", 12.5, color=NOTE)
    return d


# ====================================================================== truncated BPTT
@diagram
def tbptt(out):
    d = Drawing(940, 380, "Truncated back-propagation through time",
                "A long sequence is cut into chunks of k steps. The state flows forward across chunk "
                "boundaries, but the backward pass of each chunk stops at its first step: no gradient "
                "crosses a boundary. The weights are updated after each chunk.")
    k, chunks = 4, 3
    w, gap, x0, y = 52, 14, 40, 150
    for ci in range(chunks):
        cx0 = x0 + ci * (k * (w + gap) + 36)
        d.rect(cx0 - 8, y - 58, k * (w + gap) + 2, 122, fill="#fafafa", stroke=GREY, rx=8, dash="4,3")
        d.text(cx0 + k * (w + gap) / 2 - 4, y - 116, f"chunk {ci + 1}:", 12.5, color=NOTE, bold=True)
        d.text(cx0 + k * (w + gap) / 2 - 4, y - 94, "forward, backward, update", 12.5, color=NOTE)
        for j in range(k):
            t = ci * k + j + 1
            x = cx0 + j * (w + gap)
            d.box(x, y - 22, w, 44, f"t={t}", size=12.5)
            d.fwd((x + w / 2, y + 76), (x + w / 2, y + 22))
            d.text(x + w / 2, y + 88, f"x_{{{t}}}", 13, math=True)
            if j + 1 < k:
                d.fwd((x + w, y - 8), (x + w + gap, y - 8))
                d.bwd((x + w + gap, y + 10), (x + w, y + 10))
        # the boundary to the next chunk: state carried, gradient cut
        if ci + 1 < chunks:
            xe = cx0 + k * (w + gap) - gap
            xn = xe + 36 + gap
            d.fwd((xe, y - 8), (xn, y - 8))
            d.text((xe + xn) / 2, y + 30, "✂", 16, color=BWD)
    d.text(470, 280, "the state h (and c) carries over the boundary as a constant: forward continues, "
           "its gradient is dropped", 12.5, color=NOTE)
    d.text(470, 302, "memory and time per update grow with k, not with the whole length;", 12.5, color=NOTE)
    d.text(470, 324, "dependencies longer than k get no gradient", 12.5, color=NOTE)
    d.legend(250, 358)
    return d


# ====================================================================== LSTM
@diagram
def lstm_cell(out):
    d = Drawing(880, 470, "One LSTM step, with the cell path of the backward pass",
                "Four gate blocks are computed from x_t and h_{t-1}. The cell state runs along the top: "
                "multiplied by the forget gate f, plus i times g. h_t is o times tanh of c_t. The backward "
                "pass along the cell path multiplies the gradient by f only.")
    top, bus = 90, 400
    gx = {"f": 230, "i": 330, "g": 430, "o": 530}
    gy = 320
    # cell path
    d.text(40, top, "c_{t−1}", 17, math=True)
    d.fwd((72, top), (gx["f"] - 16, top))
    d.op(gx["f"], top, "⊙", 16)
    d.fwd((gx["f"] + 16, top), (gx["g"] - 16, top))
    d.op(gx["g"], top, "+", 16)
    d.fwd((gx["g"] + 16, top), (790, top))
    d.text(820, top, "c_t", 17, math=True)
    # i ⊙ g
    ig = (gx["g"], 200)
    d.op(ig[0], ig[1], "⊙", 16)
    d.fwd((ig[0], ig[1] - 16), (ig[0], top + 16))
    # tanh(c_t) and o
    tc = (640, 170)
    d.fwd((tc[0], top), (tc[0], tc[1] - 23))
    d.op(tc[0], tc[1], "tanh", 23, size=16)
    oh = (640, 250)
    d.op(oh[0], oh[1], "⊙", 16)
    d.fwd((tc[0], tc[1] + 23), (oh[0], oh[1] - 16))
    d.fwd((oh[0] + 16, oh[1]), (740, oh[1]), (740, 40))
    d.text(740, 24, "h_t  (output y_t)", 15, math=True)
    d.fwd((740, oh[1]), (740, bus), (790, bus))
    d.text(820, bus, "h_t", 17, math=True)
    # bus and gates
    d.text(40, bus, "h_{t−1}", 17, math=True)
    d.fwd((72, bus), (140, bus))
    d.text(140, 452, "x_t", 17, math=True)
    d.fwd((140, 438), (140, bus + 6))
    d.circle(140, bus, 5, fill=INK)
    d.polyline([(140, bus), (560, bus)], FWD, 1.8)
    d.text(350, bus + 22, "z_t = x_t W_{ih}ᵀ + h_{t−1} W_{hh}ᵀ + b  (B, 4H): four blocks", 13, math=True,
           color=FWD)
    for name, x in gx.items():
        fn = "tanh" if name == "g" else "σ"
        d.box(x - 30, gy - 22, 60, 44, name, sub=fn, size=19, math=True, fill=ACCENT[list(gx).index(name)])
        d.fwd((x, bus), (x, gy + 22))
    d.fwd((gx["f"], gy - 22), (gx["f"], top + 16))
    d.fwd((gx["i"], gy - 22), (gx["i"], ig[1]), (ig[0] - 16, ig[1]))
    d.fwd((gx["g"], gy - 22), (gx["g"], ig[1] + 16))
    d.fwd((gx["o"], gy - 22), (gx["o"], oh[1]), (oh[0] - 16, oh[1]))
    # backward along the cell path
    d.bwd((790, top + 22), (gx["g"] + 14, top + 22))
    d.bwd((gx["g"] - 14, top + 22), (gx["f"] + 14, top + 22))
    d.bwd((gx["f"] - 14, top + 22), (72, top + 22))
    d.text(545, top - 26, f"{bar('c')}_t = {bar('c')}^{{next}}_t + {bar('h')}_t ⊙ o_t ⊙ (1 − tanh² c_t)", 14,
           math=True, color=BWD)
    d.text(130, top + 40, f"{bar('c')}_{{t−1}} ← {bar('c')}_t ⊙ f_t", 14, math=True, color=BWD)
    d.text(130, top + 60, "(no weight matrix on this path)", 11.5, color=BWD)
    return d


# The LSTM built gate by gate (the chapter's "The idea, gate by gate"): four pictures of the
# same cell, each adding one part; the part just added is in colour, the rest in grey.
LSTM_IDEA = {
    1: ("the cell state: a conveyor belt", "c_{t−1} runs along the top of the cell to c_t; along it, only "
        "elementwise multiplications and additions, no weight matrix."),
    2: ("the forget gate f", "f_t = σ(...) of [h_{t−1}, x_t], between 0 and 1 per number, multiplies the belt: "
        "1 keeps a number, 0 erases it."),
    3: ("the input gate i and the candidate g", "g_t = tanh(...) proposes new values between −1 and 1; "
        "i_t = σ(...) says how much of each to write; i ⊙ g is added to the belt."),
    4: ("the output gate o", "h_t = o_t ⊙ tanh(c_t): the hidden state is a gated read of the belt, "
        "the layer's output and what the gates see at the next step."),
}


def _lstm_idea(stage):
    title, desc = LSTM_IDEA[stage]
    d = Drawing(680, 130 if stage == 1 else 290, f"The LSTM cell, step {stage} of 4: {title}", desc)
    top, gy, bus = 60, 205, 266
    fx, ix, gx, ox, tx = 200, 300, 380, 470, 540
    on = lambda k: FWD if k == stage else GREY  # noqa: E731  (the new part in colour)
    # the belt
    d.text(36, top, "c_{t−1}", 17, math=True)
    d.text(626, top, "c_t", 17, math=True)
    belt = [(70, top), (600, top)]
    d.polyline(belt, FWD if stage == 1 else INK, 4 if stage == 1 else 2.2, arrow=True)
    if stage == 1:
        d.text(335, top - 30, "the cell state c: a conveyor belt from step to step", 15, color=FWD)
        d.text(335, top + 40, "on it only elementwise ⊙ and +, no weight matrix:", 14, color=NOTE)
        d.text(335, top + 62, "a number put on the belt can ride many steps unchanged", 14, color=NOTE)
    if stage >= 2:
        d.op(fx, top, "⊙", 16)
        d.box(fx - 32, gy - 24, 64, 48, "f_t", sub="σ", size=17, math=True, fill=ACCENT[0],
              stroke=on(2) if stage == 2 else INK)
        d.polyline([(fx, gy - 24), (fx, top + 16)], on(2), 2, arrow=True)
        if stage == 2:
            d.text(fx + 14, top + 50, "keep (1) or erase (0),", 14, anchor="start", color=FWD)
            d.text(fx + 14, top + 70, "number by number", 14, anchor="start", color=FWD)
    if stage >= 3:
        d.op(gx, top, "+", 16)
        d.op(gx, 135, "⊙", 16)
        d.polyline([(gx, 119), (gx, top + 16)], on(3), 2, arrow=True)
        d.box(ix - 32, gy - 24, 64, 48, "i_t", sub="σ", size=17, math=True, fill=ACCENT[2])
        d.box(gx - 28, gy - 24, 56, 48, "g_t", sub="tanh", size=17, math=True, fill=ACCENT[1])
        d.polyline([(ix, gy - 24), (ix, 135), (gx - 16, 135)], on(3), 2, arrow=True)
        d.polyline([(gx, gy - 24), (gx, 151)], on(3), 2, arrow=True)
        if stage == 3:
            d.text(gx + 24, 118, "write i ⊙ g:", 14, anchor="start", color=FWD)
            d.text(gx + 24, 138, "how much (i) of", 14, anchor="start", color=FWD)
            d.text(gx + 24, 158, "which values (g)", 14, anchor="start", color=FWD)
    if stage >= 4:
        d.polyline([(tx, top), (tx, 96)], FWD, 2, arrow=True)
        d.op(tx, 114, "tanh", 18, size=16)
        d.op(tx, 170, "⊙", 16)
        d.polyline([(tx, 132), (tx, 154)], FWD, 2, arrow=True)
        d.box(ox - 30, gy - 24, 60, 48, "o_t", sub="σ", size=17, math=True, fill=ACCENT[3])
        d.polyline([(ox, gy - 24), (ox, 170), (tx - 16, 170)], FWD, 2, arrow=True)
        d.polyline([(tx + 16, 170), (600, 170)], FWD, 2, arrow=True)
        d.text(626, 170, "h_t", 17, math=True)
        d.text(556, 204, "how much of the", 14, anchor="start", color=FWD)
        d.text(556, 224, "cell to show (o)", 14, anchor="start", color=FWD)
    if stage >= 2:  # what every gate reads
        d.text(36, bus, "h_{t−1}, x_t", 16, math=True, anchor="start")
        last = {2: fx, 3: gx, 4: ox}[stage]
        d.polyline([(130, bus), (last, bus)], INK, 1.8)
        for k, x in ((2, fx), (3, ix), (3, gx), (4, ox)):
            if k <= stage:
                d.polyline([(x, bus), (x, gy + 24)], on(k), 1.8, arrow=True)
    return d


for _stage in LSTM_IDEA:
    DIAGRAMS[f"lstm_idea_{_stage}"] = lambda out, _s=_stage: _lstm_idea(_s)


# The GRU in two pictures: the update gate as an interpolation, then the reset gate.
def _gru_idea(stage):
    title = ("the update gate z: keep or replace, per number" if stage == 1 else
             "the reset gate r: how much of the old state the candidate sees")
    desc = ("h_t = z ⊙ h_{t−1} + (1 − z) ⊙ n_t: between the old state (z = 1) and the candidate n_t (z = 0), "
            "number by number." if stage == 1 else
            "n_t = tanh(... x_t ... + r ⊙ (old state)): with r near 0 the candidate is computed as if from a "
            "fresh start.")
    d = Drawing(660, 290, f"The GRU cell, step {stage} of 2: {title}", desc)
    top, gy, bus = 60, 205, 266
    mix = (440, top)
    nx, zx, rx = 320, 540, 190
    new = lambda k: FWD if k == stage else INK  # noqa: E731
    d.text(36, top, "h_{t−1}", 17, math=True)
    d.polyline([(72, top), (mix[0] - 90, top)], INK, 2.2, arrow=True)
    d.box(mix[0] - 90, top - 24, 180, 48, "z ⊙ h_{t−1} + (1 − z) ⊙ n_t", size=15, math=True, fill=ACCENT[2],
          stroke=new(1))
    d.polyline([(mix[0] + 90, top), (606, top)], INK, 2.2, arrow=True)
    d.text(630, top, "h_t", 17, math=True)
    # the candidate
    d.box(nx - 32, 135 - 24, 64, 48, "n_t", sub="tanh", size=17, math=True, fill=ACCENT[1])
    d.polyline([(nx, 111), (nx, top + 40), (mix[0] - 60, top + 40), (mix[0] - 60, top + 26)], new(1), 2,
               arrow=True)
    # the update gate
    d.box(zx - 30, gy - 24, 60, 48, "z_t", sub="σ", size=17, math=True, fill=ACCENT[0])
    d.polyline([(zx, gy - 24), (zx, top + 40), (mix[0] + 60, top + 40), (mix[0] + 60, top + 26)], new(1), 2,
               arrow=True)
    if stage == 1:
        d.text(270, 180, "z = 1: keep the old number", 14, anchor="end", color=FWD)
        d.text(270, 200, "z = 0: take the candidate's", 14, anchor="end", color=FWD)
    # what the gates read
    d.text(36, bus, "h_{t−1}, x_t", 16, math=True, anchor="start")
    d.polyline([(130, bus), (zx, bus)], INK, 1.8)
    d.polyline([(zx, bus), (zx, gy + 24)], INK, 1.8, arrow=True)
    d.polyline([(nx, bus), (nx, 159)], INK, 1.8, arrow=True)
    d.text(nx + 6, 228, "x_t", 14, math=True, anchor="start")
    if stage == 2:
        d.op(rx, 135, "⊙", 16)
        d.polyline([(110, top), (110, 135), (rx - 16, 135)], FWD, 2, arrow=True)
        d.polyline([(rx + 16, 135), (nx - 32, 135)], FWD, 2, arrow=True)
        d.box(rx - 30, gy - 24, 60, 48, "r_t", sub="σ", size=17, math=True, fill=ACCENT[3], stroke=FWD)
        d.polyline([(rx, gy - 24), (rx, 151)], FWD, 2, arrow=True)
        d.polyline([(rx, bus), (rx, gy + 24)], FWD, 1.8, arrow=True)
        d.text(rx + 10, 112, "r ⊙ old state", 14, anchor="start", color=FWD)
        d.text(rx - 40, 160, "r = 0:", 14, anchor="end", color=FWD)
        d.text(rx - 40, 180, "forget it", 14, anchor="end", color=FWD)
    else:
        d.text(nx + 40, 135, "the candidate", 14, anchor="start", color=NOTE)
    return d


for _stage in (1, 2):
    DIAGRAMS[f"gru_idea_{_stage}"] = lambda out, _s=_stage: _gru_idea(_s)


# ====================================================================== GRU
@diagram
def gru_cells(out):
    d = Drawing(500, 980, "The GRU's two forms: reset after and reset before the recurrent matrix",
                "Left, reset after (PyTorch, cuDNN, Cho et al. arXiv v1): r multiplies h_{t-1} W_hn + b_hn, "
                "so all three hidden products are one GEMM. Right, reset before (Cho et al. v3, report B): "
                "r multiplies h_{t-1} before W_hn, so that product waits for r.")

    def panel(x0, after):
        title = "reset after: n = tanh(a_n^x + r ⊙ (h W_{hn}ᵀ + b_{hn}))" if after else \
            "reset before: n = tanh(a_n^x + (r ⊙ h) W_{hn}ᵀ + b_{hn})"
        d.text(x0 + 245, 20, "(a) " + title if after else "(b) " + title, 13, math=True, bold=False)
        # inputs
        d.text(x0 + 20, 430, "x_t", 16, math=True)
        d.text(x0 + 20, 90, "h_{t−1}", 16, math=True)
        d.box(x0 + 50, 360, 150, 40, "x_t W_{ih}ᵀ + b_{ih}", size=13, math=True)
        d.fwd((x0 + 20, 418), (x0 + 20, 380), (x0 + 50, 380))
        hb_label = "h W_{hh}ᵀ + b_{hh}  (r, z, n)" if after else "h W_{hr,hz}ᵀ + b_{hr,hz}  (r, z)"
        d.box(x0 + 50, 250, 170, 40, hb_label, size=12.5, math=True)
        d.fwd((x0 + 20, 102), (x0 + 20, 270), (x0 + 50, 270))
        # gates
        d.box(x0 + 260, 298, 50, 40, "r", sub="σ", size=16, math=True, fill=ACCENT[0])
        d.box(x0 + 330, 298, 50, 40, "z", sub="σ", size=16, math=True, fill=ACCENT[1])
        d.fwd((x0 + 200, 372), (x0 + 285, 372), (x0 + 285, 336))
        d.fwd((x0 + 200, 380), (x0 + 355, 380), (x0 + 355, 336))
        d.fwd((x0 + 220, 262), (x0 + 270, 262), (x0 + 270, 300))
        d.fwd((x0 + 220, 268), (x0 + 340, 268), (x0 + 340, 300))
        # candidate
        if after:
            d.op(x0 + 285, 200, "⊙", 15)
            d.fwd((x0 + 285, 300), (x0 + 285, 216))
            d.fwd((x0 + 135, 250), (x0 + 135, 200), (x0 + 269, 200))
            d.text(x0 + 60, 186, "ĝ = h W_{hn}ᵀ + b_{hn}", 12.5, math=True, color=FWD, anchor="start")
            d.op(x0 + 285, 150, "+", 15)
            d.fwd((x0 + 285, 184), (x0 + 285, 166))
        else:
            d.op(x0 + 110, 200, "⊙", 15)
            d.fwd((x0 + 20, 200), (x0 + 94, 200))
            d.fwd((x0 + 285, 300), (x0 + 285, 232), (x0 + 110, 232), (x0 + 110, 216))
            d.box(x0 + 150, 182, 120, 36, "(r⊙h) W_{hn}ᵀ + b_{hn}", size=12, math=True)
            d.fwd((x0 + 126, 200), (x0 + 150, 200))
            d.op(x0 + 285, 150, "+", 15)
            d.fwd((x0 + 270, 200), (x0 + 285, 200), (x0 + 285, 166))
            d.text(x0 + 60, 452, "(r ⊙ h) W_{hn}ᵀ waits for r: its own GEMM", 12, color=NOTE, anchor="start",
                   math=False)
        d.fwd((x0 + 210, 360), (x0 + 210, 342), (x0 + 240, 342), (x0 + 240, 150), (x0 + 269, 150))
        d.text(x0 + 236, 330, "a_n^x", 12, math=True, color=FWD, anchor="end")
        d.op(x0 + 285, 100, "tanh", 18, size=15)
        d.fwd((x0 + 285, 134), (x0 + 285, 118))
        d.text(x0 + 310, 78, "n_t", 14, math=True, color=FWD)
        # interpolation
        d.box(x0 + 340, 70, 120, 40, "n + z ⊙ (h − n)", size=13, math=True, fill=ACCENT[2])
        d.fwd((x0 + 303, 100), (x0 + 340, 100))
        d.fwd((x0 + 20, 78), (x0 + 20, 50), (x0 + 400, 50), (x0 + 400, 70))
        d.fwd((x0 + 380, 300), (x0 + 380, 240), (x0 + 430, 240), (x0 + 430, 110))
        d.fwd((x0 + 460, 90), (x0 + 478, 90))
        d.text(x0 + 462, 122, "h_t", 15, math=True, anchor="start")

    # the two panels one above the other, so that the figure keeps its size in the text column
    panel(0, True)
    d.polyline([(10, 478), (490, 478)], GREY, 1, "2,4")
    d.items.append('<g transform="translate(0 470)">')
    panel(0, False)
    d.items.append("</g>")
    d.text(250, 948, "the hidden product of the n block: after r (a) it can join the r and z", 12.5, color=NOTE)
    d.text(250, 966, "products in one GEMM; before r (b) it cannot", 12.5, color=NOTE)
    return d


# ====================================================================== deep / bidirectional
@diagram
def bidirectional_lengths(out):
    T, length = 6, 4
    words = ["the", "film", "was", "great", "<pad>", "<pad>"]
    d = Drawing(900, 470, "A bidirectional layer on a padded sequence",
                f"A review of {length} tokens padded to {T}. The forward direction reads x_1..x_{length} and "
                f"its h_n is the state after x_{length}; the reverse direction reads x_{length}..x_1, reversed "
                "within the sequence's own length, and its h_n is the state after x_1. Outputs at padded "
                "steps are zero and receive no gradient.")
    w, gap, x0 = 108, 14, 128
    xs = [x0 + k * (w + gap) for k in range(T)]
    y_in, y_f, y_r, y_out = 350, 250, 160, 60
    for yy, label in ((y_in, "input"), (y_f, "forward"), (y_r, "reverse"), (y_out - 8, "output")):
        d.text(8, yy, label, 13, color=FWD if yy in (y_f, y_r) else INK, bold=True, anchor="start")
    d.text(8, y_out + 14, "(T, B, 2H)", 11, color=NOTE, anchor="start")
    for k, x in enumerate(xs):
        real = k < length
        fill = LIGHT if real else PAD
        d.box(x, y_in - 18, w, 36, f"x_{k + 1}: {words[k]}" if real else words[k], size=13, fill=fill,
              math=False)
        # the states h_n returns: forward after the last real token, reverse after the first
        hn_f, hn_r = k == length - 1, k == 0
        d.box(x + 10, y_f - 20, w - 20, 40, "LSTM→" if real else "", size=12.5,
              fill=ACCENT[0] if hn_f else fill, dash=None if real else "4,3")
        d.box(x + 10, y_r - 20, w - 20, 40, "←LSTM" if real else "", size=12.5,
              fill=ACCENT[0] if hn_r else fill, dash=None if real else "4,3")
        if real:
            d.fwd((x + 30, y_in - 18), (x + 30, y_f + 20))
            d.polyline([(x + 70, y_in - 18), (x + 70, y_in - 40), (x + 98, y_in - 40), (x + 98, y_r + 30),
                        (x + 70, y_r + 30), (x + 70, y_r + 20)], FWD, 1.4, None, True)
            d.box(x + 2, y_out - 18, w - 4, 36, f"[→h_{k + 1}, ←h_{k + 1}]", size=12.5, math=True)
            d.fwd((x + 24, y_f - 20), (x + 24, y_f - 40), (x + 4, y_f - 40), (x + 4, y_r - 32), (x + 30, y_r - 32),
                  (x + 30, y_out + 18))
            d.fwd((x + 60, y_r - 20), (x + 60, y_out + 18))
        else:
            d.box(x + 2, y_out - 18, w - 4, 36, "0 (padding)", size=12, fill=PAD)
        if k + 1 < length:
            d.fwd((x + w - 10, y_f), (xs[k + 1] + 10, y_f))
            d.fwd((xs[k + 1] + 10, y_r), (x + w - 10, y_r))
    d.rect(20, 398, 26, 18, fill=ACCENT[0], rx=3)
    d.text(56, 407, f"h_n: the forward state after x_{length}, the reverse state after x_1 "
           "(both are real tokens)", 12, anchor="start")
    d.text(450, 436, f"rev(x)_t = x_{{ℓ−1−t}} for t < ℓ (ℓ = {length}), padding left in place:", 12.5,
           color=NOTE)
    d.text(450, 456, "the reverse direction starts on the last real token, never on padding", 12.5, color=NOTE)
    return d


@diagram
def stacked_layers(out):
    d = Drawing(880, 380, "A two-layer bidirectional stack with dropout between the layers",
                "Layer 1 reads the input; its output, both directions concatenated, passes through "
                "dropout (training only) and is layer 2's input. The final states are laid out "
                "(layers times directions, B, H), index layer times 2 plus direction. Backward runs "
                "the layers in reverse and applies the same dropout mask.")
    y1, y2, ytop = 250, 120, 30
    d.box(40, 320, 200, 40, "x  (T, B, D)", size=14, math=True)
    for (y, layer) in ((y1, 0), (y2, 1)):
        d.box(300, y - 22, 150, 44, f"layer {layer}: →", size=13.5, fill=ACCENT[1])
        d.box(470, y - 22, 150, 44, f"layer {layer}: ←", size=13.5, fill=ACCENT[0])
        d.text(700, y - 10, f"h_n[{2 * layer}] = layer {layer} →", 12.5, anchor="start", color=FWD)
        d.text(700, y + 10, f"h_n[{2 * layer + 1}] = layer {layer} ←", 12.5, anchor="start", color=FWD)
        d.fwd((620, y), (690, y))
    d.fwd((140, 320), (140, y1), (300, y1))
    d.fwd((140, y1), (140, y1 + 36), (545, y1 + 36), (545, y1 + 22))
    d.box(270, 172, 380, 30, "concat (T, B, 2H) → dropout p (training only)", size=12.5,
          fill="#ffffff", dash="4,3")
    d.fwd((375, y1 - 22), (375, 202))
    d.fwd((545, y1 - 22), (545, 202))
    d.fwd((375, 172), (375, y2 + 22))
    d.fwd((545, 172), (545, y2 + 22))
    d.box(270, ytop - 14, 380, 30, "output: concat (T, B, 2H), no dropout after it", size=12.5,
          fill=LIGHT)
    d.fwd((375, y2 - 22), (375, ytop + 16))
    d.fwd((545, y2 - 22), (545, ytop + 16))
    d.bwd((662, ytop + 4), (662, 290))
    d.text(270, 314, "backward: layer 1's BPTT, then the same mask m, then layer 0's;", 12.5, anchor="start",
           color=BWD)
    d.text(270, 336, "in each layer the two directions' input gradients add", 12.5, anchor="start", color=BWD)
    d.text(270, 358, "(both read the same input)", 12.5, anchor="start", color=BWD)
    return d


# ====================================================================== convolution
def _im2col_indices(Hh, Ww, k, stride=1):
    """Row m = (h, w) of the output, column q = (i, j): the index of the input pixel read."""
    Ho, Wo = (Hh - k) // stride + 1, (Ww - k) // stride + 1
    rows = []
    for h in range(Ho):
        for w in range(Wo):
            rows.append([(h * stride + i) * Ww + (w * stride + j) for i in range(k) for j in range(k)])
    return np.array(rows), Ho, Wo


@diagram
def im2col(out):
    Hh = Ww = 4
    k = 3
    idx, Ho, Wo = _im2col_indices(Hh, Ww, k)
    counts = np.bincount(idx.ravel(), minlength=Hh * Ww).reshape(Hh, Ww)
    d = Drawing(900, 450, "im2col copies each patch into a row; col2im adds each row back",
                f"A {Hh}x{Ww} input, one channel, a {k}x{k} kernel, stride 1: {Ho * Wo} patches become the "
                f"{Ho * Wo} rows of cols ({Ho * Wo} x {k * k}). The convolution is one product cols times W "
                "transposed. col2im adds every column block back where it was read, so a pixel read by n "
                "patches receives n gradient terms (the counts on the right).")
    c = 40
    x0, y0 = 30, 66
    colors = ACCENT[:4]
    d.text(x0 + 2 * c, 24, "input x, pixels numbered", 13)
    for r in range(Hh):
        for q in range(Ww):
            d.rect(x0 + q * c, y0 + r * c, c, c, fill="#ffffff", stroke=INK, rx=0, width=1)
            d.text(x0 + q * c + c / 2, y0 + r * c + c / 2, str(r * Ww + q), 13)
    for m in range(Ho * Wo):
        h, w = divmod(m, Wo)
        off = 3 + 2 * m
        d.rect(x0 + w * c + off, y0 + h * c + off, k * c - 2 * off, k * c - 2 * off, fill="none", stroke=colors[m],
               rx=3, width=2.6)
    d.fwd((x0 + 4 * c + 8, y0 + 2 * c), (x0 + 4 * c + 52, y0 + 2 * c))
    d.text(x0 + 4 * c + 30, y0 + 2 * c - 16, "im2col", 12.5, color=FWD)
    cx, cy, cc = 250, 66, 34
    d.text(cx + k * k * cc / 2, 46, f"cols ({Ho * Wo} × {k * k}): row m = patch m, column q = offset (i, j)", 13)
    for m in range(Ho * Wo):
        for q in range(k * k):
            d.rect(cx + q * cc, cy + m * cc, cc, cc, fill=colors[m], stroke=INK, rx=0, width=0.8, opacity=0.55)
            d.text(cx + q * cc + cc / 2, cy + m * cc + cc / 2, str(idx[m, q]), 12)
    d.text(cx + k * k * cc / 2, cy + Ho * Wo * cc + 24, "Y = cols · K̂ᵀ + b :  (4 × 9) · (9 × O) = (4 × O), "
           "one GEMM", 13.5, math=True, color=FWD)
    # col2im: counts
    x2, y2 = 650, 280
    d.text(x2 + 2 * c, y2 - 36, "col2im(ones):", 13, color=BWD)
    d.text(x2 + 2 * c, y2 - 16, "gradient terms per pixel", 13, color=BWD)
    for r in range(Hh):
        for q in range(Ww):
            v = int(counts[r, q])
            d.rect(x2 + q * c, y2 + r * c, c, c, fill="#fbe3e0" if v > 1 else "#ffffff", stroke=BWD, rx=0,
                   width=1)
            d.text(x2 + q * c + c / 2, y2 + r * c + c / 2, str(v), 13, color=BWD)
    d.bwd((cx + k * k * cc + 6, cy + 2 * cc), (620, cy + 2 * cc), (620, y2 + 2 * c), (x2 - 4, y2 + 2 * c))
    lines = [("backward: dcols = Ȳ K̂, then col2im:", BWD),
             ("x̄[pixel] = sum of dcols over every (patch, offset) that read it", BWD),
             ("for a fixed offset (i, j), the pixels read by all patches form", NOTE),
             ("one strided slice: k_h·k_w vectorised adds, no loop over pixels", NOTE),
             (f"the centre pixels are read by {counts.max()} patches, the corners by {counts.min()}", NOTE)]
    for j, (line, color) in enumerate(lines):
        d.text(20, 290 + 24 * j + (8 if j >= 2 else 0), line, 13, anchor="start", color=color)
    return d


@diagram
def batchnorm_graph(out):
    d = Drawing(920, 340, "The computational graph of batch normalisation (one channel, training mode)",
                "x feeds the mean and the centred value d; d feeds both the variance and x hat; each such "
                "reuse adds gradients. The backward collapses to x bar = gamma r (y bar - mean(y bar) - "
                "x hat mean(y bar x hat)).")
    d.items.append('<g transform="translate(0 -60)">')  # the graph's top row sits at y = 90
    nodes = {"x": (50, 200)}
    d.text(*nodes["x"], "x", 18, math=True)
    d.box(130, 90, 104, 40, "μ = mean x", size=12.5, math=True)
    d.box(262, 180, 96, 40, "d = x − μ", size=12.5, math=True)
    d.box(385, 90, 128, 40, "σ² = mean d²", size=12.5, math=True)
    d.box(530, 90, 146, 40, "r = (σ² + ε)^{−½}", size=12.5, math=True)
    d.box(560, 230, 100, 40, "x̂ = d · r", size=13, math=True)
    d.box(705, 230, 118, 40, "y = γ x̂ + β", size=13, math=True)
    d.fwd((62, 196), (130, 118))
    d.fwd((62, 204), (262, 204))
    d.fwd((234, 110), (248, 110), (248, 190), (262, 190))
    d.fwd((358, 192), (372, 192), (372, 110), (385, 110))
    d.fwd((358, 206), (560, 244))
    d.fwd((513, 110), (530, 110))
    d.fwd((610, 130), (610, 230))
    d.fwd((660, 250), (705, 250))
    d.fwd((823, 250), (845, 250))
    d.text(865, 250, "y", 18, math=True)
    d.text(764, 198, "γ, β", 14, math=True)
    d.fwd((764, 210), (764, 230))
    # backward notes
    d.text(745, 300, "β̄ = Σ ȳ,  γ̄ = Σ ȳ ⊙ x̂,  g = γ ȳ", 13.5, math=True, color=BWD)
    d.text(40, 250, "x used twice:", 12, color=BWD, anchor="start")
    d.text(40, 270, "x̄ = (via d) + (via μ)", 12, color=BWD, anchor="start", math=True)
    d.text(382, 158, "d used twice:", 12, color=BWD, anchor="start")
    d.text(382, 178, "d̄ = g r + (via σ²)", 12, color=BWD, anchor="start", math=True)
    d.bwd((845, 264), (823, 264))
    d.bwd((705, 264), (660, 264))
    d.bwd((560, 258), (360, 222))
    d.bwd((262, 214), (62, 214))
    d.text(460, 345, "x̄ = γ r ( ȳ − mean(ȳ) − x̂ · mean(ȳ ⊙ x̂) ),   r = 1/√(σ² + ε)", 16, math=True, color=BWD)
    d.text(460, 372, "two reductions per channel, both already needed for β̄ and γ̄", 12.5, color=NOTE)
    d.items.append("</g>")
    return d


@diagram
def basic_block(out):
    d = Drawing(850, 300, "A residual BasicBlock: the ReLU comes after the sum",
                "F(x) is conv, BN, ReLU, conv, BN; the shortcut S is the identity or a 1x1 conv with BN; "
                "u = F(x) + S(x); y = ReLU(u). Backward: u bar = y bar times [u > 0], handed unchanged to "
                "both branches; x bar = J_F transpose u bar + J_S transpose u bar.")
    y = 170
    xs = [("conv 3×3", 90), ("BN", 200), ("ReLU", 290), ("conv 3×3", 380), ("BN", 490)]
    d.text(40, y, "x", 18, math=True)
    d.fwd((52, y), (90, y))
    for k, (name, x) in enumerate(xs):
        wbox = 90 if name.startswith("conv") else 70
        d.box(x, y - 22, wbox, 44, name, size=13.5, fill=ACCENT[1] if name.startswith("conv") else
              ACCENT[2] if name == "BN" else ACCENT[0])
        if k + 1 < len(xs):
            d.fwd((x + wbox, y), (xs[k + 1][1], y))
    d.fwd((560, y), (600, y))
    d.op(616, y, "+", 16)
    d.box(660, y - 22, 70, 44, "ReLU", size=13.5, fill=ACCENT[0])
    d.fwd((632, y), (660, y))
    d.fwd((730, y), (790, y))
    d.text(806, y, "y", 18, math=True)
    d.text(645, y - 32, "u", 15, math=True, color=FWD)
    d.fwd((70, y), (70, 66), (616, 66), (616, y - 16))
    d.text(340, 22, "shortcut S(x): identity, or 1×1 conv + BN", 15, color=FWD)
    d.text(340, 44, "when the width or the resolution changes", 15, color=FWD)
    d.text(325, y + 38, "F(x)", 15, math=True, color=FWD)
    # backward
    d.bwd((790, y + 14), (730, y + 14))
    d.text(760, y + 58, "ū = ȳ ⊙ [u > 0]", 14, math=True, color=BWD)
    d.bwd((600, y + 14), (560, y + 14))
    d.bwd((604, 82), (604, 80), (82, 80), (82, y - 24))
    d.text(330, 100, "ū, unchanged", 15, color=BWD)
    d.text(425, 262, "x̄ = J_Fᵀ ū + ū  (identity shortcut): the two branches' input gradients add", 14,
           math=True, color=BWD)
    d.text(425, 286, "ū itself is already cut where u ≤ 0 by the ReLU after the sum", 12.5, color=NOTE)
    return d


# ====================================================================== making it fast
@diagram
def loop_hoisting(out):
    d = Drawing(920, 390, "What runs before, inside and after the time loop of a fused recurrent layer",
                "Forward: one GEMM projects all T inputs before the loop; each step does one small GEMM and "
                "the gate arithmetic. Backward: the local derivatives for a block of steps at once, a "
                "reverse loop with one small GEMM per step, then three big GEMMs after it.")
    T = 8
    y1, y2 = 80, 250
    step, bw = 66, 58
    d.text(30, y1 - 40, "forward", 14, bold=True, color=FWD, anchor="start")
    d.box(20, y1 - 20, 180, 40, "A = X W_{ih}ᵀ + b", size=13.5, math=True, fill=ACCENT[1], sub=None)
    d.text(110, y1 + 36, "one GEMM, all T steps", 12, color=NOTE)
    for t in range(T):
        x = 230 + t * step
        d.box(x, y1 - 20, bw, 40, f"t={t + 1}", size=12.5)
        if t + 1 < T:
            d.fwd((x + bw, y1), (x + step, y1))
    d.fwd((200, y1), (230, y1))
    d.text(230, y1 + 60, "per step: z_t = A_t + h_{t−1} W_{hh}ᵀ (small GEMM)", 12, color=NOTE, anchor="start")
    d.text(230, y1 + 82, "+ gate arithmetic into preallocated buffers", 12, color=NOTE, anchor="start")
    d.text(30, y2 - 40, "backward", 14, bold=True, color=BWD, anchor="start")
    for t in range(T):
        x = 230 + (T - 1 - t) * step
        d.box(x, y2 - 20, bw, 40, f"t={t + 1}", size=12.5, fill="#fbe3e0")
        if t > 0:
            d.bwd((x, y2), (x - (step - bw), y2))
    for blk in range(2):
        xa = 230 + blk * 4 * step
        d.rect(xa - 4, y2 - 30, 4 * step - 2, 60, fill="none", stroke=GREY, rx=6, dash="3,3")
    d.text(230 + 2 * step * 2, y2 - 46, "local factors K_t, P_t for a block of steps at once (cache-sized)", 12,
           color=NOTE)
    d.box(790, y2 - 20, 110, 40, "3 GEMMs", size=13, fill=ACCENT[1])
    d.bwd((230, y2 + 30), (230, y2 + 50), (845, y2 + 50), (845, y2 + 20))
    d.text(460, y2 + 74, "after the loop:  X̄ = Z̄ W_{ih},  W̄_{ih} = Z̄ᵀ X,  W̄_{hh} = Z̄ᵀ H_{prev}: "
           "the sums over t as matrix products", 13, math=True, color=BWD)
    d.text(460, y2 + 98, "inside the reverse loop only what needs step t+1: a few elementwise products", 12.5,
           color=NOTE)
    d.text(460, y2 + 120, "and sums, and the small GEMM z̄_t W_{hh} that h̄_{t−1} adds", 12.5, color=NOTE)
    return d


# ====================================================================== end to end
@diagram
def classifier(out):
    d = Drawing(660, 360, "Report B's classifier end to end, forward and backward",
                "ids (B, T) go through Embedding to (T, B, E), the LSTM to the last real state (B, H), "
                "Linear, ReLU, Dropout, Linear to scores (B, 2), and cross-entropy to the loss. The "
                "backward calls each layer's backward in reverse, starting from the loss's gradient.")
    stages = [("ids", "(B, T)"), ("Embedding", "(T, B, E)"), ("LSTM", "h_n: (B, H)"), ("Linear", "(B, 64)"),
              ("ReLU", "(B, 64)"), ("Dropout", "(B, 64)"), ("Linear", "(B, 2)"), ("CE", "L: scalar")]
    w, gap, h = 112, 46, 48
    rows = (90, 220)  # the first four stages left to right, the last four right to left
    pos = []
    for k in range(len(stages)):
        row, col = divmod(k, 4)
        x = 20 + (col if row == 0 else 3 - col) * (w + gap)
        pos.append((x, rows[row]))
    for k, ((name, shape), (x, y)) in enumerate(zip(stages, pos)):
        fill = "#ffffff" if k == 0 else ACCENT[k % len(ACCENT)]
        d.box(x, y - h / 2, w, h, name, size=14, fill=fill)
        d.text(x + w / 2, y + h / 2 + 14, shape, 12.5, math=True, color=FWD)
    for k in range(len(stages) - 1):
        (xa, ya), (xb, yb) = pos[k], pos[k + 1]
        if ya == yb and xb > xa:  # left to right
            d.fwd((xa + w, ya - 8), (xb, yb - 8))
            d.bwd((xb, yb + 8), (xa + w, ya + 8))
        elif ya == yb:  # right to left
            d.fwd((xa, ya - 8), (xb + w, yb - 8))
            d.bwd((xb + w, yb + 8), (xa, ya + 8))
        else:  # down the right edge
            d.fwd((xa + w - 20, ya + h / 2 + 22), (xa + w - 20, yb - h / 2))
            d.bwd((xa + w + 8, yb - h / 2), (xa + w + 8, ya + h / 2))
    d.text(330, 28, "forward: each module pushes its cache", 13, color=FWD)
    d.text(330, 46, "(lengths pick each review's last real state; dropout draws its mask)", 12, color=NOTE)
    d.text(330, 300, "backward: CE, then Linear, Dropout (same mask), ReLU, Linear,", 13, color=BWD)
    d.text(330, 318, "the LSTM (a gradient on h_n only), the Embedding (a scatter-add, no input gradient)", 12,
           color=BWD)
    d.text(330, 342, "every module adds into its parameters' .grad; the optimizer steps them all", 12, color=NOTE)
    return d


# ====================================================================== initialisation
@diagram
def init_depth(out):
    rng = np.random.default_rng(0)
    width, depth, batch = 256, 20, 256
    x0 = rng.standard_normal((batch, width))

    def run(act, draw_w):
        h, stds = x0, []
        for _ in range(depth):
            h = act(h @ draw_w().T)
            stds.append(float(h.std()))
        return stds

    k = 1 / math.sqrt(width)
    tanh_runs = {
        "U(±1/√fan_{in}): PyTorch's Linear": run(np.tanh, lambda: rng.uniform(-k, k, (width, width))),
        "N(0, 1/fan_{in}) (Xavier-like)": run(np.tanh, lambda: rng.standard_normal((width, width)) * k),
        "N(0, 1): too large, saturates": run(np.tanh, lambda: rng.standard_normal((width, width))),
        "N(0, 0.01²): too small": run(np.tanh, lambda: 0.01 * rng.standard_normal((width, width))),
    }
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    relu_runs = {
        "Kaiming N(0, 2/fan_{in})": run(relu, lambda: rng.standard_normal((width, width)) * math.sqrt(2) * k),
        "U(±1/√fan_{in}): PyTorch's default": run(relu, lambda: rng.uniform(-k, k, (width, width))),
        "N(0, 1/fan_{in})": run(relu, lambda: rng.standard_normal((width, width)) * k),
    }
    d = Drawing(688, 640, "Activation scale through 20 layers for different initialisations",
                "Standard deviation of the activations after each of 20 layers of width 256, no "
                "normalisation. Top, tanh: too large a weight saturates the units, too small a weight "
                "shrinks the signal geometrically. Bottom, ReLU: only the Kaiming scale 2 / fan_in keeps it "
                "constant; PyTorch's default U(±1/√fan_{in}) shrinks it by about √6 per layer.")
    colors = [FWD, "#2e8b57", BWD, "#e67e22"]
    dashes = [None, "6,4", None, "2,3"]
    layers = np.arange(1, depth + 1)
    x0p = 80
    for runs, title, y0p in ((tanh_runs, "tanh layers", 0), (relu_runs, "ReLU layers", 330)):
        to = d.axes(x0p, y0p + 30, 580, 170, (1, depth), (-16, 1), "layer", "std (log₁₀)",
                    xticks=(1, 5, 10, 15, 20), yticks=(-15, -10, -5, 0), size=13)
        d.text(x0p + 290, y0p + 16, title, 14, bold=True)
        ly = y0p + 250
        for j, (label, stds) in enumerate(runs.items()):
            d.curve(to, layers, [math.log10(max(s, 1e-300)) for s in stds], colors[j], 2.2, dashes[j])
            d.polyline([(x0p, ly + j * 19), (x0p + 30, ly + j * 19)], colors[j], 2.2, dashes[j])
            d.text(x0p + 38, ly + j * 19, f"{label}: layer 20 std {stds[-1]:.1e}", 12.5, anchor="start",
                   color=colors[j])
    return d


# ====================================================================== text pipeline
@diagram
def text_pipeline(out):
    sys.path.insert(0, str(ROOT))
    from minidl.data.text import Vocabulary, encode, tokenize

    train = ["A great film, and a great cast.", "The plot was dull; the cast was great!",
             "Dull, dull, dull. I want my evening back."]
    review = "Great cast!<br /><br />But the plot? Dull, and the ending was great."
    vocab = Vocabulary.build([tokenize(t) for t in train], size=12)
    tokens = tokenize(review)
    ids, lengths = encode([review], vocab, max_len=8, truncate="pre")
    ids_post, _ = encode([review], vocab, max_len=8, truncate="post")
    d = Drawing(688, 430, "From a review to the ids the embedding reads",
                "The review is lower-cased, its HTML line breaks removed and split into word and "
                "punctuation tokens; each token becomes its vocabulary id (unk = 1 outside the "
                f"vocabulary of {len(vocab)} ids); the sequence is cut to its last max_len tokens and "
                "padded with 0 after them. Everything on this picture is computed by minidl.data.text.")
    d.text(20, 18, "raw", 13, bold=True, anchor="start")
    d.text(62, 18, review.replace("<", "‹").replace(">", "›"), 12, anchor="start", mono=True)
    d.text(20, 46, "tokenize", 13, bold=True, anchor="start")
    cw, gap = 7.4, 5
    widths = [max(24, cw * len(t) + 10) for t in tokens]
    x = 20
    for t, wbox in zip(tokens, widths):
        d.box(x, 58, wbox, 28, t, size=12.5, fill=LIGHT)
        x += wbox + gap
    d.text(20, 106, "lookup", 13, bold=True, anchor="start")
    x = 20
    full = vocab.lookup(tokens)
    for i, wbox in zip(full, widths):
        d.box(x, 118, wbox, 28, str(i), size=12.5, fill=PAD if i == 1 else ACCENT[0])
        x += wbox + gap
    d.text(20, 166, f"vocabulary: {len(vocab)} ids from 3 toy training reviews, most frequent first "
           "(unk = 1 for every other word):", 12, anchor="start", color=NOTE)
    pairs = [f"{w!r} {i}" for i, w in enumerate(vocab.itos)]
    half = (len(pairs) + 1) // 2
    d.text(20, 186, "  ".join(pairs[:half]), 12, anchor="start", color=NOTE, mono=True)
    d.text(20, 204, "  ".join(pairs[half:]), 12, anchor="start", color=NOTE, mono=True)
    L = len(tokens)
    rows = [("keep last 8 (truncate='pre')", ids[0], [ACCENT[0]] * 8,
             [f"length {int(lengths[0])}: the last 8 of {L} tokens", f"(drops the first {L - 8})"], FWD)]
    rows.append(("first 8 (truncate='post')", ids_post[0], [LIGHT] * 8,
                 ["keeps the opening instead", "(on IMDB, the clipped RNN scored lower)"], NOTE))
    short, slen = encode(["A dull film."], vocab, max_len=8)
    rows.append(("short review: 'A dull film.'", short[0], [ACCENT[0] if k < slen[0] else PAD for k in range(8)],
                 [f"length {int(slen[0])}, padded with 0", "after the tokens (pad='post')"], NOTE))
    for r, (label, row_ids, fills, notes, color) in enumerate(rows):
        y = 236 + r * 64
        d.text(20, y, label, 13, bold=True, anchor="start")
        for k, i in enumerate(row_ids):
            d.box(20 + k * 42, y + 12, 36, 28, str(int(i)), size=12.5, fill=fills[k])
        for j, note in enumerate(notes):
            d.text(20 + 8 * 42 + 10, y + 18 + 18 * j, note, 12, anchor="start", color=color)
    return d


# ====================================================================== data parallel
def _ring_allreduce_states(p):
    """Simulate the ring all-reduce on p ranks: which ranks' values each chunk holds."""
    state = [[{r} for _ in range(p)] for r in range(p)]
    snapshots = [("start", [[set(c) for c in row] for row in state])]
    for step in range(p - 1):  # reduce-scatter: send chunk r - step to the right, add it there
        sent = [(r, (r - step) % p, set(state[r][(r - step) % p])) for r in range(p)]
        for r, c, contrib in sent:
            state[(r + 1) % p][c] |= contrib
        snapshots.append((f"reduce-scatter {step + 1}", [[set(c) for c in row] for row in state]))
    for step in range(p - 1):  # all-gather: pass the finished chunks on, replacing
        sent = [(r, (r + 1 - step) % p, set(state[r][(r + 1 - step) % p])) for r in range(p)]
        for r, c, contrib in sent:
            state[(r + 1) % p][c] = contrib
        snapshots.append((f"all-gather {step + 1}", [[set(c) for c in row] for row in state]))
    assert all(c == set(range(p)) for row in state for c in row)
    return snapshots


@diagram
def data_parallel(out):
    N, shards = 7, (4, 3)
    d = Drawing(720, 450, "A data-parallel step on two ranks, and the ring all-reduce on three",
                "Top: a global batch of 7 is split 4 and 3 between two ranks; each computes the mean "
                "gradient of its shard; the all-reduce adds the gradients weighted by n_r / N, which is "
                "exactly the gradient of the whole batch, on both ranks; both take the same step. "
                "Bottom: which ranks' values each chunk holds after each step of the ring all-reduce on "
                "three ranks (computed by simulating it).")
    d.text(20, 20, f"one step, global batch N = {N} on 2 ranks", 14, anchor="start", bold=True)
    x = 20
    for r, n in enumerate(shards):
        for _ in range(n):
            d.box(x, 40, 26, 26, "", fill=ACCENT[r], rx=3)
            x += 30
        x += 10
    for r, n in enumerate(shards):
        y = 100 + r * 60
        d.box(20, y, 150, 40, f"rank {r}: {n} samples", size=13, fill=ACCENT[r])
        d.box(195, y, 205, 40, f"g_{r} = mean of its {n} gradients", size=12.5, math=False)
        d.fwd((170, y + 20), (195, y + 20))
        d.fwd((400, y + 20), (415, y + 20), (415, 150), (430, 150))
    d.box(430, 125, 150, 50, "Σ_r (n_r/N) g_r", size=14, math=True, fill=LIGHT)
    d.text(505, 188, "all-reduce (one buffer)", 12, color=NOTE)
    d.box(610, 100, 100, 40, "same ∇L", size=13)
    d.box(610, 160, 100, 40, "same ∇L", size=13)
    d.fwd((580, 145), (595, 145), (595, 120), (610, 120))
    d.fwd((580, 155), (595, 155), (595, 180), (610, 180))
    d.text(360, 222, f"({shards[0]}/{N})·g_0 + ({shards[1]}/{N})·g_1 = (1/{N}) Σ of all {N} gradients: the "
           "big-batch gradient, exactly", 12.5, color=FWD)
    # the ring
    snaps = _ring_allreduce_states(3)
    d.text(20, 262, "the ring all-reduce, p = 3: chunk j of each rank holds the sum over these ranks", 14,
           anchor="start", bold=True)
    cw, ch = 34, 22
    for k, (title, state) in enumerate(snaps):
        x0, y0 = 24 + k * 138, 300
        d.text(x0 + 52, y0 - 12, title, 11, color=NOTE)
        for r in range(3):
            d.text(x0 - 2, y0 + r * ch + ch / 2, str(r), 10, anchor="end", color=NOTE)
            for j in range(3):
                full = state[r][j] == {0, 1, 2}
                d.rect(x0 + 4 + j * cw, y0 + r * ch, cw, ch, fill="#cde8c4" if full else "#ffffff", stroke=GREY,
                       rx=0, width=0.8)
                d.text(x0 + 4 + j * cw + cw / 2, y0 + r * ch + ch / 2,
                       "all" if full else "+".join(str(i) for i in sorted(state[r][j])), 10.5)
    d.text(360, 392, "rows: ranks; columns: the vector's 3 chunks. Each step every rank sends one chunk "
           "(n/p numbers) to its right", 12, color=NOTE)
    d.text(360, 410, "neighbour: p − 1 steps add (reduce-scatter), p − 1 steps copy the finished chunks "
           "(all-gather)", 12, color=NOTE)
    d.text(360, 434, "2(p − 1) messages of n/p numbers per rank: the bandwidth term 2(p − 1)/p · n/β barely "
           "grows with p", 12, color=FWD)
    return d


# ====================================================================== main
# ====================================================================== the GPU
def _recorded_ufuncs(fn, names):
    """Run ``fn`` on small NumPy arrays named ``names`` that log every ufunc applied to them:
    ``[(ufunc name, input labels, output labels)]`` in call order (what CuPy launches one by one)."""
    log = []

    class Named(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
            def label(a):
                return a.label if isinstance(a, Named) else num(float(a))

            def plain(a):
                return a.view(np.ndarray) if isinstance(a, Named) else a

            log.append((ufunc.__name__, [label(a) for a in inputs], [label(o) for o in out]))
            getattr(ufunc, method)(*(plain(a) for a in inputs), out=tuple(plain(o) for o in out), **kwargs)
            return out[0]

    arrays = []
    for name in names:
        a = np.full(3, 0.5).view(Named)
        a.label = name
        arrays.append(a)
    fn(*arrays)
    return log


@diagram
def fused_kernel(out):
    sys.path.insert(0, str(ROOT))
    import inspect

    from minidl.functional.lstm import _cell_update

    plain = _cell_update.plain
    names = list(inspect.signature(plain).parameters)
    log = _recorded_ufuncs(plain, names)
    sym = {"multiply": "·", "add": "+", "subtract": "−"}
    written, first_reads = [], []
    for _, ins, outs in log:  # the fused kernel reads what is read before it is written
        first_reads += [a for a in ins if a in names and a not in written and a not in first_reads]
        written += [o for o in outs if o not in written]
    n_reads = sum(sum(a in names for a in ins) for _, ins, _ in log)
    n_writes = sum(len(outs) for _, _, outs in log)
    esc = lambda v: v.replace("_", "\\_")  # noqa: E731  (a plain underscore, not a subscript)
    w = 920
    d = Drawing(w, 360, "One LSTM cell update on a GPU: a kernel per operation, or one fused kernel",
                f"Unfused, _cell_update is {len(log)} kernel launches, each reading its inputs from GPU memory "
                f"and writing its output back ({n_reads} reads and {n_writes} writes of B·H numbers). Fused by "
                f"cupy.fuse, it is one launch that reads {len(first_reads)} arrays and writes {len(written)}.")
    d.text(30, 30, f"unfused: {len(log)} kernels, one per line of {esc('_cell_update')}", 14, bold=True,
           anchor="start")
    mem_y, step = 170, (w - 60) / len(log)
    for k, (ufunc, ins, outs) in enumerate(log):
        x = 30 + k * step
        arrays_in = [a for a in ins if a in names]
        expr = f"{ufunc} {esc(ins[0])}" if len(ins) == 1 else f" {sym.get(ufunc, ufunc)} ".join(esc(a) for a in ins)
        d.box(x + 4, 50, step - 8, 54, f"{esc(outs[0])} ←", size=13, sub=expr, fill=ACCENT[1])
        d.line(x + step * 0.32, mem_y, x + step * 0.32, 106, color=FWD)
        d.text(x + step * 0.32 - 5, 136, f"{len(arrays_in)}", 11.5, anchor="end", color=FWD)
        d.line(x + step * 0.68, 106, x + step * 0.68, mem_y, color=INK)
        d.text(x + step * 0.68 + 5, 136, f"{len(outs)}", 11.5, anchor="start", color=INK)
    d.rect(30, mem_y, w - 60, 36, fill=LIGHT, stroke=GREY)
    d.text(w / 2, mem_y + 18, f"GPU memory: {', '.join(esc(n) for n in names)}, each B·H numbers", 13)
    d.text(30, 226, "fused: 1 kernel (cupy.fuse of the same function)", 14, bold=True, anchor="start")
    d.line(w * 0.3, mem_y + 36, w * 0.3, 266, color=FWD)
    d.text(w * 0.3 - 8, 252, f"reads {', '.join(esc(a) for a in first_reads)}: {len(first_reads)}", 12,
           anchor="end", color=FWD)
    d.line(w * 0.7, 266, w * 0.7, mem_y + 36, color=INK)
    d.text(w * 0.7 + 8, 252, f"writes {', '.join(esc(a) for a in written)}: {len(written)}", 12, anchor="start",
           color=INK)
    d.box(60, 268, w - 120, 50, "per element k, in registers: every line above, in order", size=13,
          sub=f"{len(log)} launches → 1;  {n_reads + n_writes} passes of B·H numbers → "
              f"{len(first_reads) + len(written)}", fill=ACCENT[0])
    d.text(w / 2, 340, "blue: arrays read from memory;  black: arrays written to memory (how many: beside "
           "each arrow)", 12, color=NOTE)
    return d


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=OUT)
    ap.add_argument("names", nargs="*", help="only these diagrams")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, fn in DIAGRAMS.items():
        if args.names and name not in args.names:
            continue
        fn(args.out).save(args.out, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
