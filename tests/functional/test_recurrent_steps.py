"""The textbook reference steps of minidl.functional.{lstm, gru, rnn} against the fast code:
one step (the cell pairs) and a whole sequence (the sequence pairs against a Python loop of
reference steps, back-propagated through time by hand), forward and backward, float64, on
NumPy and on the strict CuPy stand-in; and the functional contract of every pair."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl import backend
from minidl.functional import gru, lstm, rnn
from minidl.functional.sequence import make_lengths, project_gate_major

# kind -> (module, prefix, gates, states, options)
KINDS = {
    "lstm": (lstm, "lstm", 4, ("h", "c"), {}),
    "gru": (gru, "gru", 3, ("h",), {"reset_after": True}),
    "gru_v1": (gru, "gru", 3, ("h",), {"reset_after": False}),
    "rnn_tanh": (rnn, "rnn", 1, ("h",), {"nonlinearity": "tanh"}),
    "rnn_relu": (rnn, "rnn", 1, ("h",), {"nonlinearity": "relu"}),
}
CLOSE = dict(rtol=1e-11, atol=1e-13)


def pair(kind, what):
    mod, prefix, *_ = KINDS[kind]
    return getattr(mod, f"{prefix}_{what}_forward"), getattr(mod, f"{prefix}_{what}_backward")


def reference(kind):
    mod, prefix, *_ = KINDS[kind]
    return getattr(mod, f"{prefix}_step_reference"), getattr(mod, f"{prefix}_step_reference_backward")


def weights(kind, D, H, bias, rng, to_dev):
    G = KINDS[kind][2]
    w = {"weight_ih": rng.uniform(-0.9, 0.9, (G * H, D)), "weight_hh": rng.uniform(-0.9, 0.9, (G * H, H))}
    if bias:
        w["bias_ih"], w["bias_hh"] = rng.uniform(-0.5, 0.5, G * H), rng.uniform(-0.5, 0.5, G * H)
    return {k: to_dev(v) for k, v in w.items()}


def as_tuple(y, n):
    return tuple(y) if n == 2 else (y,)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=3)
@given(B=st.integers(1, 3), D=st.integers(1, 4), H=st.integers(1, 4), scale=st.sampled_from([0.5, 3.0]))
def test_reference_step_equals_fast_step(kind, bias, B, D, H, scale, device, to_dev):
    """The textbook step (``*_step_reference``) and the fast cell pair give the same outputs
    and the same gradient for every argument."""
    _, _, _, states, opts = KINDS[kind]
    rng = np.random.default_rng(B * 100 + D * 10 + H)
    x = to_dev(scale * rng.standard_normal((B, D)))
    st0 = [to_dev(rng.standard_normal((B, H))) for _ in states]
    w = weights(kind, D, H, bias, rng, to_dev)
    dy = [to_dev(rng.standard_normal((B, H))) for _ in states]
    ref_f, ref_b = reference(kind)
    fast_f, fast_b = pair(kind, "cell")
    y_ref, c_ref = ref_f(x, *st0, **w, **opts)
    y_fast, c_fast = fast_f(x, *st0, **w, **opts)
    g_ref = ref_b(tuple(dy) if len(states) == 2 else dy[0], c_ref)
    g_fast = fast_b(tuple(dy) if len(states) == 2 else dy[0], c_fast)
    a = backend.asnumpy
    for u, v in zip(as_tuple(y_ref, len(states)), as_tuple(y_fast, len(states))):
        np.testing.assert_allclose(a(v), a(u), **CLOSE)
    assert set(g_ref) == set(g_fast) == {"x", *states, *w}
    for name in g_ref:
        np.testing.assert_allclose(a(g_fast[name]), a(g_ref[name]), err_msg=name, **CLOSE)


def reference_sequence(kind, x, s0, w, dys):
    """Forward and backward of one layer by looping reference steps over time (BPTT by hand)."""
    _, _, _, states, opts = KINDS[kind]
    ref_f, ref_b = reference(kind)
    T = x.shape[0]
    caches, outs, s = [], [], s0
    for t in range(T):
        y, cache = ref_f(x[t], *s, **w, **opts)
        s = as_tuple(y, len(states))
        outs.append(s[0])
        caches.append(cache)
    d_out, *d_n = dys
    ds = list(d_n)
    grads = {k: 0.0 for k in w}
    dx = [None] * T
    for t in reversed(range(T)):
        ds[0] = ds[0] + d_out[t]
        g = ref_b(tuple(ds) if len(states) == 2 else ds[0], caches[t])
        dx[t] = g["x"]
        ds = [g[n] for n in states]
        for k in w:
            grads[k] = grads[k] + g[k]
    return np.stack(outs), s, np.stack(dx), ds, grads


# the large case takes the row-major input projection of project_gate_major (D·H ≥ 128·256);
# its sums run over up to 4H = 1,024 float64 terms of size ≤ ~10, so rounding stays below
# 1,024 · 10 · 2⁻⁵² ≈ 2e-12, far under its tolerance; any mistake in the fast path is O(1)
@pytest.mark.parametrize("kind, size", [(k, "small") for k in KINDS] + [("lstm", "large")])
def test_sequence_pair_equals_loop_of_reference_steps(kind, size):
    _, _, _, states, opts = KINDS[kind]
    T, B, D, H = (5, 3, 2, 4) if size == "small" else (3, 2, 128, 256)
    close = CLOSE if size == "small" else dict(rtol=1e-10, atol=1e-10)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((T, B, D))
    s0 = [rng.standard_normal((B, H)) for _ in states]
    w = weights(kind, D, H, True, rng, np.asarray)
    dys = [rng.standard_normal((T, B, H))] + [rng.standard_normal((B, H)) for _ in states]
    out_r, sn_r, dx_r, ds0_r, gw_r = reference_sequence(kind, x, s0, w, dys)
    fwd, bwd = pair_for_sequence(kind)
    ys, cache = fwd(x, *s0, **w, **opts)
    grads = bwd(tuple(dys), cache)
    np.testing.assert_allclose(ys[0], out_r, **close)
    for u, v in zip(ys[1:], sn_r):
        np.testing.assert_allclose(u, v, **close)
    np.testing.assert_allclose(grads["x"], dx_r, **close)
    for name, r in zip(states, ds0_r):
        np.testing.assert_allclose(grads[name + "0"], r, err_msg=name, **close)
    for k in w:
        np.testing.assert_allclose(grads[k], gw_r[k], err_msg=k, **close)


def pair_for_sequence(kind):
    mod, prefix, *_ = KINDS[kind]
    return getattr(mod, f"{prefix}_forward"), getattr(mod, f"{prefix}_backward")


@pytest.mark.parametrize("kind, residual", [(k, None) for k in KINDS] + [("lstm", "identity"), ("lstm", "projection")])
def test_functional_contract(kind, residual):
    """Named cache fields, grads keyed by the forward's argument names, None upstreams, and
    ``lengths`` given as ints equal to prepared :class:`Lengths`."""
    _, _, _, states, opts = KINDS[kind]
    T, B, H = 4, 3, 2
    D = H if residual == "identity" else 3
    rng = np.random.default_rng(5)
    x = rng.standard_normal((T, B, D))
    s0 = [rng.standard_normal((B, H)) for _ in states]
    w = weights(kind, D, H, True, rng, np.asarray)
    if residual:
        opts = dict(opts, residual=True)
        if residual == "projection":
            w["weight_res"] = rng.uniform(-0.5, 0.5, (H, D))
    fwd, bwd = pair_for_sequence(kind)
    lengths = [4, 1, 3]
    ys, cache = fwd(x, *s0, **w, **opts, lengths=lengths)
    assert hasattr(cache, "_fields") and hasattr(cache, "x")  # a NamedTuple, read by name
    ys2, cache2 = fwd(x, *s0, **w, **opts, lengths=make_lengths(lengths, T, B, np))
    for u, v in zip(ys, ys2):
        np.testing.assert_array_equal(u, v)
    assert len(ys) == 1 + len(states)
    grads = bwd((None,) * len(ys), cache)  # nothing reaches the loss: every gradient is zero
    assert set(grads) == {"x", *(s + "0" for s in states), *w}
    for k, g in grads.items():
        assert not np.any(g), k
    d_out = rng.standard_normal((T, B, H))
    g1 = bwd((d_out,) + (None,) * len(states), cache2)
    for k, g in g1.items():
        assert g.shape == ({"x": x, **dict(zip((s + "0" for s in states), s0)), **w}[k]).shape, k


@pytest.mark.parametrize("D, H", [(6, 5), (128, 256)])  # the batched and the row-major way
@pytest.mark.parametrize("bias", [True, False])
def test_project_gate_major_is_the_input_projection(D, H, bias):
    """(T, 4, B, H) gate-major equals x W_ihᵀ + b, also for a non-contiguous (reversed) x and
    for T not a multiple of project_gate_major's block of steps."""
    T, B, G = 37, 64, 4  # 64: blocks of 16 steps, the last one of 5
    rng = np.random.default_rng(7)
    x = rng.standard_normal((T, B, D))[::-1]
    WxT = rng.uniform(-1, 1, (D, G * H))
    b = rng.uniform(-1, 1, G * H) if bias else None
    A = project_gate_major(x, WxT, b, G)
    want = np.einsum("tbd,dgh->tgbh", x, WxT.reshape(D, G, H))
    if bias:
        want = want + b.reshape(G, 1, H)
    assert A.shape == (T, G, B, H)
    np.testing.assert_allclose(A, want, rtol=1e-12, atol=1e-12)
