"""Plots are written headless as non-empty PNG files, atomically, from any history form."""

import numpy as np
import pytest

from minidl import plot
from minidl.train import History

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    data = path.read_bytes()
    return data[:8] == PNG and len(data) > 2000


def history(offset=0.0):
    return {"epoch": [1, 2, 3], "train_loss": [0.7, 0.5, 0.4], "test_loss": [0.65, 0.55, 0.5],
            "train_acc": [0.6 + offset, 0.75, 0.8], "test_acc": [0.62, 0.7 + offset, 0.74]}


def test_history_curves_from_columns_records_and_objects(tmp_path):
    out = plot.plot_history(history(), tmp_path / "figs" / "curves.png", title="LSTM")
    assert out == tmp_path / "figs" / "curves.png" and is_png(out)
    records = [{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5, "test_acc": None, "seconds": 3},
               {"epoch": 2, "train_loss": 0.8, "train_accuracy": 0.6, "test_acc": 0.55, "seconds": 3}]
    cols = plot.history_columns(records)
    assert cols["train_acc"] == [0.5, 0.6] and np.isnan(cols["test_acc"][0]) and "seconds" not in cols

    assert is_png(plot.plot_history(History(records), tmp_path / "h.png"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left
    with pytest.raises(ValueError, match="none of the columns"):
        plot.plot_history({"epoch": [1], "lr": [0.1]}, tmp_path / "x.png")


def test_several_runs_on_one_figure(tmp_path):
    out = plot.plot_runs({"LSTM": history(), "residual LSTM": history(0.05)}, tmp_path / "runs.png",
                         title="report A")
    assert is_png(out)
    assert is_png(plot.plot_runs({"a": history()}, tmp_path / "test_only.png", splits=("test",)))


def test_confusion_matrix_heatmap_with_class_names(tmp_path):
    names = ["Arabic", "Chinese", "Czech"]
    cm = np.array([[5, 1, 0], [0, 3, 2], [0, 0, 0]])
    out = plot.plot_confusion_matrix(cm, names, tmp_path / "cm.png", title="names")
    assert is_png(out)
    assert is_png(plot.plot_confusion_matrix(cm, names, tmp_path / "counts.png", normalize=False))
    with pytest.raises(ValueError, match=r"C = 2 class names"):
        plot.plot_confusion_matrix(cm, names[:2], tmp_path / "bad.png")
