"""Run records and the results page generated from them.

Every recorded run is a folder ``results/<run-name>/`` holding

* ``record.json``: what ran and where: the command, the commit (and whether the tree was
  dirty), the seed, the machine (host, CPU, cores), the BLAS thread count, the date (start
  and end, UTC), the wall time, the load average (at start and end, mean and max), which
  library ran it (minidl or its PyTorch twin), and the run's ``summary.json``;
* ``history.json``: the per-epoch (or per-1,000-step) rows the run wrote.

A record whose numbers were copied from an older log (the runs of 2026-11-26 in
``examples/README.md`` and ``benchmarks/README.md``, made before records existed) says so:
``"source": "transcribed"``, a ``source_note`` naming the log, its numbers under
``"transcribed"``, and usually no per-epoch history.

``docs/results.md``, the README's results section (between ``<!-- results:start -->`` and
``<!-- results:end -->``) and the figures under ``docs/figures/results/`` are rendered
from the records and the two templates ``tools/results_page.md`` and
``tools/results_readme.md``: the hand-written prose lives in the templates, every number
comes from a record through a placeholder::

    {{table:A}}               a generated table (see TABLES)
    {{figure:A}}              a generated figure (see FIGURES) and its markdown image
    {{value:RUN:FIELD:FMT}}   one number of one record, e.g. {{value:D-lstm-s0:best.test_acc@10:pct}}

``tests/test_results_page.py`` fails when the committed page or README differs from what
the records render, i.e. when a number on the page disagrees with its record.

Usage::

    python tools/results.py import /work/runs/A-lstm-s0 [/work/runs/... ...]
    python tools/results.py import --skip-unfinished /work/runs/*   # every finished run, the rest said
    python tools/results.py render            # page, README section and figures
    python tools/results.py render --no-figures
    python tools/results.py check             # exit status 1 if the page or README is stale
    python tools/results.py list              # every record and the experiment it serves
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
PAGE = ROOT / "docs" / "results.md"
README = ROOT / "README.md"
FIG_DIR = ROOT / "docs" / "figures" / "results"
TEMPLATE_PAGE = Path(__file__).with_name("results_page.md")
TEMPLATE_README = Path(__file__).with_name("results_readme.md")
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
NOT_RUN = "not run"


# ---------------------------------------------------------------------- files
sys.path.insert(0, str(ROOT))  # this checkout's minidl (the figures, the atomic writer)
from minidl.fileio import atomic_write_text  # noqa: E402


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (minidl.fileio: temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------- records
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


def load_records(root: Path = RESULTS) -> dict:
    """Every ``results/<name>/record.json`` (and its history) by name."""
    out = {}
    if not root.is_dir():
        return out
    for d in sorted(p for p in root.iterdir() if (p / "record.json").is_file()):
        meta = json.loads((d / "record.json").read_text(encoding="utf-8"))
        hist = json.loads((d / "history.json").read_text(encoding="utf-8")) if (d / "history.json").is_file() else None
        gn = d / "grad_norms.json"
        out[d.name] = Record(d.name, meta, hist, json.loads(gn.read_text(encoding="utf-8")) if gn.is_file() else None)
    return out


def _flag(command: str, names: tuple, cast=int):
    """The value after the first of ``names`` in ``command`` (``--seed 3`` -> 3), or None."""
    words = (command or "").split()
    for i, w in enumerate(words[:-1]):
        if w in names:
            try:
                return cast(words[i + 1])
            except ValueError:
                return None
    return None


def summary_from_history(rows: list) -> dict:
    """What a run's ``summary.json`` says, for a run that writes none (examples/cifar10_resnet.py)."""
    best = max((r for r in rows if r.get("test_acc") is not None), key=lambda r: r["test_acc"], default=None)
    last = rows[-1] if rows else {}
    return {"best_acc": best and best["test_acc"], "best_epoch": best and best["epoch"],
            "last_acc": last.get("test_acc"), "last_epoch": last.get("epoch"),
            "derived": "the run writes no summary.json: best and last read from its history.json"}


def import_run(run_dir: Path, name: str | None = None, root: Path | None = None) -> Record:
    """Copy a finished queue run (``meta.json``, ``out/history.json``, ``out/summary.json``
    and, where the run wrote one, ``out/grad_norms.json``) into ``root/<name>/`` as a record.
    Refuses a run that has not finished or that failed.

    A run without ``summary.json`` (the CIFAR example writes none) gets one derived from its
    history, said so in the summary; the seed then comes from the command's ``--seed``. A run
    under ``mpiexec -n N`` records ``ranks: N`` (each rank with the BLAS threads in ``threads``)."""
    run_dir, root = Path(run_dir), RESULTS if root is None else root
    name = name or run_dir.name
    meta_path = run_dir / "meta.json"
    if not meta_path.is_file():
        raise SystemExit(f"{run_dir}: no meta.json (the run has not finished)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("returncode") != 0:
        raise SystemExit(f"{run_dir}: the run failed (return code {meta.get('returncode')}); not imported")
    out = run_dir / "out"
    hist = json.loads((out / "history.json").read_text(encoding="utf-8"))
    rows = hist["rows"] if isinstance(hist, dict) else hist
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8")) if (out / "summary.json").is_file() \
        else summary_from_history(rows)
    command = meta.get("command") or ""
    torch_run = "_torch.py" in command
    env = meta.get("env") or {}
    seed = (summary.get("args") or {}).get("seed")
    record = {
        "name": name, "kind": "train", "library": "pytorch" if torch_run else "minidl", "source": "queue",
        "source_note": f"queue run {run_dir}", "command": command, "commit": meta.get("commit"),
        "dirty": meta.get("dirty"), "seed": seed if seed is not None else _flag(command, ("--seed",)),
        "ranks": _flag(command, ("-n", "-np")) if "mpiexec" in command or "mpirun" in command else 1,
        "start": meta.get("start"), "end": meta.get("end"),
        # the script's own wall time where it wrote one (the queue samples its process every 30 s);
        # a resumed run: the queue's, the sum of its epochs' seconds over both processes (see "resumed")
        "wall_seconds": meta.get("wall_seconds") if meta.get("resumed")
        else summary.get("wall_seconds") or meta.get("wall_seconds"),
        "queue_wall_seconds": meta.get("wall_seconds"),
        "host": meta.get("host"), "cpu": meta.get("cpu"), "cores": meta.get("cores"), "python": meta.get("python"),
        "threads": str(summary["threads"]) if torch_run and summary.get("threads") else env.get("OPENBLAS_NUM_THREADS"),
        "env": env,
        "load": {"start": meta.get("loadavg_start"), "end": meta.get("loadavg_end"), "mean": meta.get("load1_mean"),
                 "max": meta.get("load1_max")},
        "summary": summary,
    }
    if meta.get("paused"):  # stopped by the lead for a quiet-machine benchmark: wall time includes it
        record["paused"] = meta["paused"]
    if meta.get("resumed"):  # continued with --resume after its first process ended
        record["resumed"] = meta["resumed"]
    grad_norms = None
    if (out / "grad_norms.json").is_file():
        grad_norms = json.loads((out / "grad_norms.json").read_text(encoding="utf-8"))
        write_json(root / name / "grad_norms.json", grad_norms)
    write_json(root / name / "record.json", record)
    write_json(root / name / "history.json", rows)
    return Record(name, record, rows, grad_norms)


# ---------------------------------------------------------------------- experiments
@dataclass(frozen=True)
class Exp:
    """One experiment of a report: its number and the records that measure it.

    ``minidl`` and ``twin`` give, per seed, the candidate record names, the first one that
    exists wins (a queue run is preferred over a transcribed record of the same run).
    ``epochs``: read only the first N epochs of each history (report B's 10 epochs of
    report D's 15-epoch runs: nothing in a run depends on the number of epochs to come).
    """

    key: str
    report: str
    label: str
    report_acc: float | None
    minidl: tuple = ()
    twin: tuple = ()
    epochs: int | None = None
    extra: dict = field(default_factory=dict)

    def pick(self, records: dict, which: str) -> list:
        """``[(seed, record or None), ...]`` for ``which`` = "minidl" or "twin"."""
        out = []
        for seed, names in enumerate(getattr(self, which)):
            names = (names,) if isinstance(names, str) else names
            out.append((seed, next((records[n] for n in names if n in records), None)))
        return out


def _seeds(fmt: str, n: int = 2, dated: str | None = None) -> tuple:
    """Candidate names per seed: ``fmt`` with the seed, then (if given) a dated transcription."""
    return tuple((fmt.format(s),) + ((f"{fmt.format(s)}-{dated}",) if dated else ()) for s in range(n))


T1126 = "2026-11-26"
EXPERIMENTS = [
    # report A: 15 epochs, the report quotes its last epoch (best at 14)
    Exp("A-lstm", "A", "LSTM", 0.8145, _seeds("A-lstm-s{}", 1), _seeds("torch-A-lstm-s{}", 1)),
    Exp("A-reslstm", "A", "residual LSTM (W_res: 128 → 256)", 0.8030, _seeds("A-reslstm-s{}", 1)),
    # report B: 10 epochs; the LSTM and GRU are report D's 15-epoch runs read to epoch 10 (D ran
    # seed 0 only: seed 1 falls back to a 10-epoch run of its own, then to the transcribed one)
    Exp("B-lstm", "B", "LSTM", 0.8600, (("D-lstm-s0",), ("D-lstm-s1", "B-lstm-s1", f"B-lstm-s1-{T1126}")),
        (("torch-D-lstm-s0",), ("torch-D-lstm-s1", "torch-B-lstm-s1", f"torch-B-lstm-s1-{T1126}")), epochs=10),
    Exp("B-gru", "B", "GRU", 0.8598, (("D-gru-s0",), ("D-gru-s1", "B-gru-s1", f"B-gru-s1-{T1126}")),
        (("torch-D-gru-s0",), ("torch-D-gru-s1", "torch-B-gru-s1", f"torch-B-gru-s1-{T1126}")), epochs=10),
    Exp("B-rnn", "B", "vanilla RNN", 0.8461, _seeds("B-rnn-s{}", 1, T1126), _seeds("torch-B-rnn-s{}", 2, T1126),
        epochs=10),
    Exp("B-rnn-clip", "B", "vanilla RNN, `--clip 1.0`", 0.8461, _seeds("B-rnn-clip1-s{}", 2, T1126),
        _seeds("torch-B-rnn-clip1-s{}", 1, T1126), epochs=10),
    Exp("B-hidden128", "B", "hidden 128 (LSTM, Linear(128, 128))", 0.8523, _seeds("B-hidden128-s{}", 1),
        _seeds("torch-B-hidden128-s{}", 1), epochs=10),
    Exp("B-batch128", "B", "batch 128 (LSTM)", 0.8498, _seeds("B-batch128-s{}", 1), _seeds("torch-B-batch128-s{}", 1),
        epochs=10),
    Exp("B-ownlstm", "B", "own LSTM (`nn.LSTMCell` loop)", 0.8525, _seeds("B-lstmcell-s{}", 1),
        (("torch-D-lstm-s0",),), epochs=10),
    Exp("B-nllraw", "B", "NLL on raw scores", 0.5061, _seeds("B-nllraw-s{}", 1), _seeds("torch-B-nllraw-s{}", 1),
        epochs=10, extra={"report_loss": -47796.7920, "not_a_target": True}),  # a failure to reproduce
    # issue 15: report B's LSTM on two MPI ranks, compared with one process (not with the report)
    Exp("B-lstm-mpi2", "B", "LSTM, 2 MPI ranks", 0.8600, _seeds("B-lstm-mpi2-s{}", 1), epochs=10,
        extra={"not_a_target": True, "one_process": "D-lstm-s0"}),
    # report C: the tutorial protocol (report C's) and a held-out one
    Exp("C-rnn", "C", "char-RNN", 0.42, _seeds("C-rnn-tutorial-s{}"), _seeds("torch-C-rnn-tutorial-s{}")),
    Exp("C-lstm", "C", "LSTM(57, 64)", 0.81, _seeds("C-lstm-tutorial-s{}"), _seeds("torch-C-lstm-tutorial-s{}")),
    Exp("C-mylstm", "C", "own LSTM (`nn.LSTMCell` loop)", 0.81, _seeds("C-mylstm-tutorial-s{}", 1)),
    Exp("C-lstm-lr0.005", "C", "LSTM(57, 64), lr 0.005", 0.81, _seeds("C-lstm-tutorial-lr0.005-s{}", 1),
        extra={"not_a_target": True}),  # shows the learning-rate choice
    Exp("C-rnn-heldout", "C", "char-RNN", None, _seeds("C-rnn-heldout-s{}"), _seeds("torch-C-rnn-heldout-s{}")),
    Exp("C-lstm-heldout", "C", "LSTM(57, 64)", None, _seeds("C-lstm-heldout-s{}"), _seeds("torch-C-lstm-heldout-s{}")),
    # report D: 15 epochs, per class
    Exp("D-lstm", "D", "LSTM", 0.8262, _seeds("D-lstm-s{}", 1), _seeds("torch-D-lstm-s{}", 1),
        extra={"report_per_class": (0.8783, 0.7742)}),
    Exp("D-gru", "D", "GRU", 0.8438, _seeds("D-gru-s{}", 1), _seeds("torch-D-gru-s{}", 1),
        extra={"report_per_class": (0.8532, 0.8344)}),
    # report E, text: CPU scale (hidden 64 instead of 256, all else E's); E gives ≈ 88% for
    # the models that train and says LSTM-8 does not train (no number)
    *(Exp(f"E-{m}", "E", label, acc, _seeds(f"E-{m}-h64-s{{}}", 1),
          extra={"report_text": "≈ 88%" if acc else "does not train", "approx": True})
      for m, label, acc in (("bilstm2", "BiLSTM-2", 0.88), ("lstm4", "LSTM-4", 0.88), ("lstm8", "LSTM-8", None),
                            ("reslstm8", "residual LSTM-8", 0.88))),
    # report E, CNN: ResNet-34 ≈ 84% after 20-30 epochs on a GPU; on the CPU ResNet-20 vs Plain-20
    Exp("E-resnet20", "E", "ResNet-20 (50,000 images, 5 epochs)", None, _seeds("E-resnet20-s{}", 1),
        extra={"report_text": "ResNet-34: ≈ 84% (20–30 epochs, GPU)", "not_a_target": True}),
    Exp("E-plain20", "E", "Plain-20 (50,000 images, 5 epochs)", None, _seeds("E-plain20-s{}", 1),
        extra={"report_text": "converges very slowly", "not_a_target": True}),
    Exp("E-resnet20-5k", "E", "ResNet-20 (5,000 images, 4 epochs)", None, _seeds("E-resnet20-limit5000-s{}", 1),
        extra={"not_a_target": True}),
    Exp("E-plain20-5k", "E", "Plain-20 (5,000 images, 4 epochs)", None, _seeds("E-plain20-limit5000-s{}", 1),
        extra={"not_a_target": True}),
]
E_TEXT = ("E-bilstm2", "E-lstm4", "E-lstm8", "E-reslstm8")
TRAINS_AT = 0.60  # report E's "does not train": best test accuracy below this (chance is 50%)
EXP = {e.key: e for e in EXPERIMENTS}


# ---------------------------------------------------------------------- formatting
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


def report_cell(e: "Exp") -> str:
    """The report's number as the report gives it: 86.00%, or report E's "≈ 88%"."""
    return e.extra.get("report_text") or pct(e.report_acc)


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


def seed_mean(recs: list, which: str, epochs: int | None) -> float | None:
    """Mean test accuracy over seeds at the ``which`` epoch; None unless every seed has it."""
    rows = [None if r is None else (r.last(epochs) if which == "last" else r.best(epochs)) for r in recs]
    if not rows or any(row is None or row.get("test_acc") is None for row in rows):
        return None
    return sum(row["test_acc"] for row in rows) / len(rows)


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


# ---------------------------------------------------------------------- tables
def imdb_table(records: dict, keys: list, with_loss: bool = False) -> str:
    """Reports A and B: per seed, minidl's last and best epoch beside the PyTorch twin's."""
    header = ["model", "report", "seed", "minidl last (epoch)", "minidl best (epoch)", "PyTorch last (epoch)",
              "PyTorch best (epoch)"] + (["test loss, last epoch"] if with_loss else []) + ["records"]
    rows = []
    for key in keys:
        e = EXP[key]
        mine, twin = e.pick(records, "minidl"), e.pick(records, "twin")
        for i in range(max(len(mine), len(twin))):
            m = mine[i][1] if i < len(mine) else None
            t = twin[i][1] if i < len(twin) else None
            cells = [e.label if i == 0 else "", pct(e.report_acc) if i == 0 else "", str(i)]
            for rec, planned in ((m, i < len(mine)), (t, i < len(twin))):  # "—": a seed with no planned run
                cells += [acc_epoch(rec.last(e.epochs)), acc_epoch(rec.best(e.epochs))] if rec else \
                    [NOT_RUN if planned else "—"] * 2
            if with_loss:
                last = m.last(e.epochs) if m else None
                cells.append(fmt(last.get("test_loss"), "f4") if last and last.get("test_loss") is not None else "—")
            cells.append(", ".join(x for x in (mark(m), mark(t)) if x))
            rows.append(cells)
        if len(mine) > 1:
            cells = [seed_mean([r for _, r in recs], which, e.epochs) for recs in (mine, twin)
                     for which in ("last", "best")]
            if any(c is not None for c in cells):
                rows.append(["", "", "mean"] + [pct(c) for c in cells] + (["—"] if with_loss else []) + [""])
    align = "llr" + "r" * (4 + with_loss) + "l"
    return table(header, rows, align)


def _per_class(rec: Record, which: str):
    """(neg, pos, all, epoch) of a 15-epoch IMDB run at its ``which`` = last or best epoch."""
    row = rec.last() if which == "last" else rec.best()
    if row is None:
        return None
    for neg, pos in (("test_acc_neg", "test_acc_pos"), ("test_acc_class0", "test_acc_class1")):
        if row.get(neg) is not None:  # per-class accuracy recorded every epoch (the twin; fit since issue 12)
            return row[neg], row[pos], row["test_acc"], row["epoch"]
    per = rec.meta.get("summary", {}).get(f"per_class_{which}")
    return (per[0], per[1], row["test_acc"], row["epoch"]) if per else None


def d_table(records: dict) -> str:
    """Report D's per-class table (negative, positive, all) at the last and the best epoch,
    every seed of minidl and of the twin."""
    rows = []
    for key in ("D-lstm", "D-gru"):
        e = EXP[key]
        neg, pos = e.extra["report_per_class"]
        rows.append([e.label, "report D", "", pct(neg), pct(pos), pct(e.report_acc), "—", ""])
        for lib in ("minidl", "twin"):
            name = "minidl" if lib == "minidl" else "PyTorch"
            for seed, rec in e.pick(records, lib):
                for which in ("last", "best"):
                    pc = _per_class(rec, which) if rec else None
                    cells = [pct(v) for v in pc[:3]] + [str(pc[3])] if pc else [NOT_RUN if rec is None else "—"] * 3 \
                        + ["—"]
                    rows.append(["", f"{name}, {which} epoch", str(seed)] + cells
                                + [mark(rec) if which == "last" else ""])
    return table(["model", "", "seed", "negative", "positive", "all", "epoch", "record"], rows, "llrrrrrl")


def _c_final(rec: Record | None, what: str):
    s = rec.meta.get("summary", {}).get(what) if rec else None
    return s


def c_tutorial_table(records: dict) -> str:
    """Report C, the tutorial protocol: the final model's sampled, class-balanced and overall accuracy."""
    header = ["model", "report C", "seed", "minidl sampled", "balanced", "overall", "PyTorch sampled", "balanced",
              "overall", "records"]
    rows = []
    for key in ("C-rnn", "C-lstm", "C-mylstm", "C-lstm-lr0.005"):
        e = EXP[key]
        mine, twin = e.pick(records, "minidl"), e.pick(records, "twin")
        vals = []
        for i, (_, m) in enumerate(mine):
            t = twin[i][1] if i < len(twin) else None
            ms, ts = _c_final(m, "last"), _c_final(t, "last")
            cells = [pct(ms[k]) if ms else NOT_RUN for k in ("sampled_acc", "balanced_acc", "acc")]
            no_twin = "—" if i >= len(twin) else NOT_RUN
            cells += [pct(ts[k]) if ts else no_twin for k in ("sampled_acc", "balanced_acc", "acc")]
            rows.append([e.label if i == 0 else "", pct(e.report_acc, 0) if i == 0 else "", str(i)] + cells
                        + [", ".join(x for x in (mark(m), mark(t)) if x)])
            vals.append((ms, ts))
        if len(mine) > 1 and all(ms for ms, _ in vals):
            cells = [pct(mean(ms[k] for ms, _ in vals)) for k in ("sampled_acc", "balanced_acc", "acc")]
            if all(ts for _, ts in vals):
                cells += [pct(mean(ts[k] for _, ts in vals)) for k in ("sampled_acc", "balanced_acc", "acc")]
            else:
                cells += ["—"] * 3
            rows.append(["", "", "mean"] + cells + [""])
    return table(header, rows, "llr" + "r" * 6 + "l")


def c_heldout_table(records: dict) -> str:
    """Report C, held-out protocol: test accuracy (overall / class-balanced) of the best and last epoch."""
    header = ["model", "seed", "minidl best: overall / balanced (epoch)", "minidl last", "PyTorch best", "PyTorch last",
              "records"]
    rows = []
    for key in ("C-rnn-heldout", "C-lstm-heldout"):
        e = EXP[key]
        mine, twin = e.pick(records, "minidl"), e.pick(records, "twin")
        for i, (_, m) in enumerate(mine):
            t = twin[i][1] if i < len(twin) else None
            cells = []
            for rec in (m, t):
                s = rec.meta.get("summary", {}) if rec else None
                for which in ("best", "last"):
                    if not s:
                        cells.append(NOT_RUN)
                        continue
                    ep = s[f"{which}_epoch"]
                    cells.append(f"{pct(s[which]['acc'])} / {pct(s[which]['balanced_acc'])} ({ep})")
            rows.append([e.label if i == 0 else "", str(i)] + cells + [", ".join(x for x in (mark(m), mark(t)) if x)])
    return table(header, rows, "lr" + "r" * 4 + "l")


def own_lstm_time_table(records: dict) -> str:
    """Report B's own LSTM (cell loop) against the fused LSTM: seconds per epoch."""
    rows = []
    # the fused run beside the loop: B-lstm-s0 ran next to it under the same load (D-lstm-s0 otherwise)
    fused_b = "B-lstm-s0" if "B-lstm-s0" in records else "D-lstm-s0"
    pairs = [("IMDB, report B (10 epochs)", fused_b, "B-lstmcell-s0", 10),
             ("names, report C (tutorial, 100,000 steps)", "C-lstm-tutorial-s0", "C-mylstm-tutorial-s0", None)]
    for what, fused_name, loop_name, epochs in pairs:
        fused, loop = records.get(fused_name), records.get(loop_name)
        cells, seconds = [], []
        for rec in (fused, loop):
            if rec is None:
                cells += [NOT_RUN, "—"]
                continue
            # median seconds per epoch, or the whole run's training seconds
            sec = statistics.median(r["train_seconds"] for r in rec.rows(epochs)) if epochs else \
                rec.meta["summary"]["train_seconds"]
            seconds.append(sec)
            cells += [f"{sec:.1f} s per epoch" if epochs else f"{sec:.0f} s in all",
                      fmt(rec.meta.get("load", {}).get("mean"), "f1")]
        ratio = f"{seconds[1] / seconds[0]:.2f}×" if len(seconds) == 2 else "—"
        rows.append([what] + cells + [ratio, ", ".join(mark(r) for r in (fused, loop) if r)])
    return table(["training", "fused LSTM", "load (mean)", "own LSTM (cell loop)", "load (mean)", "own / fused",
                  "records"], rows, "lrrrrrl")


def _threads(meta: dict) -> str:
    """BLAS threads, as ``ranks × threads`` for a run under mpiexec."""
    threads = meta.get("threads") or "—"
    return f"{meta['ranks']} × {threads}" if (meta.get("ranks") or 1) > 1 else threads


def _wall(meta: dict) -> str:
    """Wall time, and how much of it the run spent stopped (SIGSTOP for a quiet benchmark)."""
    wall = fmt(meta.get("wall_seconds"), "s")
    paused = sum(p.get("seconds", 0) for p in meta.get("paused") or [])
    if meta.get("resumed"):
        wall += f" (two processes: resumed after epoch {meta['resumed']['after_epoch']})"
    return f"{wall} (of which {fmt(paused, 's')} stopped)" if paused else wall


def runs_table(records: dict, report: str) -> str:
    """Provenance of every record a report's tables use: command, date, wall time, threads, load, commit."""
    names = []
    for e in EXPERIMENTS:
        if e.report != report:
            continue
        for lib in ("minidl", "twin"):
            names += [r.name for _, r in e.pick(records, lib) if r is not None and r.name not in names]
    if not names:
        return "*No run of this report is recorded yet.*"
    rows = []
    for n in names:
        m = records[n].meta
        load = m.get("load") or {}
        load_s = f"{load['mean']:.1f} / {load['max']:.1f}" if load.get("mean") is not None else load.get("note", "—")
        rows.append([mark(records[n]), m.get("library", "minidl"), f"`{m.get('command', '—')}`",
                     (m.get("start") or "—").replace("T", " ").replace("Z", ""), _wall(m),
                     _threads(m), load_s, (m.get("commit") or "—")[:10]])
    return table(["record", "library", "command", "start (UTC)", "wall time", "threads", "load mean / max", "commit"],
                 rows, "lllrrrrl")


def transcribed_runs_table(records: dict, prefix: str) -> str:
    """Transcribed runs whose names start with ``prefix`` and that no experiment's table
    shows already (report B's further runs)."""
    shown = {r.name for e in EXPERIMENTS for lib in ("minidl", "twin") for _, r in e.pick(records, lib) if r}
    rows = []
    for n, r in records.items():
        if not (n.startswith(prefix) and r.transcribed and r.meta.get("kind", "train") == "train") or n in shown:
            continue
        t = r.meta["transcribed"]
        rows.append([mark(r), r.meta.get("label", ""), f"`{r.meta.get('command', '')}`", pct(t.get("best_acc")),
                     str(t.get("best_epoch") or "—"), pct(t.get("last_acc")), fmt(t.get("seconds_to_best"), "s")])
    return table(["record", "run", "command", "best", "at epoch", "last (10)", "wall time to best"], rows, "lllrrrr")


def bench_table(records: dict, name: str) -> str:
    rec = records.get(name)
    if rec is None:
        return f"*(benchmark record `{name}` missing)*"
    def ms(v):
        return fmt(v, "f2" if v < 1000 else "f0")

    rows = [[r["case"], ms(r["minidl_ms"]), ms(r["torch_ms"]),
             fmt(r.get("ratio", r["minidl_ms"] / r["torch_ms"]), "f2")] for r in rec.meta["rows"]]
    return table(["benchmark", "minidl ms/step", "PyTorch ms/step", "minidl / PyTorch"], rows, "lrrr")


def cifar_table(records: dict, res_name: str, plain_name: str, digits: int = 1) -> str:
    """ResNet-20 against Plain-20, epoch by epoch: training loss and test accuracy of each."""
    a, b = records.get(res_name), records.get(plain_name)
    if a is None and b is None:
        return f"*(`{res_name}` and `{plain_name}`: {NOT_RUN}.)*"
    n = max(len(a.rows()) if a else 0, len(b.rows()) if b else 0)
    rows = []
    for i in range(n):
        cells = [str(i + 1)]
        for rec in (a, b):
            row = rec.rows()[i] if rec and i < len(rec.rows()) else None
            cells += [fmt(row["train_loss"], "f3"), pct(row["test_acc"], digits)] if row else [NOT_RUN if rec is None
                                                                                             else "—"] * 2
        rows.append(cells)
    return table(["epoch", "ResNet-20 train loss", "ResNet-20 test acc", "Plain-20 train loss", "Plain-20 test acc"],
                 rows, "rrrrr") + f"\n\nRecords: {records_named(((a, res_name), (b, plain_name)))}."


def records_named(pairs) -> str:
    """``(record or None, name)`` pairs as a list of record names, *not run* beside the missing."""
    return ", ".join(mark(rec) or f"`{name}` ({NOT_RUN})" for rec, name in pairs)


def cifar_verdict(records: dict, res_name: str, plain_name: str) -> str:
    """Where the residual net stands against the plain one, epoch by epoch (test accuracy)."""
    a, b = records.get(res_name), records.get(plain_name)
    if a is None or b is None:
        return f"*(The comparison is written once both `{res_name}` and `{plain_name}` are recorded.)*"
    epochs = list(zip(a.rows(), b.rows()))
    pairs = [(ra["test_acc"], rb["test_acc"]) for ra, rb in epochs]
    losses = [(ra["train_loss"], rb["train_loss"]) for ra, rb in epochs]
    ahead = sum(x > y for x, y in pairs)
    gap = 100 * (pairs[-1][0] - pairs[-1][1])
    when = "at every epoch" if ahead == len(pairs) else f"at {ahead} of {len(pairs)} epochs"
    who = "ResNet-20 is ahead of Plain-20" if ahead else "ResNet-20 is not ahead of Plain-20"
    lower = sum(x < y for x, y in losses)
    fit = "at every epoch" if lower == len(losses) else f"at {lower} of {len(losses)} epochs"
    return (f"{who} {when} in test accuracy; at epoch {len(pairs)} the gap is {gap:+.1f} points "
            f"({pct(pairs[-1][0], 1)} against {pct(pairs[-1][1], 1)}). Its training loss is lower "
            f"{fit} (epoch {len(losses)}: {losses[-1][0]:.3f} against {losses[-1][1]:.3f}).")


# ---------------------------------------------------------------------- report E, text
def trains(rec: Record) -> bool | None:
    """Report E's "trains" / "does not train": the best test accuracy reaches ``TRAINS_AT``."""
    best = rec.best()
    return None if best is None else best["test_acc"] >= TRAINS_AT


def grad_norm_ratio(rec: Record) -> float | None:
    """Median over the recorded steps of ‖∂L/∂θ‖ of the bottom layer over that of the top layer
    (the layer next to the head): far below 1 when the gradient vanishes on its way down."""
    rows = (rec.grad_norms or {}).get("rows") or []
    ratios = [r["norms"][0] / r["norms"][-1] for r in rows if len(r["norms"]) > 1 and r["norms"][-1] > 0]
    return statistics.median(ratios) if ratios else None


def e_text_table(records: dict) -> str:
    """Report E's text models at CPU scale: best and last test accuracy, trains or not, and the
    bottom/top gradient-norm ratio, beside report E's words."""
    rows = []
    for key in E_TEXT:
        e = EXP[key]
        for seed, rec in e.pick(records, "minidl"):
            if rec is None:
                rows.append([e.label, report_cell(e), str(seed)] + [NOT_RUN] * 4 + ["—", ""])
                continue
            last, t, ratio = rec.last(), trains(rec), grad_norm_ratio(rec)
            rows.append([e.label, report_cell(e), str(seed), acc_epoch(rec.best()), acc_epoch(last),
                         pct((last or {}).get("train_acc")), "—" if t is None else ("yes" if t else "**no**"),
                         "—" if ratio is None else f"{ratio:.2g}", mark(rec)])
    return table(["model", "report E (hidden 256, GPU)", "seed", "minidl best (epoch)", "minidl last (epoch)",
                  "train acc, last epoch", f"trains (best ≥ {pct(TRAINS_AT, 0)})",
                  "gradient norm, bottom / top layer (median)", "record"], rows, "llrrrrlrl")


def e_text_verdict(records: dict) -> str:
    """Whether report E's phenomenon (LSTM-8 does not train; LSTM-4 and residual LSTM-8 do)
    shows at this scale, in one generated sentence."""
    said, missing = {}, []
    for key in E_TEXT:
        rec = EXP[key].pick(records, "minidl")[0][1]
        if rec is None:
            missing.append(EXP[key].label)
        else:
            said[key] = (trains(rec), acc_epoch(rec.best()))
    if not said:
        return ""  # the shortfalls line under the table says that nothing is recorded yet
    parts = [f"{EXP[k].label} {'trains' if t else 'does not train'} (best {acc})" for k, (t, acc) in said.items()]
    text = "At hidden 64: " + "; ".join(parts) + "."
    if missing:
        return text + f" Not run: {', '.join(missing)}."
    shown = not said["E-lstm8"][0] and said["E-lstm4"][0] and said["E-reslstm8"][0]
    return text + (" Report E's phenomenon is reproduced: the plain 8-layer stack does not train, the 4-layer "
                   "one and the residual 8-layer one do." if shown else
                   " Report E's phenomenon (LSTM-8 does not train, LSTM-4 and residual LSTM-8 do) is **not** "
                   "reproduced at this scale.")


# ---------------------------------------------------------------------- issue 15: two MPI ranks
def mpi_table(records: dict) -> str:
    """Report B's LSTM on 2 MPI ranks beside one process (report D's seed-0 run read to epoch 10)."""
    e = EXP["B-lstm-mpi2"]
    one, two = records.get(e.extra["one_process"]), e.pick(records, "minidl")[0][1]
    rows = []
    for what, rec, fallback in (("one process", one, e.extra["one_process"]), ("2 MPI ranks", two, "B-lstm-mpi2-s0")):
        if rec is None:
            rows.append([what, "—", NOT_RUN, NOT_RUN, "—", "—", f"`{fallback}` ({NOT_RUN})"])
            continue
        ranks = rec.meta.get("ranks") or 1
        rows_10 = rec.rows(e.epochs)
        secs = sum(r.get("seconds", 0.0) for r in rows_10)
        load = (rec.meta.get("load") or {}).get("mean")
        rows.append([what, f"{ranks} × {rec.meta.get('threads') or '—'}", acc_epoch(rec.last(e.epochs)),
                     acc_epoch(rec.best(e.epochs)), f"{secs:,.0f} s", fmt(load, "f1"), mark(rec)])
    out = table(["run", "processes × BLAS threads", "last (epoch)", "best (epoch)", "first 10 epochs, train + test",
                 "load (mean)", "record"], rows, "lrrrrrl")
    if one is not None and two is not None:
        a, b = one.last(e.epochs)["test_acc"], two.last(e.epochs)["test_acc"]
        out += (f"\n\nAt epoch {e.epochs} the two ranks are {100 * (b - a):+.2f} points from the one process "
                f"({pct(b)} against {pct(a)}).")
    return out


README_ROWS = ("A-lstm", "A-reslstm", "B-lstm", "B-gru", "B-rnn", "B-rnn-clip", "B-hidden128", "B-batch128",
               "B-ownlstm", "B-nllraw", "C-rnn", "C-lstm", "C-mylstm", "D-lstm", "D-gru", *E_TEXT, "E-resnet20",
               "E-plain20")


def readme_table(records: dict) -> str:
    """One line per experiment: the report's number, minidl's (last and best epoch) and the twin's;
    for report C the tutorial protocol's sampled accuracy of the final model."""
    rows = []
    for key in README_ROWS:
        e = EXP[key]
        cells = []
        for which in ("minidl", "twin"):
            recs = [r for _, r in e.pick(records, which)]
            if e.report == "C":
                cells.append("—" if not recs else "; ".join(
                    pct(r.meta["summary"]["last"]["sampled_acc"]) if r else NOT_RUN for r in recs))
                continue
            cells.append("—" if not recs else "; ".join(
                f"{acc_epoch(r.last(e.epochs))} / {acc_epoch(r.best(e.epochs))}" + (" †" if r.transcribed else "")
                if r else NOT_RUN for r in recs))
        label = e.label + (" (tutorial protocol)" if e.report == "C" else "") + \
            (" (hidden 64, CPU scale)" if key in E_TEXT else "")
        rows.append([e.report, label, pct(e.report_acc, 0) if e.report == "C" else report_cell(e)] + cells)
    return table(["report", "experiment", "report's number", "minidl: last / best epoch (per seed)",
                  "PyTorch twin: last / best"], rows, "lllrr")


def _quoted(e: Exp, rec: Record):
    """``(minidl's number that the report's is compared with, how it is named)``."""
    if e.report == "C":
        last = rec.meta.get("summary", {}).get("last") or {}
        return last.get("sampled_acc"), "sampled accuracy of the final model"
    row = rec.last(e.epochs)
    return (row or {}).get("test_acc"), f"at the last epoch ({(row or {}).get('epoch')})"


def shortfalls(records: dict, report: str) -> str:
    """Every recorded minidl number below its report's, with the best epoch and the twin's
    numbers beside it; report D's per-class numbers too."""
    lines, pending = [], 0
    for e in EXPERIMENTS:
        if e.report != report or e.report_acc is None or e.extra.get("not_a_target"):
            continue
        twins = e.pick(records, "twin")
        for seed, rec in e.pick(records, "minidl"):
            if rec is None:
                pending += 1
                continue
            value, how = _quoted(e, rec)
            if value is None or value >= e.report_acc:
                continue
            twin = twins[seed][1] if seed < len(twins) else None
            text = f"- {e.label}, seed {seed}: {pct(value)} {how} against the report's {report_cell(e)}"
            if e.report != "C":
                text += f"; best epoch {acc_epoch(rec.best(e.epochs))}"
            if twin is not None:
                tv, _ = _quoted(e, twin)
                text += f"; the PyTorch twin: {pct(tv)}" + ("" if e.report == "C" else
                                                             f", best {acc_epoch(twin.best(e.epochs))}")
            lines.append(text + ".")
        for seed, rec in e.pick(records, "minidl") if "report_per_class" in e.extra else ():
            pc = _per_class(rec, "last") if rec else None
            for name, mine, theirs in zip(("negative", "positive"), pc or (), e.extra["report_per_class"]):
                if mine < theirs:
                    twin = twins[seed][1] if seed < len(twins) else None
                    tpc = _per_class(twin, "last") if twin else None
                    lines.append(f"- {e.label}, seed {seed}, class {name}: {pct(mine)} at the last epoch against the "
                                 f"report's {pct(theirs)}"
                                 + (f"; the PyTorch twin: {pct(tpc[0 if name == 'negative' else 1])}" if tpc else "")
                                 + ".")
    head = "**Below the report**" + (" (among the runs recorded so far)" if pending else "") + ":"
    if not lines and not any(r for e in EXPERIMENTS if e.report == report and e.report_acc is not None
                             and not e.extra.get("not_a_target") for _, r in e.pick(records, "minidl")):
        return f"*No minidl run of report {report} is recorded yet.*"
    if not lines:
        return f"Every recorded minidl number of report {report} is at or above the report's" + \
            (" (some runs were not made)." if pending else ".")
    return head + "\n\n" + "\n".join(lines)


TABLES = {
    "A": lambda r: imdb_table(r, ["A-lstm", "A-reslstm"]),
    "B-main": lambda r: imdb_table(r, ["B-lstm", "B-gru", "B-rnn", "B-rnn-clip"]),
    "B-ablations": lambda r: imdb_table(r, ["B-hidden128", "B-batch128", "B-ownlstm", "B-nllraw"], with_loss=True),
    "B-more": lambda r: transcribed_runs_table(r, "B-rnn-"),
    "own-lstm-time": own_lstm_time_table,
    "C-tutorial": c_tutorial_table,
    "C-heldout": c_heldout_table,
    "D": d_table,
    "E-cifar": lambda r: cifar_table(r, "E-resnet20-limit5000-s0", "E-plain20-limit5000-s0"),
    "E-cifar-verdict": lambda r: cifar_verdict(r, "E-resnet20-limit5000-s0", "E-plain20-limit5000-s0"),
    "E-cifar50k": lambda r: cifar_table(r, "E-resnet20-s0", "E-plain20-s0", digits=2),
    "E-cifar50k-verdict": lambda r: cifar_verdict(r, "E-resnet20-s0", "E-plain20-s0"),
    "E-text": e_text_table,
    "E-text-verdict": e_text_verdict,
    "B-mpi": mpi_table,
    "readme": readme_table,
    **{f"runs-{k}": (lambda r, k=k: runs_table(r, k)) for k in "ABCDE"},
}


# ---------------------------------------------------------------------- figures
def _plot_runs(runs: dict, path: Path, title: str, splits=("train", "test")):
    from minidl.plot import plot_runs

    return plot_runs(runs, path, title=title, splits=splits)


def _plot_tutorial(runs: dict, path: Path, title: str):
    """Report C's curves: mean loss and share of right guesses per 1,000 steps, several runs."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from minidl.plot import save_figure

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for label, rows in runs.items():
        steps = [r["step"] for r in rows]
        ax_loss.plot(steps, [r["train_loss"] for r in rows], label=label)
        ax_acc.plot(steps, [100 * r["train_acc"] for r in rows], label=label)
    ax_loss.set_ylabel("mean loss over 1,000 steps")
    ax_acc.set_ylabel("right guesses over 1,000 steps (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    return save_figure(fig, path)


def _plot_grad_norms(runs: dict, path: Path, title: str):
    """Report E's diagnosis: one panel per model, each layer's gradient norm against the
    training step (log scale, shared by the panels), bottom layer dark to top layer light."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from minidl.plot import save_figure

    fig = Figure(figsize=(10, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, (len(runs) + 1) // 2, sharex=True, sharey=True, squeeze=False).ravel()
    cmap = matplotlib.colormaps["viridis"]
    for ax, (label, rec) in zip(axes, runs.items()):
        ax.set_title(label, fontsize="medium")
        ax.grid(True, alpha=0.3)
        rows = (rec.grad_norms or {}).get("rows") if rec is not None else None
        if not rows:
            ax.text(0.5, 0.5, NOT_RUN if rec is None else "no gradient norms recorded", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
            continue
        steps = [r["step"] for r in rows]
        layers = len(rows[0]["norms"])
        for layer in range(layers):
            ax.plot(steps, [max(r["norms"][layer], 1e-12) for r in rows], lw=1,
                    color=cmap(layer / max(layers - 1, 1) * 0.9),
                    label=f"layer {layer + 1}" + (" (bottom)" if layer == 0 else " (top)" if layer == layers - 1
                                                  else ""))
        ax.set_yscale("log")
        ax.legend(fontsize="x-small", ncol=2)
    for ax in axes[len(runs):]:
        ax.set_visible(False)
    for ax in axes:
        if ax.get_subplotspec().is_last_row():
            ax.set_xlabel("training step")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("‖∂L/∂θ‖ of the layer")
    fig.suptitle(title)
    return save_figure(fig, path)


def _present(records: dict, names: dict) -> dict:
    """``{label: history}`` of the records among ``{label: name}`` that exist."""
    return {label: records[n].rows() for label, n in names.items() if n in records}


E_TEXT_NAMES = {EXP[k].label: f"{k}-h64-s0" for k in E_TEXT}
E_CIFAR50K = {"ResNet-20": "E-resnet20-s0", "Plain-20": "E-plain20-s0"}


def _plot_confusion(rec: Record, which: str, key: str, path: Path, title: str):
    from minidl.plot import plot_confusion_matrix

    s = rec.meta["summary"]
    return plot_confusion_matrix(s[which][key], s["languages"], path, title=title)


# name: (file, caption, records needed, draw(records, path)[, "any"]): drawn when every record
# needed is there, or with "any" when at least one is (the missing ones named under the figure)
FIGURES = {
    "A": ("report_a_lstm_vs_residual.png", "Report A: LSTM against residual LSTM, loss and accuracy per epoch (seed 0)",
          ("A-lstm-s0", "A-reslstm-s0"),
          lambda r, p: _plot_runs({"LSTM": r["A-lstm-s0"].rows(), "residual LSTM": r["A-reslstm-s0"].rows()}, p,
                                  "report A on IMDB (minidl)")),
    "B": ("report_b_lstm_gru_seed0.png", "Report B: LSTM and GRU, seed 0, the first 10 epochs of report D's runs",
          ("D-lstm-s0", "D-gru-s0"),
          lambda r, p: _plot_runs({"LSTM": r["D-lstm-s0"].rows(10), "GRU": r["D-gru-s0"].rows(10)}, p,
                                  "report B on IMDB (minidl), 10 epochs")),
    "D": ("report_d_losses.png", "Report D: training and test loss (and accuracy) of the LSTM and the GRU, 15 epochs",
          ("D-lstm-s0", "D-gru-s0"),
          lambda r, p: _plot_runs({"LSTM": r["D-lstm-s0"].rows(), "GRU": r["D-gru-s0"].rows()}, p,
                                  "report D on IMDB (minidl), 15 epochs")),
    "C-curves": ("report_c_tutorial_curves.png",
                 "Report C, tutorial protocol: loss and share of right guesses per 1,000 steps (seed 0)",
                 ("C-rnn-tutorial-s0", "C-lstm-tutorial-s0", "C-mylstm-tutorial-s0"),
                 lambda r, p: _plot_tutorial({"char-RNN": r["C-rnn-tutorial-s0"].rows(),
                                              "LSTM": r["C-lstm-tutorial-s0"].rows(),
                                              "own LSTM": r["C-mylstm-tutorial-s0"].rows()}, p,
                                             "report C, tutorial protocol (minidl)")),
    "C-confusion-rnn": ("report_c_confusion_rnn.png",
                        "Report C, char-RNN: confusion matrix of 10,000 random samples (tutorial protocol, seed 0)",
                        ("C-rnn-tutorial-s0",),
                        lambda r, p: _plot_confusion(r["C-rnn-tutorial-s0"], "last", "confusion_sampled", p,
                                                     "char-RNN (minidl), rows normalised")),
    "C-confusion-lstm": ("report_c_confusion_lstm.png",
                         "Report C, LSTM: confusion matrix of 10,000 random samples (tutorial protocol, seed 0)",
                         ("C-lstm-tutorial-s0",),
                         lambda r, p: _plot_confusion(r["C-lstm-tutorial-s0"], "last", "confusion_sampled", p,
                                                      "LSTM (minidl), rows normalised")),
    "C-confusion-mylstm": ("report_c_confusion_mylstm.png",
                           "Report C, own LSTM: confusion matrix of 10,000 random samples (tutorial protocol, seed 0)",
                           ("C-mylstm-tutorial-s0",),
                           lambda r, p: _plot_confusion(r["C-mylstm-tutorial-s0"], "last", "confusion_sampled", p,
                                                        "own LSTM (minidl), rows normalised")),
    "C-confusion-heldout": ("report_c_confusion_lstm_heldout.png",
                            "Report C, LSTM, held-out protocol: confusion of the test names, best epoch (seed 0)",
                            ("C-lstm-heldout-s0",),
                            lambda r, p: _plot_confusion(r["C-lstm-heldout-s0"], "best", "confusion", p,
                                                         "LSTM (minidl), held-out test set")),
    "E-cifar": ("report_e_resnet20_vs_plain20.png", "ResNet-20 against Plain-20 on CIFAR-10, 5,000 training images",
                ("E-resnet20-limit5000-s0", "E-plain20-limit5000-s0"),
                lambda r, p: _plot_runs({"ResNet-20": r["E-resnet20-limit5000-s0"].rows(),
                                         "Plain-20": r["E-plain20-limit5000-s0"].rows()}, p,
                                        "ResNet-20 vs Plain-20 (minidl), 4 epochs")),
    "E-cifar50k": ("report_e_resnet20_vs_plain20_50k.png",
                   "ResNet-20 against Plain-20 on CIFAR-10, all 50,000 training images, 5 epochs (seed 0)",
                   tuple(E_CIFAR50K.values()),
                   lambda r, p: _plot_runs(_present(r, E_CIFAR50K), p, "ResNet-20 vs Plain-20 (minidl), 50,000 images"),
                   "any"),
    "E-text-acc": ("report_e_text_accuracy.png",
                   "Report E's text models at hidden 64: loss and accuracy per epoch (seed 0)",
                   tuple(E_TEXT_NAMES.values()),
                   lambda r, p: _plot_runs(_present(r, E_TEXT_NAMES), p, "report E on IMDB (minidl), hidden 64"),
                   "any"),
    "E-gradnorms": ("report_e_grad_norms.png",
                    "Report E's text models at hidden 64: each LSTM layer's gradient norm during training (seed 0)",
                    tuple(E_TEXT_NAMES.values()),
                    lambda r, p: _plot_grad_norms({label: r.get(n) for label, n in E_TEXT_NAMES.items()}, p,
                                                  "gradient norm per layer (minidl, hidden 64)"),
                    "any"),
}


def figure(records: dict, name: str, prefix: str, draw: bool) -> str:
    """The markdown image of figure ``name`` (drawn when ``draw``), or a note if its runs are missing."""
    file, caption, needs, make, *mode = FIGURES[name]
    missing = [n for n in needs if n not in records]
    if missing and not (mode == ["any"] and len(missing) < len(needs)):
        return f"*(The figure \"{caption}\" is drawn once {', '.join(f'`{n}`' for n in missing)} " \
            f"{'is' if len(missing) == 1 else 'are'} recorded.)*"
    if draw:
        make(records, FIG_DIR / file)
    note = f"\n\n*({NOT_RUN.capitalize()}: {', '.join(f'`{n}`' for n in missing)}; the figure leaves them out.)*" \
        if missing else ""
    return f"![{caption}]({prefix}{file})" + note


# ---------------------------------------------------------------------- placeholders and pages
PLACEHOLDER = re.compile(r"\{\{(table|figure|value|ratio|pts|bench|shortfalls):([^}]*)\}\}")


def _value(records: dict, spec: str) -> str:
    name, path, how = spec.split(":")
    rec = records.get(name)
    return "(not yet recorded)" if rec is None else fmt(rec.field(path), how)


def _two(records: dict, spec: str):
    a, pa, b, pb = spec.split(":")
    if a not in records or b not in records:
        return None
    return records[a].field(pa), records[b].field(pb)


def fill(template: str, records: dict, prefix: str, draw: bool) -> str:
    """Replace every placeholder of ``template`` (see the module docstring)."""
    def one(m):
        kind, spec = m[1], m[2]
        if kind == "table":
            return TABLES[spec](records)
        if kind == "figure":
            return figure(records, spec, prefix, draw)
        if kind == "bench":
            return bench_table(records, spec)
        if kind == "shortfalls":
            return shortfalls(records, spec)
        if kind == "value":
            return _value(records, spec)
        pair = _two(records, spec)
        if pair is None or None in pair:
            return "(not yet recorded)"
        return f"{pair[0] / pair[1]:.2f}×" if kind == "ratio" else f"{100 * (pair[0] - pair[1]):+.2f}"

    return PLACEHOLDER.sub(one, template)


def render_page(records: dict, draw: bool = False) -> str:
    return fill(TEMPLATE_PAGE.read_text(encoding="utf-8"), records, "figures/results/", draw)


def render_readme(records: dict, readme_text: str, draw: bool = False) -> str:
    """``readme_text`` with the block between the results markers rendered anew."""
    start, end = readme_text.find(README_START), readme_text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md lacks the markers {README_START} ... {README_END}")
    body = fill(TEMPLATE_README.read_text(encoding="utf-8"), records, "docs/figures/results/", draw)
    return readme_text[: start + len(README_START)] + "\n" + body.strip() + "\n" + readme_text[end:]


def stale(records: dict, page: Path = PAGE, readme: Path = README) -> list:
    """The generated files that differ from what the records render now."""
    out = []
    if page.read_text(encoding="utf-8") != render_page(records):
        out.append(page.name)
    text = readme.read_text(encoding="utf-8")
    if text != render_readme(records, text):
        out.append(readme.name)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="copy finished queue runs into results/")
    imp.add_argument("runs", nargs="+", type=Path)
    imp.add_argument("--as", dest="as_name", default=None, help="record name (one run only)")
    imp.add_argument("--skip-unfinished", action="store_true",
                     help="pass over runs that have not finished or that failed (say which) and import the rest")
    ren = sub.add_parser("render", help="write docs/results.md, the README section and the figures")
    ren.add_argument("--no-figures", action="store_true")
    sub.add_parser("check", help="exit 1 if the page or the README is stale")
    sub.add_parser("list", help="every record and the experiments it serves")
    args = p.parse_args(argv)
    if args.cmd == "import":
        if args.as_name and len(args.runs) > 1:
            p.error("--as names one run")
        skipped = 0
        for run in args.runs:
            try:
                rec = import_run(run, args.as_name)
            except SystemExit as e:
                if not args.skip_unfinished or not isinstance(e.code, str):
                    raise
                skipped += 1
                print(f"skipped {e.code}")
                continue
            print(f"imported {run} -> results/{rec.name}/")
        if skipped:
            print(f"{skipped} run(s) skipped; run the same command again once they have finished")
        return 0
    records = load_records()
    if args.cmd == "render":
        write_text(PAGE, render_page(records, draw=not args.no_figures))
        write_text(README, render_readme(records, README.read_text(encoding="utf-8"), draw=not args.no_figures))
        print(f"rendered {PAGE.relative_to(ROOT)} and the README's results from {len(records)} records")
        return 0
    if args.cmd == "check":
        bad = stale(records)
        for f in bad:
            print(f"{f} is stale: run python tools/results.py render")
        return 1 if bad else 0
    for name, rec in records.items():
        uses = [f"{e.key} ({lib})" for e in EXPERIMENTS for lib in ("minidl", "twin")
                for _, r in e.pick(records, lib) if r is rec]
        print(f"{name:40s} {rec.library:8s} {'transcribed' if rec.transcribed else 'queue':12s} {', '.join(uses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
