"""benchmarks/cifar_torch.py, the PyTorch twin of examples/cifar10_resnet.py: the same start
weights and batches give the same steps (float64: to rounding; float32: to ~1e-5), and a
smoke run of both on a miniature CIFAR release writes histories that lie side by side."""

import json
import os
import sys

import numpy as np
import pytest
from data_samples import write_cifar_release
from script_loader import ROOT, load_script
from twin_resume import RUN_NOTES, TIMES, checkpoint_arrays, without

torch = pytest.importorskip("torch")

from minidl import backend, nn, optim  # noqa: E402
from minidl.models.resnet import cifar_resnet  # noqa: E402


@pytest.fixture(scope="module")
def twin():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        yield load_script(("benchmarks", "cifar_torch.py"), "cifar_torch")
    finally:
        sys.path.remove(os.path.join(ROOT, "benchmarks"))


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


class _Args:
    def __init__(self, depth, width, shortcut):
        self.depth, self.width, self.shortcut = depth, width, shortcut


def _steps(twin, dtype, shortcut, steps):
    """``steps`` Adam steps of minidl's ResNet-34 (width 2) and its twin from the same weights
    on the same batch; the two libraries' losses, step by step, and the two nets after."""
    with backend.default_dtype(dtype):
        backend.manual_seed(3)
        model = cifar_resnet(34, 2, shortcut=shortcut)
    tm = twin.twin_of(model, _Args(34, 2, shortcut))
    assert next(tm.parameters()).dtype == {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    opt, topt = optim.Adam(model.parameters(), lr=1e-3), torch.optim.Adam(tm.parameters(), lr=1e-3)
    loss_fn, tloss = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)

    class Batch:
        x = rng.standard_normal((6, 3, 32, 32)).astype(dtype)
        y = rng.integers(0, 10, 6)

    ours, theirs = [], []
    for _ in range(steps):
        out = model(Batch.x)
        ours.append(float(loss_fn(out, Batch.y)))
        model.backward(loss_fn.backward())
        opt.step()
        opt.zero_grad()
        theirs.append(twin.train_step(tm, topt, tloss, Batch)[0])
    return ours, theirs, model, tm


@pytest.mark.parametrize("shortcut", [True, False])
def test_adam_steps_agree_in_float64_from_the_same_weights_and_batch(twin, shortcut):
    ours, theirs, model, tm = _steps(twin, np.float64, shortcut, 3)  # the third loss: after two steps
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    sd = model.state_dict()
    for name, value in tm.state_dict().items():  # weights, BatchNorm statistics, step counters
        np.testing.assert_allclose(backend.asnumpy(sd[name]), value.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("shortcut", [True, False])
def test_the_first_float32_loss_agrees_to_1e5(twin, shortcut):
    """Only the first: Adam's first step moves every weight by ±lr, the sign of its gradient,
    so a gradient that float32 rounding sends across zero moves a weight by 2·lr in one
    library and not the other. The steps after are float64's to check (above)."""
    ours, theirs, _, _ = _steps(twin, np.float32, shortcut, 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_the_example_prepares_the_same_start_and_batches_every_time(tmp_path):
    data = tmp_path / "data"
    write_cifar_release(data / "cifar-10-batches-bin", n=3)
    ex = load_script(("examples", "cifar10_resnet.py"), "cifar10_resnet")
    args = ex.parse_args(["--data", str(data), "--depth", "34", "--width", "2", "--batch-size", "4", "--limit", "12",
                          "--seed", "5", "--augment"])
    first, again = ex.prepare(args), ex.prepare(args)
    for name, value in first.model.state_dict().items():
        np.testing.assert_array_equal(value, again.model.state_dict()[name], err_msg=name)
    for _ in range(2):  # two epochs: the order and the crops and flips of each
        for a, b in zip(first.train_loader, again.train_loader, strict=True):
            np.testing.assert_array_equal(a.index, b.index)
            np.testing.assert_array_equal(a.x, b.x)
    other = ex.prepare(ex.parse_args(["--data", str(data), "--depth", "34", "--width", "2", "--seed", "6"]))
    assert not np.array_equal(other.model.conv1.weight.data, first.model.conv1.weight.data)


@pytest.mark.parametrize("plain", [False, True])
def test_the_twin_and_the_example_write_histories_that_lie_side_by_side(twin, tmp_path, plain):
    data = tmp_path / "data"
    write_cifar_release(data / "cifar-10-batches-bin", n=3)  # 15 train, 3 test images
    # one batch of all 15 images per epoch: the first epoch's loss is the first step's
    flags = ["--data", str(data), "--depth", "34", "--width", "2", "--batch-size", "15", "--epochs", "2",
             "--seed", "5"] + (["--plain"] if plain else [])
    ex = load_script(("examples", "cifar10_resnet.py"), "cifar10_resnet")
    ours = ex.main(flags + ["--out", str(tmp_path / "minidl"), "--progress", "off"])
    theirs = twin.main(flags + ["--out", str(tmp_path / "torch"), "--threads", "1"])
    rows = json.loads((tmp_path / "torch" / "history.json").read_text())
    assert rows == theirs["history"] and [r["epoch"] for r in rows] == [1, 2]
    assert set(rows[0]) == set(ours["history"][0])  # the same columns
    assert (tmp_path / "torch" / "history.csv").is_file()
    summary = json.loads((tmp_path / "torch" / "summary.json").read_text())
    assert summary["library"] == "pytorch" and summary["threads"] == 1
    for key in ("model", "depth", "width", "stage_widths", "parameters", "multiply_adds_per_image", "batch_size"):
        assert summary[key] == ours[key], key
    # the same start weights and the same batch: the same first loss
    np.testing.assert_allclose(rows[0]["train_loss"], ours["history"][0]["train_loss"], rtol=1e-5)
    assert all(np.isfinite([r["train_loss"], r["test_loss"]]).all() and r["seconds"] > 0 for r in rows)


def test_the_twin_refuses_what_only_the_example_does(twin, tmp_path, capsys):
    for flags in (["--compare", "x"], ["--allow-config-change"], ["--device", "cuda"], ["--threads", "0"],
                  ["--width", "0"], ["--depth", "50"]):
        with pytest.raises(SystemExit) as e:
            twin.main(flags + ["--out", str(tmp_path / "o")])
        assert e.value.code == 2, flags
        assert capsys.readouterr().err.count("error:") == 1
    assert not (tmp_path / "o").exists()


def _resume_flags(data):
    # 15 images in batches of 4: four steps an epoch, each epoch's order, crops and flips its own
    return ["--data", str(data), "--depth", "20", "--width", "2", "--batch-size", "4", "--seed", "5", "--augment",
            "--threads", "1"]


def test_a_resumed_run_is_the_uninterrupted_run(twin, tmp_path, capsys):
    """3 epochs at once against 1, then --resume to 2, then to 3: the same rows (but their
    seconds), the same final weights, Adam moments, step counts, generator and summary. Without
    restoring Adam's state (or the loader's epoch) the rows of epochs 2 and 3 differ."""
    data = tmp_path / "data"
    write_cifar_release(data / "cifar-10-batches-bin", n=3)
    flags = _resume_flags(data)
    whole = twin.main(flags + ["--epochs", "3", "--out", str(tmp_path / "whole")])
    twin.main(flags + ["--epochs", "1", "--out", str(tmp_path / "parts")])
    torch.manual_seed(123)  # whatever the process did before: the checkpoint decides
    twin.main(flags + ["--epochs", "2", "--out", str(tmp_path / "parts"), "--resume"])
    parts = twin.main(flags + ["--epochs", "3", "--out", str(tmp_path / "parts"), "--resume"])
    assert "resumed from" in capsys.readouterr().out
    rows = [json.loads((tmp_path / d / "history.json").read_text()) for d in ("whole", "parts")]
    assert [r["epoch"] for r in rows[1]] == [1, 2, 3] and without(rows[0], TIMES) == without(rows[1], TIMES)
    assert rows[1] == parts["history"]
    a, b = checkpoint_arrays(tmp_path / "whole"), checkpoint_arrays(tmp_path / "parts")
    assert set(a) == set(b) and any(k.startswith("optim/") for k in a)
    for key in a:
        if key not in ("meta", "history"):  # JSON texts holding seconds; the rows are compared above
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("whole", "parts")]
    assert summaries[1]["resumed_after_epochs"] == [1, 2] and summaries[0]["resumed_after_epochs"] == []
    assert without([summaries[0]], RUN_NOTES) == without([summaries[1]], RUN_NOTES)
    assert whole["best_acc"] == parts["best_acc"]


def test_a_resume_with_other_settings_is_refused_in_one_line(twin, tmp_path, capsys):
    data = tmp_path / "data"
    write_cifar_release(data / "cifar-10-batches-bin", n=3)
    out = str(tmp_path / "run")
    twin.main(_resume_flags(data) + ["--epochs", "1", "--out", out])
    capsys.readouterr()
    for change, named in ((["--width", "3"], "--width 2 (this run: 3)"), (["--seed", "6"], "--seed 5 (this run: 6)"),
                          (["--plain"], "--model 'resnet20' (this run: 'plain20')")):
        with pytest.raises(SystemExit) as e:
            twin.main(_resume_flags(data) + change + ["--epochs", "2", "--out", out, "--resume"])
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("error:") == 1 and len(err.strip().splitlines()) == 1, err
        assert named in err and "torch_last.npz" in err, err
    assert [r["epoch"] for r in json.loads((tmp_path / "run" / "history.json").read_text())] == [1]
