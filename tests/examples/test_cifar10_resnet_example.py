"""`examples/cifar10_resnet.py` end to end on a miniature binary release (ResNet-20, a few
random images, one epoch), its resume, `--compare`, and its one-line errors."""

import json
import os

import pytest
from data_samples import write_cifar_release
from script_loader import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write_release(folder, n):
    write_cifar_release(folder, n)


def _load_example():
    return load_script(("examples", "cifar10_resnet.py"), "cifar10_resnet")


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


# ----------------------------------------------------------------------------- depth and width
def test_defaults_are_report_e_settings():
    ex = _load_example()
    a = ex.parse_args([])
    assert (a.depth, a.width, a.shortcut, a.name) == (34, 64, True, "resnet34")
    assert (a.batch_size, a.lr, a.epochs, a.augment) == (128, 1e-3, 20, False)
    assert ex.default_out(a) == "runs/cifar10_resnet34"
    a = ex.parse_args(["--depth", "34", "--width", "16", "--plain"])
    assert (a.depth, a.width, a.shortcut, a.name) == (34, 16, False, "plain34")
    assert ex.default_out(a) == "runs/cifar10_plain34_w16"
    a = ex.parse_args(["--depth", "20"])
    assert (a.depth, a.width, a.name) == (20, 16, "resnet20")
    for argv, name in ((["--model", "plain20"], "plain20"), (["--model", "plain", "--depth", "20"], "plain20"),
                       (["--model", "resnet34", "--depth", "34"], "resnet34")):
        assert ex.parse_args(argv).name == name, argv
    assert ex.parse_args(["--augment"]).augment and not ex.parse_args(["--no-augment"]).augment


def test_help_says_what_width_two_cores_want(capsys):
    ex = _load_example()
    with pytest.raises(SystemExit) as e:
        ex.parse_args(["--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--width 16" in text and "report E's 64 for depth 34" in text and "{20,34}" in text


@pytest.mark.parametrize("argv,flag,expected", [
    (["--width", "0"], "--width", "expected an integer in [1, "),
    (["--width", "-1"], "--width", "expected an integer in [1, "),
    (["--width", "1.5"], "--width", "expected an integer, got '1.5'"),
    (["--depth", "50"], "--depth", "choose from 20, 34"),
    (["--depth", "18"], "--depth", "choose from 20, 34"),
    (["--model", "resnet20", "--depth", "34"], "--depth", "contradicts --model resnet20"),
    (["--model", "resnet34", "--plain"], "--plain", "contradicts --model resnet34"),
])
def test_a_bad_width_or_depth_exits_2_with_one_line_before_any_data(tmp_path, monkeypatch, capsys, argv, flag,
                                                                    expected):
    ex = _load_example()
    monkeypatch.setattr(ex, "load_data", lambda args: pytest.fail("the data were read"))
    with pytest.raises(SystemExit) as e:
        ex.cli(argv + ["--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and flag in errors[0] and expected in errors[0], err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def _read_config(path):
    import minidl

    return json.loads(str(minidl.load(path)["config"]))


def test_depth34_at_a_stated_width_records_it_and_refuses_another_on_resume(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    _write_release(data / "cifar-10-batches-bin", n=2)  # 10 train, 2 test images
    ex = _load_example()
    out = tmp_path / "run"
    common = ["--data", str(data), "--batch-size", "5", "--out", str(out), "--progress", "off"]
    r = ex.main(common + ["--depth", "34", "--width", "2", "--epochs", "1"])
    assert (r["depth"], r["width"], r["stage_widths"], r["model"]) == (34, 2, [2, 4, 8, 16], "resnet34")
    summary = json.loads((out / "summary.json").read_text())
    assert {k: summary[k] for k in ("depth", "width", "shortcut", "augment", "batch_size", "world_size")} == \
        {"depth": 34, "width": 2, "shortcut": True, "augment": False, "batch_size": 5, "world_size": 1}
    from minidl.models.resnet import conv_flops, resnet34

    net = resnet34(width=2)
    assert summary["parameters"] == sum(p.data.size for p in net.parameters())
    assert summary["multiply_adds_per_image"] == conv_flops(net)
    assert summary["best_epoch"] == 1 and summary["seconds_per_epoch"] > 0
    rows = json.loads((out / "history.json").read_text())
    assert rows[0]["seconds"] >= rows[0]["train_seconds"] > 0  # the wall time of each epoch
    config = _read_config(out / "last.npz")
    assert {k: config[k] for k in ("model", "depth", "width", "shortcut")} == \
        {"model": "resnet34", "depth": 34, "width": 2, "shortcut": True}
    assert "width 2 (stages [2, 4, 8, 16])" in capsys.readouterr().out

    monkeypatch.setattr(ex, "load_data", lambda args: pytest.fail("the data were read"))
    for flags, flag, ours, theirs in (
            (["--depth", "34", "--width", "4"], "--width", "4", "2"),
            (["--depth", "20", "--width", "2"], "--depth", "20", "34"),
            (["--depth", "34", "--width", "2", "--plain"], "--model", "plain34", "resnet34"),
            (["--model", "plain34", "--width", "2", "--allow-config-change"], "--model", "plain34", "resnet34")):
        assert ex.cli(common + flags + ["--epochs", "2", "--resume"]) == 1, flags
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: {flag} {ours} does not match the checkpoint"), err
        assert f"trained with {flag} {theirs}" in err and f"resume with {flag} {theirs}" in err, err
    assert json.loads((out / "history.json").read_text()) == rows  # nothing was trained or written


def test_resume_with_other_settings_is_refused_by_fit(tmp_path, capsys):
    data = tmp_path / "data"
    _write_release(data / "cifar-10-batches-bin", n=2)
    ex = _load_example()
    common = ["--data", str(data), "--depth", "20", "--width", "2", "--out", str(tmp_path / "run"),
              "--progress", "off"]
    ex.main(common + ["--epochs", "1", "--batch-size", "5"])
    assert ex.cli(common + ["--epochs", "2", "--batch-size", "4", "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: resume:") and "batch_size 5 -> 4" in err and err.count("\n") == 1
    r = ex.main(common + ["--epochs", "2", "--batch-size", "4", "--resume", "--allow-config-change"])
    assert [row["epoch"] for row in r["history"]] == [1, 2]
    assert r["history"][1]["config_changes"] == "batch_size 5 -> 4"


def test_depth34_runs_data_parallel_under_mpiexec(tmp_path):
    import shutil
    import subprocess
    import sys

    pytest.importorskip("mpi4py")
    exe = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(exe):
        pytest.skip("no mpiexec")
    data = tmp_path / "data"
    _write_release(data / "cifar-10-batches-bin", n=2)
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MV2_"))}
    env.update(OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    res = subprocess.run([exe, "-n", "2", sys.executable, os.path.join(ROOT, "examples", "cifar10_resnet.py"),
                          "--data", str(data), "--depth", "34", "--width", "2", "--plain", "--batch-size", "4",
                          "--epochs", "1", "--out", str(out), "--progress", "off"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["world_size"], summary["model"], summary["width"]) == (2, "plain34", 2)
    assert json.loads((out / "history.json").read_text())[0]["seconds"] > 0
