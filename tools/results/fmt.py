"""How the pages write numbers, cells and tables (shared by the tables, the summary and the
provenance appendix)."""

from __future__ import annotations

import re
import statistics

from tools.results.experiments import TRAINS_AT, Exp
from tools.results.records import Record

NOT_RUN = "not run"


def pct(x, digits: int = 2) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def fmt(value, how: str) -> str:
    """A number as the page writes it: pct (86.16%), pct1, s (1,307 s), int, f1..f4, signed."""
    if value is None:
        return "—"
    if how.startswith("pct"):
        return pct(value, int(how[3:] or 2))
    if how == "s":
        return f"{value:,.0f} s"
    if how == "int":
        return f"{int(value):,}"
    if how.startswith("f"):
        return f"{value:,.{int(how[1:])}f}"
    if how == "str":
        return str(value)
    raise ValueError(f"unknown format {how!r}")


def report_cell(e: Exp) -> str:
    """The report's number as the report gives it: 86.00%, or report E's "≈ 88%"."""
    return e.report_text or pct(e.report_acc)


def acc_epoch(row, key: str = "test_acc") -> str:
    return "—" if row is None or row.get(key) is None else f"{pct(row[key])} ({row['epoch']})"


def mark(rec: Record | None) -> str:
    """The record's name as the tables cite it; † marks a transcribed record."""
    return "" if rec is None else f"`{rec.name}`" + (" †" if rec.transcribed else "")


def table(header: list, rows: list, align: str | None = None) -> str:
    align = align or "l" * len(header)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def loss_acc_cells(rec: Record | None, i: int, digits: int = 1) -> list:
    """Epoch ``i + 1`` of ``rec`` as two cells, training loss and test accuracy, for the
    epoch-by-epoch tables: *not run* without a record, "—" past its last epoch."""
    if rec is None:
        return [NOT_RUN] * 2
    if i >= len(rec.rows()):
        return ["—"] * 2
    row = rec.rows()[i]
    return [fmt(row["train_loss"], "f3"), pct(row["test_acc"], digits)]


def seed_mean(recs: list, which: str, epochs: int | None) -> float | None:
    """Mean test accuracy over seeds at the ``which`` epoch; None unless every seed has it."""
    rows = [None if r is None else (r.last(epochs) if which == "last" else r.best(epochs)) for r in recs]
    if not rows or any(row is None or row.get("test_acc") is None for row in rows):
        return None
    return sum(row["test_acc"] for row in rows) / len(rows)


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def records_named(pairs) -> str:
    """``(record or None, name)`` pairs as a list of record names, *not run* beside the missing."""
    return ", ".join(mark(rec) or f"`{name}` ({NOT_RUN})" for rec, name in pairs)


# ---------------------------------------------------------------------- report E, text
def trains(rec: Record) -> bool | None:
    """Report E's "trains" / "does not train": the best test accuracy reaches ``TRAINS_AT``."""
    best = rec.best()
    return None if best is None else best["test_acc"] >= TRAINS_AT


def trains_from(rec: Record) -> int | None:
    """The first epoch whose test accuracy reaches ``TRAINS_AT`` (None: none does)."""
    return next((r["epoch"] for r in rec.rows() if r.get("test_acc") is not None and r["test_acc"] >= TRAINS_AT),
                None)


def grad_norm_ratio(rec: Record, epochs: tuple | None = None) -> float | None:
    """Median over the recorded steps of ‖∂L/∂θ‖ of the bottom layer over that of the top layer
    (the layer next to the head): far below 1 when the gradient vanishes on its way down.
    ``epochs=(first, last)``: only the steps of those epochs (a step's epoch from the run's
    steps per epoch, (last recorded step + the recording interval) / epochs run)."""
    g = rec.grad_norms or {}
    rows = g.get("rows") or []
    if epochs is not None and rows:
        per_epoch = (rows[-1]["step"] + g.get("every", 1)) / max(len(rec.rows()), 1)
        rows = [r for r in rows if epochs[0] - 1 <= r["step"] / per_epoch < epochs[1]]
    ratios = [r["norms"][0] / r["norms"][-1] for r in rows if len(r["norms"]) > 1 and r["norms"][-1] > 0]
    return statistics.median(ratios) if ratios else None


FORMATS = re.compile(r"(pct\d?|s|int|f\d|str)$")  # what fmt() accepts, for the template check
