"""The benchmark scripts still run (tiny sizes): they are how every speed figure in the
docs is made, so a change that breaks one should fail here, not in the next benchmark run."""

import os
import subprocess
import sys

import pytest
from fake_imdb import make_aclimdb
from script_loader import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_benchmark(script, *args, **env):
    """``python benchmarks/SCRIPT ARGS`` in a child process (a script sets the BLAS thread count
    before NumPy loads), with ``env`` added to the environment; it must exit 0."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script), *map(str, args)],
                         capture_output=True, text=True, timeout=300, env=dict(os.environ, **env))
    assert out.returncode == 0, out.stderr
    return out


def test_rnn_benchmark_quick_runs():
    out = run_benchmark("rnn.py", "--quick", "--only", "B-lstm,C-charrnn")
    rows = [line for line in out.stdout.splitlines() if line.startswith("| B-lstm") or line.startswith("| C-charrnn")]
    assert len(rows) == 2, out.stdout
    # each library in processes of its own, page faults and kernel time printed per process
    assert sum("page faults" in line for line in out.stdout.splitlines() if line.startswith("#   ")) >= 2, out.stdout


def test_rnn_benchmark_runs_on_review_ids(tmp_path):
    """``--ids reviews``: the batch is the last tokens of training reviews (a tiny fake IMDB)."""
    make_aclimdb(tmp_path / "data", n_per_class=40)
    out = run_benchmark("rnn.py", "--steps", "1", "--warmup", "1", "--rounds", "1", "--only", "B-lstm", "--no-torch",
                        "--ids", "reviews", "--seq-len", "20", "--batch", "8",
                        MINIDL_DATA=str(tmp_path / "data"), MINIDL_CACHE=str(tmp_path / "cache"))
    assert "(IMDB reviews)" in out.stdout.splitlines()[0], out.stdout
    assert any(line.startswith("| B-lstm") for line in out.stdout.splitlines()), out.stdout


def test_rnn_benchmark_same_process_runs():
    """The old method (both libraries in one process), on glibc's own allocator settings."""
    out = run_benchmark("rnn.py", "--quick", "--only", "C-charrnn", "--same-process", "--allocator", "default")
    assert "both in one process" in out.stdout and "allocator default" in out.stdout, out.stdout
    assert any(line.startswith("| C-charrnn") for line in out.stdout.splitlines()), out.stdout


def test_rnn_benchmark_times_pytorch_without_onednn_and_with_flush_to_zero():
    """``--torch-onednn off`` and ``--torch-flush-denormal on`` reach PyTorch's worker process
    (read back there), and only that one: minidl's worker refuses to run with its core flushing."""
    pytest.importorskip("torch")
    out = run_benchmark("rnn.py", "--quick", "--only", "B-lstm", "--rounds", "1", "--torch-onednn", "off",
                        "--torch-flush-denormal", "on")
    assert "PyTorch's oneDNN off, flush-denormal on" in out.stdout.splitlines()[0], out.stdout  # the header
    checks = [line for line in out.stdout.splitlines() if "of eval logits" in line]
    assert checks and all(line.endswith("(PyTorch's oneDNN off)") for line in checks), out.stdout
    assert "B-lstm PyTorch worker: oneDNN off, flush-denormal on (read back)" in out.stdout, out.stdout
    assert any(line.startswith("| B-lstm") for line in out.stdout.splitlines()), out.stdout


def test_rnn_benchmark_refuses_flush_to_zero_in_one_process():
    """The flush-to-zero mode is the core's: with both libraries in one process it would flush
    minidl's numbers too, so the combination is an error, not a silently unfair timing."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "rnn.py"), "--quick", "--same-process",
                          "--torch-flush-denormal", "on"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "processes of its own" in out.stderr, out.stderr


def test_conv_profile_quick_runs():
    """The per-layer CPU-time breakdown of a ResNet step (benchmarks/README.md's profile)."""
    out = run_benchmark("conv_profile.py", "--batch", "2", "--steps", "1")
    parts = [line.split("|")[1].strip() for line in out.stdout.splitlines() if line.startswith("| ")]
    assert {"Conv2d", "BatchNorm2d", "GEMM (xp.matmul)", "ReLU", "Adam"} <= set(parts), out.stdout


def test_conv_threads_ab_quick_runs():
    """The A/B of the convolution's two-thread variants (benchmarks/README.md, "2 threads")."""
    out = run_benchmark("conv_threads.py", "--batch", "2", "--steps", "1",
                        "--variants", "pool,poolconv,pieces1,whole,chunk2,one")
    rows = [line.split("|")[1].strip() for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[2:] == ["pool", "poolconv", "pieces1", "whole", "chunk2", "one"], out.stdout  # after the header


def test_imdb_torch_reference_runs_with_clipping(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data", n_per_class=40)
    mod = load_script(("benchmarks", "imdb_torch.py"), "imdb_torch")
    res = mod.main(["--data", data, "--epochs", "2", "--cell", "rnn", "--clip", "0.5", "--threads", "1"])
    assert [r["epoch"] for r in res["rows"]] == [1, 2]
    assert 0.0 <= res["best_acc"] <= 1.0 and res["best_epoch"] in (1, 2)
    # report A's head: no hidden Linear, one sigmoid output, BCE; outputs written to --out
    out = tmp_path / "twin"
    res = mod.main(["--data", data, "--epochs", "1", "--embed-dim", "8", "--hidden-size", "6", "--fc-dim", "0",
                    "--dropout", "0.7", "--loss", "bce", "--threads", "1", "--out", str(out)])
    assert res["last_epoch"] == 1 and len(res["per_class_last"]) == 2
    assert (out / "history.json").exists() and (out / "summary.json").exists()


def test_imdb_torch_with_minidl_masks_trains_what_the_example_trains(tmp_path, monkeypatch):
    """``--masks minidl``: the twin applies the dropout masks examples/imdb_lstm.py draws (one
    process), so the two train losses agree epoch by epoch up to float32 rounding; with
    torch's own masks they differ by far more, so the check can fail."""
    pytest.importorskip("torch")
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data", n_per_class=60)
    common = ["--data", data, "--epochs", "2", "--seed", "3"]
    ours = load_script(("examples", "imdb_lstm.py"), "imdb_lstm").main(
        common + ["--out", str(tmp_path / "run"), "--progress", "off"])["history"]
    twin = load_script(("benchmarks", "imdb_torch.py"), "imdb_torch")
    same = twin.main(common + ["--threads", "1", "--masks", "minidl"])["rows"]
    own = twin.main(common + ["--threads", "1"])["rows"]
    gap_same = max(abs(a["train_loss"] - b["train_loss"]) for a, b in zip(ours, same))
    gap_own = max(abs(a["train_loss"] - b["train_loss"]) for a, b in zip(ours, own))
    assert gap_same < 1e-4 < gap_own, (gap_same, gap_own)


@pytest.mark.parametrize("ranks", [2, 3])
def test_minidl_masks_are_the_ranks_masks(ranks):
    """What the twin rebuilds for R ranks is what each rank draws in ``fit``: reseeded from
    (seed, epoch, rank), its shard of the batch cut by work, one mask for the shard."""
    pytest.importorskip("torch")
    import numpy as np

    import minidl
    from minidl.data.batching import Batch
    from minidl.distributed import shard_batch_by_work
    from minidl.functional.dropout import dropout_mask
    from minidl.train import _rank_seed

    twin = load_script(("benchmarks", "imdb_torch.py"), "imdb_torch")
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, size=64)
    batch = Batch(x=np.ones((64, 300), np.int64), y=np.arange(64) % 2, lengths=lengths, index=np.arange(64))
    masks = twin.MinidlMasks(seed=7, ranks=ranks, p=0.5, width=16)
    for epoch in (1, 2):
        masks.start_epoch(epoch)
        got = [masks.for_batch(batch) for _ in range(2)]  # two batches: each rank's stream moves on
        want = [np.zeros((64, 16), np.float32) for _ in range(2)]
        for r in range(ranks):
            minidl.manual_seed(_rank_seed(7, epoch, r))
            for w in want:
                shard = shard_batch_by_work(batch, r, ranks)
                w[shard.index] = dropout_mask(np.zeros((len(shard.y), 16), np.float32), 0.5)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
            assert 0.3 < (g > 0).mean() < 0.7 and set(np.unique(g)) == {0.0, 2.0}


def test_time_to_accuracy_runs_both_libraries(tmp_path):
    """Two ranks of minidl and the PyTorch twin on a made-up IMDB folder; the table has a row
    per run, each epoch's line was seen on the run's output (in order, before the run ended),
    and the time to a target any model reaches (accuracy ≥ 0) is when epoch 1's line came."""
    pytest.importorskip("torch")
    pytest.importorskip("mpi4py")
    data = make_aclimdb(tmp_path / "data", n_per_class=40)
    report = tmp_path / "t.json"
    out = run_benchmark("time_to_accuracy.py", "--seeds", "0", "--epochs", "2", "--targets", "0.0001", "1.0",
                        "--twin-masks", "minidl", "--data", data, "--out", tmp_path / "runs", "--json", report,
                        MINIDL_CACHE=str(tmp_path / "cache"))
    rows = [line for line in out.stdout.splitlines() if line.startswith("| minidl") or line.startswith("| PyTorch")]
    assert len(rows) == 2, out.stdout
    import json
    runs = json.loads(report.read_text())["runs"]
    for r in runs:
        lines = r["epoch_line_seconds"]
        assert list(lines) == ["1", "2"] and 0 < lines["1"] < lines["2"] <= r["wall_seconds"]
        assert r["after_training_seconds"] == pytest.approx(r["wall_seconds"] - lines["2"])
        epoch, _, seconds = r["time_to"]["0.0001"]
        assert epoch == 1 and seconds == lines["1"]
        reached = r["time_to"]["1.0"]
        assert (reached is None) == (max(h["test_acc"] for h in r["history"]) < 1.0)
    # --twin-masks minidl: the twin drew the masks minidl's two ranks drew, so the same
    # losses up to float32 rounding (torch's own masks move them by ~1e-3)
    ours, theirs = (next(r["history"] for r in runs if r["library"] == lib) for lib in ("minidl", "pytorch"))
    for a, b in zip(ours, theirs):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)


def test_twin_divergence_trains_the_same_numbers_in_float64(tmp_path, monkeypatch):
    """benchmarks/twin_divergence.py in float64: minidl's hand-written step (forward, backward,
    Adam, dropout) and the autograd twin's stay equal to rounding step after step, while the
    loss moves (a wrong mask or gradient would open a gap far above 1e-9)."""
    pytest.importorskip("torch")
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data", n_per_class=60)
    mod = load_script(("benchmarks", "twin_divergence.py"), "twin_divergence")
    rows, accuracies = mod.main(["--data", data, "--dtype", "float64", "--steps", "4", "--every", "1"])
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert max(r["weight_gap"] for r in rows) < 1e-9
    assert max(abs(r["minidl_loss"] - r["torch_loss"]) for r in rows) < 1e-12
    assert len({round(r["minidl_loss"], 6) for r in rows}) == 4  # the losses move: the check is not of a constant
    assert [a["epoch"] for a in accuracies] == [1, 2] and all(a["minidl"] == a["torch"] for a in accuracies)


def test_eval_pass_times_both_libraries_on_the_same_model(tmp_path):
    make_aclimdb(tmp_path / "data", n_per_class=30)
    out = run_benchmark("eval_pass.py", "--rounds", "1", "--batch", "16",
                        MINIDL_DATA=str(tmp_path / "data"), MINIDL_CACHE=str(tmp_path / "cache"))
    rows = [line for line in out.stdout.splitlines() if line.startswith("| minidl") or line.startswith("| torch")]
    assert len(rows) == (2 if "minidl / PyTorch" in out.stdout else 1), out.stdout
    losses = [float(r.split("|")[4]) for r in rows]
    assert max(losses) - min(losses) <= 1e-5, out.stdout  # the same weights: the same test loss


def test_trained_step_times_each_library_along_a_training_run(tmp_path):
    make_aclimdb(tmp_path / "data", n_per_class=60)
    out = run_benchmark("trained_step.py", "--at", "0", "2", "--steps", "1", "--length", "8",
                        MINIDL_DATA=str(tmp_path / "data"), MINIDL_CACHE=str(tmp_path / "cache"))
    rows = [line.split("|")[1:-1] for line in out.stdout.splitlines() if line.startswith(("| 0 |", "| 2 |"))]
    assert [int(r[0]) for r in rows] == [0, 2], out.stdout
    with_torch = "PyTorch flushing" in out.stdout
    assert all(len(r) == (6 if with_torch else 3) for r in rows), out.stdout
    assert all(1 <= int(r[1]) <= 8 and float(r[2]) > 0 for r in rows), out.stdout


def test_timing_a_copy_leaves_the_training_s_generator_and_weights_alone():
    """trained_step's minidl timing builds a model and runs dropout: it must hand the global
    generator back as it found it, so the run it watches is the run it would be without it."""
    import numpy as np

    import minidl

    trained_step = load_script(("benchmarks", "trained_step.py"), "trained_step")
    minidl.manual_seed(3)
    state = {k: np.array(v, copy=True) for k, v in trained_step.gradient_reach.report_b_model().state_dict().items()}
    kept = {k: v.copy() for k, v in state.items()}
    before = minidl.backend.get_rng_state()
    ids = np.random.default_rng(0).integers(1, 20001, size=(4, 6))
    assert trained_step.minidl_step_ms(state, ids, np.array([0, 1, 1, 0]), steps=2) > 0
    assert minidl.backend.get_rng_state() == before
    assert all(np.array_equal(state[k], kept[k]) for k in kept)  # the copy trained, not the weights given
