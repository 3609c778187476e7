"""A run folder is never silently overwritten or shared (minidl.runfolder), is checked before
any data is read, and a save that fails (a full disk) ends in one error line with the
previous checkpoint intact (minidl.checkpoint)."""

import errno
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from script_loader import load_script

import minidl
from minidl import cli, nn, optim, runfolder
from minidl.errors import CheckpointError, RangeError, RunFolderError
from minidl.train import fit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _hold(folder, **lock):
    folder.mkdir(exist_ok=True)
    (folder / runfolder.LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "started": 0, **lock}))


def test_a_fresh_folder_is_created_locked_and_released(tmp_path):
    out = tmp_path / "a" / "run"
    with runfolder.open_run_folder(str(out), log=None) as folder:
        lock = runfolder.read_lock(str(out / runfolder.LOCK_NAME))
        assert lock["pid"] == os.getpid() and lock["host"] == socket.gethostname()
        assert folder.lock_path
    assert not (out / runfolder.LOCK_NAME).exists() and out.is_dir()
    assert [p.name for p in out.iterdir()] == []  # the probe file is gone too


def test_a_second_run_into_a_folder_holding_one_is_refused(tmp_path):
    (tmp_path / "last.npz").write_bytes(b"x")
    (tmp_path / "history.json").write_text("[]")
    with pytest.raises(RunFolderError, match=rf"--out {tmp_path} already holds a run \(last.npz, history.json\): "
                                             r"--resume continues it, --overwrite deletes it"):
        runfolder.open_run_folder(str(tmp_path), log=None)
    assert not (tmp_path / runfolder.LOCK_NAME).exists()  # the refusal leaves no lock behind
    runfolder.open_run_folder(str(tmp_path), resume=True, log=None).release()
    assert (tmp_path / "last.npz").exists()


def test_overwrite_deletes_the_old_run(tmp_path):
    for name in ("last.npz", "best.npz", "summary.json", "curves.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")
    runfolder.open_run_folder(str(tmp_path), overwrite=True, log=None).release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(RangeError, match="give one of them"):
        runfolder.open_run_folder(str(tmp_path), overwrite=True, resume=True)


def test_a_live_run_holds_the_folder_and_is_named(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _hold(tmp_path, pid=other.pid)
        with pytest.raises(RunFolderError, match=rf"in use by another run: process {other.pid} on "
                                                 rf"{socket.gethostname()}"):
            runfolder.open_run_folder(str(tmp_path), log=None)
    finally:
        other.kill()
        other.wait()
    # the same lock, its process now gone: stale, taken over, and said
    said = []
    runfolder.open_run_folder(str(tmp_path), log=said.append).release()
    assert len(said) == 1 and f"taking over the lock of process {other.pid}" in said[0]


def test_a_lock_from_another_host_is_refused_with_what_to_do(tmp_path):
    _hold(tmp_path, pid=1, host="elsewhere.example")
    with pytest.raises(RunFolderError, match=r"process 1 on elsewhere.example .*delete the lock file"):
        runfolder.open_run_folder(str(tmp_path), log=None)


def test_an_unreadable_lock_is_stale(tmp_path):
    (tmp_path / runfolder.LOCK_NAME).write_text("")  # a writer killed between creating and filling it
    runfolder.open_run_folder(str(tmp_path), log=None).release()


@pytest.mark.parametrize("case", ["empty", "file", "read-only"])
def test_an_unusable_out_fails_at_once(tmp_path, monkeypatch, case):
    if case == "empty":
        out, match = "", r"--out must name a folder"
    elif case == "file":
        out, match = str(tmp_path / "f"), r"is a file, not a folder"
        (tmp_path / "f").write_text("x")
    else:  # root writes through chmod: fail the probe write the way a read-only mount does
        out, match = str(tmp_path / "ro"), r"is not a writable folder \(Read-only file system\)"

        def read_only(path, *a, **k):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)

        monkeypatch.setattr(runfolder, "open", read_only, raising=False)
    with pytest.raises(RunFolderError, match=match):
        runfolder.open_run_folder(out, log=None)


def _example(name):
    return load_script(("examples", f"{name}.py"), name)


@pytest.mark.parametrize("out", ["", "file"])
def test_the_examples_check_out_before_the_data(tmp_path, monkeypatch, capsys, out):
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path / "nowhere"))  # the data check would fail too, later
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    if out == "file":
        out = str(tmp_path / "file")
        (tmp_path / "file").write_text("x")
    assert cli.run(_example("imdb_lstm").main, ["--no-download", "--out", out]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --out") and "not found" not in err[0]


# ------------------------------------------------------------------ a full disk during a save
def _tiny_run(folder, epochs, resume=False):
    minidl.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 2, 32)
    model = nn.Linear(4, 2)
    batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 32, 8)]
    return fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), batches, epochs=epochs,
               checkpoint_dir=str(folder), resume=resume, log=None, progress=False)


def test_a_full_disk_is_one_error_line_and_the_last_checkpoint_stays(tmp_path, monkeypatch, capsys):
    _tiny_run(tmp_path, 1)
    before = (tmp_path / "last.npz").read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("minidl.fileio.os.fsync", full)
    with pytest.raises(CheckpointError, match=r"could not write .*after epoch 2: No space left on device; the "
                                              r"checkpoint of epoch 1 is intact"):
        _tiny_run(tmp_path, 2, resume=True)
    assert cli.run(lambda argv: _tiny_run(tmp_path, 2, resume=True), []) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    monkeypatch.undo()
    assert (tmp_path / "last.npz").read_bytes() == before
    assert int(minidl.load(str(tmp_path / "last.npz"))["epoch"]) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
