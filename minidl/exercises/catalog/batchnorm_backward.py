"""Exercise ``batchnorm_backward``: BatchNorm in training mode, (N, C) (reference:
functional/batchnorm.py). The three terms of dx are declared, so a dropped path through
the mean or the variance is named."""

import numpy as np

from ...functional.batchnorm import batch_norm_train_backward, batch_norm_train_forward
from ..spec import Case, Exercise, Mutant

__all__ = ["EXERCISE"]

SHAPES = ((4, 3), (3, 2), (4, 5), (3, 1))  # (N, C): N ≥ 3 (with N = 2, dx is exactly 0)
EPS = 1e-5


def make_case(rng, i):
    N, C = SHAPES[i % len(SHAPES)]
    x = rng.standard_normal((N, C)) * rng.uniform(0.5, 2.0, C) + rng.standard_normal(C)
    gamma, beta, dy = rng.uniform(0.5, 1.5, C), rng.standard_normal(C), rng.standard_normal((N, C))
    return Case(args={"dy": dy, "x": x, "gamma": gamma, "eps": EPS},
                inputs={"x": x.copy(), "gamma": gamma.copy(), "beta": beta},
                factors={f"1/N (N = {N}, the batch size)": 1.0 / N})


def reference(case):
    a = case.args
    _, cache = batch_norm_train_forward(a["x"], a["gamma"], case.inputs["beta"], eps=EPS)
    g = batch_norm_train_backward(a["dy"], cache)
    return g["x"], g["weight"], g["bias"]


def forward(x, gamma, beta):
    return batch_norm_train_forward(x, gamma, beta, eps=EPS)[0]


def _normalised(x):
    mu = x.mean(axis=0)
    r = 1 / np.sqrt(((x - mu) ** 2).mean(axis=0) + EPS)
    return (x - mu) * r, r


def terms(case):
    dy, x, gamma = case.args["dy"], case.args["x"], case.args["gamma"]
    x_hat, r = _normalised(x)
    return {"dx": {"γr·dy (the direct path)": gamma * r * dy,
                   "−γr·mean(dy) (through the mean μ)": -gamma * r * dy.mean(axis=0) * np.ones_like(dy),
                   "−γr·x̂·mean(dy ⊙ x̂) (through the variance σ²)": -gamma * r * x_hat * (dy * x_hat).mean(axis=0)}}


# ---------------------------------------------------------------- typical wrong solutions
def _right(dy, x, gamma):
    x_hat, r = _normalised(x)
    dx = gamma * r * (dy - dy.mean(axis=0) - x_hat * (dy * x_hat).mean(axis=0))
    return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0), x_hat, r


def no_variance_path(dy, x, gamma, eps):  # σ² treated as a constant
    _, dgamma, dbeta, x_hat, r = _right(dy, x, gamma)
    return gamma * r * (dy - dy.mean(axis=0)), dgamma, dbeta


def no_mean_path(dy, x, gamma, eps):  # μ treated as a constant
    _, dgamma, dbeta, x_hat, r = _right(dy, x, gamma)
    return gamma * r * (dy - x_hat * (dy * x_hat).mean(axis=0)), dgamma, dbeta


def dgamma_without_x_hat(dy, x, gamma, eps):
    dx, _, dbeta, _, _ = _right(dy, x, gamma)
    return dx, dy.sum(axis=0), dbeta


def dbeta_averaged(dy, x, gamma, eps):
    dx, dgamma, _, _, _ = _right(dy, x, gamma)
    return dx, dgamma, dy.mean(axis=0)


def dx_without_gamma(dy, x, gamma, eps):
    dx, dgamma, dbeta, _, _ = _right(dy, x, gamma)
    return dx / gamma, dgamma, dbeta


EXERCISE = Exercise(
    name="batchnorm_backward",
    title="BatchNorm (train): dx, dgamma, dbeta",
    chapter="convolution-resnet.md",
    outputs=("dx", "dgamma", "dbeta"),
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream="dy",
    grad_of={"dx": "x", "dgamma": "gamma", "dbeta": "beta"},
    terms=terms,
    mutants=(
        Mutant("σ² taken as a constant", no_variance_path, ("dx", "missing term: −γr·x̂·mean(dy ⊙ x̂)", "variance")),
        Mutant("μ taken as a constant", no_mean_path, ("dx", "missing term: −γr·mean(dy)", "through the mean")),
        Mutant("dgamma = Σ dy", dgamma_without_x_hat, ("dgamma", "values differ")),
        Mutant("dbeta = mean of dy", dbeta_averaged, ("dbeta", "extra factor 1/N")),
        Mutant("dx without γ", dx_without_gamma, ("dx", "different factor in each column")),
    ),
)
