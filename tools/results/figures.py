"""The figures of the results page and the README, drawn from the records with minidl.plot
(the templates name them ``{{figure:NAME}}``, see :data:`FIGURES`)."""

from __future__ import annotations

from pathlib import Path

from tools.results.experiments import E_TEXT, EXP
from tools.results.fmt import NOT_RUN
from tools.results.records import ROOT, Record

FIG_DIR = ROOT / "docs" / "figures" / "results"


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


E_TEXT_NAMES = {EXP[k].label: EXP[k].minidl[0][0] for k in E_TEXT}
E_CIFAR50K = {"ResNet-20": "E-resnet20-s0", "Plain-20": "E-plain20-s0"}


def _plot_confusion(rec: Record, which: str, key: str, path: Path, title: str):
    from minidl.plot import plot_confusion_matrix

    s = rec.meta["summary"]
    return plot_confusion_matrix(s[which][key], s["languages"], path, title=title)


def _plot_cnn34(runs: dict, path: Path, title: str):
    """Report E's finding in one figure: training loss (left) and test accuracy (right) per
    epoch, one colour per net, minidl solid and the PyTorch twin dashed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from minidl.plot import save_figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for label, rows in runs.items():
        style = {"color": "C0" if label.startswith("ResNet") else "C1", "ls": "--" if "PyTorch" in label else "-"}
        epochs = [r["epoch"] for r in rows]
        ax_loss.plot(epochs, [r["train_loss"] for r in rows], marker=".", label=label, **style)
        ax_acc.plot(epochs, [100 * r["test_acc"] for r in rows], marker=".", label=label, **style)
    ax_loss.set_ylabel("training loss (cross-entropy)")
    ax_acc.set_ylabel("test accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    return save_figure(fig, path)


def _plot_degradation(panels: dict, path: Path, title: str):
    """He et al.'s degradation check: training error (1 − training accuracy) per epoch,
    one panel per kind (plain: the deeper net trains worse; residual: it does not)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from minidl.plot import save_figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False).ravel()
    for ax, (panel, runs) in zip(axes, panels.items()):
        ax.set_title(panel, fontsize="medium")
        for label, rows in runs.items():
            deeper, more = "34" in label.split(",")[0], "seed" in label  # the deeper net in one colour in both
            ax.plot([r["epoch"] for r in rows], [100 * (1 - r["train_acc"]) for r in rows], marker=".", label=label,
                    color="C1" if deeper else "C0", linestyle="--" if more else "-", alpha=0.7 if more else 1.0)
        if not runs:
            ax.text(0.5, 0.5, NOT_RUN, ha="center", va="center", transform=ax.transAxes, color="grey")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if runs:
            ax.legend(fontsize="small")
    axes[0].set_ylabel("training error (%)")
    fig.suptitle(title)
    return save_figure(fig, path)


# report E's CIFAR pair at its layout, width 16 (issue 20), and the 20-layer nets at the same
# settings (20 epochs, no augmentation) for the degradation check
E_CNN34 = {"ResNet-34": "E-resnet34-w16-s0", "Plain-34": "E-plain34-w16-s0",
           "ResNet-34 (PyTorch)": "torch-E-resnet34-w16-s0", "Plain-34 (PyTorch)": "torch-E-plain34-w16-s0"}
E_DEGRADATION = {"plain nets": {"Plain-20": "E-plain20-w16-s0", "Plain-34": "E-plain34-w16-s0"},
                 "residual nets": {"ResNet-20": "E-resnet20-w16-s0", "ResNet-34": "E-resnet34-w16-s0"}}
# further seeds of the check (same commit and settings): drawn dashed and tabled beside seed 0
# once recorded, never asked for (the figure and table stand on seed 0)
E_DEGRADATION_MORE = {"plain nets": {"Plain-20, seed 1": "E-plain20-w16-s1", "Plain-34, seed 1": "E-plain34-w16-s1"},
                      "residual nets": {"ResNet-20, seed 1": "E-resnet20-w16-s1",
                                        "ResNet-34, seed 1": "E-resnet34-w16-s1"}}


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
    "E-cnn34": ("report_e_resnet34_vs_plain34.png",
                "ResNet-34 against Plain-34 on CIFAR-10, report E's layout at width 16 (16-32-64-128): training "
                "loss and test accuracy per epoch, minidl and its PyTorch twin (seed 0)",
                tuple(E_CNN34.values()),
                lambda r, p: _plot_cnn34(_present(r, E_CNN34), p, "ResNet-34 vs Plain-34, width 16"),
                "any"),
    "E-degradation": ("report_e_degradation.png",
                      "The degradation check at width 16: training error per epoch of Plain-20 against Plain-34 and "
                      "of ResNet-20 against ResNet-34 (minidl, seed 0; further seeds dashed where recorded)",
                      tuple(n for names in E_DEGRADATION.values() for n in names.values()),
                      lambda r, p: _plot_degradation({k: {**_present(r, v), **_present(r, E_DEGRADATION_MORE[k])}
                                                      for k, v in E_DEGRADATION.items()}, p,
                                                     "training error, 20 against 34 layers (minidl, width 16)"),
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

