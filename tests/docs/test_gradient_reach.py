"""docs/tools/gradient_reach.py, whose table docs/vanishing-exploding.md quotes: its probe
measures ‖∂L/∂x_t‖ step by step (a directional finite difference agrees, steps counted back
from the last), leaves the training it watches exactly as it would be without it, and the
script runs end to end on a small IMDB layout."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np

import minidl
from minidl import backend, nn, optim
from minidl.models import ImdbClassifier

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from fake_imdb import make_aclimdb  # noqa: E402

TOOL = ROOT / "docs" / "tools" / "gradient_reach.py"
_spec = importlib.util.spec_from_file_location("gradient_reach", TOOL)
gradient_reach = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gradient_reach)


def _model(seed=0):
    minidl.manual_seed(seed)
    return ImdbClassifier(40, 6, 5, cell="lstm", fc_dim=7, num_classes=2)


def _probe(seed=1, B=4, T=9):
    r = np.random.default_rng(seed)
    return r.integers(1, 40, size=(B, T)), r.integers(0, 2, size=B)


def _loss_of_x(model, x, labels):
    """The probe's loss as a function of the LSTM's input x (T, B, E), eval mode, no cache."""
    model.eval()
    with minidl.no_grad():
        _, (h_n, _) = model.rnn(x)
        y = h_n[-1]
        for m in (model.fc1, model.act, model.dropout, model.fc2):
            y = m(y)
        loss = float(nn.CrossEntropyLoss()(y, labels))
    model.train()
    return loss


def test_the_norms_are_the_input_gradients_counted_back_from_the_last_step():
    with backend.default_dtype(np.float64):
        model = _model()
    ids, labels = _probe()
    norms = gradient_reach.input_gradient_norms(model, ids, labels)
    assert norms.shape == (9,) and model.training
    x = model.embedding.weight.data[ids.T]
    r = np.random.default_rng(2)
    for k in (0, 3, 8):  # k steps back: input step T − 1 − k
        t = 8 - k
        u = r.standard_normal(x.shape[1:])
        u /= np.linalg.norm(u)
        eps = 1e-4  # float64: the loss's rounding (~1e-16) over eps stays 1e-4 of the smallest norm here
        xp_, xm = x.copy(), x.copy()
        xp_[t] += eps * u
        xm[t] -= eps * u
        slope = (_loss_of_x(model, xp_, labels) - _loss_of_x(model, xm, labels)) / (2 * eps)
        assert abs(slope) <= norms[k] * (1 + 1e-4)  # |⟨g, u⟩| ≤ ‖g‖ for a unit u
        # along the gradient itself the slope is the norm: find g by finite differences of the
        # loss along each coordinate of step t
        g = np.zeros_like(u)
        for idx in np.ndindex(g.shape):
            e = np.zeros_like(u)
            e[idx] = eps
            xp_, xm = x.copy(), x.copy()
            xp_[t] += e
            xm[t] -= e
            g[idx] = (_loss_of_x(model, xp_, labels) - _loss_of_x(model, xm, labels)) / (2 * eps)
        np.testing.assert_allclose(np.linalg.norm(g), norms[k], rtol=1e-4)
    assert norms[0] > norms[8] > 0  # not trivially equal: the gradient shrinks going back
    assert gradient_reach.reach(norms) == 9 and gradient_reach.reach(np.r_[norms[:4], 0.0, 0.0]) == 4


def test_the_probe_leaves_the_training_as_it_would_be():
    ids, labels = _probe(T=12)
    r = np.random.default_rng(3)
    batches = [(r.integers(0, 40, size=(6, 10)), r.integers(0, 2, size=6)) for _ in range(3)]
    weights = []
    for probe in (False, True):
        model = _model(seed=4)
        opt, loss_fn = optim.Adam(model.parameters(), lr=1e-2), nn.CrossEntropyLoss()
        for x, y in batches:
            if probe:
                gradient_reach.input_gradient_norms(model, ids, labels)
                assert model.training
                assert all(p.grad is None or not p.grad.any() for p in model.parameters())
            opt.zero_grad()
            loss_fn(model(x), y)  # dropout draws its masks here: the probe must not move the RNG
            model.backward(loss_fn.backward())
            opt.step()
        weights.append({k: v.copy() for k, v in model.state_dict().items()})
    assert weights[0].keys() == weights[1].keys()
    for k in weights[0]:
        np.testing.assert_array_equal(weights[1][k], weights[0][k], err_msg=k)


def test_the_script_prints_a_row_per_measurement(tmp_path):
    make_aclimdb(tmp_path / "data", n_per_class=60)
    out = subprocess.run([sys.executable, str(TOOL), "--steps", "4", "--every", "2", "--length", "8"],
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, MINIDL_DATA=str(tmp_path / "data"), MINIDL_CACHE=str(tmp_path / "c")))
    assert out.returncode == 0, out.stderr
    rows = [line.split("|")[1:-1] for line in out.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0][0].strip() == "training step" and len(rows[0]) == 2 + 1 + 2  # k = 0 only is below 8 steps
    body = rows[1:]
    assert [int(r[0]) for r in body] == [0, 2, 4]
    assert all(1 <= int(r[1]) <= 8 and float(r[2]) > 0 and 0 < float(r[3]) < 1 for r in body)
    assert all(len(r[4].split(",")) == 4 for r in body)


def test_the_forget_gate_is_block_2_of_the_saved_gates():
    """Against a textbook LSTM on PyTorch's row order (i, f, g, o), in float64."""
    with backend.default_dtype(np.float64):
        model = _model(seed=5)
    ids, _ = _probe(seed=6)
    lstm, H = model.rnn, model.rnn.hidden_size
    W, U = lstm.weight_ih_l0.data, lstm.weight_hh_l0.data
    b = lstm.bias_ih_l0.data + lstm.bias_hh_l0.data
    x = model.embedding.weight.data[ids.T]
    h = c = np.zeros((ids.shape[0], H))
    fs = []
    for t in range(x.shape[0]):
        z = x[t] @ W.T + h @ U.T + b
        i, f, o = (1 / (1 + np.exp(-z[:, k * H:(k + 1) * H])) for k in (0, 1, 3))
        c = f * c + i * np.tanh(z[:, 2 * H:3 * H])
        h = o * np.tanh(c)
        fs.append(f)
    np.testing.assert_allclose(gradient_reach.forget_gate_mean(model, ids), np.mean(fs), rtol=1e-12)
    norms = gradient_reach.recurrent_block_norms(model)
    np.testing.assert_allclose(norms[2], np.linalg.svd(U[2 * H:3 * H], compute_uv=False)[0], rtol=1e-12)
