"""Report D's "the GRU is more efficient than the LSTM", measured: parameters, seconds per
epoch and time to a test accuracy, for the LSTM and GRU runs of one seed that ran one right
after the other on the same machine (``{{table:D-efficiency}}``)."""

from __future__ import annotations

import functools
import statistics

from minidl.backend import get_rng_state, set_rng_state
from minidl.history import time_to
from minidl.models import ImdbClassifier
from tools.results.fmt import NOT_RUN, fmt, mark, pct, table

# Report D's runs train report B's classifier as examples/imdb_lstm.py builds it by default (each
# record's summary args say so): Embedding(20001, 64) → cell(64, 64) → Linear(64, 64) → ReLU →
# Dropout → Linear(64, 2); the PyTorch twin builds the same layers (its GRU and LSTM, like
# minidl's, have two bias vectors).
D_MODEL = dict(vocab_size=20001, embed_dim=64, hidden_size=64, fc_dim=64, num_classes=2)


@functools.cache
def parameter_counts(cell: str) -> dict:
    """Parameters of report D's classifier with ``cell`` ("LSTM" or "GRU"), counted on the
    model minidl builds, so the page cannot drift from the code: ``{"embedding", "recurrent",
    "all"}``. Building it is cheap (the largest tensor is the 20,001 × 64 embedding table)."""
    state = get_rng_state()  # building draws initial weights: leave minidl's generators as they were
    model = ImdbClassifier(cell=cell.lower(), **D_MODEL)
    set_rng_state(state)

    def count(module):
        return sum(p.data.size for p in module.parameters())
    return {"embedding": count(model.embedding), "recurrent": count(model.rnn), "all": count(model)}


def recurrent_parameters(cell: str) -> int:
    """The recurrent layer's: W_ih (G·H, D), W_hh (G·H, H) and two biases (G·H each); G = 4
    gate blocks (LSTM) or 3 (GRU)."""
    return parameter_counts(cell)["recurrent"]


def model_parameters(cell: str) -> int:
    """The whole classifier's: embedding, recurrent layer, the two Linear layers."""
    return parameter_counts(cell)["all"]


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
            f"embedding holds {parameter_counts('LSTM')['embedding'] / model_parameters('LSTM'):.0%} of either model."]
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
