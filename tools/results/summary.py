"""The results page's opening: one table per report (model, the report's number, minidl's, the
PyTorch twin's, and whether it is reproduced or why it differs), and report A's finding in
words. The outcome is computed from the records; only the reasons are written by hand (the
``why``, ``note`` and ``status`` fields of results/experiments.toml)."""

from __future__ import annotations

from tools.results.experiments import EXP, EXPERIMENTS, TOLERANCE, Exp
from tools.results.fmt import NOT_RUN, acc_epoch, mean, pct, report_cell, table, trains
from tools.results.records import Record


def quoted(e: Exp, rec: Record):
    """``(minidl's number that the report's is compared with, how it is named)``."""
    if e.report == "C":
        last = rec.meta.get("summary", {}).get("last") or {}
        return last.get("sampled_acc"), "sampled accuracy of the final model"
    row = rec.last(e.epochs)
    return (row or {}).get("test_acc"), f"at the last epoch ({(row or {}).get('epoch')})"


def _cell(e: Exp, records: dict, which: str) -> str:
    """Every seed's quoted number, "; "-separated; † marks a transcribed record."""
    picked = e.pick(records, which)
    if not picked:
        return "—"
    return "; ".join(NOT_RUN if r is None else _value_cell(e, r) for _, r in picked)


def _value_cell(e: Exp, rec: Record) -> str:
    """The quoted number; for a transcribed log that kept only its best epoch, that one, said so."""
    value = quoted(e, rec)[0]
    mark = " †" if rec.transcribed else ""
    if value is None and rec.best(e.epochs) is not None:
        return f"best {acc_epoch(rec.best(e.epochs))}{mark}"
    return pct(value) + mark


def outcome(e: Exp, records: dict) -> str:
    """"reproduced ..." or "differs because ...", from the records and the experiment's reasons."""
    recs = [r for _, r in e.pick(records, "minidl") if r is not None]
    note = f"; {e.note}" if e.note else ""
    if not recs:
        return NOT_RUN
    if e.group == "E-text" and e.report_acc is None:  # report E's "does not train"
        if trains(recs[0]) is False:
            return f"reproduced: it does not train (best {acc_epoch(recs[0].best())})" + note
        return f"differs because {e.why or 'of a reason not yet found'}" + note
    if e.report_acc is None:
        return (e.status or "no number in the report to compare with") + note
    value = mean(quoted(e, r)[0] for r in recs)
    if value is None:
        return "—"
    gap = 100 * (value - e.report_acc)
    ok = abs(gap) <= 100 * TOLERANCE if e.compare == "close" else gap >= -100 * TOLERANCE
    seeds = f"mean of {len(recs)} seeds " if len(recs) > 1 else ""
    if ok:
        where = "within one point" if abs(gap) <= 100 * TOLERANCE else f"{gap:+.1f} points, above the report"
        return f"reproduced ({seeds}{where})" + note
    return f"differs because {e.why or 'of a reason not yet found'} ({seeds}{gap:+.1f} points)" + note


HEADS = {"C": "sampled accuracy of the final model (tutorial protocol)",
         "D": "test accuracy at the last epoch (15)"}


def summary_table(records: dict, report: str) -> str:
    """One report's headline experiments: the report's number, minidl's, the twin's, the outcome."""
    rows = [[e.label, report_cell(e) if e.report != "C" else pct(e.report_acc, 0), _cell(e, records, "minidl"),
             _cell(e, records, "twin"), outcome(e, records)]
            for e in EXPERIMENTS if e.report == report and e.headline]
    what = HEADS.get(report, "test accuracy at the last epoch")
    return table(["model", f"report {report}", f"minidl: {what}, per seed", "PyTorch twin", "outcome"], rows,
                 "llrrl")


def report_a_finding(records: dict) -> str:
    """Report A's conclusion (the residual LSTM does not help) and whether minidl's runs agree."""
    lstm, res = (EXP[k].pick(records, "minidl")[0][1] for k in ("A-lstm", "A-reslstm"))
    twin = EXP["A-lstm"].pick(records, "twin")[0][1]
    said = (f"Report A concludes that the residual connection does not help on IMDB: its plain LSTM ends at "
            f"{pct(EXP['A-lstm'].report_acc)} and its residual LSTM at {pct(EXP['A-reslstm'].report_acc)} "
            f"({100 * (EXP['A-reslstm'].report_acc - EXP['A-lstm'].report_acc):+.2f} points), which it puts down to "
            "the task resting on single sentiment words more than on long-range structure, and to one layer being "
            "too shallow for a shortcut to matter.")
    if lstm is None or res is None:
        return said + " *(minidl's verdict is written once both runs are recorded.)*"
    a, b = lstm.last()["test_acc"], res.last()["test_acc"]
    gap = 100 * (b - a)
    agree = gap <= 100 * TOLERANCE
    verdict = ("minidl's runs agree: the residual LSTM does not beat the plain one by more than one point" if agree else
               "minidl's runs do **not** agree: here the residual LSTM is ahead")
    best = f"best epochs {acc_epoch(lstm.best())} and {acc_epoch(res.best())}"
    twin_s = f"; the PyTorch twin's plain LSTM ends at {pct(twin.last()['test_acc'])}" if twin else ""
    above = a > EXP["A-lstm"].report_acc and b > EXP["A-reslstm"].report_acc
    return (f"{said} {verdict} (seed 0, last epoch: {pct(b)} against {pct(a)}, {gap:+.2f} points; {best}"
            f"{twin_s})." + (" Both of minidl's models end above report A's numbers." if above else ""))
