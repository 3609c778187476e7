"""minidl.fileio: the one atomic writer (text, bytes, .npz, figures), stale temporaries of a
killed save removed by the next one, and a single os.replace in the whole package."""

import ast
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest

import minidl
from minidl import fileio

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_text_bytes_and_npz_are_written_whole(tmp_path):
    fileio.atomic_write_text(tmp_path / "a" / "h.json", "[1, 2]\n")
    fileio.atomic_write_bytes(tmp_path / "a" / "b.bin", b"\x00\x01")
    with fileio.atomic_write(tmp_path / "a" / "c.npz") as f:
        np.savez(f, x=np.arange(3))
    assert (tmp_path / "a" / "h.json").read_text() == "[1, 2]\n"
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\x01"
    with np.load(tmp_path / "a" / "c.npz") as z:
        assert z["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.bin", "c.npz", "h.json"]


def test_an_error_inside_leaves_the_old_file_and_no_temporary(tmp_path):
    fileio.atomic_write_text(tmp_path / "f.txt", "old")
    with pytest.raises(RuntimeError):
        with fileio.atomic_write(tmp_path / "f.txt", "w") as f:
            f.write("half of the new")
            raise RuntimeError("crash mid-write")
    assert (tmp_path / "f.txt").read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]
    with pytest.raises(ValueError, match="mode must be"):
        with fileio.atomic_write(tmp_path / "f.txt", "a"):
            pass


KILLED_SAVE = """
import os, signal, sys
import numpy as np
import minidl
from minidl import fileio
with fileio.atomic_write(sys.argv[1], "wb") as f:
    f.write(b"half a checkpoint")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_save_killed_by_sigkill_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "last.npz"
    minidl.save({"epoch": 1}, path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    stale = [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert len(stale) == 1 and stale[0].endswith("-last.npz")  # today's save leaves it forever
    assert minidl.load(path)["epoch"] == 1  # the old checkpoint is intact
    # another file's save leaves it alone; the next save of last.npz removes it
    minidl.save({"epoch": 9}, tmp_path / "best.npz")
    assert (tmp_path / stale[0]).exists()
    minidl.save({"epoch": 2}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "last.npz"]
    assert minidl.load(path)["epoch"] == 2


def test_a_temporary_of_a_running_writer_is_kept(tmp_path):
    """Only dead writers' files are stale: a temporary named with a live pid (ours, while
    we write it; our parent's) survives a save of the same file."""
    live = tmp_path / f".tmp-{os.getppid()}-abc123-x.txt"
    live.write_text("being written by a live process")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    other = tmp_path / f".tmp-{int(dead.stdout)}-abc123-y-x.txt"  # a dead writer's, but of y-x.txt
    other.write_text("")
    with fileio.atomic_write(tmp_path / "x.txt", "w") as f:
        mine = [p for p in tmp_path.iterdir() if p.name.startswith(f".tmp-{os.getpid()}-")]
        fileio.remove_stale_temporaries(tmp_path / "x.txt")  # a second writer in this process
        assert all(p.exists() for p in mine) and len(mine) == 1
        f.write("new")
    assert live.exists() and other.exists() and (tmp_path / "x.txt").read_text() == "new"


def _os_replace_calls(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("replace", "rename") and isinstance(n.func.value, ast.Name) and n.func.value.id == "os"]


def test_one_os_replace_in_the_package():
    calls = {str(p.relative_to(ROOT)): lines for p in (ROOT / "minidl").rglob("*.py")
             if (lines := _os_replace_calls(p))}
    assert calls == {"minidl/fileio.py": calls.get("minidl/fileio.py")} and len(calls["minidl/fileio.py"]) == 1


def test_a_folder_built_by_a_killed_writer_is_removed_by_the_next_build(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".tmp-{int(dead.stdout)}-abc123-names"
    stale.mkdir()
    (stale / "Arabic.txt").write_text("half")
    tmp = fileio.temporary_folder(tmp_path / "names")
    assert not stale.exists() and tmp.is_dir() and not any(tmp.iterdir())
    (tmp / "A.txt").write_text("a")
    fileio.publish(tmp, tmp_path / "names")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names"] and (tmp_path / "names" / "A.txt").exists()
