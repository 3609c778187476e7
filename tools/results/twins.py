"""How closely a PyTorch twin follows its minidl run, epoch by epoch (``{{table:E-text-twins}}``):
the same start weights and batches, so the training losses should agree to the noise that
float32 rounding and the libraries' own dropout masks add. :func:`loss_gaps` is that gap, epoch
by epoch; report E's CNN-34 verdict (:mod:`tools.results.cnn34`) gives it too."""

from __future__ import annotations

from tools.results.fmt import NOT_RUN, pct, table

# report E's text models that have a native nn.LSTM twin (benchmarks/imdb_deep_torch.py)
E_TEXT_TWINS = [("BiLSTM-2", "E-bilstm2-h64-e10-s0", "torch-E-bilstm2-h64-e10-s0"),
                ("LSTM-4", "E-lstm4-h64-e10-s0", "torch-E-lstm4-h64-e10-s0")]


def loss_gaps(ours, twin, key: str = "train_loss") -> list:
    """Epoch by epoch, over the epochs both records have: ``(minidl's row, the twin's row, gap)``,
    gap = (minidl − twin) / twin of ``key``, relative to the twin's (positive: minidl's is higher)."""
    return [(a, b, (a[key] - b[key]) / b[key]) for a, b in zip(ours.rows(), twin.rows())]


def twin_table(records: dict, pairs: list) -> str:
    """One row per epoch both ran: training loss of each, their relative gap, test accuracy of each."""
    rows = []
    for label, ours_name, twin_name in pairs:
        ours, twin = records.get(ours_name), records.get(twin_name)
        if ours is None or twin is None:
            missing = ", ".join(f"`{n}`" for n, r in ((ours_name, ours), (twin_name, twin)) if r is None)
            rows.append([label, "—", "", "", "", "", "", f"{missing} {NOT_RUN}"])
            continue
        for i, (a, b, gap) in enumerate(loss_gaps(ours, twin)):
            rows.append([label if i == 0 else "", str(a["epoch"]), f"{a['train_loss']:.4f}", f"{b['train_loss']:.4f}",
                         f"{100 * gap:+.1f}%", pct(a["test_acc"]), pct(b["test_acc"]),
                         f"`{ours_name}`, `{twin_name}`" if i == 0 else ""])
    return table(["model", "epoch", "minidl train loss", "PyTorch train loss", "gap", "minidl test acc",
                  "PyTorch test acc", "records"], rows, "lrrrrrrl")


def e_text_twins(records: dict) -> str:
    return twin_table(records, E_TEXT_TWINS)
