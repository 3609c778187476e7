"""Checking a record before anything is rendered from it.

A record is refused (:class:`~tools.results.records.RecordError`, naming the file and the
field) when

* a required key is missing (``name``, ``kind``, ``library``, ``source``, ``command``,
  ``start``, ``threads``, ``machine``; a queue run also ``commit``, ``seed``,
  ``wall_seconds``, ``summary`` and a history) or a key is not one a record has
  (:data:`RECORD_KEYS`, :data:`ROW_KEYS`): a misspelt field would otherwise vanish silently;
* an accuracy (any field named ``acc``, ``*_acc``, ``acc_*``, ``*_acc_*`` or ``per_class_*``)
  is not a number in [0, 1], or a time (``seconds``, ``*_seconds``, ``elapsed``) is not a
  number ≥ 0; JSON's NaN and Infinity are refused when the file is read;
* the history's epochs are not 1, 2, ..., N (ascending, none missing), or the summary's
  ``best_epoch``/``last_epoch`` lie outside them, or its ``best_acc``/``last_acc`` is not the
  test accuracy of that epoch (the page would show the wrong epoch's accuracy);
* any text holds an absolute path or a ``../`` path (the records describe the machine in
  ``machine`` and give commands as a user types them, from the repository root).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from tools.results.records import Record, RecordError, rel

RECORD_KEYS = {
    "name", "kind", "library", "source", "source_note", "label", "command", "commit", "dirty", "seed", "ranks",
    "start", "end", "wall_seconds", "queue_wall_seconds", "machine", "threads", "env", "load", "summary",
    "transcribed", "rows", "paused", "resumed",
}
REQUIRED = ("name", "kind", "library", "source", "source_note", "command", "start", "threads", "machine")
REQUIRED_QUEUE = ("commit", "seed", "wall_seconds", "summary", "load")
MACHINE_KEYS = {"cpu", "cores", "blas", "python", "numpy", "torch"}
ROW_KEYS = {"epoch", "step", "train_loss", "train_acc", "test_loss", "test_acc", "test_balanced_acc",
            "test_acc_neg", "test_acc_pos", "seconds", "train_seconds", "elapsed"}
ROW_PATTERN = re.compile(r"test_acc_class\d+$")
KINDS, SOURCES = ("train", "benchmark"), ("queue", "transcribed")

ACC = re.compile(r"(^|_)acc(_|$)|^per_class")
TIME = re.compile(r"(^|_)seconds$|^elapsed$")
OUTSIDE = re.compile(r"(?:^|[\s=:'\"(,])(/[\w.-]+/|~/|\.\./)|^[A-Za-z]:\\")


def refuse(where: Path, field: str, why: str):
    raise RecordError(f"{rel(where)}: field {field!r}: {why}")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_value(where: Path, path: str, key: str, value) -> None:
    """Accuracies in [0, 1], times >= 0, no path outside the repository, recursively."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_value(where, f"{path}.{k}" if path else k, k, v)
        return
    if isinstance(value, list) and not ACC.search(key or ""):
        for i, v in enumerate(value):
            _check_value(where, f"{path}[{i}]", "", v)
        return
    if isinstance(value, str) and OUTSIDE.search(value):
        refuse(where, path, f"{value!r} holds a path outside the repository: write it repo-relative "
                            "(MINIDL_DATA=path/to/data, --out runs/NAME/out)")
    if key and ACC.search(key) and value is not None and "confusion" not in key:
        values = value if isinstance(value, list) else [value]
        if not all(_number(v) and 0 <= v <= 1 for v in values):
            refuse(where, path, f"an accuracy must be a number in [0, 1], got {value!r}")
    if key and TIME.search(key) and value is not None and not (_number(value) and value >= 0):
        refuse(where, path, f"a time in seconds must be a number >= 0, got {value!r}")


def _check_keys(where: Path, meta: dict, name: str) -> None:
    unknown = sorted(set(meta) - RECORD_KEYS)
    if unknown:
        refuse(where, unknown[0], f"not a field of a record (known: {', '.join(sorted(RECORD_KEYS))})")
    required = REQUIRED + (REQUIRED_QUEUE if meta.get("source") == "queue" else ())
    for key in required:
        if meta.get(key) in (None, ""):
            refuse(where, key, "required, missing")
    if meta["name"] != name:
        refuse(where, "name", f"{meta['name']!r} is not the folder's name {name!r}")
    if meta["kind"] not in KINDS or meta["source"] not in SOURCES:
        refuse(where, "kind" if meta["kind"] not in KINDS else "source",
               f"{meta.get('kind')!r}/{meta.get('source')!r}: expected kind in {KINDS}, source in {SOURCES}")
    machine = meta["machine"]
    if not isinstance(machine, dict) or set(machine) - MACHINE_KEYS or not {"cpu", "cores"} <= set(machine):
        refuse(where, "machine", f"expected {{cpu, cores, blas, python, numpy[, torch]}}, got {machine!r}")


def _check_history(where: Path, rows, summary: dict | None) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        refuse(where, "(rows)", "a history is a list of rows, one object per epoch")
    for i, row in enumerate(rows):
        unknown = sorted(k for k in row if k not in ROW_KEYS and not ROW_PATTERN.match(k))
        if unknown:
            refuse(where, f"[{i}].{unknown[0]}", f"not a field of a history row (known: {', '.join(sorted(ROW_KEYS))})")
        if row.get("epoch") != i + 1:
            refuse(where, f"[{i}].epoch", f"epochs must run 1, 2, ... without a gap: row {i + 1} says "
                                          f"{row.get('epoch')!r}")
        _check_value(where, f"[{i}]", "", row)
    for which in ("best", "last"):
        ep, acc = (summary or {}).get(f"{which}_epoch"), (summary or {}).get(f"{which}_acc")
        if ep is None:
            continue
        if not (isinstance(ep, int) and 1 <= ep <= len(rows)):
            refuse(where.with_name("record.json"), f"summary.{which}_epoch",
                   f"{ep!r} is not an epoch of the history (1 to {len(rows)})")
        row_acc = rows[ep - 1].get("test_acc")
        if acc is not None and row_acc is not None and acc != row_acc:
            refuse(where.with_name("record.json"), f"summary.{which}_acc",
                   f"{acc!r} is not the test accuracy of epoch {ep} in the history ({row_acc!r})")


def check_record(rec: Record, folder: Path) -> None:
    """Refuse ``rec`` (read from ``folder``) unless every rule of this module holds."""
    where = folder / "record.json"
    if not isinstance(rec.meta, dict):
        refuse(where, "(top)", "a record is a JSON object")
    _check_keys(where, rec.meta, rec.name)
    _check_value(where, "", "", rec.meta)
    if rec.meta["source"] == "queue" and rec.history is None:
        refuse(folder / "history.json", "(file)", "a queue run's record needs its history; missing")
    if rec.history is not None:
        _check_history(folder / "history.json", rec.history, rec.meta.get("summary"))
    if rec.grad_norms is not None:
        _check_value(folder / "grad_norms.json", "", "", rec.grad_norms)
