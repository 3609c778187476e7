"""fit/evaluate: learning, exact resume, the divergence guard, changed hyper-parameters on
resume, history files, best-model keeping, per-class metrics."""

import json
import os

import numpy as np
import pytest

import minidl
from minidl import nn, optim
from minidl.data.batching import BatchLoader
from minidl.errors import CheckpointError
from minidl.train import History, TrainingDiverged, evaluate, fit


def _data(n=96, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, y


def _model(p=0.3):
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(p), nn.Linear(8, 2))


def _run(tmp, epochs, resume=False, seed=0, lr=0.02, sabotage=None, **kw):
    """Train the toy model; ``sabotage(step_count, params)`` runs after each optimizer step."""
    minidl.manual_seed(seed)
    x, y = _data()
    model = _model()
    opt = optim.Adam(model.parameters(), lr=lr)
    if sabotage is not None:
        real_step = opt.step

        def step():
            real_step()
            sabotage(opt.step_count, opt.params)

        opt.step = step  # the instance's step: the optimizer's class (stored in the checkpoint) is unchanged
    train = BatchLoader(x, y, batch_size=16, shuffle=True, seed=seed)
    test = BatchLoader(x, y, batch_size=32, shuffle=False)
    kw.setdefault("log", None)
    hist = fit(model, nn.CrossEntropyLoss(), opt, train, test, epochs=epochs, checkpoint_dir=tmp,
               resume=resume, clip_grad=5.0, **kw)
    return model, hist


def _weights(model):
    return {n: p.data.copy() for n, p in model.named_parameters()}


def test_fit_learns_and_writes_files(tmp_path):
    lines = []
    model, hist = _run(tmp_path, epochs=6, log=lines.append)
    assert len(hist) == 6
    assert hist["test_acc"][-1] > 0.9 and hist["train_loss"][-1] < hist["train_loss"][0]
    for f in ("last.npz", "best.npz", "history.json", "history.csv"):
        assert (tmp_path / f).stat().st_size > 0
    rows = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in rows] == list(range(1, 7))
    best = minidl.load(tmp_path / "best.npz")
    assert best["acc"] == pytest.approx(max(hist["test_acc"]))
    assert (tmp_path / "history.csv").read_text().splitlines()[0].startswith("epoch,train_loss,train_acc")
    assert len(lines) == 6 and not any(line.startswith("warning") for line in lines)  # a healthy run: no warning


def test_history_rows_carry_per_class_and_balanced_accuracy(tmp_path):
    model, hist = _run(tmp_path, epochs=2)
    x, y = _data()
    ev = evaluate(model, nn.CrossEntropyLoss(), BatchLoader(x, y, batch_size=32, shuffle=False))
    row = hist.rows[-1]
    per_class = [np.mean(ev["y_pred"][y == c] == c) for c in (0, 1)]
    assert [row["test_acc_class0"], row["test_acc_class1"]] == pytest.approx(per_class)
    assert row["test_balanced_acc"] == pytest.approx(np.mean(per_class))
    np.testing.assert_array_equal(ev["confusion"], [[np.sum((y == t) & (ev["y_pred"] == p)) for p in (0, 1)]
                                                    for t in (0, 1)])
    assert ev["n"] == 96 and ev["acc"] == pytest.approx(np.mean(ev["y_pred"] == y))


def test_resume_equals_uninterrupted_training(tmp_path):
    """3 epochs straight == 2 epochs, a fresh process-like restart, then resume to 3."""
    full, hist_full = _run(tmp_path / "a", epochs=3)
    _run(tmp_path / "b", epochs=2)
    minidl.manual_seed(123)  # a different seed in the "new process": resume must restore RNG
    resumed, hist_res = _run(tmp_path / "b", epochs=3, resume=True, seed=0)
    for (n, p), (_, q) in zip(full.named_parameters(), resumed.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert hist_full["train_loss"] == hist_res["train_loss"]


def test_nan_guard_names_the_step():
    x, y = _data()
    x[40] = np.nan  # reaches the loss in the third batch of 16
    model = _model()
    loader = BatchLoader(x, y, batch_size=16, shuffle=False)
    with pytest.raises(TrainingDiverged, match="epoch 1, step 3"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader, epochs=1, log=None)


# ------------------------------------------------------------------ the guard before a checkpoint
def _blow_up_after(step_to_break, how):
    def sabotage(step_count, params):
        if step_count == step_to_break:
            for p in params:
                how(p)
    return sabotage


def _scale_huge(p):  # finite weights ~1e23: the training loss of this step was finite
    p.data *= np.float32(1e23)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_blow_up_on_the_last_step_keeps_the_last_good_checkpoint(tmp_path):
    """96 samples / 16 = 6 steps per epoch: step 12 is epoch 2's last. Its training loss was
    computed before the blow-up (finite); the weights are finite but ~1e23, so the test loss
    is NaN. Nothing of epoch 2 may be written: last.npz stays epoch 1's."""
    _run(tmp_path, epochs=1)
    good = minidl.load(tmp_path / "last.npz")
    history_before = (tmp_path / "history.json").read_text()
    with pytest.raises(TrainingDiverged, match=r"test loss is nan after epoch 2.*epoch 1\) is kept in .*last.npz"):
        _run(tmp_path, epochs=3, resume=True, sabotage=_blow_up_after(12, _scale_huge))
    kept = minidl.load(tmp_path / "last.npz")
    assert kept["epoch"] == 1
    for name, value in good["model"].items():
        np.testing.assert_array_equal(kept["model"][name], value, err_msg=name)
    assert (tmp_path / "history.json").read_text() == history_before
    assert minidl.load(tmp_path / "best.npz")["epoch"] == 1


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_resume_after_a_blow_up_continues_from_the_last_good_epoch(tmp_path):
    """After the blow-up, resuming (the cause removed) gives exactly the clean run's weights."""
    clean, clean_hist = _run(tmp_path / "clean", epochs=3)
    with pytest.raises(TrainingDiverged):
        _run(tmp_path / "broken", epochs=3, sabotage=_blow_up_after(12, _scale_huge))
    minidl.manual_seed(7)
    resumed, hist = _run(tmp_path / "broken", epochs=3, resume=True)
    assert [r["epoch"] for r in hist.rows] == [1, 2, 3]
    for name, w in _weights(clean).items():
        np.testing.assert_array_equal(_weights(resumed)[name], w, err_msg=name)
    assert hist["train_loss"] == clean_hist["train_loss"]


def test_non_finite_parameter_after_the_last_step_is_named(tmp_path):
    def poison(p):
        if p.data.ndim == 1:
            p.data[0] = np.nan
    with pytest.raises(TrainingDiverged, match=r"after epoch 1 the parameters 0\.bias, 3\.bias hold NaN"):
        _run(tmp_path, epochs=2, sabotage=_blow_up_after(6, poison))
    assert not (tmp_path / "last.npz").exists()  # no good epoch yet: nothing written


def test_nan_evaluation_loss_stops_before_anything_is_written(tmp_path):
    x, y = _data()
    x_test = x.copy()
    x_test[5] = np.nan  # the training data are fine; one test sample is NaN
    model = _model()
    with pytest.raises(TrainingDiverged, match="test loss is nan after epoch 1"):
        fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02), BatchLoader(x, y, batch_size=16),
            BatchLoader(x_test, y, batch_size=32, shuffle=False), epochs=2, checkpoint_dir=tmp_path, log=None)
    assert os.listdir(tmp_path) == []


def test_a_growing_loss_warns_every_epoch_but_trains_on(tmp_path):
    """lr 1e6: the loss reaches ~1e12 while the weights stay finite; not an error (the
    accuracy may still be fine, and report B's NLL-on-raw-scores diverges on purpose), but
    each epoch says so on one line."""
    lines = []
    _, hist = _run(tmp_path, epochs=2, lr=1e6, log=lines.append)
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(hist) == 2 and len(warnings) == 2 and "\n" not in warnings[0]
    assert "times the first step's" in warnings[0] and "lower the learning rate" in warnings[0]


def test_resume_refuses_a_checkpoint_with_a_nan_parameter(tmp_path):
    """A last.npz written by the old guard (which did not check the weights) is refused."""
    _run(tmp_path, epochs=1)
    ck = minidl.load(tmp_path / "last.npz")
    ck["model"]["3.weight"][0, 0] = np.nan
    minidl.save(ck, tmp_path / "last.npz")
    with pytest.raises(CheckpointError, match="NaN or inf parameters"):
        _run(tmp_path, epochs=2, resume=True)


def test_resume_names_an_unreadable_checkpoint(tmp_path):
    _run(tmp_path, epochs=1)
    data = (tmp_path / "last.npz").read_bytes()
    (tmp_path / "last.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"last\.npz"):
        _run(tmp_path, epochs=2, resume=True)


# ------------------------------------------------------------------ changed hyper-parameters on resume
def test_resume_with_another_lr_is_refused_then_allowed(tmp_path):
    _run(tmp_path, epochs=1, lr=0.02, config={"hidden": 8})
    with pytest.raises(CheckpointError, match=r"lr 0\.02 -> 0\.05.*allow_config_change=True"):
        _run(tmp_path, epochs=2, resume=True, lr=0.05, config={"hidden": 8})
    with pytest.raises(CheckpointError, match=r"hidden 8 -> 16"):
        _run(tmp_path, epochs=2, resume=True, config={"hidden": 16})
    assert minidl.load(tmp_path / "last.npz")["epoch"] == 1  # a refusal changes nothing
    lines = []
    model, hist = _run(tmp_path, epochs=2, resume=True, lr=0.05, config={"hidden": 8}, allow_config_change=True,
                       log=lines.append)
    assert "changed: lr 0.02 -> 0.05" in lines[0]
    assert hist.rows[1]["config_changes"] == "lr 0.02 -> 0.05" and "config_changes" not in hist.rows[0]
    last = minidl.load(tmp_path / "last.npz")
    assert last["optim"]["lr"] == 0.05 and json.loads(last["config"])["lr"] == 0.05
    _run(tmp_path, epochs=3, resume=True, lr=0.05, config={"hidden": 8})  # the new values are now the run's


def test_resume_with_the_same_settings_and_more_epochs_is_accepted(tmp_path):
    _run(tmp_path, epochs=1, config={"hidden": 8, "layers": (1, 2)})
    _, hist = _run(tmp_path, epochs=2, resume=True, config={"hidden": 8, "layers": [1, 2]})
    assert len(hist) == 2


# ------------------------------------------------------------------ evaluate and History
def test_evaluate_keeps_no_cache_and_restores_mode():
    x, y = _data()
    model = _model()
    ev = evaluate(model, nn.CrossEntropyLoss(), BatchLoader(x, y, batch_size=40, shuffle=False))
    assert ev["y_true"].shape == (96,) and 0 <= ev["acc"] <= 1
    assert ev["per_class_acc"].shape == (2,) and ev["confusion"].sum() == 96
    assert model.training and all(not m._caches for m in model.modules())
    with pytest.raises(ValueError, match="no samples"):
        evaluate(model, nn.CrossEntropyLoss(), [])


def test_evaluate_binary_sigmoid_output():
    x, y = _data()
    model = nn.Sequential(nn.Linear(6, 1), nn.Sigmoid())
    ev = evaluate(model, nn.BCELoss(), [(x, y)])
    p = model(x).reshape(-1)
    model.clear_caches()
    assert ev["acc"] == pytest.approx(np.mean((p > 0.5) == y)) and ev["confusion"].shape == (2, 2)


def test_history_roundtrip(tmp_path):
    h = History()
    h.append(epoch=1, test_acc=0.5)
    h.append(epoch=2, test_acc=0.7)
    assert h.best()["epoch"] == 2
    h.save(tmp_path / "h.json")
    assert History.from_json((tmp_path / "h.json").read_text()).rows == h.rows
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


_KILLABLE_RUN = """
import os, signal, sys
import numpy as np
import minidl
from minidl import nn, optim
from minidl.data.batching import BatchLoader
from minidl.train import fit

out, epochs, kill_at, resume = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "resume"
minidl.manual_seed(0 if not resume else 5)  # a resumed process must not depend on its own seed
rng = np.random.default_rng(0)
x = rng.standard_normal((96, 6)).astype(np.float32)
y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
opt = optim.Adam(model.parameters(), lr=0.02)
real_step = opt.step
def step():
    real_step()
    if opt.step_count == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)  # mid-epoch, no clean-up of any kind
opt.step = step
fit(model, nn.CrossEntropyLoss(), opt, BatchLoader(x, y, batch_size=16, seed=0),
    BatchLoader(x, y, batch_size=32, shuffle=False), epochs=epochs, checkpoint_dir=out, resume=resume, log=None)
"""


def test_kill_9_mid_epoch_then_resume_is_bit_identical(tmp_path):
    """SIGKILL in the middle of epoch 2 (step 9 of 6 per epoch), then --resume: the final
    weights, optimizer state and generator state equal an uninterrupted run's, bit for bit."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "run.py"
    script.write_text(_KILLABLE_RUN)
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}

    def run(out, kill_at, mode):
        return subprocess.run([sys.executable, str(script), str(out), "3", str(kill_at), mode], env=env,
                              capture_output=True, text=True, timeout=120)

    assert run(tmp_path / "straight", -1, "fresh").returncode == 0
    killed = run(tmp_path / "killed", 9, "fresh")
    assert killed.returncode == -signal.SIGKILL
    assert minidl.load(tmp_path / "killed" / "last.npz")["epoch"] == 1
    resumed = run(tmp_path / "killed", -1, "resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = minidl.load(tmp_path / "straight" / "last.npz"), minidl.load(tmp_path / "killed" / "last.npz")
    for part in ("model", "optim"):
        for key, value in a[part].items():
            np.testing.assert_array_equal(b[part][key], value, err_msg=f"{part}/{key}")
    assert a["rng"] == b["rng"] and a["history"] != "" and a["epoch"] == b["epoch"] == 3
    strip = [{k: v for k, v in r.items() if "seconds" not in k} for r in json.loads(a["history"])]
    assert strip == [{k: v for k, v in r.items() if "seconds" not in k} for r in json.loads(b["history"])]
