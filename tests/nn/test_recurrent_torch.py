"""Parity with PyTorch (skipped cleanly when torch does not import): same weights, same
inputs -> same outputs, final states and gradients of parameters, x, h0 (and c0); lengths
via ``pack_padded_sequence`` on the PyTorch side."""

import numpy as np
import pytest

from minidl import backend
from minidl.nn import recurrent, rnn_cells

torch = pytest.importorskip("torch")

KINDS = {
    "rnn_tanh": (recurrent.RNN, "RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": (recurrent.RNN, "RNN", {"nonlinearity": "relu"}),
    "lstm": (recurrent.LSTM, "LSTM", {}),
    "gru": (recurrent.GRU, "GRU", {}),
}


def pair(kind, D, H, dtype=np.float64, **kw):
    ours_cls, torch_name, extra = KINDS[kind]
    theirs = getattr(torch.nn, torch_name)(D, H, **extra, **kw)
    theirs = theirs.double() if dtype == np.float64 else theirs.float()
    with backend.default_dtype(dtype):
        ours = ours_cls(D, H, **extra, **kw)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("lengths", [None, [4, 1, 3]], ids=["full", "lengths"])
@pytest.mark.parametrize("config", [(1, False, False), (2, True, True), (3, False, True)],
                         ids=["1uni", "2bi_bf", "3uni_bf"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_sequence_layer_matches_pytorch(kind, config, lengths, device, to_dev):
    num_layers, bi, batch_first = config
    T, B, D, H = 4, 3, 3, 2
    ours, theirs = pair(kind, D, H, num_layers=num_layers, bidirectional=bi, batch_first=batch_first)
    ours.to(device)
    LD = num_layers * (2 if bi else 1)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((B, T, D) if batch_first else (T, B, D))
    states = [rng.standard_normal((LD, B, H)) for _ in range(2 if kind == "lstm" else 1)]
    d_out = rng.standard_normal((B, T, LD // num_layers * H) if batch_first else (T, B, LD // num_layers * H))
    d_states = [rng.standard_normal((LD, B, H)) for _ in states]
    if lengths is not None:
        for b, n in enumerate(lengths):
            (d_out[b, n:] if batch_first else d_out[n:, b])[...] = 0  # PyTorch's padded output is a constant 0

    # PyTorch
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    hx_t = tuple(st) if kind == "lstm" else st[0]
    inp = xt
    if lengths is not None:
        inp = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first,
                                                      enforce_sorted=False)
    out_t, st_n_t = theirs(inp, hx_t)
    if lengths is not None:
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=batch_first, total_length=T)
    st_n_t = list(st_n_t) if kind == "lstm" else [st_n_t]
    loss = (out_t * torch.tensor(d_out)).sum() + sum((s * torch.tensor(g)).sum() for s, g in zip(st_n_t, d_states))
    loss.backward()

    # minidl
    hx = tuple(to_dev(s) for s in states)
    out, st_n = ours(to_dev(x), hx if kind == "lstm" else hx[0], lengths=lengths)
    st_n = list(st_n) if kind == "lstm" else [st_n]
    grads = ours.backward(to_dev(d_out), *(to_dev(g) for g in d_states))

    a = backend.asnumpy
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a(out), out_t.detach().numpy(), **close)
    for s, s_t in zip(st_n, st_n_t):
        np.testing.assert_allclose(a(s), s_t.detach().numpy(), **close)
    np.testing.assert_allclose(a(grads[0]), xt.grad.numpy(), **close)
    for g, s_t in zip(grads[1:], st):
        np.testing.assert_allclose(a(g), s_t.grad.numpy(), **close)
    theirs_params = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(a(p.grad), theirs_params[n].grad.numpy(), err_msg=n, **close)


@pytest.mark.parametrize("kind", list(KINDS))
def test_float32_forward_matches_pytorch(kind):
    ours, theirs = pair(kind, 5, 4, dtype=np.float32, num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((6, 3, 5)).astype(np.float32)
    out, _ = ours(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, theirs(torch.tensor(x))[0].detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cells_match_pytorch(kind, device, to_dev):
    D, H, B = 3, 2, 3
    if kind == "lstm":
        theirs, ours_cls, extra = torch.nn.LSTMCell(D, H), rnn_cells.LSTMCell, {}
    elif kind == "gru":
        theirs, ours_cls, extra = torch.nn.GRUCell(D, H), rnn_cells.GRUCell, {}
    else:
        extra = {"nonlinearity": kind[4:]}
        theirs, ours_cls = torch.nn.RNNCell(D, H, **extra), rnn_cells.RNNCell
    theirs = theirs.double()
    with backend.default_dtype(np.float64):
        ours = ours_cls(D, H, **extra)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.to(device)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, D))
    states = [rng.standard_normal((B, H)) for _ in range(2 if kind == "lstm" else 1)]
    ups = [rng.standard_normal((B, H)) for _ in states]
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    res_t = theirs(xt, tuple(st) if kind == "lstm" else st[0])
    res_t = list(res_t) if kind == "lstm" else [res_t]
    sum((r * torch.tensor(u)).sum() for r, u in zip(res_t, ups)).backward()
    hx = tuple(to_dev(s) for s in states)
    res = ours(to_dev(x), hx if kind == "lstm" else hx[0])
    res = list(res) if kind == "lstm" else [res]
    grads = ours.backward(*(to_dev(u) for u in ups))
    a = backend.asnumpy
    for r, r_t in zip(res, res_t):
        np.testing.assert_allclose(a(r), r_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a(grads[0]), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    for g, s in zip(grads[1:], st):
        np.testing.assert_allclose(a(g), s.grad.numpy(), rtol=1e-10, atol=1e-14)
    tp = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(a(p.grad), tp[n].grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=n)


def test_state_dict_keys_equal_pytorch():
    for kind in KINDS:
        ours, theirs = pair(kind, 3, 2, num_layers=2, bidirectional=True)
        assert list(ours.state_dict()) == list(theirs.state_dict())
