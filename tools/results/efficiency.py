"""Report D's "the GRU is more efficient than the LSTM", measured: parameters, seconds per
epoch and time to a test accuracy, for the LSTM and GRU runs of one seed that ran one right
after the other on the same machine (``{{table:D-efficiency}}``)."""

from __future__ import annotations

import statistics

from minidl.history import time_to
from tools.results.fmt import NOT_RUN, fmt, mark, pct, table

# report B's classifier (report D's runs use it): Embedding(20001, 64) → cell(64, 64) →
# Linear(64, 64) → ReLU → Dropout → Linear(64, 2)
VOCAB, EMBED, HIDDEN, FC, CLASSES = 20001, 64, 64, 64, 2
GATES = {"LSTM": 4, "GRU": 3}


def recurrent_parameters(cell: str) -> int:
    """W_ih (G·H, D), W_hh (G·H, H) and the two biases (G·H each); G = 4 (LSTM) or 3 (GRU)."""
    g = GATES[cell]
    return g * HIDDEN * (EMBED + HIDDEN) + 2 * g * HIDDEN


def model_parameters(cell: str) -> int:
    """The whole classifier: embedding, recurrent layer, the two Linear layers."""
    return VOCAB * EMBED + recurrent_parameters(cell) + (HIDDEN * FC + FC) + (FC * CLASSES + CLASSES)


def efficiency_table(records: dict, pairs: list, target: float = 0.85) -> str:
    """One row per (library, cell): parameters, median seconds per epoch, time to
    ``target``, best accuracy; ``pairs``: [(library label, {"LSTM": name, "GRU": name})]."""
    rows = []
    for library, names in pairs:
        for cell, name in names.items():
            rec = records.get(name)
            params = [f"{recurrent_parameters(cell):,}", f"{model_parameters(cell):,}"]
            if rec is None:
                rows.append([library, cell] + params + [NOT_RUN] * 4 + [f"`{name}`"])
                continue
            # "seconds": the training and the test pass (both libraries record it; PyTorch no train_seconds)
            per_epoch = statistics.median(r["seconds"] for r in rec.rows())
            hit = time_to(rec.rows(), target)  # (first row at or above target, seconds to its end) or None
            best = max(rec.rows(), key=lambda r: r["test_acc"])
            rows.append([library, cell] + params + [
                f"{per_epoch:.1f} s", f"{hit[1]:.0f} s (epoch {hit[0]['epoch']})" if hit else "not reached",
                f"{pct(best['test_acc'])} ({best['epoch']})", fmt(rec.meta.get("load", {}).get("mean"), "f1"),
                mark(rec)])
    return table(["library", "cell", "recurrent parameters", "all parameters", "s per epoch, train + test (median)",
                  f"time to {target:.0%}", "best (epoch)", "load (mean)", "record"], rows, "llrrrrrrl")


D_PAIRS = [("minidl, 1 thread", {"LSTM": "D-lstm-s1", "GRU": "D-gru-s1"}),
           ("PyTorch, 1 thread", {"LSTM": "torch-D-lstm-s1", "GRU": "torch-D-gru-s1"})]


def d_efficiency_table(records: dict) -> str:
    return efficiency_table(records, D_PAIRS)


def efficiency_verdict(records: dict, pairs: list, target: float = 0.85) -> str:
    """The table in words: parameters, then per library the GRU's time per epoch and time to
    ``target`` as multiples of the LSTM's."""
    lstm_p, gru_p = recurrent_parameters("LSTM"), recurrent_parameters("GRU")
    text = [f"The GRU has {1 - gru_p / lstm_p:.0%} fewer recurrent parameters than the LSTM (3 gate blocks "
            f"against 4) but only {1 - model_parameters('GRU') / model_parameters('LSTM'):.1%} fewer in all: the "
            f"embedding holds {VOCAB * EMBED / model_parameters('LSTM'):.0%} of either model."]
    for library, names in pairs:
        lstm, gru = records.get(names["LSTM"]), records.get(names["GRU"])
        if lstm is None or gru is None:
            continue
        per = [statistics.median(r["seconds"] for r in rec.rows()) for rec in (lstm, gru)]
        hits = [time_to(rec.rows(), target) for rec in (lstm, gru)]
        sentence = f"{library}: an epoch of the GRU takes {per[1] / per[0]:.2f}× the LSTM's"
        if all(hits):
            (lstm_row, lstm_s), (gru_row, gru_s) = hits
            sentence += (f"; the GRU reaches {target:.0%} at epoch {gru_row['epoch']} after {gru_s:.0f} s, the LSTM at "
                         f"epoch {lstm_row['epoch']} after {lstm_s:.0f} s ({gru_s / lstm_s:.2f}×)")
        else:
            sentence += "; " + ", ".join(f"the {c} does not reach {target:.0%}" for c, h in zip(("LSTM", "GRU"), hits)
                                         if not h)
        text.append(sentence + ".")
    return " ".join(text)


def d_efficiency_verdict(records: dict) -> str:
    return efficiency_verdict(records, D_PAIRS)
