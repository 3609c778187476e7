"""One LSTM time step: forward and hand-derived backward.

Equations (PyTorch's ``nn.LSTMCell``; gate blocks of the weights in the order i, f, g, o)::

    z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh          z: (B, 4H), split into z_i, z_f, z_g, z_o
    i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c')

Shapes: x (B, D), h and c (B, H), W_ih (4H, D), W_hh (4H, H), b_ih and b_hh (4H,).

Backward. Given ``dh' = ∂L/∂h'`` and ``dc'_in = ∂L/∂c'`` from above (the next step or
the loss), write ``τ = tanh(c')``. ``c'`` reaches L directly and through ``h'``, so

    dc' = dc'_in + dh' ⊙ o ⊙ (1 − τ²)
    do  = dh' ⊙ τ        di = dc' ⊙ g        df = dc' ⊙ c        dg = dc' ⊙ i
    dc  = dc' ⊙ f                                    (to the previous step)

and through the nonlinearities (σ' = σ(1 − σ), tanh' = 1 − tanh²)

    dz_o = dh' ⊙ τ ⊙ o(1−o)     dz_i = dc' ⊙ g ⊙ i(1−i)
    dz_f = dc' ⊙ c ⊙ f(1−f)     dz_g = dc' ⊙ i ⊙ (1−g²)

then, as for :mod:`minidl.functional.linear`,

    dx = dz W_ih     dh = dz W_hh     dW_ih = dzᵀ x     dW_hh = dzᵀ h     db_ih = db_hh = Σ_batch dz

Notice that ``dz_o`` is ``dh'`` times a factor, and the other three are ``dc'`` times a
factor, and that every factor is known once the forward is done. :func:`lstm_local_grads`
computes them (for one step, or for all steps of a sequence at once), so the backward of a
step is only ``dc' = dh'⊙P + dc'_in``, two products and ``dc = dc'⊙f``.

**Compute layout.** PyTorch stores the gates as i, f, g, o. For speed the maths here runs
on the blocks reordered to **o, i, f, g** (see :func:`lstm_pack`): then the three sigmoid
gates are one contiguous block, and the three gates multiplied by ``dc'`` in the backward
are another. And since ``σ(z) = 1/(1 + e^{−z})`` and ``tanh(z) = 2σ(2z) − 1``, negating the
weight rows of the sigmoid gates (and multiplying those of g by −2) once, when the weights
are packed, lets **one** ``exp`` call serve all four gates: then ``+1`` and a reciprocal
give σ for o, i, f and σ(2z) for g, and ``2s − 1`` finishes g. (The other classic trick,
σ(z) = ½·tanh(z/2) + ½ with one ``tanh`` call, does as few passes; NumPy's float32 ``exp``
is about 1.5× cheaper per element than its ``tanh``, which made this form 10% faster for
the whole forward, measured on the project's 2-core machine, 2026-11-26.) Arrays in compute
layout have shape ``(..., 4, H)``; :func:`from_compute_order` turns gradients back into
PyTorch's layout.

The same functions serve :class:`minidl.nn.LSTMCell` (one step, for teaching) and the fused
time loop of :class:`minidl.nn.LSTM` (:mod:`minidl.functional.recurrent`).
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend

__all__ = [
    "LSTMPacked",
    "lstm_pack",
    "to_compute_order",
    "from_compute_order",
    "lstm_gates",
    "lstm_local_grads",
    "lstm_gates_backward",
    "lstm_cell_forward",
    "lstm_cell_backward",
]

# PyTorch's blocks are i, f, g, o (0, 1, 2, 3); the compute layout takes them as o, i, f, g.
_TO_COMPUTE = (3, 0, 1, 2)
_FROM_COMPUTE = (1, 2, 3, 0)


def _reorder(W, order, H):
    xp = backend.get_array_module(W)
    return xp.concatenate([W[k * H : (k + 1) * H] for k in order], axis=0)


def to_compute_order(W, H):
    """Rows (or entries) of a PyTorch-layout (4H, ...) array reordered i,f,g,o -> o,i,f,g."""
    return _reorder(W, _TO_COMPUTE, H)


def from_compute_order(W, H):
    """Inverse of :func:`to_compute_order`: o,i,f,g -> i,f,g,o."""
    return _reorder(W, _FROM_COMPUTE, H)


class LSTMPacked(NamedTuple):
    """Weights in the compute layout (blocks o, i, f, g).

    ``WxT`` (D, 4H), ``WhT`` (H, 4H), ``b`` (4H,) or None: for the forward, with the rows of
    the sigmoid gates o, i, f negated and those of g multiplied by −2 (so ``exp`` of the
    product gives e^{−z}, and e^{−2z} for g).
    ``Wx`` (4H, D), ``Wh`` (4H, H): unscaled, for the backward (``dx = dz Wx``).
    """

    WxT: object
    WhT: object
    b: object
    Wx: object
    Wh: object


# --8<-- [start:lstm_pack]
def lstm_pack(W_ih, W_hh, b_ih=None, b_hh=None) -> LSTMPacked:
    """PyTorch-layout weights -> :class:`LSTMPacked`. W_ih (4H, D), W_hh (4H, H), biases (4H,)."""
    H = W_hh.shape[1]
    Wx = to_compute_order(W_ih, H)
    Wh = to_compute_order(W_hh, H)
    WxT = Wx.T.copy()
    WhT = Wh.T.copy()
    # one exp for all gates: σ(z) = 1/(1 + e^{−z}) and tanh(z) = 2σ(2z) − 1, so feed −z to
    # the sigmoid gates o, i, f and −2z to g
    WxT[:, : 3 * H] *= -1.0
    WhT[:, : 3 * H] *= -1.0
    WxT[:, 3 * H :] *= -2.0
    WhT[:, 3 * H :] *= -2.0
    b = None
    if b_ih is not None:
        b = to_compute_order(b_ih + b_hh, H)
        b[: 3 * H] *= -1.0
        b[3 * H :] *= -2.0
    return LSTMPacked(WxT, WhT, b, Wx, Wh)
# --8<-- [end:lstm_pack]


# --8<-- [start:lstm_gates]
def lstm_gates(a, c_prev, c_out=None, tanh_c_out=None, h_out=None):
    """The gate arithmetic of one step, in place on the pre-activations.

    Args:
        a: (..., 4, H) pre-activations in compute layout (o, i, f, g), scaled by −1 (o, i, f)
            and −2 (g) (``x @ WxT + h @ WhT + b`` with :func:`lstm_pack`'s weights).
            Overwritten with the gate values o, i, f, g.
        c_prev: (..., H) the previous cell state.
        c_out, tanh_c_out, h_out: optional (..., H) buffers for c', tanh(c'), h'.

    Returns:
        ``(gates, c', tanh(c'), h')``, gates being ``a``.
    """
    xp = backend.get_array_module(a)
    # e^{−z} overflows to inf for z < −88 (float32), and σ = 1/inf = 0 is right: callers run
    # this inside ``numpy.errstate(over="ignore")`` (once around a whole time loop: entering
    # it costs as much as a ufunc call)
    xp.exp(a, out=a)  # one call for all four gates: e^{−z} (o, i, f), e^{−2z} (g)
    a += 1.0
    xp.reciprocal(a, out=a)  # σ(z) for o, i, f and σ(2z) for g
    o, i, f, g = a[..., 0, :], a[..., 1, :], a[..., 2, :], a[..., 3, :]
    g *= 2.0  # tanh(z) = 2σ(2z) − 1
    g -= 1.0
    c = xp.multiply(f, c_prev, out=c_out)
    ig = xp.multiply(i, g, out=tanh_c_out)  # the tanh(c') buffer holds i⊙g until it is needed
    c += ig
    tc = xp.tanh(c, out=tanh_c_out)
    h = xp.multiply(o, tc, out=h_out)
    return a, c, tc, h
# --8<-- [end:lstm_gates]


# --8<-- [start:lstm_local_grads]
def lstm_local_grads(gates, c_prev, tanh_c, K=None, P=None):
    """The factors of the step backward, known once the forward is done.

    Args:
        gates: (..., 4, H) gate values o, i, f, g; c_prev, tanh_c: (..., H). The leading
            dims may be (B,) for one step or (T, B) for several steps at once.
        K, P: optional output buffers of shapes (..., 4, H) and (..., H).

    Returns:
        ``K`` (..., 4, H) and ``P`` (..., H) such that, for a step,
        ``dc' = dh'⊙P + dc'_in``, ``dz_o = dh'⊙K_o`` and ``dz_{i,f,g} = dc'⊙K_{i,f,g}``:
        K_o = τ⊙o(1−o), K_i = g⊙i(1−i), K_f = c⊙f(1−f), K_g = i⊙(1−g²), P = o⊙(1−τ²).
    """
    xp = backend.get_array_module(gates)
    o, i, g = gates[..., 0, :], gates[..., 1, :], gates[..., 3, :]
    if K is None:
        K = xp.empty_like(gates)
    if P is None:
        P = xp.empty_like(tanh_c)
    # written with out= and no temporaries: this runs over every step of a sequence
    s, Ks = gates[..., :3, :], K[..., :3, :]
    xp.subtract(1.0, s, out=Ks)
    Ks *= s  # σ'(z) = σ(1−σ) for o, i, f
    K[..., 0, :] *= tanh_c
    K[..., 1, :] *= g
    K[..., 2, :] *= c_prev
    Kg = K[..., 3, :]
    xp.multiply(g, g, out=Kg)
    xp.subtract(1.0, Kg, out=Kg)
    Kg *= i
    xp.multiply(tanh_c, tanh_c, out=P)
    xp.subtract(1.0, P, out=P)
    P *= o
    return K, P
# --8<-- [end:lstm_local_grads]


# --8<-- [start:lstm_gates_backward]
def lstm_gates_backward(dh, dc_in, K, P, f, dz_out=None):
    """Backward of :func:`lstm_gates` for one step.

    Args:
        dh: (B, H) ∂L/∂h' (everything that reaches h': output and next step).
        dc_in: (B, H) ∂L/∂c' from the next step (or the loss, for c_n).
        K, P: this step's factors from :func:`lstm_local_grads`; f: (B, H) forget gate.
        dz_out: optional (B, 4, H) buffer for the result. It may be the step's saved gates
            themselves (``f`` a view into it): ``f`` is read before ``dz_out`` is written.

    Returns:
        ``(dz, dc)``: dz (B, 4, H) the gradient of the (unscaled) pre-activations in
        compute layout, dc (B, H) the gradient of the previous cell state.
    """
    xp = backend.get_array_module(dh)
    dc_new = dh * P
    dc_new += dc_in  # ∂L/∂c' in all
    dc = xp.multiply(dc_new, f)  # to the previous step; f is read before dz_out is written
    if dz_out is None:
        dz_out = xp.empty_like(K)
    xp.multiply(dh, K[..., 0, :], out=dz_out[..., 0, :])
    xp.multiply(dc_new[..., None, :], K[..., 1:, :], out=dz_out[..., 1:, :])
    return dz_out, dc
# --8<-- [end:lstm_gates_backward]


def lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih=None, b_hh=None):
    """One LSTM step. x (B, D), h and c (B, H) -> ``(h', c', cache)``, h' and c' (B, H)."""
    H = W_hh.shape[1]
    p = lstm_pack(W_ih, W_hh, b_ih, b_hh)
    a = x @ p.WxT
    a += h @ p.WhT
    if p.b is not None:
        a += p.b
    with backend.numpy.errstate(over="ignore"):
        gates, c_new, tc, h_new = lstm_gates(a.reshape(x.shape[0], 4, H), c)
    return h_new, c_new, (x, h, c, p, gates, tc)


def lstm_cell_backward(dh_new, dc_new, cache):
    """Backward of :func:`lstm_cell_forward`. dh', dc' (B, H) ->
    ``(dx, dh, dc, dW_ih, dW_hh, db)`` in PyTorch's layout (db is the gradient of both
    ``b_ih`` and ``b_hh``, which enter as a sum)."""
    x, h, c, p, gates, tc = cache
    B, H = h.shape
    K, P = lstm_local_grads(gates, c, tc)
    dz, dc = lstm_gates_backward(dh_new, dc_new, K, P, gates[:, 2, :])
    dz = dz.reshape(B, 4 * H)
    dx = dz @ p.Wx
    dh = dz @ p.Wh
    dW_ih = from_compute_order(dz.T @ x, H)
    dW_hh = from_compute_order(dz.T @ h, H)
    db = from_compute_order(dz.sum(axis=0), H)
    return dx, dh, dc, dW_ih, dW_hh, db
