"""Figures for the reports: training curves, several runs compared, confusion matrices.

Headless by construction: figures are built on matplotlib's Agg canvas directly (no
``pyplot``, no window, no global figure state), so they work on a server, in a test, or in
a training loop. Every function writes a PNG *atomically* (to a temporary file beside the
target, then renamed), creates the folder if needed, and returns the path it wrote.

A *history* is any of:

* a mapping of per-epoch lists: ``{"epoch": [1, 2], "train_loss": [...], "test_acc": [...]}``;
* a list of per-epoch records: ``[{"epoch": 1, "train_loss": 0.6, ...}, ...]``;
* a :class:`minidl.train.History` (or anything whose ``rows`` are per-epoch dicts).

Recognised names: ``{train,test,val,valid}_{loss,acc,accuracy}``; ``epoch`` is optional
(1, 2, ... otherwise). Accuracies in [0, 1] are drawn as percentages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .errors import DTypeError, RangeError, ShapeError
from .fileio import atomic_write

__all__ = ["history_columns", "plot_history", "plot_runs", "plot_confusion_matrix", "save_figure"]

_SPLITS = ("train", "test", "val", "valid")
_STYLE = {"train": "--", "test": "-", "val": "-", "valid": "-"}


def history_columns(history) -> dict[str, list[float]]:
    """Normalise a history (see the module docstring) to ``{name: list}`` with canonical
    names ``epoch`` and ``<split>_loss`` / ``<split>_acc``."""
    if hasattr(history, "rows"):  # minidl.train.History
        history = history.rows
    if isinstance(history, Mapping):
        cols = {str(k): list(v) for k, v in history.items() if isinstance(v, (list, tuple, np.ndarray))}
    elif isinstance(history, (list, tuple)) and all(isinstance(r, Mapping) for r in history):
        keys = {k for r in history for k in r}
        cols = {str(k): [r.get(k, np.nan) for r in history] for k in keys}
    else:
        raise DTypeError(f"a history must be a mapping of lists or a list of per-epoch dicts, got {type(history)}")
    out = {}
    for k, v in cols.items():
        key = k.replace("accuracy", "acc")
        if key == "epoch" or any(key == f"{s}_{m}" for s in _SPLITS for m in ("loss", "acc")):
            out[key] = [np.nan if x is None else float(x) for x in v]
    if not any(k != "epoch" for k in out):
        raise ShapeError(f"the history has none of the columns <split>_loss / <split>_acc; it has {sorted(cols)}")
    return out


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG to ``path`` atomically and return ``path``."""
    path = Path(path)
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight")
    return path


def _new_figure(ncols: int, width: float = 5.0, height: float = 3.6) -> tuple[Figure, list]:
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _as_percent(values: list[list[float]]) -> bool:
    finite = [x for v in values for x in v if np.isfinite(x)]
    return bool(finite) and max(finite) <= 1.0 and min(finite) >= 0.0


def _draw(ax, cols: dict, metric: str, label_prefix: str = "", color=None, percent: bool = False) -> None:
    epochs = cols.get("epoch")
    for split in _SPLITS:
        y = cols.get(f"{split}_{metric}")
        if y is None:
            continue
        x = epochs if epochs is not None and len(epochs) == len(y) else list(range(1, len(y) + 1))
        y = [100 * v for v in y] if percent else y
        ax.plot(x, y, _STYLE[split], marker="o", markersize=3, color=color, label=f"{label_prefix}{split}")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel({"loss": "loss", "acc": "accuracy (%)" if percent else "accuracy"}[metric])
    ax.grid(True, alpha=0.3)


# --8<-- [start:plot_history]
def plot_history(history, path: str | os.PathLike, title: str | None = None) -> Path:
    """Loss (left) and accuracy (right) per epoch, train dashed vs test solid, for one run."""
    cols = history_columns(history)
    metrics = [m for m in ("loss", "acc") if any(f"{s}_{m}" in cols for s in _SPLITS)]
    fig, axes = _new_figure(len(metrics))
    for ax, metric in zip(axes, metrics):
        percent = metric == "acc" and _as_percent([v for k, v in cols.items() if k.endswith("_acc")])
        _draw(ax, cols, metric, percent=percent)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
# --8<-- [end:plot_history]


def plot_runs(runs: Mapping[str, object], path: str | os.PathLike, title: str | None = None,
              splits: tuple[str, ...] = ("train", "test")) -> Path:
    """Several runs on one figure (e.g. report A's LSTM vs residual LSTM): loss and accuracy
    panels, one colour per run, train dashed and test solid.

    Args:
        runs: ``{run name: history}`` in the order of the legend.
        splits: which splits to draw (``("test",)`` for a less crowded figure).
    """
    if not runs:
        raise RangeError("plot_runs needs at least one run")
    all_cols = {name: history_columns(h) for name, h in runs.items()}
    metrics = [m for m in ("loss", "acc") if any(f"{s}_{m}" in c for c in all_cols.values() for s in splits)]
    fig, axes = _new_figure(len(metrics))
    colors = [f"C{i % 10}" for i in range(len(all_cols))]
    for ax, metric in zip(axes, metrics):
        percent = metric == "acc" and _as_percent(
            [v for c in all_cols.values() for k, v in c.items() if k.endswith("_acc")])
        for color, (name, cols) in zip(colors, all_cols.items()):
            shown = {k: v for k, v in cols.items() if k == "epoch" or k.split("_")[0] in splits}
            _draw(ax, shown, metric, label_prefix=f"{name} ", color=color, percent=percent)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


# --8<-- [start:plot_confusion]
def plot_confusion_matrix(cm, class_names, path: str | os.PathLike, normalize: bool = True,
                          title: str | None = None, annotate: bool | None = None) -> Path:
    """Heat map of a confusion matrix (rows = true class, columns = predicted).

    Args:
        cm: (C, C) counts, e.g. from :func:`minidl.metrics.confusion_matrix`.
        class_names: C labels for both axes.
        normalize: colour each row by its share of the true class (rows sum to 1), so
            small classes are as readable as large ones; the counts are still written in
            the cells.
        annotate: write the numbers in the cells (default: when C <= 20).
    """
    cm = np.asarray(cm)
    names = [str(c) for c in class_names]
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(names):
        raise ShapeError(f"cm must be (C, C) with C = {len(names)} class names, got shape {cm.shape}")
    C = len(names)
    with np.errstate(invalid="ignore", divide="ignore"):
        shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = max(4.0, 0.45 * C + 2.0)
    fig = Figure(figsize=(size + 1.0, size), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the true class" if normalize else "count")
    ax.set_xticks(range(C), names, rotation=90 if C > 4 else 0)
    ax.set_yticks(range(C), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if annotate if annotate is not None else C <= 20:
        # white text on the dark half of the colour scale, black on the light half
        top = 1.0 if normalize else max(float(np.nanmax(shown)), 1.0)
        for i in range(C):
            for j in range(C):
                if cm[i, j]:
                    dark = shown[i, j] > 0.5 * top
                    ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                            fontsize=7 if C > 8 else 10, color="white" if dark else "black")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
# --8<-- [end:plot_confusion]
