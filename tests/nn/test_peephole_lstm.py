"""Report E's peephole LSTM step: finite differences, zero peephole = plain LSTMCell, BPTT
through a loop of steps."""

import numpy as np
import pytest
from bad_inputs import Case, backward_after, bad_input_test, zeros
from fuzzing import (
    draw_array,
    finite,
    fuzz_test,
    host,
    maybe_list,
    mostly,
)
from hypothesis import strategies as st

import minidl
from minidl import backend, nn
from minidl.errors import DTypeError, RangeError, ShapeError


def make_cell(D, H, bias=True):
    with backend.default_dtype(np.float64):
        return nn.PeepholeLSTMCell(D, H, bias=bias)


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_one_step(device, to_dev, bias):
    cell = make_cell(3, 2, bias).to(device)
    rng = np.random.default_rng(0)
    x, h, c = (to_dev(rng.standard_normal(s)) for s in ((3, 3), (3, 2), (3, 2)))
    report = minidl.gradcheck(cell, x, (h, c), randomize_params=True)
    assert report.ok, str(report)
    assert {"input 0", "input 1", "input 2", "weight_ch"} <= set(report.errors)


def test_zero_peephole_is_the_plain_lstm_cell():
    cell, plain = make_cell(3, 4), nn.LSTMCell(3, 4).double()
    plain.load_state_dict({k: v for k, v in cell.state_dict().items() if k != "weight_ch"})
    cell.weight_ch.data[...] = 0
    rng = np.random.default_rng(1)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    for a, b in zip(cell(x, (h, c)), plain(x, (h, c))):
        np.testing.assert_allclose(a, b, atol=1e-12)
    dh, dc = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    for a, b in zip(cell.backward(dh, dc)[:2], plain.backward(dh, dc)[:2]):
        np.testing.assert_allclose(a, b, atol=1e-12)


class _Unrolled(minidl.Module):
    """T steps of a cell in a Python loop, all outputs returned: BPTT through the cache stack."""

    def __init__(self, cell, T):
        super().__init__()
        self.cell, self.T = cell, T

    def forward(self, x):
        h = c = None
        hs = []
        for t in range(self.T):
            h, c = self.cell(x[t], None if h is None else (h, c))
            hs.append(h)
        return np.stack(hs)

    def backward(self, dhs):
        dh = dc = None
        dx = []
        for t in range(self.T - 1, -1, -1):
            dxt, dh, dc = self.cell.backward(dhs[t] + (0 if dh is None else dh), dc)
            dx.append(dxt)
        return np.stack(dx[::-1])


def test_gradcheck_through_time():
    model = _Unrolled(make_cell(2, 3), T=4)
    x = np.random.default_rng(2).standard_normal((4, 2, 2))
    assert minidl.gradcheck(model, x, randomize_params=True).ok


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.PeepholeLSTMCell", "a list as input", lambda: nn.PeepholeLSTMCell(2, 3)([[0.0, 0.0]]), DTypeError,
         r"PeepholeLSTMCell: input must be an array .*got list"),
    Case("nn.PeepholeLSTMCell", "input of the wrong width", lambda: nn.PeepholeLSTMCell(2, 3)(zeros(2, 4)),
         ShapeError, r"PeepholeLSTMCell: input must have shape \(\*, 2\), got \(2, 4\)"),
    Case("nn.PeepholeLSTMCell", "a float64 h on float32 parameters",
         lambda: nn.PeepholeLSTMCell(2, 3)(zeros(2, 2), (zeros(2, 3, dtype=np.float64), zeros(2, 3))), DTypeError,
         r"PeepholeLSTMCell: h must have dtype float32"),
    Case("nn.PeepholeLSTMCell", "hx not a pair", lambda: nn.PeepholeLSTMCell(2, 3)(zeros(2, 2), zeros(2, 3)),
         DTypeError, r"PeepholeLSTMCell: hx must be a tuple \(h, c\)"),
    Case("nn.PeepholeLSTMCell", "a c of the wrong shape",
         lambda: nn.PeepholeLSTMCell(2, 3)(zeros(2, 2), (zeros(2, 3), zeros(1, 3))), ShapeError,
         r"PeepholeLSTMCell: c must have shape \(2, 3\), got \(1, 3\)"),
    Case("nn.PeepholeLSTMCell", "a dh' of the wrong shape",
         backward_after(nn.PeepholeLSTMCell(2, 3), zeros(2, 2), zeros(2, 4)), ShapeError,
         r"PeepholeLSTMCell\.backward: dh' must have the output's shape \(2, 3\), got \(2, 4\)"),
    Case("nn.PeepholeLSTMCell", "a zero hidden size", lambda: nn.PeepholeLSTMCell(2, 0), RangeError,
         r"PeepholeLSTMCell: hidden_size must be a positive int, got 0"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_peephole_cell(data):
    """Report E's peephole step against its formula written with NumPy in float64."""
    d, h = data.draw(st.integers(1, 3), label="D"), data.draw(st.integers(1, 3), label="H")
    cell = nn.PeepholeLSTMCell(d, h)
    b = data.draw(mostly([1, 2], [0]), label="B")
    x = draw_array(data, shape=(b, data.draw(mostly([d], [d + 1]), label="width")),
                   dtypes=[np.float32] * 3 + [np.float64, np.int64], scale=1.0)
    h0 = draw_array(data, shape=(b, h), dtypes=[np.float32] * 3 + [np.float64], scale=1.0)
    c0 = draw_array(data, shape=(b, h), dtypes=[np.float32], scale=1.0, specials=False)
    hn, cn = cell(maybe_list(data, x), (h0, c0))
    W_ih, W_hh, W_ch, b_ih, b_hh = (host(p.data).astype(np.float64) for p in cell.parameters())
    with np.errstate(all="ignore"):
        z = x.astype(np.float64) @ W_ih.T + h0.astype(np.float64) @ W_hh.T + c0 @ W_ch.T + b_ih + b_hh
        i, f, g, o = np.split(z, 4, axis=1)
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        c_want = sig(f) * c0 + sig(i) * np.tanh(g)
        h_want = sig(o) * np.tanh(c_want)
    np.testing.assert_allclose(host(cn), c_want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(hn), h_want, rtol=1e-4, atol=1e-5)
    dx, dh, dc = cell.backward(np.ones_like(hn), None)
    assert dx.shape == x.shape and dh.shape == dc.shape == h0.shape
    if finite(x) and finite(h0):
        assert finite(host(hn)) and finite(host(dx))


FUZZ = {"nn.PeepholeLSTMCell": fuzz_peephole_cell}
test_fuzz = fuzz_test(FUZZ)
