"""The cell-loop LSTM (nn.LSTMCell stepped in Python) equals the fused nn.LSTM, forward and
backward, with and without lengths; it passes the finite-difference check on its own; and
report C's separate W, U, b per gate are the cell's stacked weights."""

import numpy as np
import pytest
from bad_inputs import Case, backward_after, bad_input_test, states_backward_after, zeros
from fuzzing import (
    fuzz_test,
)
from recurrent_helpers import fuzz_recurrent

import minidl
from minidl import backend, nn
from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.gradcheck import gradcheck


def twins(D=3, H=4, seed=0):
    """A fused LSTM and a cell-loop LSTM drawn from the same seed (so the same weights)."""
    with backend.default_dtype(np.float64):
        minidl.manual_seed(seed)
        fused = nn.LSTM(D, H)
        minidl.manual_seed(seed)
        loop = nn.CellLoopLSTM(D, H)
    return fused, loop


def test_same_seed_same_start_weights():
    fused, loop = twins()
    sd_f, sd_l = fused.state_dict(), loop.state_dict()
    assert sorted(sd_l) == sorted(nn.CellLoopLSTM.LSTM_KEYS)
    for mine, theirs in nn.CellLoopLSTM.LSTM_KEYS.items():
        np.testing.assert_array_equal(sd_l[mine], sd_f[theirs])


@pytest.mark.parametrize("lengths", [None, [5, 2, 3], [4, 4, 1]], ids=["no-lengths", "padded", "short-batch"])
@pytest.mark.parametrize("with_hx", [False, True])
def test_equals_fused_lstm_forward_and_backward(lengths, with_hx, device, to_dev):
    fused, loop = twins()
    fused.to(device)
    loop.to(device)
    rng = np.random.default_rng(3)
    x = to_dev(rng.standard_normal((5, 3, 3)))
    hx = (to_dev(rng.standard_normal((1, 3, 4))), to_dev(rng.standard_normal((1, 3, 4)))) if with_hx else None
    L = None if lengths is None else np.array(lengths)
    out_f, (h_f, c_f) = fused(x, hx, lengths=L)
    out_l, (h_l, c_l) = loop(x, hx, lengths=L)
    for a, b in ((out_f, out_l), (h_f, h_l), (c_f, c_l)):
        np.testing.assert_allclose(backend.asnumpy(b), backend.asnumpy(a), rtol=1e-12, atol=1e-14)
    ups = [to_dev(rng.standard_normal(a.shape)) for a in (out_f, h_f, c_f)]
    g_f = fused.backward(*ups)
    g_l = loop.backward(*ups)
    for a, b in zip(g_f, g_l):
        np.testing.assert_allclose(backend.asnumpy(b), backend.asnumpy(a), rtol=1e-11, atol=1e-13)
    grads_f = dict(fused.named_parameters())
    for mine, p in loop.named_parameters():
        theirs = grads_f[nn.CellLoopLSTM.LSTM_KEYS[mine]].grad
        np.testing.assert_allclose(backend.asnumpy(p.grad), backend.asnumpy(theirs), rtol=1e-11, atol=1e-13,
                                   err_msg=mine)


def test_gradcheck_with_padding(device, to_dev):
    _, loop = twins()
    loop.to(device)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 3))
    hx = (rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 3, 4)))
    r = gradcheck(loop, to_dev(x), (to_dev(hx[0]), to_dev(hx[1])), forward_kwargs={"lengths": np.array([4, 1, 2])},
                  randomize_params=True)
    assert r.ok, str(r)
    assert set(r.errors) >= {"input 0", "input 1", "input 2", "cell.weight_ih", "cell.bias_hh"}


def test_padding_content_and_trailing_steps_change_nothing():
    _, loop = twins()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 2, 3))
    y = x.copy()
    y[2:, 1] = 100.0  # sequence 1 has 2 real steps: its padding may hold anything
    L = np.array([5, 2])
    res = []
    for inp in (x, y):
        loop.zero_grad()
        out, (h, c) = loop(inp, lengths=L)
        dx, dh0, dc0 = loop.backward(np.ones_like(out), np.ones_like(h), np.ones_like(c))
        res.append((out, h, c, dx, {n: p.grad.copy() for n, p in loop.named_parameters()}))
    (o1, h1, c1, dx1, g1), (o2, h2, c2, dx2, g2) = res
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_array_equal(c1, c2)
    assert np.all(o1[2:, 1] == 0) and np.all(dx1[2:, 1] == 0)
    for n in g1:
        np.testing.assert_array_equal(g1[n], g2[n])
    # h_n of sequence 1 is its state after its 2nd step: run it alone for 2 steps
    out_alone, (h_alone, _) = loop(x[:2, 1:2])
    np.testing.assert_allclose(h1[0, 1], h_alone[0, 0], rtol=1e-13)


def test_report_c_separate_gates_equal_the_cell():
    """i = σ(x W_i + h U_i + b_i), ..., c' = f c + i g, h' = o tanh(c'): report C's MyLSTM."""
    _, loop = twins(D=3, H=4)
    p = loop.gate_parameters()
    rng = np.random.default_rng(5)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))

    def sig(z):
        return 1 / (1 + np.exp(-z))

    i = sig(x @ p["W_i"] + h @ p["U_i"] + p["b_i"])
    f = sig(x @ p["W_f"] + h @ p["U_f"] + p["b_f"])
    g = np.tanh(x @ p["W_g"] + h @ p["U_g"] + p["b_g"])
    o = sig(x @ p["W_o"] + h @ p["U_o"] + p["b_o"])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    _, (h_l, c_l) = loop(x[None], (h[None], c[None]))
    np.testing.assert_allclose(h_l[0], h_new, rtol=1e-12)
    np.testing.assert_allclose(c_l[0], c_new, rtol=1e-12)
    assert p["W_i"].shape == (3, 4) and p["U_o"].shape == (4, 4) and p["b_g"].shape == (4,)


def test_no_grad_keeps_no_cache():
    _, loop = twins()
    with minidl.no_grad():
        loop(np.zeros((3, 2, 3)))
    assert not any(m._caches for m in loop.modules())
    loop(np.zeros((3, 2, 3)))
    assert len(loop._caches) == 1 and len(loop.cell._caches) == 3
    loop.backward(np.ones((3, 2, 4)))
    assert not any(m._caches for m in loop.modules())


def test_bad_inputs_are_refused():
    _, loop = twins()
    with pytest.raises(ShapeError, match="D = 3"):
        loop(np.zeros((3, 2, 5)))
    with pytest.raises(DTypeError, match="float64"):
        loop(np.zeros((3, 2, 3), dtype=np.float32))
    with pytest.raises(ShapeError, match="h0"):
        loop(np.zeros((3, 2, 3)), (np.zeros((2, 4)), np.zeros((1, 2, 4))))
    with pytest.raises(ValueError, match="lengths"):
        loop(np.zeros((3, 2, 3)), lengths=np.array([4, 1]))
    with pytest.raises(ValueError, match="lengths"):
        loop(np.zeros((3, 2, 3)), lengths=np.array([0, 1]))


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.CellLoopLSTM", "a list as input", lambda: nn.CellLoopLSTM(2, 3)([[[0.0, 0.0]]]), DTypeError,
         r"CellLoopLSTM: input must be an array .*got list"),
    Case("nn.CellLoopLSTM", "no time step (as LSTM and PyTorch)", lambda: nn.CellLoopLSTM(2, 3)(zeros(0, 2, 2)),
         ShapeError, r"CellLoopLSTM: input must have shape \(T, B, D\) with T ≥ 1 and D = 2, got \(0, 2, 2\)"),
    Case("nn.CellLoopLSTM", "input of the wrong width", lambda: nn.CellLoopLSTM(2, 3)(zeros(3, 2, 4)), ShapeError,
         r"CellLoopLSTM: input must have shape \(T, B, D\) .*got \(3, 2, 4\)"),
    Case("nn.CellLoopLSTM", "lengths with a 0", lambda: nn.CellLoopLSTM(2, 3)(zeros(3, 2, 2), lengths=[0, 2]),
         RangeError, r"CellLoopLSTM: lengths must lie in \[1, T\] = \[1, 3\]"),
    Case("nn.CellLoopLSTM", "a d_output of the wrong shape",
         backward_after(nn.CellLoopLSTM(2, 3), zeros(3, 2, 2), zeros(3, 2, 4)), ShapeError,
         r"CellLoopLSTM\.backward: d_output must have the output's shape \(3, 2, 3\), got \(3, 2, 4\)"),
    Case("nn.CellLoopLSTM", "a d_h_n of the wrong shape",
         states_backward_after(nn.CellLoopLSTM(2, 3), zeros(3, 2, 2), zeros(3, 2, 3)), ShapeError,
         r"CellLoopLSTM\.backward: d_h_n must have the output's shape \(1, 2, 3\), got \(3, 2, 3\)"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


FUZZ = {"nn.CellLoopLSTM": lambda data: fuzz_recurrent("CellLoopLSTM", data)}
test_fuzz = fuzz_test(FUZZ)
