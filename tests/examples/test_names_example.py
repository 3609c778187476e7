"""examples/names_rnn.py (report C) end to end on a tiny synthetic names folder: both
protocols, every model, exact resume, the tutorial's sampler, learning, and the PyTorch
twin (benchmarks/names_torch.py) following the very same trajectory."""

import json
import os
import sys

import numpy as np
import pytest
from script_loader import load_script

import minidl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# four made-up "languages", each with a spelling pattern an RNN can find
PATTERNS = {"Alpha": ("", "ov"), "Beta": ("Mc", ""), "Gamma": ("", "ez"), "Delta": ("O'", "")}
MIDDLE = "abdeiklmnorstu"


def make_names(root, per_language=30, seed=0):
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "names")
    os.makedirs(folder)
    for lang, (pre, post) in PATTERNS.items():
        rows = []
        for _ in range(per_language):
            mid = "".join(rng.choice(list(MIDDLE), int(rng.integers(2, 6))))
            rows.append(pre + mid.capitalize() + post)
        with open(os.path.join(folder, f"{lang}.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
    return folder


def load(path, name):
    return load_script(path, name)


@pytest.fixture
def example():
    return load(("examples", "names_rnn.py"), "names_rnn")


@pytest.fixture
def data(tmp_path):
    return make_names(tmp_path / "data")


QUICK = ["--steps", "120", "--log-every", "40", "--confusion-samples", "200", "--progress", "off"]


@pytest.mark.parametrize("model", ["rnn", "lstm", "mylstm"])
def test_tutorial_protocol_runs_and_writes_its_outputs(example, data, tmp_path, model):
    out = tmp_path / "run"
    res = example.main(["--data", data, "--model", model, "--out", str(out)] + QUICK)
    assert [r["step"] for r in res["history"]] == [40, 80, 120]
    last = res["last"]
    assert last["n"] == 120 and len(last["per_class"]) == 4 and np.array(last["confusion"]).sum() == 120
    assert np.array(last["confusion_sampled"]).sum() == 200
    assert 0 <= last["balanced_acc"] <= 1 and 0 <= last["sampled_acc"] <= 1
    for f in ("history.json", "history.csv", "summary.json", "curves.png", "confusion.png", "best.npz", "last.npz"):
        assert (out / f).stat().st_size > 0, f
    summary = json.loads((out / "summary.json").read_text())
    assert summary["last"]["acc"] == last["acc"] and summary["languages"] == sorted(PATTERNS)
    hist = json.loads((out / "history.json").read_text())
    assert [r["step"] for r in hist] == [40, 80, 120]


def test_heldout_protocol_reports_best_and_last(example, data, tmp_path):
    res = example.main(["--data", data, "--model", "rnn", "--protocol", "heldout", "--epochs", "2",
                        "--out", str(tmp_path / "run"), "--progress", "off"])
    assert res["test_names"] == 4 * 6 and res["train_names"] == 4 * 24  # 80/20 within each language
    assert len(res["history"]) == 2 and {"test_acc", "test_loss"} <= set(res["history"][0])
    assert res["best"]["acc"] == pytest.approx(res["best_acc"])
    assert res["last"]["acc"] == pytest.approx(res["history"][-1]["test_acc"])
    assert res["best_epoch"] in (1, 2) and res["last"]["n"] == 24


def test_heldout_split_is_stratified_fixed_and_disjoint(example, data):
    args = example.parse_args(["--data", data, "--protocol", "heldout"])
    train, test, langs = example.prepare_data(args)
    args2 = example.parse_args(["--data", data, "--protocol", "heldout", "--seed", "5"])
    train2, _, _ = example.prepare_data(args2)
    assert train.names == train2.names  # the training seed does not move the split
    assert not set(zip(train.names, train.labels)) & set(zip(test.names, test.labels))
    assert np.bincount(test.labels).tolist() == [6, 6, 6, 6]
    limited, _, _ = example.prepare_data(example.parse_args(["--data", data, "--limit", "5"]))
    assert np.bincount(limited.labels).tolist() == [5, 5, 5, 5]


def test_tutorial_sampler_is_seeded_per_window_and_uniform_over_languages(example):
    labels = np.array([0] * 90 + [1] * 5 + [2] * 5)  # one big language, two small ones
    split = example.NamesSplit([f"n{i}" for i in range(100)], labels, np.ones((100, 3), np.int64),
                               np.full(100, 3))
    s = example.TutorialSampler(split, steps=3000, window=1000, seed=3)
    a = s.indices(2)
    assert np.array_equal(a, example.TutorialSampler(split, 3000, 1000, seed=3).indices(2))
    assert not np.array_equal(a, s.indices(1))
    share = np.bincount(labels[np.concatenate([s.indices(w) for w in range(3)])], minlength=3) / 3000
    assert np.all(np.abs(share - 1 / 3) < 0.05)  # languages drawn uniformly, not by their size
    assert [len(list(s)) for _ in range(4)] == [1000, 1000, 1000, 0] and s.windows == 3


def test_resume_continues_exactly(example, data, tmp_path):
    straight = example.main(["--data", data, "--model", "lstm", "--out", str(tmp_path / "a")] + QUICK)
    base = ["--data", data, "--model", "lstm", "--out", str(tmp_path / "b"), "--log-every", "40",
            "--confusion-samples", "200", "--progress", "off"]
    example.main(base + ["--steps", "80"])
    resumed = example.main(base + ["--steps", "120", "--resume"])
    keys = ("epoch", "step", "train_loss", "train_acc")
    assert [[r[k] for k in keys] for r in resumed["history"]] == [[r[k] for k in keys] for r in straight["history"]]
    wa = minidl.load(str(tmp_path / "a" / "last.npz"))["model"]
    wb = minidl.load(str(tmp_path / "b" / "last.npz"))["model"]
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k])


def test_the_lstm_learns_the_synthetic_languages(example, data, tmp_path):
    res = example.main(["--data", data, "--model", "lstm", "--protocol", "heldout", "--epochs", "12", "--lr", "0.1",
                        "--out", str(tmp_path / "run"), "--progress", "off"])
    assert res["best"]["balanced_acc"] > 0.9, res["history"]


@pytest.mark.parametrize("model,protocol", [("rnn", "tutorial"), ("lstm", "tutorial"), ("mylstm", "tutorial"),
                                            ("lstm", "heldout")])
def test_pytorch_twin_follows_the_same_trajectory(example, data, tmp_path, model, protocol):
    pytest.importorskip("torch")
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    twin = load(("benchmarks", "names_torch.py"), "names_torch")
    flags = ["--data", data, "--model", model, "--protocol", protocol, "--confusion-samples", "200"]
    flags += ["--epochs", "2"] if protocol == "heldout" else ["--steps", "120", "--log-every", "40"]
    ours = example.main(flags + ["--out", str(tmp_path / "m"), "--progress", "off"])
    theirs = twin.main(flags + ["--threads", "1", "--out", str(tmp_path / "t")])
    assert len(ours["history"]) == len(theirs["rows"])
    for a, b in zip(ours["history"], theirs["rows"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["train_acc"] == b["train_acc"]
    assert ours["last"]["confusion"] == theirs["last"]["confusion"]
    saved = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert saved["last"]["acc"] == theirs["last"]["acc"] and set(saved) >= {"best_acc", "last_acc", "languages"}


def test_missing_data_is_one_error_line(example, tmp_path, capsys):
    code = example.cli(["--data", str(tmp_path / "nowhere"), "--no-download", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("error:") and "\n" not in err and "Traceback" not in err
