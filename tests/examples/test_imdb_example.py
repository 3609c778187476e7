"""`examples/imdb_lstm.py` end to end on a synthetic aclImdb folder: training, the default
download on a fresh machine (the network replaced by a fake server), what it says offline
or with --no-download, and the one-line errors (no traceback, exit code 1)."""

import hashlib
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from fake_imdb import make_aclimdb, make_aclimdb_archive
from script_loader import load_script

import minidl.data.imdb as imdb_data
from minidl.errors import TrainingDiverged

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

def _load_example():
    return load_script(("examples", "imdb_lstm.py"), "imdb_lstm")


@pytest.mark.parametrize("extra", [["--epochs", "1"], ["--epochs", "2", "--cell", "gru", "--loss", "bce"]])
def test_imdb_example_runs_on_synthetic_data(tmp_path, monkeypatch, extra):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data")
    out = tmp_path / "run"
    res = _load_example().main(["--data", data, "--limit", "200", "--out", str(out), "--progress", "off"] + extra)
    assert 0.0 <= res["best_acc"] <= 1.0 and len(res["history"]) == int(extra[1])
    # the last epoch's per-class accuracies are that epoch's own test pass (not a second one)
    last = res["history"][-1]
    assert res["per_class_last"] == [last["test_acc_class0"], last["test_acc_class1"]]
    assert sum(res["per_class_last"]) / 2 == pytest.approx(last["test_balanced_acc"])
    for f in ("history.json", "history.csv", "curves.png", "confusion.png", "best.npz", "last.npz"):
        assert (out / f).stat().st_size > 0, f


def test_imdb_example_learns_the_synthetic_task(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data")
    res = _load_example().main(["--data", data, "--out", str(tmp_path / "run"), "--progress", "off",
                                "--epochs", "10", "--lr", "0.01", "--vocab-size", "64"])
    assert res["best_acc"] > 0.9  # sentiment words decide the label: an LSTM must find them


# ------------------------------------------------------------------ data: download by default, offline, --no-download
class _Response(io.BytesIO):
    status = 200

    def __init__(self, data):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}

    def getcode(self):
        return self.status


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """No $MINIDL_DATA, an empty cache folder, and a network that serves ``served[0]``
    (bytes) or raises it (an exception); every request is recorded."""
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    served, requests = [], []

    def urlopen(request, timeout=None):
        requests.append(request.full_url)
        if isinstance(served[0], Exception):
            raise served[0]
        return _Response(served[0])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return served, requests


def _one_error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_fresh_machine_downloads_the_official_archive_by_default(tmp_path, fresh_machine, monkeypatch):
    served, requests = fresh_machine
    archive = make_aclimdb_archive(tmp_path / "served.tar.gz", n_per_class=20)
    served.append(archive.read_bytes())
    # the fake archive is not the real one: give the loader its checksum, so the check still runs
    monkeypatch.setattr(imdb_data, "IMDB_SHA256", hashlib.sha256(served[0]).hexdigest())
    res = _load_example().main(["--limit", "40", "--epochs", "1", "--out", str(tmp_path / "run"),
                                "--progress", "off", "--vocab-size", "64"])
    assert requests == [imdb_data.IMDB_URL] and len(res["history"]) == 1
    assert (tmp_path / "cache" / "aclImdb_v1.tar.gz").is_file()


def test_a_download_with_the_wrong_checksum_is_one_line_and_leaves_nothing(tmp_path, fresh_machine, capsys):
    served, _ = fresh_machine
    served.append(b"not the IMDB archive")
    assert _load_example().cli(["--epochs", "1", "--out", str(tmp_path / "run")]) == 1
    assert "SHA-256" in _one_error_line(capsys)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_offline_says_what_to_do(tmp_path, fresh_machine, capsys):
    served, _ = fresh_machine
    served.append(urllib.error.URLError("[Errno -3] Temporary failure in name resolution"))
    assert _load_example().cli(["--epochs", "1", "--out", str(tmp_path / "run")]) == 1
    line = _one_error_line(capsys)
    assert "could not download" in line and "name resolution" in line
    assert "aclImdb_v1.tar.gz" in line and "--data" in line and "--no-download" in line


def test_no_download_never_touches_the_network(tmp_path, fresh_machine, capsys):
    served, requests = fresh_machine
    served.append(AssertionError("the network was used"))
    assert _load_example().cli(["--no-download", "--epochs", "1", "--out", str(tmp_path / "run")]) == 1
    line = _one_error_line(capsys)
    assert requests == [] and "not found" in line and "--no-download was given" in line


def test_command_line_exit_code_and_one_line_without_data(tmp_path):
    env = {**os.environ, "MINIDL_CACHE": str(tmp_path / "cache"), "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    env.pop("MINIDL_DATA", None)
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "imdb_lstm.py"), "--no-download",
                          "--out", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("error: IMDB")


# ------------------------------------------------------------------ training faults and resume
def test_training_diverged_is_one_line(tmp_path, monkeypatch, capsys):
    ex = _load_example()

    def diverging_fit(*args, **kwargs):
        raise TrainingDiverged("test loss is nan after epoch 2: training diverged; the last good checkpoint "
                               "(epoch 1) is kept in run/last.npz")

    monkeypatch.setattr(ex, "fit", diverging_fit)
    data = make_aclimdb(tmp_path / "data", n_per_class=20)
    assert ex.cli(["--data", data, "--out", str(tmp_path / "run"), "--progress", "off"]) == 1
    assert "epoch 1) is kept" in _one_error_line(capsys)


def test_resume_with_another_lr_is_refused_unless_allowed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data", n_per_class=20)
    ex = _load_example()
    common = ["--data", data, "--out", str(tmp_path / "run"), "--progress", "off", "--vocab-size", "64"]
    assert ex.cli(common + ["--epochs", "1"]) == 0
    assert ex.cli(common + ["--epochs", "2", "--resume", "--lr", "0.01"]) == 1
    line = _one_error_line(capsys)
    assert "lr 0.001 -> 0.01" in line and "--allow-config-change" in line
    assert ex.cli(common + ["--epochs", "2", "--resume", "--hidden-size", "32"]) == 1
    assert "hidden_size 64 -> 32" in _one_error_line(capsys)
    assert ex.cli(common + ["--epochs", "2", "--resume", "--lr", "0.01", "--allow-config-change"]) == 0
    rows = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["config_changes"] == "lr 0.001 -> 0.01"
