"""The per-epoch record of a training run: :class:`History` (what ``fit`` returns, what
``history.json``/``.csv`` hold and what a checkpoint carries)."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field

from .fileio import atomic_write_text

__all__ = ["History", "time_to"]


@dataclass
class History:
    """Per-epoch records: ``epoch, train_loss, train_acc, test_loss, test_acc,
    test_balanced_acc, test_acc_class0 … test_acc_class{C-1}, train_seconds, seconds``
    (and ``config_changes`` in the first epoch after a resume that changed them).

    ``history.rows`` is a list of dicts; ``history["test_acc"]`` the column as a list.
    """

    rows: list = field(default_factory=list)

    def append(self, **row) -> None:
        """Add one epoch's record (keyword = column)."""
        self.rows.append(row)

    def __getitem__(self, key: str) -> list:
        return [r.get(key) for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def best(self, key: str = "test_acc") -> dict | None:
        """The row with the highest ``key`` (first one on ties)."""
        rows = [r for r in self.rows if r.get(key) is not None]
        return max(rows, key=lambda r: r[key]) if rows else None

    def to_json(self) -> str:
        """The rows as a JSON list of objects."""
        return json.dumps(self.rows, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "History":
        """Rebuild a History from :meth:`to_json`'s text."""
        return cls(json.loads(text))

    def save(self, path) -> None:
        """Write ``path`` as JSON, or CSV when it ends in ``.csv`` (atomically)."""
        path = os.fspath(path)
        if path.endswith(".csv"):
            buf = io.StringIO()
            keys = list(dict.fromkeys(k for r in self.rows for k in r))
            w = csv.DictWriter(buf, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
            atomic_write_text(path, buf.getvalue())
        else:
            atomic_write_text(path, self.to_json())


def time_to(rows, threshold: float, key: str = "test_acc"):
    """When a run first reached ``threshold``: the first epoch whose ``key`` is ≥ it, and the
    seconds the run had spent by the end of that epoch.

    ``rows``: the per-epoch records, in order (a :class:`History`, its ``rows``, or the list
    ``history.json`` holds), each with ``key`` and ``seconds`` (that epoch's own time: the
    training and the test pass). Returns ``(row, elapsed)``, ``elapsed = Σ seconds`` over
    the rows up to and including ``row``; ``None`` when no row reaches ``threshold``.
    """
    elapsed = 0.0
    for row in rows.rows if isinstance(rows, History) else rows:
        elapsed += row["seconds"]
        if row[key] >= threshold:
            return row, elapsed
    return None
