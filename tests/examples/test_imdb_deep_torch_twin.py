"""benchmarks/imdb_deep_torch.py, the PyTorch twin of examples/imdb_deep_lstm.py (BiLSTM-2,
LSTM-4 on the native torch.nn.LSTM): the example's fresh weights copied into the twin give
the same logits before any step (and a wrong gate order would not), the same batches give
the same Adam steps, and both scripts write histories that lie side by side."""

import json
import os
import sys

import numpy as np
import pytest
from fake_imdb import make_aclimdb
from script_loader import ROOT, load_script
from twin_resume import RUN_NOTES, TIMES, checkpoint_arrays, without

torch = pytest.importorskip("torch")

from minidl import backend, nn, optim  # noqa: E402

H = 5  # hidden size: tiny, the gate blocks are rows [0:5], [5:10], [10:15], [15:20]
# float32 logits: both libraries compute the same sums in different orders, each operation
# off by at most eps/2 ≈ 6e-8; a logit here is a few hundred such terms of size < 1, so the
# two agree to ~1e-6 at worst (measured: 6e-8). A single swapped pair of gate blocks in one
# weight moves the logits by 1e-4 or more (measured over every pair, both models).
LOGIT_ATOL = 2e-6


@pytest.fixture(scope="module")
def twin():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        yield load_script(("benchmarks", "imdb_deep_torch.py"), "imdb_deep_torch")
    finally:
        sys.path.remove(os.path.join(ROOT, "benchmarks"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_aclimdb(tmp_path_factory.mktemp("imdb"), n_per_class=30)  # 60 train, 60 test reviews


@pytest.fixture(autouse=True)
def _sandbox(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # one torch thread: on a busy machine torch's worker threads wait on each other, and a
    # dozen steps of this tiny model take a minute instead of a fraction of a second
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _flags(data, model, *more):
    # dropout 0: each library draws its own masks, so only without them are the steps the same
    return ["--data", data, "--model", model, "--embed-dim", "6", "--hidden-size", str(H), "--batch-size", "16",
            "--dropout", "0", "--seed", "3", "--no-download", *more]


def _prepared(twin, data, model, dtype=np.float32, pack=False):
    ex = twin.load_example()
    args = twin.parse_args(ex, _flags(data, model, *(["--pack"] if pack else [])))
    with backend.default_dtype(dtype):
        run = ex.prepare(args)
    return run, twin.twin_of(run.model, args)


def _swap_gates(tm, name, a, b):
    """Exchange gate blocks a and b (of i, f, g, o) of one recurrent weight: a twin that
    misreads the gate order."""
    with torch.no_grad():
        w = getattr(tm.rnn, name)
        rows_a, rows_b = w[a * H:(a + 1) * H].clone(), w[b * H:(b + 1) * H].clone()
        w[a * H:(a + 1) * H], w[b * H:(b + 1) * H] = rows_b, rows_a


def _max_logit_gap(run, tm, twin):
    run.model.eval()
    tm.eval()
    gap = 0.0
    with torch.no_grad():
        for b in run.test_loader:
            gap = max(gap, float(np.abs(run.model(b.x, b.lengths) - tm(*twin._tensors(b)).numpy()).max()))
    return gap


@pytest.mark.parametrize("model,pack", [("bilstm2", False), ("bilstm2", True), ("lstm4", False), ("lstm4", True)])
def test_the_start_weights_are_the_examples_and_give_its_logits(twin, data, model, pack):
    run, tm = _prepared(twin, data, model, pack=pack)
    assert tm.pack == pack
    ours = run.model.state_dict()
    theirs = tm.state_dict()
    assert set(ours) == set(theirs)
    for name, value in theirs.items():
        np.testing.assert_array_equal(backend.asnumpy(ours[name]), value.numpy(), err_msg=name)
    assert tm.rnn.num_layers == run.model.rnn.num_layers and tm.rnn.bidirectional == run.model.rnn.bidirectional
    assert _max_logit_gap(run, tm, twin) < LOGIT_ATOL
    # the check can fail: the same twin with the input and forget gates of layer 0 exchanged
    _swap_gates(tm, "weight_ih_l0", 0, 1)
    assert _max_logit_gap(run, tm, twin) > 50 * LOGIT_ATOL


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_bidirectional_stack_by_reversal_is_the_packed_one(twin, cell):
    """The unpacked two-direction path (each layer: a forward pass, and a pass over each
    review reversed within its length) against ``pack_padded_sequence`` on the same native
    module: float64, lengths 1 to 11 in a batch padded to 12, three layers; the logits and
    every parameter's gradient agree to 1e-12 (measured: 3e-16). Without the reversal (the
    reverse direction run from the padded end) they do not."""
    from torch_twins import TorchImdb

    torch.manual_seed(0)
    packed = TorchImdb(50, 6, 5, cell, 3, True, fc_dim=4, dropout=0.0, pack=True).double()
    unpacked = TorchImdb(50, 6, 5, cell, 3, True, fc_dim=4, dropout=0.0).double()
    unpacked.load_state_dict(packed.state_dict())
    rng = np.random.default_rng(0)
    lengths = torch.from_numpy(np.r_[1, 12, rng.integers(1, 13, 6)])
    ids = torch.from_numpy(rng.integers(1, 50, (8, 12)))
    ids[torch.arange(12)[None] >= lengths[:, None]] = 0
    weights = torch.from_numpy(rng.normal(size=(8, 2)))  # a loss whose gradient reaches every logit

    def logits_and_grads(model):
        model.zero_grad()
        y = model(ids, lengths)
        (y * weights).sum().backward()
        return y.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}

    y_packed, g_packed = logits_and_grads(packed)
    y, g = logits_and_grads(unpacked)
    np.testing.assert_allclose(y.numpy(), y_packed.numpy(), rtol=0, atol=1e-12)
    assert set(g) == set(g_packed) and all(float(v.abs().max()) > 1e-6 for v in g_packed.values())
    for name in g:
        np.testing.assert_allclose(g[name].numpy(), g_packed[name].numpy(), rtol=0, atol=1e-12, err_msg=name)
    reversal = sys.modules["torch_twins"].reverse_within_lengths
    try:
        sys.modules["torch_twins"].reverse_within_lengths = lambda x, lengths: x.flip(0)
        assert float((logits_and_grads(unpacked)[0] - y_packed).abs().max()) > 1e-3
    finally:
        sys.modules["torch_twins"].reverse_within_lengths = reversal


@pytest.mark.parametrize("model", ["bilstm2", "lstm4"])
def test_adam_steps_agree_in_float64_over_three_epochs(twin, data, model):
    """float64 and the same batches: every loss of 12 steps (4 a epoch) to rounding; rtol
    1e-9 leaves a margin of 10^6 over float64's 1e-16 (measured: 2e-16)."""
    run, tm = _prepared(twin, data, model, np.float64)
    assert next(tm.parameters()).dtype == torch.float64
    m = run.model
    opt, topt = optim.Adam(m.parameters(), lr=1e-3), torch.optim.Adam(tm.parameters(), lr=1e-3)
    loss_fn, tloss = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    ours, theirs = [], []
    for _ in range(3):
        for b in run.train_loader:
            ours.append(float(loss_fn(m(b.x, b.lengths), b.y)))
            m.backward(loss_fn.backward())
            opt.step()
            opt.zero_grad()
            theirs.append(twin.train_step(tm, topt, tloss, b)[0])
    assert len(ours) == 12
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    sd = m.state_dict()
    for name, value in tm.state_dict().items():
        np.testing.assert_allclose(backend.asnumpy(sd[name]), value.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("model", ["bilstm2", "lstm4"])
def test_the_twin_and_the_example_write_float32_histories_that_lie_side_by_side(twin, data, tmp_path, model):
    """Two epochs of both scripts in float32. Their first step's loss agrees to rounding
    (~1e-7). After it, Adam's first update moves each weight by ±lr, the sign of its
    gradient, so a gradient that rounding sends across zero (|g| ≲ 1e-7) moves a weight by
    2·lr = 2e-3 in one library and not in the other; its effect on the loss is second order
    in that move (the first order is |g|·2e-3 ≈ 0), about (2e-3)² = 4e-6 per such weight.
    rtol 1e-4 (an absolute 7e-5 at a loss near 0.69) leaves room for a dozen of them
    (measured difference: ~1e-7)."""
    ex = twin.load_example()
    flags = _flags(data, model, "--epochs", "2", "--grad-every", "1")
    ours = ex.main(flags + ["--out", str(tmp_path / "minidl"), "--progress", "off"])
    theirs = twin.main(flags + ["--out", str(tmp_path / "torch"), "--threads", "1"])
    rows = json.loads((tmp_path / "torch" / "history.json").read_text())
    assert rows == theirs["history"] and [r["epoch"] for r in rows] == [1, 2]
    assert set(rows[0]) == set(ours["history"][0])  # the same columns
    assert (tmp_path / "torch" / "history.csv").is_file() and (tmp_path / "torch" / "grad_norms.png").is_file()
    for key in ("train_loss", "test_loss"):
        np.testing.assert_allclose([r[key] for r in rows], [r[key] for r in ours["history"]], rtol=1e-4, err_msg=key)
    summary = json.loads((tmp_path / "torch" / "summary.json").read_text())
    assert summary["library"] == "pytorch" and summary["threads"] == 1 and summary["torch"] == torch.__version__
    assert summary["model"] == model and summary["hidden_size"] == H
    # the gradient norms per layer, recorded at the same steps: the same layers, close values
    norms = json.loads((tmp_path / "torch" / "grad_norms.json").read_text())["rows"]
    assert [r["step"] for r in norms] == [r["step"] for r in ours["grad_norms"]]
    np.testing.assert_allclose(norms[0]["norms"], ours["grad_norms"][0]["norms"], rtol=1e-4)


def test_the_twin_refuses_reslstm8_and_what_only_the_example_does(twin, data, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        twin.main(_flags(data, "reslstm8") + ["--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "--model reslstm8" in err and "no native torch.nn.LSTM" in err
    for flags in (["--allow-config-change"], ["--device", "cuda"], ["--threads", "0"],
                  ["--hidden-size", "0"], ["--model", "lstm5"]):
        with pytest.raises(SystemExit) as e:
            twin.main(_flags(data, "lstm4") + flags + ["--out", str(tmp_path / "o")])
        assert e.value.code == 2, flags
        assert capsys.readouterr().err.count("error:") == 1, flags
    assert not (tmp_path / "o").exists()


def _dropout_flags(data, model, *more):
    # dropout 0.3 between the layers and before the head: the masks come from torch's generator
    return ["--data", data, "--model", model, "--embed-dim", "6", "--hidden-size", str(H), "--batch-size", "16",
            "--dropout", "0.3", "--seed", "3", "--grad-every", "3", "--no-download", "--threads", "1", *more]


@pytest.mark.parametrize("model", ["bilstm2", "lstm4"])
def test_a_resumed_run_is_the_uninterrupted_run(twin, data, tmp_path, model, capsys):
    """3 epochs at once against 2, then --resume to 3, with dropout: the same rows (but their
    seconds), gradient-norm rows, final weights, Adam moments, step counts, generator and
    summary. Without restoring torch's generator (the masks of epoch 3) or Adam's state the
    rows of epoch 3 differ."""
    whole = twin.main(_dropout_flags(data, model, "--epochs", "3", "--out", str(tmp_path / "whole")))
    twin.main(_dropout_flags(data, model, "--epochs", "2", "--out", str(tmp_path / "parts")))
    torch.manual_seed(123)  # whatever the process did before: the checkpoint decides
    parts = twin.main(_dropout_flags(data, model, "--epochs", "3", "--out", str(tmp_path / "parts"), "--resume"))
    assert "resumed from" in capsys.readouterr().out
    rows = [json.loads((tmp_path / d / "history.json").read_text()) for d in ("whole", "parts")]
    assert [r["epoch"] for r in rows[1]] == [1, 2, 3] and without(rows[0], TIMES) == without(rows[1], TIMES)
    assert rows[1] == parts["history"] and whole["grad_norms"] == parts["grad_norms"]
    norms = [json.loads((tmp_path / d / "grad_norms.json").read_text()) for d in ("whole", "parts")]
    assert norms[0] == norms[1] and [r["step"] for r in norms[1]["rows"]] == [0, 3, 6, 9]  # 4 steps an epoch
    a, b = checkpoint_arrays(tmp_path / "whole"), checkpoint_arrays(tmp_path / "parts")
    assert set(a) == set(b) and any(k.startswith("optim/") for k in a) and a["torch_rng"].dtype == np.uint8
    for key in a:
        if key not in ("meta", "history"):  # JSON texts holding seconds; the rows are compared above
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("whole", "parts")]
    assert summaries[1]["resumed_after_epochs"] == [2] and summaries[0]["resumed_after_epochs"] == []
    assert without([summaries[0]], RUN_NOTES) == without([summaries[1]], RUN_NOTES)


def test_a_resume_with_other_settings_is_refused_in_one_line(twin, data, tmp_path, capsys):
    out = str(tmp_path / "run")
    twin.main(_dropout_flags(data, "lstm4", "--epochs", "1", "--out", out))
    capsys.readouterr()
    for change, named in ((["--hidden-size", "6"], "--hidden-size 5 (this run: 6)"),
                          (["--seed", "4"], "--seed 3 (this run: 4)"), (["--dropout", "0.5"], "--dropout 0.3")):
        with pytest.raises(SystemExit) as e:
            twin.main(_dropout_flags(data, "lstm4", "--epochs", "2", "--out", out, "--resume", *change))
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("error:") == 1 and len(err.strip().splitlines()) == 1, err
        assert named in err and "torch_last.npz" in err, err
        assert not (tmp_path / "run" / "run.lock").exists()  # the refused run leaves the folder free
    assert [r["epoch"] for r in json.loads((tmp_path / "run" / "history.json").read_text())] == [1]


def test_the_run_folder_is_opened_as_the_examples_open_it(twin, data, tmp_path, capsys):
    """A folder holding a run is refused without --resume or --overwrite; --resume where no
    checkpoint is starts from epoch 1, as the examples' --resume does."""
    from minidl.errors import RunFolderError

    out = str(tmp_path / "run")
    twin.main(_dropout_flags(data, "lstm4", "--epochs", "1", "--out", out, "--resume"))
    assert "no torch_last.npz" in capsys.readouterr().out
    with pytest.raises(RunFolderError, match="already holds a run"):
        twin.main(_dropout_flags(data, "lstm4", "--epochs", "1", "--out", out))
    again = twin.main(_dropout_flags(data, "lstm4", "--epochs", "1", "--out", out, "--overwrite"))
    assert again["resumed_after_epochs"] == [] and [r["epoch"] for r in again["history"]] == [1]


@pytest.mark.parametrize("site", ["between the layers", "before the head"])
@pytest.mark.parametrize("model", ["lstm4", "bilstm2"])
def test_dropout_is_the_same_distribution_in_both(twin, model, site):
    """The twins draw their own dropout masks, so their training runs part ways; what must be
    the same is where dropout acts and how strongly. Dropout at one site only (between the
    recurrent layers, or before the head), the same weights and batch, 400 training-mode
    forwards in each library: the logits' mean over the masks agrees within five standard
    errors element by element, and their variance over the masks (zero without dropout, a
    third at p = 0.25) agrees within 25% summed over the batch. Fixed seeds."""
    from types import SimpleNamespace

    from minidl.models import ImdbClassifier

    backend.manual_seed(0)
    layers, bi = {"lstm4": (4, False), "bilstm2": (2, True)}[model]
    p_rnn, p_head = (0.5, 0.0) if site == "between the layers" else (0.0, 0.5)
    ours = ImdbClassifier(40, 6, 6, cell="lstm", num_layers=layers, bidirectional=bi, rnn_dropout=p_rnn,
                          dropout=p_head, fc_dim=None)
    for i, p in enumerate(ours.parameters()):  # U(-1, 1): outputs that depend on the masks
        p.data[...] = np.random.default_rng(i).uniform(-1, 1, p.data.shape).astype(p.data.dtype)
    theirs = twin.twin_of(ours, SimpleNamespace(dropout=0.5, pack=False))
    theirs.rnn.dropout, theirs.dropout.p = p_rnn, p_head
    rng = np.random.default_rng(1)
    ids, lengths = rng.integers(1, 40, (12, 9)), rng.integers(2, 10, 12)
    ids[np.arange(9)[None, :] >= lengths[:, None]] = 0
    n = 400
    ours.train()
    a = np.stack([backend.asnumpy(ours(ids, lengths)) for _ in range(n)]).astype(np.float64)  # (n, B, 2)
    torch.manual_seed(0)
    with torch.no_grad():
        b = np.stack([theirs(torch.from_numpy(ids), torch.from_numpy(lengths)).numpy() for _ in range(n)])
    b = b.astype(np.float64)
    se = np.sqrt((a.var(0) + b.var(0)) / n)
    assert np.all(np.abs(a.mean(0) - b.mean(0)) <= 5 * se + 1e-6), np.abs(a.mean(0) - b.mean(0)).max()
    assert b.var(0).sum() > 1e-3  # dropout at this site moves the logits
    assert 0.8 < a.var(0).sum() / b.var(0).sum() < 1.25, (a.var(0).sum(), b.var(0).sum())
