"""One GRU time step, in both published forms: forward and hand-derived backward.

Gate blocks of the weights in PyTorch's order r, z, n. Shapes: x (B, D), h (B, H),
W_ih (3H, D), W_hh (3H, H), b_ih and b_hh (3H,).

``reset_after=True`` — PyTorch's ``nn.GRUCell`` (the reset gate acts *after* the matrix)::

    r  = σ(W_ir x + b_ir + W_hr h + b_hr)
    z  = σ(W_iz x + b_iz + W_hz h + b_hz)
    n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h   =   n + z ⊙ (h − n)

``reset_after=False`` — the original form of Cho et al. (2014), which report B writes as
h̃ = tanh(W[r⊙h, x] + b) (reset *before* the matrix)::

    n  = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)          (r, z, h' as above)

Backward, given ``dh' = ∂L/∂h'``; write ``ĝ = W_hn h + b_hn`` (after) or ``W_hn (r⊙h)``
(before) for the hidden part of n's pre-activation, and dz_·, the gradients of the
pre-activations (σ' = σ(1−σ), tanh' = 1 − tanh²)::

    dz_n = dh' ⊙ (1 − z) ⊙ (1 − n²)                    = dh' ⊙ K_n
    dz_z = dh' ⊙ (h − n) ⊙ z(1 − z)                    = dh' ⊙ K_z
    after:  dz_r = dz_n ⊙ ĝ ⊙ r(1−r),   dĝ = dz_n ⊙ r
            dh = dh' ⊙ z + [dz_r, dz_z, dĝ] W_hh
    before: d(r⊙h) = dz_n W_hn,   dz_r = d(r⊙h) ⊙ h ⊙ r(1−r)
            dh = dh' ⊙ z + d(r⊙h) ⊙ r + [dz_r, dz_z] W_h{r,z}

and ``dx = [dz_r, dz_z, dz_n] W_ih``, ``dW_ih = [dz_r, dz_z, dz_n]ᵀ x``, ``db_ih`` the
batch sum of the same; the hidden-side weights get the outer products of their own
upstream (``[dz_r, dz_z, dĝ]ᵀ h`` after; ``[dz_r, dz_z]ᵀ h`` and ``dz_nᵀ (r⊙h)`` before).

K_n, K_z and the r factor (``K_r = ĝ⊙r(1−r)`` after, ``h⊙r(1−r)`` before) are known once the
forward is done: :func:`gru_local_grads` computes them for one step or for a whole sequence.

**Compute layout**: arrays (..., 3, H) in order r, z, n; the r and z rows of the weights
are negated so that one ``exp`` call gives e^{−u} for both sigmoid gates, then ``+1`` and a
reciprocal give σ(u) = 1/(1 + e^{−u}), as in :mod:`minidl.functional.lstm_cell`. The same
functions serve :class:`minidl.nn.GRUCell` and the fused loop of :class:`minidl.nn.GRU`.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend

__all__ = [
    "GRUPacked", "gru_pack", "gru_rz_gates", "gru_new_state", "gru_local_grads",
    "gru_cell_forward", "gru_cell_backward",
]


class GRUPacked(NamedTuple):
    """Weights for the forward (r, z rows negated) and the backward (as given).

    ``WxT`` (D, 3H); ``WhT`` (H, 3H) (after) or ``WhT`` (H, 2H) for r, z plus ``WhnT`` (H, H)
    (before); ``b`` (3H,) the input-side bias with b_hr, b_hz folded in (and b_hn too,
    before); ``b_hn`` (H,) or None (after: b_hn sits inside r ⊙ (·)). ``W_ih``, ``W_hh``:
    PyTorch layout, unscaled.
    """

    WxT: object
    WhT: object
    WhnT: object
    b: object
    b_hn: object
    W_ih: object
    W_hh: object


# --8<-- [start:gru_pack]
def gru_pack(W_ih, W_hh, b_ih=None, b_hh=None, reset_after=True) -> GRUPacked:
    """PyTorch-layout weights -> :class:`GRUPacked`. W_ih (3H, D), W_hh (3H, H), biases (3H,).

    b_hr and b_hz enter r and z as plain sums with b_ir, b_iz, so they are folded into the
    input-side bias; b_hn is kept apart in the reset-after form, where r multiplies it.
    """
    H = W_hh.shape[1]
    WxT = W_ih.T.copy()
    WxT[:, : 2 * H] *= -1.0  # σ(u) = 1/(1 + e^{−u}): feed −u to the exp
    if reset_after:
        WhT = W_hh.T.copy()
        WhnT = None
    else:
        WhT = W_hh[: 2 * H].T.copy()
        WhnT = W_hh[2 * H :].T.copy()
    WhT[:, : 2 * H] *= -1.0
    b = b_hn = None
    if b_ih is not None:
        b = b_ih.copy()
        if reset_after:
            b[: 2 * H] += b_hh[: 2 * H]
            b_hn = b_hh[2 * H :]
        else:
            b += b_hh
        b[: 2 * H] *= -1.0
    return GRUPacked(WxT, WhT, WhnT, b, b_hn, W_ih, W_hh)
# --8<-- [end:gru_pack]


# --8<-- [start:gru_gates]
def gru_rz_gates(a, gh_rz):
    """r and z, in place: ``a[..., :2, :] = σ(u)`` with ``−u = a_rz + gh_rz``. a (..., 3, H)
    input-side pre-activations (r, z negated), gh_rz (..., 2, H) the hidden side (negated)."""
    xp = backend.get_array_module(a)
    rz = a[..., :2, :]
    rz += gh_rz
    # e^{−u} = inf for u < −88 (float32) and σ = 0 is right: callers run this inside
    # ``numpy.errstate(over="ignore")``, once around the whole time loop
    xp.exp(rz, out=rz)  # one call for both sigmoid gates
    rz += 1.0
    xp.reciprocal(rz, out=rz)
    return rz


def gru_new_state(a, n_hidden, h_prev, h_out=None):
    """n = tanh(a_n + n_hidden) (in place in ``a[..., 2, :]``) and h' = n + z ⊙ (h − n).

    ``n_hidden`` is r ⊙ (W_hn h + b_hn) (reset after) or W_hn (r ⊙ h) (reset before).
    """
    xp = backend.get_array_module(a)
    n = a[..., 2, :]
    n += n_hidden
    xp.tanh(n, out=n)
    d = h_prev - n
    d *= a[..., 1, :]
    return xp.add(n, d, out=h_out)
# --8<-- [end:gru_gates]


# --8<-- [start:gru_local_grads]
def gru_local_grads(gates, h_prev, g_hat=None, K=None, K_r=None):
    """The backward factors, for one step (…= B) or several steps (…= T, B) at once.

    gates (..., 3, H) = r, z, n; h_prev (..., H); ``g_hat`` (..., H) = W_hn h + b_hn for the
    reset-after form, None for reset-before; K, K_r: optional output buffers. Returns
    ``K`` (..., 2, H) = [K_z, K_n] and ``K_r`` (..., H) (see the module docstring).
    """
    xp = backend.get_array_module(gates)
    r, z, n = gates[..., 0, :], gates[..., 1, :], gates[..., 2, :]
    if K is None:
        K = xp.empty(gates.shape[:-2] + (2, gates.shape[-1]), dtype=gates.dtype)
    if K_r is None:
        K_r = xp.empty_like(h_prev)
    Kz, Kn = K[..., 0, :], K[..., 1, :]
    # out= everywhere: no temporaries, this runs over many steps at once
    xp.subtract(1.0, z, out=Kn)  # 1 − z, used twice
    xp.multiply(z, Kn, out=Kz)  # z(1 − z)
    xp.multiply(n, n, out=K_r)
    xp.subtract(1.0, K_r, out=K_r)  # 1 − n²
    Kn *= K_r  # K_n = (1 − z)(1 − n²)
    xp.subtract(h_prev, n, out=K_r)
    Kz *= K_r  # K_z = (h − n) z(1 − z)
    xp.subtract(1.0, r, out=K_r)
    K_r *= r
    K_r *= h_prev if g_hat is None else g_hat  # K_r = ĝ r(1 − r)  or  h r(1 − r)
    return K, K_r
# --8<-- [end:gru_local_grads]


def gru_cell_forward(x, h, W_ih, W_hh, b_ih=None, b_hh=None, reset_after=True):
    """One step. x (B, D), h (B, H) -> ``(h', cache)``."""
    B, H = h.shape
    p = gru_pack(W_ih, W_hh, b_ih, b_hh, reset_after)
    a = x @ p.WxT
    if p.b is not None:
        a += p.b
    a = a.reshape(B, 3, H)
    gh = (h @ p.WhT).reshape(B, -1, H)
    with backend.numpy.errstate(over="ignore"):
        gru_rz_gates(a, gh[:, :2])
    r = a[:, 0]
    if reset_after:
        g_hat = gh[:, 2]
        if p.b_hn is not None:
            g_hat += p.b_hn
        h_new = gru_new_state(a, r * g_hat, h)
        rh = None
    else:
        g_hat = None
        rh = r * h
        h_new = gru_new_state(a, rh @ p.WhnT, h)
    return h_new, (x, h, a, g_hat, rh, p, reset_after)


def gru_cell_backward(dh_new, cache):
    """dh' (B, H) -> ``(dx, dh, dW_ih, dW_hh, db_ih, db_hh)`` in PyTorch's layout."""
    x, h, gates, g_hat, rh, p, reset_after = cache
    xp = backend.get_array_module(x)
    B, H = h.shape
    K, K_r = gru_local_grads(gates, h, g_hat)
    dA = xp.empty_like(gates)  # [dz_r, dz_z, dz_n]
    xp.multiply(dh_new[:, None, :], K, out=dA[:, 1:])
    dz_n = dA[:, 2]
    dh = dh_new * gates[:, 1]
    if reset_after:
        dA[:, 0] = dz_n * K_r
        dG = xp.concatenate([dA[:, :2], (dz_n * gates[:, 0])[:, None]], axis=1).reshape(B, 3 * H)
        dh += dG @ p.W_hh
        dW_hh = dG.T @ h
        db_hh = dG.sum(axis=0)
    else:
        drh = dz_n @ p.W_hh[2 * H :]
        dA[:, 0] = drh * K_r
        dh += drh * gates[:, 0]
        drz = dA[:, :2].reshape(B, 2 * H)
        dh += drz @ p.W_hh[: 2 * H]
        dW_hh = xp.concatenate([drz.T @ h, dz_n.T @ rh], axis=0)
        db_hh = None
    dA = dA.reshape(B, 3 * H)
    db_ih = dA.sum(axis=0)
    if db_hh is None:
        db_hh = db_ih
    return dA @ p.W_ih, dh, dA.T @ x, dW_hh, db_ih, db_hh
