"""Classification metrics on the host: accuracy, confusion matrix, per-class accuracy.

Inputs may be NumPy or device arrays (CuPy): they are copied to the host first, on purpose,
with :func:`minidl.backend.asnumpy`. Predictions can be given as class indices (N,) or as
scores (N, C), logits or probabilities, of which the arg-max is the prediction; a single
score per sample (N,) or (N, 1) in floating point is a binary probability (or, with
``threshold=0``, a logit).
"""

from __future__ import annotations

import math

import numpy as np

from .backend import asnumpy
from .errors import DTypeError, RangeError, ShapeError

__all__ = [
    "predictions", "count_correct", "accuracy", "confusion_matrix", "per_class_accuracy", "balanced_accuracy",
    "per_class_accuracy_from_confusion", "balanced_accuracy_from_confusion", "format_per_class", "Tally",
]


def _labels(y, name: str) -> np.ndarray:
    y = np.asarray(asnumpy(y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ShapeError(f"{name} must be class indices of shape (N,), got shape {y.shape}")
    if y.dtype.kind == "f":
        if y.size and not np.all(y == np.round(y)):
            raise RangeError(f"{name} must hold integer class indices, got non-integral floats")
        y = y.astype(np.int64)
    elif y.dtype.kind == "b":
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iu":
        raise DTypeError(f"{name} must be integer class indices, got dtype {y.dtype}")
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
        raise ShapeError(f"scores must be (N,), (N, 1) or (N, C), got shape {s.shape}")
    if s.dtype.kind == "f":
        return (s > threshold).astype(np.int64)
    return _labels(s, "predictions")


def count_correct(scores, targets, threshold: float = 0.5) -> int:
    """How many samples are predicted right: sum(pred == target). The training loop adds
    these counts over batches of different sizes (a mean of batch accuracies would weight a
    short last batch like a full one)."""
    pred = predictions(scores, threshold)
    y = _labels(targets, "targets")
    if pred.shape != y.shape:
        raise ShapeError(f"predictions {pred.shape} and targets {y.shape} differ in length")
    return int((pred == y).sum())


# --8<-- [start:metrics]
def accuracy(scores, targets, threshold: float = 0.5) -> float:
    """Fraction of samples whose predicted class equals the target: mean(pred == target).

    Args:
        scores: (N, C) scores, (N,)/(N, 1) binary scores, or (N,) predicted indices.
        targets: (N,) or (N, 1) true class indices (0/1 floats from a BCE target are fine).
    """
    correct = count_correct(scores, targets, threshold)
    n = len(_labels(targets, "targets"))
    if n == 0:
        raise RangeError("accuracy of an empty set is undefined")
    return correct / n


def confusion_matrix(targets, preds, num_classes: int | None = None) -> np.ndarray:
    """Counts ``M[i, j]`` = samples of true class ``i`` predicted as class ``j``: (C, C) int64.

    Rows are the truth, columns the prediction (the scikit-learn convention), so the
    diagonal holds the correct predictions and ``M.sum(1)`` the class sizes.
    ``preds`` may be scores; they go through :func:`predictions` first.
    """
    y = _labels(targets, "targets")
    p = predictions(preds)
    if p.shape != y.shape:
        raise ShapeError(f"predictions {p.shape} and targets {y.shape} differ in length")
    C = int(num_classes) if num_classes is not None else int(max(y.max(initial=-1), p.max(initial=-1)) + 1)
    for arr, name in ((y, "targets"), (p, "predictions")):
        if arr.size and (arr.min() < 0 or arr.max() >= C):
            raise RangeError(f"{name} must lie in [0, {C}), got range [{arr.min()}, {arr.max()}]")
    # Each (true, pred) pair is one cell index i*C + j: one bincount fills the matrix.
    return np.bincount(y * C + p, minlength=C * C).reshape(C, C).astype(np.int64)


def per_class_accuracy(targets, preds, num_classes: int | None = None) -> np.ndarray:
    """(C,) float64: for each true class, the fraction of its samples predicted right
    (the recall of the class): ``M[i, i] / M[i, :].sum()``. NaN for a class with no samples."""
    return per_class_accuracy_from_confusion(confusion_matrix(targets, preds, num_classes))


def balanced_accuracy(targets, preds, num_classes: int | None = None) -> float:
    """The mean of the per-class accuracies, over the classes that have samples::

        balanced = (1 / |K|) Σ_{i ∈ K} M[i, i] / Σ_j M[i, j],   K = {i : class i has samples}

    Every class counts the same however many samples it has, so on report C's names (Russian
    9,408 names, Vietnamese 73) a model that always answers "Russian" scores 47% overall
    but 1/18 = 5.6% balanced. Equal to :func:`accuracy` when the classes are balanced.
    """
    return balanced_accuracy_from_confusion(confusion_matrix(targets, preds, num_classes))
# --8<-- [end:metrics]


def per_class_accuracy_from_confusion(cm) -> np.ndarray:
    """:func:`per_class_accuracy` from a confusion matrix (C, C) of counts (rows = truth),
    e.g. one summed over batches or over the ranks of a distributed run."""
    M = _square_counts(cm)
    support = M.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(M) / np.maximum(support, 1), np.nan)


def balanced_accuracy_from_confusion(cm) -> float:
    """:func:`balanced_accuracy` from a confusion matrix (C, C) of counts (rows = truth)."""
    per_class = per_class_accuracy_from_confusion(cm)
    present = per_class[~np.isnan(per_class)]
    if present.size == 0:
        raise RangeError("balanced accuracy of an empty set is undefined")
    return float(present.mean())


def _square_counts(cm) -> np.ndarray:
    M = np.asarray(asnumpy(cm))
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ShapeError(f"a confusion matrix must be square (C, C), got shape {M.shape}")
    return M


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


class Tally:
    """Running sums over the batches of one pass: loss, samples, correct predictions and,
    with ``confusion=True``, the confusion matrix; what :func:`minidl.train.fit` and
    :func:`minidl.train.evaluate` report is computed from these sums, never from a mean
    of per-batch means.

    Sums add over batches (:meth:`add`) and over the ranks of a distributed run
    (:meth:`reduce`: one all-reduce of one float64 vector), so the loss is the mean per
    sample and the accuracy the fraction of samples, whatever the batch or shard sizes.
    """

    def __init__(self, confusion: bool = False, keep_predictions: bool = False):
        self.loss_sum, self.n, self.correct = 0.0, 0, 0
        self.want_confusion = bool(confusion)
        self.confusion: np.ndarray | None = None  # (C, C) int64 counts, rows = truth
        self._kept: list | None = [] if keep_predictions else None  # (targets, predictions) per batch

    def add(self, loss_mean: float, predicted, targets, num_classes: int | None = None) -> None:
        """One batch: its mean loss, its predictions (indices (N,) or scores, see
        :func:`predictions`) and its targets (N,); ``num_classes`` sizes the confusion matrix."""
        y = _labels(targets, "targets")
        p = predictions(predicted)
        if p.shape != y.shape:
            raise ShapeError(f"predictions {p.shape} and targets {y.shape} differ in length")
        self.loss_sum += float(loss_mean) * len(y)
        self.n += len(y)
        self.correct += int((p == y).sum())
        if self._kept is not None:
            self._kept.append((y, p))
        if self.want_confusion:
            M = confusion_matrix(y, p, num_classes)
            self.confusion = M if self.confusion is None else self.confusion + M

    def merge(self, other: "Tally") -> None:
        """Add another tally's sums into this one (e.g. a step's into the epoch's)."""
        self.loss_sum += other.loss_sum
        self.n += other.n
        self.correct += other.correct
        if other.confusion is not None:
            self.confusion = other.confusion if self.confusion is None else self.confusion + other.confusion

    def reduce(self, allreduce_sum) -> None:
        """Replace the sums by their totals over all ranks: ``allreduce_sum(vector)`` returns
        the element-wise sum of every rank's vector [loss_sum, n, correct, confusion...]."""
        cm = self.confusion.ravel() if self.confusion is not None else np.zeros(0)
        total = np.asarray(allreduce_sum(np.concatenate([[self.loss_sum, self.n, self.correct], cm])
                                         .astype(np.float64)))
        self.loss_sum, self.n, self.correct = float(total[0]), int(round(total[1])), int(round(total[2]))
        if self.confusion is not None:
            self.confusion = np.rint(total[3:]).astype(np.int64).reshape(self.confusion.shape)

    @property
    def y_true(self) -> np.ndarray:
        """(N,) int64: the targets added (this process's only), with ``keep_predictions``."""
        return np.concatenate([y for y, _ in self._kept]) if self._kept else np.zeros(0, np.int64)

    @property
    def y_pred(self) -> np.ndarray:
        """(N,) int64: the predictions added (this process's only), with ``keep_predictions``."""
        return np.concatenate([p for _, p in self._kept]) if self._kept else np.zeros(0, np.int64)

    @property
    def loss(self) -> float:
        """Mean loss per sample (NaN before any sample)."""
        return self.loss_sum / self.n if self.n else math.nan

    @property
    def acc(self) -> float:
        """Fraction of samples predicted right (NaN before any sample)."""
        return self.correct / self.n if self.n else math.nan
