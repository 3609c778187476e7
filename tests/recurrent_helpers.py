"""What the recurrent tests share: the layer kinds, float64 layers and cells of a kind."""

import numpy as np
from fuzzing import draw_array, finite, host, maybe_list, mostly, on_device
from hypothesis import strategies as st

from minidl import backend, nn
from minidl.nn import recurrent, rnn_cells

KINDS = ["lstm", "res_lstm", "res_lstm_proj", "rnn_tanh", "rnn_relu", "gru", "gru_v1"]
PLAIN_KINDS = [k for k in KINDS if not k.startswith("res_")]


def make_layer(kind, D, H, num_layers=1, bidirectional=False, batch_first=False, dropout=0.0, bias=True):
    """A float64 layer of the given kind (built in float64, so nothing is rounded to float32)."""
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, dropout=dropout, bias=bias)
    with backend.default_dtype(np.float64):
        if kind.startswith("rnn_"):
            return recurrent.RNN(D, H, nonlinearity=kind[4:], **kw)
        if kind == "lstm":
            return recurrent.LSTM(D, H, **kw)
        if kind.startswith("res_lstm"):
            return recurrent.LSTM(D, H, residual=True, **kw)
        if kind == "gru":
            return recurrent.GRU(D, H, **kw)
        if kind == "gru_v1":
            return recurrent.GRU(D, H, reset_after=False, **kw)
    raise ValueError(kind)


def make_cell(kind, D, H, bias=True):
    """A float64 cell of the given kind ("gru_v1" and "gru_orig": reset before)."""
    with backend.default_dtype(np.float64):
        if kind == "lstm":
            return rnn_cells.LSTMCell(D, H, bias=bias)
        if kind.startswith("rnn_"):
            return rnn_cells.RNNCell(D, H, bias=bias, nonlinearity=kind[4:])
        return rnn_cells.GRUCell(D, H, bias=bias, reset_after=kind == "gru")


def randomize(layer, kind, seed=0):
    """Draw every parameter from U(-0.5, 0.5), as ``gradcheck(randomize_params=True)`` does, but
    keep a ReLU RNN alive: with a handful of units and biases of either sign, every unit can
    be negative at every step, the output is all zeros and the check could not fail
    (gradcheck then reports the tensors as not exercised). Biases in U(0.25, 0.75) keep most
    units positive while the weights still switch some off."""
    rng = np.random.default_rng(seed)
    for name, p in layer.named_parameters():
        low, high = (0.25, 0.75) if kind == "rnn_relu" and "bias" in name else (-0.5, 0.5)
        p.data[...] = backend.to_device(rng.uniform(low, high, size=p.data.shape), backend.device_of(p.data))
    return layer


def keep_relu_cell_alive(cell, x, h):
    """For a ReLU RNN cell: every unit positive for at least one batch row, so every gradient
    of the check is non-zero by construction. A unit whose pre-activation z_j = W_ih[j]·x +
    W_hh[j]·h (+ b_j) is ≤ 0 for every row has its weight rows (and biases) negated, which
    negates z_j; biases alone cannot do it when the cell has none."""
    params = dict(cell.named_parameters())
    xs, hs = backend.asnumpy(x), backend.asnumpy(h)
    w_ih, w_hh = backend.asnumpy(params["weight_ih"].data), backend.asnumpy(params["weight_hh"].data)
    z = xs @ w_ih.T + hs @ w_hh.T
    for name in ("bias_ih", "bias_hh"):
        if name in params:
            z = z + backend.asnumpy(params[name].data)
    sign = np.where((z <= 0).all(axis=0), -1.0, 1.0)  # (H,): −1 for the dead units
    for p in params.values():
        p.data *= backend.to_device(sign.reshape((-1,) + (1,) * (p.data.ndim - 1)), backend.device_of(p.data))
    return cell


def n_states(kind):
    return 2 if "lstm" in kind else 1


def inputs_for(kind, T, B, D, H, LD, batch_first, rng, to_dev):
    x = rng.standard_normal((B, T, D) if batch_first else (T, B, D))
    states = tuple(to_dev(rng.standard_normal((LD, B, H))) for _ in range(n_states(kind)))
    hx = states if n_states(kind) == 2 else states[0]
    return to_dev(x), hx


# ---------------------------------------------- fuzz entries (tests/fuzzing.py)
def reference_sequence(kind, layer, x, lengths):
    """The layer's output and final h by the textbook step, one sequence at a time, in float64."""
    from minidl.functional.gru import gru_step_reference
    from minidl.functional.lstm import lstm_step_reference
    from minidl.functional.rnn import rnn_step_reference

    w = {getattr(layer, "LSTM_KEYS", {}).get(k, k): host(v).astype(np.float64) for k, v in layer.state_dict().items()}
    kind = "LSTM" if kind == "CellLoopLSTM" else kind  # the same maths, stepped by LSTMCell
    args = [w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"]]
    T, B, _ = x.shape
    H = layer.hidden_size
    out, h_n = np.zeros((T, B, H)), np.zeros((1, B, H))
    for b in range(B):
        h, c = np.zeros((1, H)), np.zeros((1, H))
        for t in range(T if lengths is None else lengths[b]):
            xt = x[t, b][None].astype(np.float64)
            if kind == "LSTM":
                (h, c), _ = lstm_step_reference(xt, h, c, *args)
            elif kind == "GRU":
                h, _ = gru_step_reference(xt, h, *args)
            else:
                h, _ = rnn_step_reference(xt, h, *args)
            out[t, b] = h[0]
        h_n[0, b] = h[0]
    return out, h_n


def fuzz_recurrent(kind, data):
    d, h = data.draw(st.integers(1, 3), label="D"), data.draw(st.integers(1, 3), label="H")
    layer = getattr(nn, kind)(d, h)
    t, b = data.draw(mostly([1, 2, 3], [0]), label="T"), data.draw(mostly([1, 2], [0]), label="B")
    x = draw_array(data, shape=(t, b, data.draw(mostly([d], [d + 1]), label="width")),
                   dtypes=[np.float32] * 3 + [np.float64, np.int64], scale=1.0)
    lengths = data.draw(st.one_of(st.none(), st.lists(st.integers(0, t + 1), min_size=b, max_size=b),
                                  st.lists(st.integers(1, max(t, 1)), min_size=0, max_size=b + 1)), label="lengths")
    device, (xd,) = on_device(data, x)
    layer.to(device)
    out, states = layer(maybe_list(data, xd), lengths=lengths)
    h_n = states[0] if "LSTM" in kind else states
    want_out, want_h = reference_sequence(kind, layer, x, lengths)
    np.testing.assert_allclose(host(out), want_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(h_n), want_h, rtol=1e-4, atol=1e-5)
    grads = layer.backward(backend.to_device(np.ones(out.shape, np.float32), device))
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    assert host(grads[0]).shape == x.shape
    if finite(x):
        assert finite(host(out)) and finite(host(grads[0]))


def fuzz_cell(kind, data):
    from minidl.functional.gru import gru_step_reference
    from minidl.functional.lstm import lstm_step_reference
    from minidl.functional.rnn import rnn_step_reference

    d, h = data.draw(st.integers(1, 3), label="D"), data.draw(st.integers(1, 3), label="H")
    cell = getattr(nn, kind)(d, h)
    b = data.draw(mostly([1, 2], [0]), label="B")
    x = draw_array(data, shape=(b, data.draw(mostly([d], [d + 1]), label="width")),
                   dtypes=[np.float32] * 3 + [np.float64, np.int64], scale=1.0)
    h0 = draw_array(data, shape=(b, h), dtypes=[np.float32] * 3 + [np.float64], scale=1.0)
    hx = (h0, np.zeros_like(h0)) if kind == "LSTMCell" else h0
    y = cell(maybe_list(data, x), hx)
    w = [host(p.data).astype(np.float64) for p in cell.parameters()]
    x64, h64 = x.astype(np.float64), h0.astype(np.float64)
    if kind == "LSTMCell":
        (want, _), _ = lstm_step_reference(x64, h64, np.zeros_like(h64), *w)
        got = y[0]
    else:
        step = gru_step_reference if kind == "GRUCell" else rnn_step_reference
        want, _ = step(x64, h64, *w)
        got = y
    np.testing.assert_allclose(host(got), want, rtol=1e-4, atol=1e-5)
    if finite(x) and finite(h0):
        assert finite(host(got))
