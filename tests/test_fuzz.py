"""Fuzzing the public entry points: random shapes (empty ones included), dtypes, NaN/inf,
lists instead of arrays, bad settings. Each call must either return the right result (checked
against a plain NumPy reference) or raise one of minidl's documented errors
(:class:`minidl.errors.MinidlError`): never a raw NumPy error, never an ``AttributeError``,
and never NaN or inf from finite input.

An entry point is a function ``(data) -> None`` in ``ENTRY_POINTS`` that draws its inputs
with hypothesis's ``data``, calls minidl, and checks what came back. Add yours to the table.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import minidl
from minidl import backend, nn, optim
from minidl.errors import MinidlError

FLOATS = [np.float32, np.float64]
OTHER_DTYPES = [np.int64, np.bool_, np.complex128]
DTYPES = FLOATS * 3 + OTHER_DTYPES  # mostly legal input, so that results get checked too
SPECIALS = [np.nan, np.inf, -np.inf]
_DREW_NONFINITE = [False]  # set when an example puts NaN/inf into an input (then NumPy may warn)


def mostly(valid, invalid):
    """Choices where a legal value is drawn about three times in four."""
    return st.sampled_from(list(valid) * 3 + list(invalid))


def draw_shape(data, min_dims=1, max_dims=3, max_side=3):
    ndim = data.draw(st.integers(min_dims, max_dims), label="ndim")
    sides = mostly(range(1, max_side + 1), [0])  # empty batches too, one draw in ten or so
    return tuple(data.draw(sides, label="side") for _ in range(ndim))


def draw_array(data, shape=None, dtypes=DTYPES, scale=3.0, specials=True):
    """A host array of a drawn (or given) shape and dtype; sometimes with NaN/inf in it."""
    shape = draw_shape(data) if shape is None else shape
    dtype = np.dtype(data.draw(st.sampled_from(dtypes), label="dtype"))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    values = scale * rng.standard_normal(shape)
    if specials and values.size and data.draw(st.integers(0, 3), label="special") == 3:
        values.flat[data.draw(st.integers(0, values.size - 1))] = data.draw(st.sampled_from(SPECIALS))
        _DREW_NONFINITE[0] = dtype.kind in "fc"
    if dtype.kind in "iub":
        values = np.nan_to_num(values, nan=0.0, posinf=5.0, neginf=-5.0)
    return values.astype(dtype)


def maybe_list(data, a):
    """Sometimes a Python list instead of the array (PyTorch layers take tensors; minidl arrays)."""
    return a.tolist() if data.draw(st.integers(0, 7), label="as list") == 7 else a


def on_device(data, *arrays):
    device = data.draw(st.sampled_from(["cpu", "strict"]), label="device")
    moved = tuple(backend.to_device(a, device) if isinstance(a, np.ndarray) else a for a in arrays)
    return device, moved


def finite(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "fc" and bool(np.isfinite(a).all()) or \
        isinstance(a, np.ndarray) and a.dtype.kind in "iub"


def host(a):
    return minidl.asnumpy(a)


def close(got, want, dtype):
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-10
    np.testing.assert_allclose(host(got), want, rtol=tol, atol=tol)


def upstream_like(out, rng):
    return rng.standard_normal(np.shape(out)).astype(out.dtype if out.dtype.kind == "f" else np.float64)


# ------------------------------------------------------------------ elementwise layers
def _reference(name, x64, dim):
    if x64.size == 0:
        return x64, np.zeros_like(x64)
    with np.errstate(all="ignore"):
        if name == "ReLU":
            return np.maximum(x64, 0), (x64 > 0).astype(float)
        if name == "Tanh":
            y = np.tanh(x64)
            return y, 1 - y * y
        if name == "Sigmoid":
            y = 0.5 * (1 + np.tanh(x64 / 2))  # another exact form, as a reference
            return y, y * (1 - y)
        if name in ("Softmax", "LogSoftmax"):
            e = np.exp(x64 - x64.max(axis=dim, keepdims=True))
            p = e / e.sum(axis=dim, keepdims=True)
            return (p if name == "Softmax" else np.log(p)), None
    raise ValueError(name)


@pytest.fixture(params=["ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"])
def activation(request):
    return request.param


def fuzz_activation(name, data):
    x = draw_array(data)
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1) if data.draw(st.integers(0, 3)) else st.integers(-4, 3),
                    label="dim")
    layer = getattr(nn, name)(dim) if name in ("Softmax", "LogSoftmax") else getattr(nn, name)()
    _, (xd,) = on_device(data, x)
    y = layer(maybe_list(data, xd))
    x64 = x.astype(np.float64)
    want, slope = _reference(name, x64, dim)
    assert y.shape == x.shape
    if name == "ReLU":
        assert y.dtype == x.dtype
    close(y, want, y.dtype)
    if finite(x):
        assert finite(host(y))
    dy = upstream_like(host(y), np.random.default_rng(0))
    dx = layer.backward(backend.to_device(dy, backend.device_of(y)))
    assert dx.shape == x.shape
    if slope is not None:
        close(dx, dy * slope, dx.dtype)


def fuzz_dropout(data):
    x = draw_array(data)
    p = data.draw(mostly([0.0, 0.5, 1.0], [1.5, -0.1, float("nan"), "0.5"]), label="p")
    training = data.draw(st.booleans(), label="training")
    layer = nn.Dropout(p).train(training)
    _, (xd,) = on_device(data, x)
    y = host(layer(maybe_list(data, xd)))
    assert y.shape == x.shape
    if not training or p == 0.0:
        np.testing.assert_array_equal(y, x)
    else:
        kept = (y != 0) & np.isfinite(x)  # a dropped inf is inf·0 = NaN, as in PyTorch
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(y[kept], (x / (1 - p))[kept].astype(y.dtype), rtol=1e-6)
    if finite(x):
        assert finite(y)


def fuzz_flatten(data):
    x = draw_array(data, shape=draw_shape(data, min_dims=0, max_dims=4))
    legal = st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.integers(-1, 0)
    start = data.draw(legal if data.draw(st.integers(0, 3)) else st.integers(-4, 3), label="start")
    end = data.draw(legal if data.draw(st.integers(0, 3)) else st.integers(-4, 3), label="end")
    layer = nn.Flatten(start, end)
    y = host(layer(maybe_list(data, x)))
    s, e = start % x.ndim, end % x.ndim
    assert y.shape == x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    np.testing.assert_array_equal(y.ravel(), x.ravel())
    assert layer.backward(np.ones(y.shape)).shape == x.shape


# ------------------------------------------------------------------ layers with parameters
def fuzz_embedding(data):
    v, e = data.draw(st.integers(1, 5), label="V"), data.draw(st.integers(0, 3), label="E")
    layer = nn.Embedding(v, e)
    ids = draw_array(data, dtypes=[np.int64] * 3 + [np.int32, np.float64, np.bool_], scale=float(v), specials=False)
    if ids.dtype.kind == "i" and data.draw(st.integers(0, 3)):  # mostly ids in range
        ids = np.abs(ids) % v
    device, (idsd,) = on_device(data, ids)
    layer.to(device)
    y = host(layer(maybe_list(data, idsd)))
    np.testing.assert_array_equal(y, host(layer.weight.data)[ids])
    layer.backward(backend.to_device(np.ones(y.shape, np.float32), device))
    counts = np.bincount(ids.ravel(), minlength=v) if ids.size else np.zeros(v)
    np.testing.assert_allclose(host(layer.weight.grad), np.repeat(counts[:, None], e, axis=1))


def fuzz_linear(data):
    d, m = data.draw(st.integers(1, 3), label="D"), data.draw(st.integers(1, 3), label="M")
    layer = nn.Linear(d, m)
    shape = draw_shape(data)[:-1] + (data.draw(mostly([d], [d + 1]), label="width"),)
    x = draw_array(data, shape=shape, dtypes=[np.float32] * 3 + [np.float64, np.int64])
    device, (xd,) = on_device(data, x)
    layer.to(device)
    y = host(layer(maybe_list(data, xd)))
    W, b = host(layer.weight.data), host(layer.bias.data)
    close(y, x.astype(np.float64) @ W.T + b, np.float32)
    if finite(x):
        assert finite(y)


# ------------------------------------------------------------------ convolution stack
def _image(data, channels):
    """(N, C, H, W), mostly with the expected C, sometimes a wrong C or rank."""
    n, h, w = (data.draw(mostly([1, 2], [0]), label=k) for k in ("N", "H", "W"))
    h, w = h + data.draw(st.integers(0, 4)), w + data.draw(st.integers(0, 4))
    shape = data.draw(mostly([(n, channels, h, w)], [(n, channels + 1, h, w), (channels, h, w)]), label="shape")
    return draw_array(data, shape=shape, dtypes=[np.float32] * 3 + [np.float64, np.int64])


def _windows(xp_pad, k, s):
    """(N, C, Ho, Wo, kh, kw) windows of an already padded input, stride s."""
    v = np.lib.stride_tricks.sliding_window_view(xp_pad, k, axis=(2, 3))
    return v[:, :, ::s[0], ::s[1]]


def fuzz_conv2d(data):
    from minidl.functional.conv import conv2d_reference_forward

    cin, cout = data.draw(st.integers(1, 2), label="C_in"), data.draw(st.integers(1, 2), label="C_out")
    k, stride, pad = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(0, 1)))
    layer = nn.Conv2d(cin, cout, k, stride=stride, padding=pad)
    x = _image(data, cin)
    device, (xd,) = on_device(data, x)
    layer.to(device)
    y = host(layer(maybe_list(data, xd)))
    want, _ = conv2d_reference_forward(x.astype(np.float64), host(layer.weight.data).astype(np.float64),
                                       host(layer.bias.data).astype(np.float64), stride=stride, padding=pad)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    dx = host(layer.backward(backend.to_device(np.ones(y.shape, np.float32), device)))
    assert dx.shape == x.shape
    if finite(x):
        assert finite(y) and finite(dx)


def fuzz_pool(kind, data):
    k = data.draw(st.integers(1, 3), label="k")
    stride = data.draw(st.sampled_from([None, 1, 2]), label="stride")
    pad = data.draw(st.integers(0, 1), label="padding")
    layer = nn.MaxPool2d(k, stride, pad) if kind == "MaxPool2d" else nn.AvgPool2d(k, stride, pad)
    x = _image(data, 2)
    device, (xd,) = on_device(data, x)
    y = host(layer(maybe_list(data, xd)))
    s = (k, k) if stride is None else (stride, stride)
    fill = -np.inf if kind == "MaxPool2d" else 0.0
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    win = _windows(padded, (k, k), s)
    want = win.max(axis=(-2, -1)) if kind == "MaxPool2d" else win.mean(axis=(-2, -1))
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    dx = host(layer.backward(backend.to_device(np.ones(y.shape, y.dtype), device)))
    assert dx.shape == x.shape
    if finite(x):
        assert finite(y) and finite(dx)


def fuzz_adaptive_pool(data):
    out = data.draw(st.integers(1, 3), label="output_size")
    layer = nn.AdaptiveAvgPool2d(out)
    x = _image(data, 2)
    y = host(layer(maybe_list(data, x)))
    H, W = x.shape[2:]  # both >= 1 here: an empty image is refused
    rows = [(i * H // out, -(-(i + 1) * H // out)) for i in range(out)]
    cols = [(j * W // out, -(-(j + 1) * W // out)) for j in range(out)]
    want = np.stack([np.stack([x[:, :, a:b, c:d].astype(np.float64).mean(axis=(2, 3)) for c, d in cols], -1)
                     for a, b in rows], -2)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    assert host(layer.backward(np.ones(y.shape, y.dtype))).shape == x.shape


def fuzz_batchnorm(kind, data):
    layer = getattr(nn, kind)(2).train(data.draw(mostly([True], [False]), label="training"))
    if kind == "BatchNorm2d":
        x = _image(data, 2)
    else:
        n, length = data.draw(mostly([1, 2, 3], [0]), label="N"), data.draw(st.integers(1, 3), label="L")
        x = draw_array(data, shape=data.draw(mostly([(n, 2), (n, 2, length)], [(n, 3), (n,)])),
                       dtypes=[np.float32] * 3 + [np.float64, np.int64])
    device, (xd,) = on_device(data, x)
    layer.to(device)
    y = host(layer(maybe_list(data, xd)))
    x64 = x.astype(np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    if layer.training:
        mean, var = x64.mean(axis=axes, keepdims=True), x64.var(axis=axes, keepdims=True)
    else:
        mean, var = 0.0, 1.0
    np.testing.assert_allclose(y, (x64 - mean) / np.sqrt(var + layer.eps), rtol=1e-4, atol=1e-4)
    dx = host(layer.backward(backend.to_device(np.ones(y.shape, np.float32), device)))
    assert dx.shape == x.shape
    if finite(x):
        assert finite(y) and finite(dx)


# ------------------------------------------------------------------ recurrent layers
def _reference_sequence(kind, layer, x, lengths):
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
    want_out, want_h = _reference_sequence(kind, layer, x, lengths)
    np.testing.assert_allclose(host(out), want_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(h_n), want_h, rtol=1e-4, atol=1e-5)
    grads = layer.backward(backend.to_device(np.ones(out.shape, np.float32), device))
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    assert host(grads[0]).shape == x.shape
    if finite(x):
        assert finite(host(out)) and finite(host(grads[0]))


def fuzz_residual_stack(data):
    """Report E's residual stack: two one-layer LSTMs and the skip, against the textbook step."""
    d, h = data.draw(st.integers(1, 3), label="D"), data.draw(st.integers(1, 3), label="H")
    stack = nn.ResidualStackLSTM(d, h, num_layers=2)
    t, b = data.draw(mostly([1, 2, 3], [0]), label="T"), data.draw(mostly([1, 2], [0]), label="B")
    x = draw_array(data, shape=(t, b, data.draw(mostly([d], [d + 1]), label="width")),
                   dtypes=[np.float32] * 3 + [np.float64, np.int64], scale=1.0)
    lengths = data.draw(st.one_of(st.none(), st.lists(st.integers(0, t + 1), min_size=b, max_size=b),
                                  st.lists(st.integers(1, max(t, 1)), min_size=0, max_size=b + 1)), label="lengths")
    device, (xd,) = on_device(data, x)
    stack.to(device)
    out, (h_n, _) = stack(maybe_list(data, xd), lengths=lengths)
    u1, _ = _reference_sequence("LSTM", stack.layers[0], x, lengths)
    u2, _ = _reference_sequence("LSTM", stack.layers[1], u1, lengths)
    want = u2 + u1  # padding is zero in both, so in the sum too
    np.testing.assert_allclose(host(out), want, rtol=1e-4, atol=1e-5)
    last = [t - 1] * b if lengths is None else [n - 1 for n in lengths]
    np.testing.assert_allclose(host(h_n)[-1], want[last, np.arange(b)], rtol=1e-4, atol=1e-5)
    dx = stack.backward(backend.to_device(np.ones(out.shape, np.float32), device))[0]
    assert host(dx).shape == x.shape
    if finite(x):
        assert finite(host(out)) and finite(host(dx))


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


# ------------------------------------------------------------------ losses
def _class_loss_reference(name, x, t, reduction):
    with np.errstate(all="ignore"):
        a = x - (np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) + x.max(1, keepdims=True)) \
            if name == "CrossEntropyLoss" else x
        per = -a[np.arange(len(t)), t]
    return per.mean() if reduction == "mean" else per.sum()


def fuzz_class_loss(name, data):
    n, c = data.draw(mostly([1, 2, 3], [0]), label="N"), data.draw(mostly([1, 2, 3], [0]), label="C")
    x = draw_array(data, shape=data.draw(mostly([(n, c)], [(n,), (n, c, 2)])), dtypes=FLOATS * 3 + [np.int64])
    t = draw_array(data, shape=data.draw(mostly([(n,)], [(n, 1)])), dtypes=[np.int64] * 3 + [np.float64],
                   scale=float(c), specials=False)
    if t.dtype.kind == "i" and c and data.draw(st.integers(0, 3)):  # mostly labels in range
        t = np.abs(t) % c
    if name == "NLLLoss" and x.ndim == 2 and x.shape[1] and data.draw(st.booleans()):  # log-probabilities
        x = x - np.log(np.exp(x).sum(1, keepdims=True)).astype(x.dtype)
    reduction = data.draw(mostly(["mean", "sum"], ["none"]))
    crit = getattr(nn, name)(reduction=reduction)
    _, (xd, td) = on_device(data, x, t)
    loss = host(crit(maybe_list(data, xd), maybe_list(data, td)))
    close(loss, _class_loss_reference(name, x.astype(np.float64), t, reduction), x.dtype)
    g = host(crit.backward(data.draw(st.sampled_from([1.0, 0.5]))))
    assert g.shape == x.shape
    if finite(x):
        assert np.isfinite(loss) and np.isfinite(g).all()


def fuzz_binary_loss(name, data):
    shape = draw_shape(data)
    x = draw_array(data, shape=shape, dtypes=FLOATS * 3 + [np.int64], scale=0.5)
    if name == "BCELoss" and data.draw(st.integers(0, 3)):  # mostly probabilities
        x = np.clip(np.abs(x), 0, 1)
    t = draw_array(data, shape=data.draw(mostly([shape], [shape[:-1]])), dtypes=[np.float64] * 3 + [np.int64],
                   scale=0.5)
    if data.draw(st.integers(0, 3)):  # mostly targets in [0, 1]
        t = np.clip(np.abs(t), 0, 1)
    reduction = data.draw(st.sampled_from(["mean", "sum"]))
    crit = getattr(nn, name)(reduction=reduction)
    _, (xd, td) = on_device(data, x, t)
    loss = float(host(crit(maybe_list(data, xd), maybe_list(data, td))))
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    with np.errstate(all="ignore"):
        if name == "BCELoss":
            per = -(t64 * np.maximum(np.log(x64), -100) + (1 - t64) * np.maximum(np.log(1 - x64), -100))
        else:
            per = np.maximum(x64, 0) - x64 * t64 + np.log1p(np.exp(-np.abs(x64)))
    close(loss, per.mean() if reduction == "mean" else per.sum(), x.dtype)
    g = host(crit.backward())
    assert g.shape == x.shape
    if finite(x):
        assert np.isfinite(loss) and np.isfinite(g).all()


# ------------------------------------------------------------------ data helpers
def fuzz_pad_sequences(data):
    from minidl.data import pad_sequences

    seqs = data.draw(st.lists(st.lists(st.integers(1, 50), max_size=6), max_size=4), label="sequences")
    max_len = data.draw(mostly([1, 3, 5], [0, -1, 2.5]), label="max_len")
    truncate, pad = data.draw(mostly(["pre", "post"], ["left"])), data.draw(mostly(["pre", "post"], [None]))
    ids, lengths = pad_sequences(seqs, max_len, truncate=truncate, pad=pad)
    assert ids.shape == (len(seqs), max_len) and lengths.tolist() == [min(len(q), max_len) for q in seqs]
    for row, q, n in zip(ids, seqs, lengths):
        kept = q[len(q) - n:] if truncate == "pre" else q[:n]
        real = row[:n] if pad == "post" else row[max_len - n:]
        assert real.tolist() == kept and (row != 0).sum() == n


def fuzz_batch_loader(data):
    from minidl.data import BatchLoader

    n, t = data.draw(mostly([1, 3, 5], [0]), label="N"), data.draw(st.integers(1, 4), label="T")
    x = np.arange(n * t).reshape(n, t)
    lengths = np.array(data.draw(st.lists(st.integers(0, t), min_size=n, max_size=n)), dtype=np.int64)
    if data.draw(mostly([False], [True])):
        lengths = lengths + t + 1  # longer than the rows: refused
    kw = dict(batch_size=data.draw(mostly([1, 2, 4], [0]), label="batch_size"), shuffle=data.draw(st.booleans()),
              bucket=data.draw(st.booleans()), drop_last=data.draw(st.booleans()))
    loader = BatchLoader(x, np.arange(n), lengths, **kw)
    seen = [i for batch in loader for i in batch.index.tolist()]
    for batch in loader:
        assert batch.x.shape[1] == max(batch.lengths.max(), 1) or batch.x.shape[1] == t
        np.testing.assert_array_equal(batch.x, x[batch.index][:, :batch.x.shape[1]])
    expected = n - n % kw["batch_size"] if kw["drop_last"] else n
    assert len(seen) == expected and len(set(seen)) == expected


# ------------------------------------------------------------------ optimizers
SETTINGS = mostly([0.0, 1e-3, 0.5, 0.9], [1.0, -0.1, float("nan"), float("inf"), "0.1", None])


def fuzz_optimizer(name, data):
    p = minidl.Parameter(np.array([0.5, -1.0]))
    p.grad[:] = [0.3, -0.2]
    lr = data.draw(SETTINGS, label="lr")
    if name == "SGD":
        kw = dict(momentum=data.draw(SETTINGS), weight_decay=data.draw(SETTINGS),
                  nesterov=data.draw(st.booleans()))
        opt = optim.SGD([p], lr, **kw)
    else:
        kw = dict(betas=(data.draw(SETTINGS), data.draw(SETTINGS)),
                  eps=data.draw(SETTINGS), weight_decay=data.draw(SETTINGS))
        opt = optim.Adam([p], lr, **kw)
    for _ in range(2):
        opt.step()
    assert np.isfinite(p.data).all()
    norm = optim.clip_grad_norm_([p], data.draw(SETTINGS, label="max_norm"))
    assert np.isfinite(norm)


ENTRY_POINTS = {
    **{f"nn.{n}": (lambda data, n=n: fuzz_activation(n, data)) for n in ["ReLU", "Tanh", "Sigmoid", "Softmax",
                                                                          "LogSoftmax"]},
    "nn.Dropout": fuzz_dropout,
    "nn.Flatten": fuzz_flatten,
    "nn.Embedding": fuzz_embedding,
    "nn.Linear": fuzz_linear,
    "nn.Conv2d": fuzz_conv2d,
    "nn.MaxPool2d": lambda data: fuzz_pool("MaxPool2d", data),
    "nn.AvgPool2d": lambda data: fuzz_pool("AvgPool2d", data),
    "nn.AdaptiveAvgPool2d": fuzz_adaptive_pool,
    "nn.BatchNorm1d": lambda data: fuzz_batchnorm("BatchNorm1d", data),
    "nn.BatchNorm2d": lambda data: fuzz_batchnorm("BatchNorm2d", data),
    **{f"nn.{n}": (lambda data, n=n: fuzz_recurrent(n, data)) for n in ["RNN", "LSTM", "GRU", "CellLoopLSTM"]},
    **{f"nn.{n}": (lambda data, n=n: fuzz_cell(n, data)) for n in ["RNNCell", "LSTMCell", "GRUCell"]},
    "nn.ResidualStackLSTM": fuzz_residual_stack,
    "nn.PeepholeLSTMCell": fuzz_peephole_cell,
    **{f"nn.{n}": (lambda data, n=n: fuzz_class_loss(n, data)) for n in ["CrossEntropyLoss", "NLLLoss"]},
    **{f"nn.{n}": (lambda data, n=n: fuzz_binary_loss(n, data)) for n in ["BCELoss", "BCEWithLogitsLoss"]},
    **{f"optim.{n}": (lambda data, n=n: fuzz_optimizer(n, data)) for n in ["SGD", "Adam"]},
    "data.pad_sequences": fuzz_pad_sequences,
    "data.BatchLoader": fuzz_batch_loader,
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@settings(max_examples=12)
@given(data=st.data())
def test_fuzz(entry, data):
    _DREW_NONFINITE[0] = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ENTRY_POINTS[entry](data)
            event("returned a checked result")  # pytest --hypothesis-show-statistics shows the mix
        except MinidlError as e:
            event(f"raised {type(e).__name__}")  # documented; tests/test_errors.py checks the messages
    # NaN/inf in, NaN/inf out is NumPy's (and PyTorch's) rule, warnings included; from finite
    # input a RuntimeWarning (overflow, log of 0, 0/0) means a formula is not safe
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert _DREW_NONFINITE[0] or not runtime, f"{entry} warned on finite input: {runtime}"


def test_every_public_layer_and_optimizer_is_fuzzed():
    composites = {"nn.Sequential", "nn.BasicBlock"}  # made of layers fuzzed one by one above
    public = {f"nn.{n}" for n in nn.__all__
              if isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module) and n != "Module"}
    missing = public - composites - set(ENTRY_POINTS)
    assert not missing and {"optim.SGD", "optim.Adam"} <= set(ENTRY_POINTS), sorted(missing)
