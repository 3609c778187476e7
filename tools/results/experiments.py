"""The experiment list, read from ``results/experiments.toml`` (its header documents the fields):
each report's experiments, the report's number and the records that measure it."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from tools.results.records import RESULTS, RecordError, rel

EXPERIMENTS_FILE = RESULTS / "experiments.toml"


@dataclass(frozen=True)
class Exp:
    """One experiment of a report: its number and the records that measure it.

    ``minidl`` and ``twin`` give, per seed, the candidate record names; the first one that
    exists wins. ``epochs``: read only the first N epochs of each history (nothing in a run
    depends on the number of epochs to come)."""

    key: str
    report: str
    label: str
    report_acc: float | None = None
    report_text: str | None = None
    minidl: tuple = ()
    twin: tuple = ()
    epochs: int | None = None
    headline: bool = True
    target: bool = True
    compare: str = "at-least"
    why: str | None = None
    note: str | None = None
    status: str | None = None
    group: str | None = None
    report_per_class: tuple | None = None
    report_loss: float | None = None
    one_process: str | None = None

    def pick(self, records: dict, which: str) -> list:
        """``[(seed, record or None), ...]`` for ``which`` = "minidl" or "twin"."""
        return [(seed, next((records[n] for n in names if n in records), None))
                for seed, names in enumerate(getattr(self, which))]


FIELDS = {f.name for f in fields(Exp)}


def _exp(entry: dict, where: Path) -> Exp:
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        raise RecordError(f"{rel(where)}: experiment {entry.get('key')!r}: field {unknown[0]!r}: not a field of "
                          f"an experiment (known: {', '.join(sorted(FIELDS))})")
    for key in ("key", "report", "label"):
        if not entry.get(key):
            raise RecordError(f"{rel(where)}: experiment {entry.get('key')!r}: field {key!r}: required, missing")
    acc = entry.get("report_acc")
    if acc is not None and not 0 <= acc <= 1:
        raise RecordError(f"{rel(where)}: experiment {entry['key']!r}: field 'report_acc': {acc!r} is not in [0, 1]")
    if entry.get("compare", "at-least") not in ("at-least", "close"):
        raise RecordError(f"{rel(where)}: experiment {entry['key']!r}: field 'compare': expected at-least or close")
    conv = dict(entry, minidl=tuple(tuple(c) for c in entry.get("minidl", ())),
                twin=tuple(tuple(c) for c in entry.get("twin", ())))
    if "report_per_class" in entry:
        conv["report_per_class"] = tuple(entry["report_per_class"])
    return Exp(**conv)


def load_experiments(path: Path = EXPERIMENTS_FILE) -> tuple[list, dict]:
    """``(experiments in file order, the file's settings: tolerance, trains_at)``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise RecordError(f"{rel(path)}: not valid TOML ({e})") from None
    exps = [_exp(e, path) for e in data.pop("experiment", [])]
    keys = [e.key for e in exps]
    if len(set(keys)) != len(keys):
        raise RecordError(f"{rel(path)}: an experiment key appears twice")
    return exps, data


EXPERIMENTS, SETTINGS = load_experiments()
EXP = {e.key: e for e in EXPERIMENTS}
TOLERANCE = SETTINGS.get("tolerance", 0.01)
TRAINS_AT = SETTINGS.get("trains_at", 0.60)
E_TEXT = tuple(e.key for e in EXPERIMENTS if e.group == "E-text")
HEADLINE = tuple(e.key for e in EXPERIMENTS if e.headline)
