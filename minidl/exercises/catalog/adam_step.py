"""Exercise ``adam_step``: one Adam update with bias correction (reference: minidl.optim.Adam,
stepped from a given state). Not a gradient: no finite differences, the reference decides."""

import numpy as np

from ...module import Parameter
from ...optim import Adam
from ..spec import Case, Exercise, Mutant

__all__ = ["EXERCISE"]

SHAPES = ((3, 4), (5,), (2, 3), (4, 2))
STEPS = (1, 2, 5, 10)  # t = 1: m = v = 0, Adam's first step


def make_case(rng, i):
    shape, t = SHAPES[i % len(SHAPES)], STEPS[i % len(STEPS)]
    param, grad = rng.standard_normal(shape), rng.standard_normal(shape)
    if t == 1:
        m, v = np.zeros(shape), np.zeros(shape)
    else:  # a state as after t − 1 steps: m of the gradients' size, v of their squares'
        m, v = 0.5 * rng.standard_normal(shape), rng.uniform(0.1, 1.0, shape)
    lr, (beta1, beta2) = float(rng.choice([0.01, 0.05, 0.1])), ((0.9, 0.999), (0.8, 0.99))[i % 2]
    return Case(args={"param": param, "grad": grad, "m": m, "v": v, "t": t, "lr": lr, "beta1": beta1,
                      "beta2": beta2, "eps": 1e-8})


def reference(case):
    a = case.args
    p = Parameter(a["param"].copy())
    p.grad = a["grad"].copy()
    opt = Adam([p], lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"])
    opt.step_count = a["t"] - 1
    opt.state[0] = {"exp_avg": a["m"].copy(), "exp_avg_sq": a["v"].copy()}
    opt.step()
    return p.data, opt.state[0]["exp_avg"], opt.state[0]["exp_avg_sq"]


def _moments(a):
    m = a["beta1"] * a["m"] + (1 - a["beta1"]) * a["grad"]
    v = a["beta2"] * a["v"] + (1 - a["beta2"]) * a["grad"] ** 2
    return m, v


def terms(case):
    a = case.args
    param = reference(case)[0]
    m, v = _moments(a)
    uncorrected = a["param"] - a["lr"] * m / (np.sqrt(v) + a["eps"])
    return {"param": {"bias correction (m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ))": param - uncorrected,
                      "−η·m̂/(√v̂ + ε) (the update)": param - a["param"]},
            "m": {"β₁·m": a["beta1"] * a["m"], "(1 − β₁)·g": (1 - a["beta1"]) * a["grad"]},
            "v": {"β₂·v": a["beta2"] * a["v"], "(1 − β₂)·g²": (1 - a["beta2"]) * a["grad"] ** 2}}


# ---------------------------------------------------------------- typical wrong solutions
def no_bias_correction(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments({"m": m, "v": v, "grad": grad, "beta1": beta1, "beta2": beta2})
    return param - lr * m / (np.sqrt(v) + eps), m, v


def ascent(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments({"m": m, "v": v, "grad": grad, "beta1": beta1, "beta2": beta2})
    return param + lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def forgets_m(param, grad, m, v, t, lr, beta1, beta2, eps):  # m = (1 − β₁) g: no memory
    m = (1 - beta1) * grad
    _, v = _moments({"m": 0, "v": v, "grad": grad, "beta1": beta1, "beta2": beta2})
    return param - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def v_of_g_not_g2(param, grad, m, v, t, lr, beta1, beta2, eps):
    m, _ = _moments({"m": m, "v": 0, "grad": grad, "beta1": beta1, "beta2": beta2})
    v = beta2 * v + (1 - beta2) * np.abs(grad)
    return param - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


EXERCISE = Exercise(
    name="adam_step",
    title="Adam: one update with bias correction",
    chapter="optimizers.md",
    outputs=("param", "m", "v"),
    make_case=make_case,
    reference=reference,
    terms=terms,
    mutants=(
        Mutant("no bias correction", no_bias_correction, ("param", "missing term: bias correction")),
        Mutant("θ + step", ascent, ("param", "the term −η·m̂/(√v̂ + ε) (the update) has the wrong sign")),
        Mutant("m forgets its past", forgets_m, ("m", "missing term: β₁·m")),
        Mutant("v averages |g|, not g²", v_of_g_not_g2, ("v", "values differ")),
    ),
)
