"""The command line: list, check (exit code 0 only when all pass), init."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from minidl.exercises import registry
from minidl.exercises.commands import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "minidl" / "exercises" / "solutions"


def test_list_names_every_exercise(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in registry.exercises())


def test_init_writes_the_stubs_and_keeps_existing_files(tmp_path, capsys):
    assert main(["init", str(tmp_path / "mine")]) == 0
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "mine").iterdir()}
    assert written == registry.stub_files()
    (tmp_path / "mine" / "linear_backward.py").write_text("# my work\n")
    assert main(["init", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "linear_backward.py").read_text() == "# my work\n"
    assert "kept" in capsys.readouterr().out
    assert main(["init", str(tmp_path / "mine"), "--force"]) == 0
    assert (tmp_path / "mine" / "linear_backward.py").read_text() == registry.stub_files()["linear_backward.py"]


def test_check_a_stub_says_not_implemented(tmp_path, capsys):
    main(["init", str(tmp_path)])
    capsys.readouterr()
    assert main(["check", "linear_backward", "--dir", str(tmp_path)]) == 1
    assert "not implemented yet" in capsys.readouterr().out


def test_check_all_passes_only_when_all_are_solved(tmp_path, capsys):
    main(["init", str(tmp_path)])
    names = list(registry.exercises())
    for name in names:
        shutil.copy(SOLUTIONS / f"{name}.py", tmp_path / f"{name}.py")
    capsys.readouterr()
    assert main(["check", "all", "--dir", str(tmp_path)]) == 0
    assert f"{len(names)} of {len(names)} exercises pass" in capsys.readouterr().out
    shutil.copy(registry.STUBS / "linear_backward.py", tmp_path / "linear_backward.py")
    assert main(["check", "all", "--dir", str(tmp_path)]) == 1
    assert "1 not implemented yet" in capsys.readouterr().out


def test_check_reports_a_wrong_answer_and_a_crash(tmp_path, capsys):
    (tmp_path / "linear_backward.py").write_text(
        "def linear_backward(dy, x, W):\n    return dy @ W, x.T @ dy, dy.sum(axis=0)\n")
    assert main(["check", "linear_backward", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "✗ dW" in out and "transposed" in out and "✓ dx" in out
    (tmp_path / "linear_backward.py").write_text("def linear_backward(dy, x, W):\n    return dy @ x\n")
    assert main(["check", "linear_backward", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "raised ValueError" in out and "line 2" in out


def test_check_a_missing_file_or_an_unknown_name(tmp_path, capsys):
    assert main(["check", "linear_backward", "--dir", str(tmp_path / "nowhere")]) == 1
    assert "init" in capsys.readouterr().out
    assert main(["check", "no_such_exercise"]) == 2
    assert "linear_backward" in capsys.readouterr().err


@pytest.mark.parametrize("argv,code", [(["list"], 0), (["check", "linear_backward", "--dir", "exercises"], None)])
def test_python_dash_m_runs(argv, code):
    done = subprocess.run([sys.executable, "-m", "minidl.exercises", *argv], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode in ((0, 1) if code is None else (code,)), done.stderr
    assert "linear_backward" in done.stdout


def test_a_file_that_fails_on_import_is_reported(tmp_path, capsys):
    (tmp_path / "linear_backward.py").write_text("undefined_name\n")
    assert main(["check", "linear_backward", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "cannot load" in out and "NameError" in out
