"""`examples/cifar10_resnet.py` end to end on a miniature binary release (ResNet-20, a few
random images, one epoch), its resume, `--compare`, and its one-line errors."""

import importlib.util
import json
import os

import pytest
from data_samples import write_cifar_release

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write_release(folder, n):
    write_cifar_release(folder, n)


def _load_example():
    spec = importlib.util.spec_from_file_location("cifar10_resnet", os.path.join(ROOT, "examples", "cifar10_resnet.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


def test_example_trains_resumes_and_compares(tmp_path, capsys):
    data = tmp_path / "data"
    _write_release(data / "cifar-10-batches-bin", n=4)  # 20 train, 4 test images
    ex = _load_example()
    out = tmp_path / "run"
    # all training images (no --limit), as report E's CPU-scale run uses them
    common = ["--data", str(data), "--model", "resnet20", "--batch-size", "8", "--seed", "1",
              "--out", str(out), "--progress", "off"]
    r = ex.main(common + ["--epochs", "1"])
    assert r["best_epoch"] == 1 and 0.0 <= r["best_acc"] <= 1.0
    assert "data: 20 train / 4 test images" in capsys.readouterr().out
    for name in ("history.json", "history.csv", "curves.png", "confusion.png", "best.npz", "last.npz"):
        assert (out / name).is_file(), name
    r = ex.main(common + ["--epochs", "2", "--resume", "--no-augment"])
    assert [row["epoch"] for row in r["history"]] == [1, 2]
    assert "resumed from" in capsys.readouterr().out
    rows = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in rows] == [1, 2]
    for row in rows:
        assert {"train_loss", "train_acc", "test_loss", "test_acc", "seconds"} <= set(row), row
        assert row["seconds"] > 0 and 0 <= row["test_acc"] <= 1
    plain = tmp_path / "plain"
    ex.main(["--data", str(data), "--model", "plain20", "--batch-size", "4", "--limit", "4", "--epochs", "1",
             "--test-limit", "2", "--out", str(plain), "--progress", "off"])
    assert "data: 4 train / 2 test images" in capsys.readouterr().out
    ex.main(["--compare", str(out), str(plain), "--out", str(tmp_path / "cmp")])
    text = capsys.readouterr().out
    assert (tmp_path / "cmp" / "compare.png").is_file() and "plain" in text and "run" in text


def test_example_without_data_says_where_to_put_it(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path))
    ex = _load_example()
    with pytest.raises(FileNotFoundError, match="make_cifar10_bin|cifar-10-binary.tar.gz"):
        ex.main(["--model", "resnet20", "--epochs", "1", "--out", str(tmp_path / "o"), "--no-download"])
    assert ex.cli(["--model", "resnet20", "--epochs", "1", "--out", str(tmp_path / "o"), "--no-download"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_a_diverged_run_ends_with_one_line(tmp_path, monkeypatch, capsys):
    from minidl.errors import TrainingDiverged

    data = tmp_path / "data"
    _write_release(data / "cifar-10-batches-bin", n=2)
    ex = _load_example()

    def diverge(*args, **kwargs):
        raise TrainingDiverged("loss is nan at epoch 1, step 2: training diverged")

    monkeypatch.setattr(ex, "fit", diverge)
    assert ex.cli(["--data", str(data), "--model", "resnet20", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err == "error: loss is nan at epoch 1, step 2: training diverged\n"
