"""Exercises on the losses (reference: functional/losses.py): the fused softmax +
cross-entropy backward, and BCE on logits."""

import numpy as np

from ...functional import losses
from ...functional.activations import sigmoid, softmax_forward
from ..spec import Case, Exercise, Mutant

__all__ = ["EXERCISES"]

CE_SHAPES = ((3, 4), (2, 5), (4, 3), (3, 6))  # (N, C)
BCE_SHAPES = ((4, 1), (3, 2), (2, 3), (4,))


# ---------------------------------------------------------------- softmax + cross-entropy
def ce_case(rng, i):
    N, C = CE_SHAPES[i % len(CE_SHAPES)]
    logits, target = rng.standard_normal((N, C)) * 2, rng.integers(0, C, N)
    return Case(args={"logits": logits, "target": target}, inputs={"x": logits.copy(), "target": target},
                factors={f"1/N (N = {N}, the batch size)": 1.0 / N})


def ce_reference(case):
    _, cache = losses.cross_entropy_forward(case.args["logits"], case.args["target"])
    return (losses.cross_entropy_backward(1.0, cache)["x"],)


def ce_forward(x, target):
    return losses.cross_entropy_forward(x, target)[0]


def _onehot(target, C):
    return np.eye(C)[target]


def ce_terms(case):
    z, t = case.args["logits"], case.args["target"]
    N, C = z.shape
    return {"dlogits": {"softmax(z)/N": softmax_forward(z)[0] / N, "−onehot(target)/N": -_onehot(t, C) / N}}


def ce_no_mean(logits, target):
    return softmax_forward(logits)[0] - _onehot(target, logits.shape[1])


def ce_no_onehot(logits, target):
    return softmax_forward(logits)[0] / logits.shape[0]


def ce_sign(logits, target):
    return (_onehot(target, logits.shape[1]) - softmax_forward(logits)[0]) / logits.shape[0]


def ce_exp_not_normalised(logits, target):
    return (np.exp(logits) - _onehot(target, logits.shape[1])) / logits.shape[0]


# ---------------------------------------------------------------- BCE with logits
def bce_case(rng, i):
    shape = BCE_SHAPES[i % len(BCE_SHAPES)]
    logits, target = rng.standard_normal(shape) * 2, rng.integers(0, 2, shape).astype(np.float64)
    n = logits.size
    return Case(args={"logits": logits, "target": target}, inputs={"x": logits.copy(), "target": target},
                factors={f"1/n (n = {n}, the number of elements)": 1.0 / n})


def bce_reference(case):
    _, cache = losses.bce_with_logits_forward(case.args["logits"], case.args["target"])
    return (losses.bce_with_logits_backward(1.0, cache)["x"],)


def bce_forward(x, target):
    return losses.bce_with_logits_forward(x, target)[0]


def bce_terms(case):
    z, t = case.args["logits"], case.args["target"]
    return {"dlogits": {"σ(z)/n": sigmoid(z) / z.size, "−target/n": -t / z.size}}


def bce_no_mean(logits, target):
    return sigmoid(logits) - target


def bce_no_target(logits, target):
    return sigmoid(logits) / logits.size


def bce_sign(logits, target):
    return (target - sigmoid(logits)) / logits.size


def bce_extra_sigmoid_derivative(logits, target):  # multiplies by σ' although it cancelled
    s = sigmoid(logits)
    return (s - target) * s * (1 - s) / logits.size


EXERCISES = [
    Exercise(
        name="softmax_cross_entropy_backward",
        order=1,
        title="Softmax + cross-entropy (fused): dlogits",
        chapter="losses.md",
        outputs=("dlogits",),
        make_case=ce_case,
        reference=ce_reference,
        forward=ce_forward,
        upstream=None,
        grad_of={"dlogits": "x"},
        terms=ce_terms,
        mutants=(
            Mutant("no 1/N", ce_no_mean, ("dlogits", "did you forget the factor 1/N", "batch size")),
            Mutant("onehot not subtracted", ce_no_onehot, ("dlogits", "missing term: −onehot(target)/N")),
            Mutant("onehot − p", ce_sign, ("dlogits", "sign flipped")),
            Mutant("exp(z) instead of softmax(z)", ce_exp_not_normalised, ("dlogits", "values differ")),
        ),
    ),
    Exercise(
        name="bce_with_logits_backward",
        order=2,
        title="BCE with logits: dlogits",
        chapter="losses.md",
        outputs=("dlogits",),
        make_case=bce_case,
        reference=bce_reference,
        forward=bce_forward,
        upstream=None,
        grad_of={"dlogits": "x"},
        terms=bce_terms,
        mutants=(
            Mutant("no 1/n", bce_no_mean, ("dlogits", "did you forget the factor 1/n", "number of elements")),
            Mutant("target not subtracted", bce_no_target, ("dlogits", "missing term: −target/n")),
            Mutant("t − σ(z)", bce_sign, ("dlogits", "sign flipped")),
            Mutant("an extra factor σ'(z)", bce_extra_sigmoid_derivative, ("dlogits", "values differ")),
        ),
    ),
]
