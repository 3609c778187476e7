"""`examples/cifar10_resnet.py` end to end on a miniature binary release (ResNet-20, a few
images, one epoch), its resume, and `--compare`."""

import importlib.util
import json
import os

import pytest
from test_cifar10 import _write_release

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    common = ["--data", str(data), "--model", "resnet20", "--batch-size", "4", "--limit", "4",
              "--out", str(out), "--progress", "off"]
    r = ex.main(common + ["--epochs", "1"])
    assert r["best_epoch"] == 1 and 0.0 <= r["best_acc"] <= 1.0
    for name in ("history.json", "history.csv", "curves.png", "confusion.png", "best.npz", "last.npz"):
        assert (out / name).is_file(), name
    r = ex.main(common + ["--epochs", "2", "--resume", "--no-augment"])
    assert [row["epoch"] for row in r["history"]] == [1, 2]
    assert "resumed from" in capsys.readouterr().out
    plain = tmp_path / "plain"
    ex.main(["--data", str(data), "--model", "plain20", "--batch-size", "4", "--limit", "4", "--epochs", "1",
             "--test-limit", "2", "--out", str(plain), "--progress", "off"])
    ex.main(["--compare", str(out), str(plain), "--out", str(tmp_path / "cmp")])
    text = capsys.readouterr().out
    assert (tmp_path / "cmp" / "compare.png").is_file() and "plain" in text and "run" in text
    assert len(json.loads((out / "history.json").read_text())) == 2


def test_example_without_data_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path))
    ex = _load_example()
    with pytest.raises(FileNotFoundError, match="make_cifar10_bin|cifar-10-binary.tar.gz"):
        ex.main(["--model", "resnet20", "--epochs", "1", "--out", str(tmp_path / "o"), "--no-download"])
