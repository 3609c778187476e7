"""Report E's CNN at its own depth (issue 20): ResNet-34 against Plain-34 at width 16, minidl
and its PyTorch twin epoch by epoch (``{{table:E-cnn34}}``, ``{{table:E-cnn34-verdict}}``),
and He et al.'s degradation check, 20 against 34 layers (``{{table:E-degradation}}``)."""

from __future__ import annotations

import statistics

from tools.results.figures import E_CNN34, E_DEGRADATION, E_DEGRADATION_MORE
from tools.results.fmt import NOT_RUN, fmt, loss_acc_cells, pct, records_named, table
from tools.results.twins import loss_gaps


def cnn34_table(records: dict) -> str:
    """Training loss and test accuracy per epoch of every run of :data:`E_CNN34`, and each
    run's median seconds per epoch (training and test pass) in the last line."""
    order = ("ResNet-34", "ResNet-34 (PyTorch)", "Plain-34", "Plain-34 (PyTorch)")  # each twin beside its run
    runs = {label: records.get(E_CNN34[label]) for label in order}
    if not any(runs.values()):
        return f"*({records_named((None, n) for n in E_CNN34.values())}.)*"
    n = max(len(r.rows()) for r in runs.values() if r)
    rows = []
    for i in range(n):
        rows.append([str(i + 1)] + [c for rec in runs.values() for c in loss_acc_cells(rec, i)])
    seconds = ["s per epoch"]
    for rec in runs.values():
        sec = statistics.median(r["seconds"] for r in rec.rows()) if rec else None
        seconds += [fmt(sec, "s"), ""]
    rows.append(seconds)
    rows.append(["load (mean)"] + [c for rec in runs.values()
                                   for c in (fmt((rec.meta.get("load") or {}).get("mean") if rec else None, "f1"), "")])
    header = ["epoch"] + [f"{label} {what}" for label in runs for what in ("train loss", "test acc")]
    return table(header, rows, "r" * len(header)) + \
        f"\n\nRecords: {records_named((rec, E_CNN34[label]) for label, rec in runs.items())}."


def cnn34_verdict(records: dict) -> str:
    """Report E's finding in numbers: ResNet-34 against Plain-34 (minidl), and how closely the
    twins' per-epoch training losses follow minidl's."""
    res, plain = records.get(E_CNN34["ResNet-34"]), records.get(E_CNN34["Plain-34"])
    parts = []
    if res is not None and plain is not None:
        k = min(len(res.rows()), len(plain.rows()))
        a, b = res.rows()[k - 1], plain.rows()[k - 1]
        ahead = sum(x["test_acc"] > y["test_acc"] for x, y in zip(res.rows()[:k], plain.rows()[:k]))
        best_res, best_plain = res.best(), plain.best()
        parts.append(
            f"After {k} epochs ResNet-34 reaches {pct(a['test_acc'], 1)} test accuracy (best "
            f"{pct(best_res['test_acc'], 1)} at epoch {best_res['epoch']}) and Plain-34 "
            f"{pct(b['test_acc'], 1)} (best {pct(best_plain['test_acc'], 1)} at epoch {best_plain['epoch']}); "
            f"ResNet-34 is ahead at {ahead} of {k} epochs, and its training loss is "
            f"{a['train_loss']:.3f} against {b['train_loss']:.3f}.")
        # how many epochs of ResNet-34 the plain net's training took: the first epoch whose loss is as low
        caught = next((r["epoch"] for r in res.rows() if r["train_loss"] <= b["train_loss"]), None)
        if caught is not None and caught < k:
            parts.append(f"The training loss Plain-34 reaches after {k} epochs, ResNet-34 had reached after "
                         f"{caught}.")
    for kind in ("ResNet-34", "Plain-34"):
        ours, twin = records.get(E_CNN34[kind]), records.get(E_CNN34[f"{kind} (PyTorch)"])
        if ours is None or twin is None:
            continue
        gaps = [abs(gap) for _, _, gap in loss_gaps(ours, twin)]
        parts.append(f"{kind}: over the {len(gaps)} epochs both libraries ran, minidl's training loss is within "
                     f"{100 * max(gaps):.1f}% of the twin's (epoch by epoch: "
                     + ", ".join(f"{100 * g:.1f}%" for g in gaps) + ").")
    return " ".join(parts) if parts else "*(The comparison is written once the runs are recorded.)*"


def _error_row(kind: str, label: str, name: str, rec) -> tuple[list, float]:
    """One row of the degradation table and the training error of the record's last epoch."""
    last = rec.rows()[-1]
    lowest = min(1 - r["train_acc"] for r in rec.rows())
    err = 1 - last["train_acc"]
    return [kind, label, pct(err, 1), pct(lowest, 1), str(last["epoch"]), f"`{name}`"], err


def degradation_table(records: dict) -> str:
    """Training error (1 − training accuracy) at the last epoch and the lowest over the run,
    20 against 34 layers, plain and residual (seed 0; the further seeds of
    ``E_DEGRADATION_MORE`` in rows of their own when recorded)."""
    rows, verdicts = [], []
    for kind, names in E_DEGRADATION.items():
        errs = {}
        for label, name in names.items():
            rec = records.get(name)
            if rec is None:
                rows.append([kind, label, NOT_RUN, NOT_RUN, "", f"`{name}`"])
                continue
            row, errs[label] = _error_row(kind, label, name, rec)
            rows.append(row)
        more = []
        for label, name in E_DEGRADATION_MORE[kind].items():  # further seeds: only those recorded
            if name in records:
                row, err = _error_row(kind, label, name, records[name])
                rows.append(row)
                net, seed = label.split(", ")
                more.append(f"{seed}: {net} at {pct(err, 1)}")
        if len(errs) == 2:
            (l20, e20), (l34, e34) = errs.items()
            verdicts.append(f"{kind}: {l34} ends at {pct(e34, 1)} training error against {l20}'s {pct(e20, 1)} "
                            f"({'the deeper net trains worse' if e34 > e20 else 'the deeper net trains no worse'}"
                            + (f"; {', '.join(more)}" if more else "") + ")")
    out = table(["", "net", "training error, last epoch", "lowest", "epochs", "record"], rows, "llrrrl")
    return out + ("\n\n" + "; ".join(verdicts) + "." if verdicts else "")
