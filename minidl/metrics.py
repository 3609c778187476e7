"""Classification metrics on the host: accuracy, confusion matrix, per-class accuracy.

Inputs may be NumPy or device arrays (CuPy): they are copied to the host first, on purpose,
with :func:`minidl.backend.asnumpy`. Predictions can be given as class indices (N,) or as
scores (N, C), logits or probabilities, of which the arg-max is the prediction; a single
score per sample (N,) or (N, 1) in floating point is a binary probability (or, with
``threshold=0``, a logit).
"""

from __future__ import annotations

import numpy as np

from .backend import asnumpy

__all__ = ["predictions", "accuracy", "confusion_matrix", "per_class_accuracy", "format_per_class"]


def _labels(y, name: str) -> np.ndarray:
    y = np.asarray(asnumpy(y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be class indices of shape (N,), got shape {y.shape}")
    if y.dtype.kind == "f":
        if y.size and not np.all(y == np.round(y)):
            raise ValueError(f"{name} must hold integer class indices, got non-integral floats")
        y = y.astype(np.int64)
    elif y.dtype.kind == "b":
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer class indices, got dtype {y.dtype}")
    return y


def predictions(scores, threshold: float = 0.5) -> np.ndarray:
    """Scores -> predicted class indices (N,) int64.

    * (N, C) with C >= 2: ``argmax`` over classes (logits, probabilities or log-probabilities);
    * (N,) or (N, 1) floating: binary, ``score > threshold`` (0.5 for sigmoid outputs, 0 for logits);
    * (N,) integers: already predictions, returned as int64.
    """
    s = np.asarray(asnumpy(scores))
    if s.ndim == 2 and s.shape[1] >= 2:
        return s.argmax(axis=1).astype(np.int64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1:
        raise ValueError(f"scores must be (N,), (N, 1) or (N, C), got shape {s.shape}")
    if s.dtype.kind == "f":
        return (s > threshold).astype(np.int64)
    return _labels(s, "predictions")


# --8<-- [start:metrics]
def accuracy(scores, targets, threshold: float = 0.5) -> float:
    """Fraction of samples whose predicted class equals the target: mean(pred == target).

    Args:
        scores: (N, C) scores, (N,)/(N, 1) binary scores, or (N,) predicted indices.
        targets: (N,) or (N, 1) true class indices (0/1 floats from a BCE target are fine).
    """
    pred = predictions(scores, threshold)
    y = _labels(targets, "targets")
    if pred.shape != y.shape:
        raise ValueError(f"predictions {pred.shape} and targets {y.shape} differ in length")
    if y.size == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float((pred == y).mean())


def confusion_matrix(targets, preds, num_classes: int | None = None) -> np.ndarray:
    """Counts ``M[i, j]`` = samples of true class ``i`` predicted as class ``j``: (C, C) int64.

    Rows are the truth, columns the prediction (the scikit-learn convention), so the
    diagonal holds the correct predictions and ``M.sum(1)`` the class sizes.
    ``preds`` may be scores; they go through :func:`predictions` first.
    """
    y = _labels(targets, "targets")
    p = predictions(preds)
    if p.shape != y.shape:
        raise ValueError(f"predictions {p.shape} and targets {y.shape} differ in length")
    C = int(num_classes) if num_classes is not None else int(max(y.max(initial=-1), p.max(initial=-1)) + 1)
    for arr, name in ((y, "targets"), (p, "predictions")):
        if arr.size and (arr.min() < 0 or arr.max() >= C):
            raise ValueError(f"{name} must lie in [0, {C}), got range [{arr.min()}, {arr.max()}]")
    # Each (true, pred) pair is one cell index i*C + j: one bincount fills the matrix.
    return np.bincount(y * C + p, minlength=C * C).reshape(C, C).astype(np.int64)


def per_class_accuracy(targets, preds, num_classes: int | None = None) -> np.ndarray:
    """(C,) float64: for each true class, the fraction of its samples predicted right
    (the recall of the class): ``M[i, i] / M[i, :].sum()``. NaN for a class with no samples."""
    M = confusion_matrix(targets, preds, num_classes)
    support = M.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(M) / np.maximum(support, 1), np.nan)
# --8<-- [end:metrics]


def format_per_class(targets, preds, class_names) -> str:
    """A plain-text table: class, samples, correct, accuracy, plus the overall line (report D)."""
    names = [str(c) for c in class_names]
    M = confusion_matrix(targets, preds, len(names))
    acc = per_class_accuracy(targets, preds, len(names))
    w = max(len("overall"), *(len(n) for n in names))
    lines = [f"{'class':<{w}}  {'samples':>8}  {'correct':>8}  {'accuracy':>8}"]
    for i, n in enumerate(names):
        a = "n/a" if np.isnan(acc[i]) else f"{100 * acc[i]:.2f}%"
        lines.append(f"{n:<{w}}  {M[i].sum():>8}  {M[i, i]:>8}  {a:>8}")
    total, right = int(M.sum()), int(np.trace(M))
    overall = f"{100 * right / total:.2f}%" if total else "n/a"
    lines.append(f"{'overall':<{w}}  {total:>8}  {right:>8}  {overall:>8}")
    return "\n".join(lines)
