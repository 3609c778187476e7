"""Loading the records: each record folder read (:mod:`tools.results.records`) and checked
(:mod:`tools.results.validate`) before anything renders it."""

from __future__ import annotations

from pathlib import Path

from tools.results.records import RESULTS, Record, read_json
from tools.results.validate import check_record


def read_record(folder: Path) -> Record:
    """One record folder, read and validated (:func:`tools.results.validate.check_record`)."""
    meta = read_json(folder / "record.json")
    hist = read_json(folder / "history.json") if (folder / "history.json").is_file() else None
    gn = read_json(folder / "grad_norms.json") if (folder / "grad_norms.json").is_file() else None
    rec = Record(folder.name, meta, hist, gn)
    check_record(rec, folder)
    return rec


def load_records(root: Path | None = None) -> dict:
    """Every ``results/<name>/record.json`` (and its history) by name, each validated."""
    root = RESULTS if root is None else Path(root)
    if not root.is_dir():
        return {}
    return {d.name: read_record(d) for d in sorted(p for p in root.iterdir() if (p / "record.json").is_file())}
