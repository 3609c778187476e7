"""The generated tables of the results page, one function per table (the templates name them
``{{table:NAME}}``, see :data:`TABLES`), and the "below the report" lists."""

from __future__ import annotations

import statistics

from tools.results.cnn34 import cnn34_table, cnn34_verdict, degradation_table
from tools.results.efficiency import d_efficiency_table, d_efficiency_verdict
from tools.results.experiments import E_TEXT, EXP, EXPERIMENTS, HEADLINE, TRAINS_AT
from tools.results.fmt import (
    NOT_RUN,
    acc_epoch,
    fmt,
    grad_norm_ratio,
    loss_acc_cells,
    mark,
    mean,
    pct,
    records_named,
    report_cell,
    seed_mean,
    table,
    trains,
    trains_from,
)
from tools.results.records import Record
from tools.results.summary import quoted, report_a_finding, summary_table
from tools.results.twins import e_text_twins


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
        neg, pos = e.report_per_class
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


def transcribed_runs_table(records: dict, prefix: str) -> str:
    """Transcribed runs whose names start with ``prefix`` and that no experiment's table
    shows already (report B's further runs)."""
    shown = {r.name for e in EXPERIMENTS for lib in ("minidl", "twin") for _, r in e.pick(records, lib) if r}
    rows = []
    for n, r in records.items():
        if not (n.startswith(prefix) and r.transcribed and r.meta.get("kind", "train") == "train") or n in shown:
            continue
        t = r.meta["transcribed"]
        rows.append([mark(r), r.meta.get("label", ""), pct(t.get("best_acc")), str(t.get("best_epoch") or "—"),
                     pct(t.get("last_acc")), fmt(t.get("seconds_to_best"), "s")])
    return table(["record", "run", "best", "at epoch", "last (10)", "wall time to best"], rows, "llrrrr")


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
        rows.append([str(i + 1)] + loss_acc_cells(a, i, digits) + loss_acc_cells(b, i, digits))
    return table(["epoch", "ResNet-20 train loss", "ResNet-20 test acc", "Plain-20 train loss", "Plain-20 test acc"],
                 rows, "rrrrr") + f"\n\nRecords: {records_named(((a, res_name), (b, plain_name)))}."


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
    said, picked, missing = {}, {}, []
    for key in E_TEXT:
        rec = picked[key] = EXP[key].pick(records, "minidl")[0][1]
        if rec is None:
            missing.append(EXP[key].label)
        else:
            said[key] = (trains(rec), acc_epoch(rec.best()), trains_from(rec))
    if not said:
        return ""  # the shortfalls line under the table says that nothing is recorded yet
    level = pct(TRAINS_AT, 0)
    parts = [f"{EXP[k].label} {'trains' if t else 'does not train'} (best {acc}"
             f"{f'; ≥ {level} from epoch {first}' if t else ''})" for k, (t, acc, first) in said.items()]
    text = "At hidden 64: " + "; ".join(parts) + "."
    if missing:
        return text + f" Not run: {', '.join(missing)}."
    lstm8, lstm4, res8 = said["E-lstm8"], said["E-lstm4"], said["E-reslstm8"]
    if not lstm8[0] and lstm4[0] and res8[0]:
        return text + (" Report E's phenomenon is reproduced: the plain 8-layer stack does not train, the 4-layer "
                       "one and the residual 8-layer one do.")
    if lstm8[0] and lstm4[0] and res8[0] and lstm8[2] > max(lstm4[2], res8[2]):
        k, rec = lstm8[2], picked["E-lstm8"]
        before, after = grad_norm_ratio(rec, (1, k - 1)), grad_norm_ratio(rec, (k, len(rec.rows())))
        why = "" if before is None or after is None else (
            f" The gradient says why: the median ratio of its bottom layer's gradient norm to its top layer's is "
            f"{before:.2g} over those {k - 1} epochs (the gradient vanishes on its way down the stack) and "
            f"{after:.2g} from epoch {k} on.")
        return text + (f" Report E's phenomenon shows here as a delay, not a failure: the plain 8-layer stack "
                       f"stays below {level} for {k - 1} epochs and then trains, where the 4-layer one "
                       f"passes {level} in epoch {lstm4[2]} and the residual 8-layer one in epoch {res8[2]}." + why)
    return text + (" Report E's phenomenon (LSTM-8 does not train, LSTM-4 and residual LSTM-8 do) is **not** "
                   "reproduced at this scale.")


# ---------------------------------------------------------------------- issue 15: two MPI ranks
def mpi_table(records: dict) -> str:
    """Report B's LSTM on 2 MPI ranks beside one process (report D's seed-0 run read to epoch 10)."""
    e = EXP["B-lstm-mpi2"]
    one, two = records.get(e.one_process), e.pick(records, "minidl")[0][1]
    rows = []
    for what, rec, fallback in (("one process", one, e.one_process), ("2 MPI ranks", two, "B-lstm-mpi2-s0")):
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


def readme_table(records: dict) -> str:
    """One line per experiment: the report's number, minidl's (last and best epoch) and the twin's;
    for report C the tutorial protocol's sampled accuracy of the final model."""
    rows = []
    for key in HEADLINE:
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


def shortfalls(records: dict, report: str) -> str:
    """Every recorded minidl number below its report's, with the best epoch and the twin's
    numbers beside it; report D's per-class numbers too."""
    lines, pending = [], 0
    for e in EXPERIMENTS:
        if e.report != report or e.report_acc is None or not e.target:
            continue
        twins = e.pick(records, "twin")
        for seed, rec in e.pick(records, "minidl"):
            if rec is None:
                pending += 1
                continue
            value, how = quoted(e, rec)
            if value is None or value >= e.report_acc:
                continue
            twin = twins[seed][1] if seed < len(twins) else None
            text = f"- {e.label}, seed {seed}: {pct(value)} {how} against the report's {report_cell(e)}"
            if e.report != "C":
                text += f"; best epoch {acc_epoch(rec.best(e.epochs))}"
            if twin is not None:
                tv, _ = quoted(e, twin)
                text += f"; the PyTorch twin: {pct(tv)}" + ("" if e.report == "C" else
                                                             f", best {acc_epoch(twin.best(e.epochs))}")
            lines.append(text + ".")
        for seed, rec in e.pick(records, "minidl") if e.report_per_class else ():
            pc = _per_class(rec, "last") if rec else None
            for name, mine, theirs in zip(("negative", "positive"), pc or (), e.report_per_class):
                if mine < theirs:
                    twin = twins[seed][1] if seed < len(twins) else None
                    tpc = _per_class(twin, "last") if twin else None
                    lines.append(f"- {e.label}, seed {seed}, class {name}: {pct(mine)} at the last epoch against the "
                                 f"report's {pct(theirs)}"
                                 + (f"; the PyTorch twin: {pct(tpc[0 if name == 'negative' else 1])}" if tpc else "")
                                 + ".")
    head = "**Below the report**" + (" (among the runs recorded so far)" if pending else "") + ":"
    if not lines and not any(r for e in EXPERIMENTS if e.report == report and e.report_acc is not None
                             and not not e.target for _, r in e.pick(records, "minidl")):
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
    "D-efficiency": d_efficiency_table,
    "D-efficiency-verdict": d_efficiency_verdict,
    "E-cifar": lambda r: cifar_table(r, "E-resnet20-limit5000-s0", "E-plain20-limit5000-s0"),
    "E-cifar-verdict": lambda r: cifar_verdict(r, "E-resnet20-limit5000-s0", "E-plain20-limit5000-s0"),
    "E-cifar50k": lambda r: cifar_table(r, "E-resnet20-s0", "E-plain20-s0", digits=2),
    "E-cifar50k-verdict": lambda r: cifar_verdict(r, "E-resnet20-s0", "E-plain20-s0"),
    "E-cnn34": cnn34_table,
    "E-cnn34-verdict": cnn34_verdict,
    "E-degradation": degradation_table,
    "E-text": e_text_table,
    "E-text-twins": e_text_twins,
    "E-text-verdict": e_text_verdict,
    "B-mpi": mpi_table,
    "A-finding": report_a_finding,
    **{f"summary-{k}": (lambda r, k=k: summary_table(r, k)) for k in "ABCDE"},
    "readme": readme_table,
}

