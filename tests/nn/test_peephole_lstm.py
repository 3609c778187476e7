"""Report E's peephole LSTM step: finite differences, zero peephole = plain LSTMCell, BPTT
through a loop of steps."""

import numpy as np
import pytest

import minidl
from minidl import backend, nn


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
