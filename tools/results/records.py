"""Reading run records: ``results/<name>/record.json`` (what ran, where, with what result),
``history.json`` (the per-epoch rows) and, for report E's text runs, ``grad_norms.json``.

Every record is checked by :mod:`tools.results.validate` as it is read: a record that the
page could show wrongly (an accuracy of 150%, a negative time, a missing epoch, an unknown
field, an absolute path) is refused with the file and the field named.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"

sys.path.insert(0, str(ROOT))  # this checkout's minidl (the figures, the atomic writer)
from minidl.fileio import atomic_write_text  # noqa: E402


class RecordError(SystemExit):
    """A record (or a template) the generator refuses: the message names the file and the field.

    A ``SystemExit`` so that ``python -m tools.results`` ends with the message and status 1."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (minidl.fileio: temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path: Path):
    """``path`` parsed as strict JSON (no NaN or Infinity); a broken file is refused by name."""
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError, UnicodeDecodeError) as e:
        raise RecordError(f"{rel(path)}: not valid JSON ({e})") from None


def rel(path: Path) -> str:
    """``path`` relative to the repository where it lies inside it (for messages)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


@dataclass
class Record:
    """One run: ``meta`` is record.json, ``history`` its rows (None when transcribed)."""

    name: str
    meta: dict
    history: list | None = None
    grad_norms: dict | None = None  # report E's text runs: {"every": N, "rows": [{"step", "norms"}]}

    @property
    def transcribed(self) -> bool:
        return self.meta.get("source") == "transcribed"

    @property
    def library(self) -> str:
        return self.meta.get("library", "minidl")

    def rows(self, epochs: int | None = None) -> list:
        rows = self.history or []
        return rows[:epochs] if epochs else rows

    def best(self, epochs: int | None = None, key: str = "test_acc") -> dict | None:
        """The first row with the highest ``key`` (within the first ``epochs`` rows)."""
        if self.history is None:
            t = self.meta.get("transcribed", {})
            return {"epoch": t.get("best_epoch"), key: t.get("best_acc")} if t.get("best_acc") is not None else None
        rows = [r for r in self.rows(epochs) if r.get(key) is not None]
        return max(rows, key=lambda r: r[key]) if rows else None

    def last(self, epochs: int | None = None) -> dict | None:
        if self.history is None:
            t = self.meta.get("transcribed", {})
            return {"epoch": t.get("last_epoch"), "test_acc": t.get("last_acc")} if t.get("last_acc") is not None \
                else None
        rows = self.rows(epochs)
        return rows[-1] if rows else None

    def field(self, path: str):
        """A value by dotted path: ``best.test_acc@10`` (best row of the first 10 epochs),
        ``last.epoch``, ``summary.last.balanced_acc``, ``wall_seconds``, ``transcribed.x``."""
        head, _, rest = path.partition(".")
        epochs = None
        if "@" in rest:
            rest, ep = rest.split("@")
            epochs = int(ep)
        if head in ("best", "last"):
            row = self.best(epochs) if head == "best" else self.last(epochs)
            return None if row is None else row.get(rest)
        node = self.meta
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else (node[int(part)] if isinstance(node, list) else None)
            if node is None:
                return None
        return node
