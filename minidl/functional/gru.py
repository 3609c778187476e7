"""The GRU, in both published forms: one step in the textbook's form, the same step fast,
and the sequence layer, forward and hand-derived backward.

Gate blocks of the weights in PyTorch's order r, z, n. Shapes: x (B, D), h (B, H),
W_ih (3H, D), W_hh (3H, H), b_ih and b_hh (3H,).

``reset_after=True``, PyTorch's ``nn.GRU`` (the reset gate acts *after* the matrix)::

    r  = σ(W_ir x + b_ir + W_hr h + b_hr)
    z  = σ(W_iz x + b_iz + W_hz h + b_hz)
    n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h   =   n + z ⊙ (h − n)

``reset_after=False``, the form of Cho et al. (2014) that report B writes as
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

:func:`gru_step_reference` is exactly this. K_n, K_z and the r factor (``K_r = ĝ⊙r(1−r)`` after,
``h⊙r(1−r)`` before) are known once the forward is done: :func:`gru_local_grads` computes them for a
block of steps at once. The fast step runs **gate-major**, on arrays (..., 3, B, H) in the order r, z, n,
each gate one contiguous (B, H) block (elementwise calls on the strided gates of a (B, 3H) row layout took
2.5 times as long at report B's sizes), with the r and z rows of the weights negated
(:func:`~.gate_layout.gru_pack`) so that one ``exp`` call gives e^{−u} for both sigmoid gates. The cell
pair :func:`gru_cell_forward` / :func:`gru_cell_backward` is the sequence pair for one step.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from . import sequence as seq
from .activations import sigmoid
from .distinct_rows import input_side_grads, project_steps
from .gate_layout import GRUPacked, gru_pack, sigmoid_of_negated

__all__ = [
    "GRUCache", "GRUStepCache", "gru_step_reference", "gru_step_reference_backward", "gru_rz_gates", "gru_new_state",
    "gru_local_grads", "gru_forward", "gru_backward", "gru_cell_forward", "gru_cell_backward",
]


# --8<-- [start:gru_reference]
class GRUStepCache(NamedTuple):
    """What the textbook step keeps for its backward: its inputs, the gates r, z, the
    candidate n and ``g_hat``, the hidden part of n's pre-activation (each (B, H))."""
    x: object; h: object; weight_ih: object; weight_hh: object; has_bias: bool; reset_after: bool  # noqa: E702
    r: object; z: object; n: object; g_hat: object  # noqa: E702


def gru_step_reference(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reset_after=True):
    """One step exactly as the equations above -> ``(h', cache)``; for reading and tests.
    x (B, D), h (B, H), weight_ih (3H, D), weight_hh (3H, H), biases (3H,); h' (B, H)."""
    xp = backend.get_array_module(x)
    W_ir, W_iz, W_in = xp.split(weight_ih, 3)  # the gate blocks, in PyTorch's order r, z, n
    W_hr, W_hz, W_hn = xp.split(weight_hh, 3)
    b_ir, b_iz, b_in = (0.0,) * 3 if bias_ih is None else xp.split(bias_ih, 3)
    b_hr, b_hz, b_hn = (0.0,) * 3 if bias_hh is None else xp.split(bias_hh, 3)
    r = sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    g_hat = h @ W_hn.T + b_hn if reset_after else (r * h) @ W_hn.T  # reset after, or before, the product
    n = xp.tanh(x @ W_in.T + b_in + (r * g_hat if reset_after else g_hat + b_hn))
    h_new = (1 - z) * n + z * h
    return h_new, GRUStepCache(x, h, weight_ih, weight_hh, bias_ih is not None, reset_after, r, z, n, g_hat)


def gru_step_reference_backward(dh_new, cache: GRUStepCache) -> dict:
    """dh' (B, H) -> gradients keyed like :func:`gru_step_reference`'s arguments."""
    x, h, weight_hh, r, z, n = cache.x, cache.h, cache.weight_hh, cache.r, cache.z, cache.n
    xp = backend.get_array_module(x)
    H = h.shape[1]
    dz_n = dh_new * (1 - z) * (1 - n * n)  # dz_: the gradient of a pre-activation, as in the LSTM
    dz_z = dh_new * (h - n) * z * (1 - z)
    dh = dh_new * z
    if cache.reset_after:
        dz_r = dz_n * cache.g_hat * r * (1 - r)
        d_hidden = xp.concatenate([dz_r, dz_z, dz_n * r], axis=1)  # ∂L/∂(h W_hhᵀ + b_hh)
        dh = dh + d_hidden @ weight_hh
        dW_hh = d_hidden.T @ h
    else:
        drh = dz_n @ weight_hh[2 * H :]  # ∂L/∂(r ⊙ h)
        dz_r = drh * h * r * (1 - r)
        d_hidden = xp.concatenate([dz_r, dz_z, dz_n], axis=1)
        dh = dh + drh * r + d_hidden[:, : 2 * H] @ weight_hh[: 2 * H]
        dW_hh = xp.concatenate([d_hidden[:, : 2 * H].T @ h, dz_n.T @ (r * h)], axis=0)
    d_input = xp.concatenate([dz_r, dz_z, dz_n], axis=1)  # ∂L/∂(x W_ihᵀ + b_ih)
    grads = {"x": d_input @ cache.weight_ih, "h": dh, "weight_ih": d_input.T @ x, "weight_hh": dW_hh}
    if cache.has_bias:
        grads["bias_ih"], grads["bias_hh"] = d_input.sum(axis=0), d_hidden.sum(axis=0)
    return grads
# --8<-- [end:gru_reference]


# --8<-- [start:gru_gates]
def gru_rz_gates(a, gh_rz):
    """r and z, in place: ``a[:2] = σ(u)`` with ``−u = a_rz + gh_rz``. a (3, B, H) input-side
    pre-activations (r, z negated), gh_rz (2, B, H) the hidden side (negated)."""
    # e^{−u} = inf for u < −88 (float32) and σ = 0 is right: callers run this inside
    # ``backend.errstate(xp, over="ignore")``, once around the whole time loop
    sigmoid_of_negated(a[:2], gh_rz)  # one exp for both sigmoid gates


@backend.fuse
def gru_new_state(n, n_hidden, h_prev, z, h):
    """(B, H) each, in place: n ← tanh(n + n_hidden) and h = n + z ⊙ (h_prev − n).

    ``n_hidden`` is r ⊙ (W_hn h + b_hn) (reset after) or W_hn (r ⊙ h) (reset before).
    """
    xp = backend.get_array_module(n)
    n += n_hidden
    xp.tanh(n, out=n)
    xp.subtract(h_prev, n, out=h)
    h *= z
    h += n
# --8<-- [end:gru_gates]


# --8<-- [start:gru_local_grads]
@backend.fuse
def _gru_factors(r, z, n, h_prev, g, Kz, Kn, K_r):
    """(..., H) each, in place: K_z, K_n and K_r = g⊙r(1 − r) (g = ĝ after, h_prev before)."""
    xp = backend.get_array_module(r)
    xp.subtract(1.0, z, out=Kn)  # 1 − z, used twice
    xp.multiply(z, Kn, out=Kz)  # z(1 − z)
    xp.multiply(n, n, out=K_r)
    xp.subtract(1.0, K_r, out=K_r)  # 1 − n²
    Kn *= K_r  # K_n = (1 − z)(1 − n²)
    xp.subtract(h_prev, n, out=K_r)
    Kz *= K_r  # K_z = (h − n) z(1 − z)
    xp.subtract(1.0, r, out=K_r)
    K_r *= r
    K_r *= g  # K_r = ĝ r(1 − r)  or  h r(1 − r)


def gru_local_grads(gates, h_prev, g_hat, K, K_r):
    """The backward factors, for one step (…= B) or several steps (…= T, B) at once.

    gates (..., 3, B, H) = r, z, n; h_prev (..., B, H); ``g_hat`` (..., B, H) = W_hn h + b_hn
    for the reset-after form, None for reset-before. Writes ``K`` (..., 2, B, H) = [K_z, K_n]
    and ``K_r`` (..., B, H) (see the module docstring).
    """
    _gru_factors(gates[..., 0, :, :], gates[..., 1, :, :], gates[..., 2, :, :], h_prev,
                 h_prev if g_hat is None else g_hat, K[..., 0, :, :], K[..., 1, :, :], K_r)
# --8<-- [end:gru_local_grads]


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs: ``x`` (T, B, D), ``rows`` its :class:`~.distinct_rows.DistinctRows`
    (or None), the :class:`~.gate_layout.GRUPacked` weights, ``gates`` (T, 3, B, H) r, z, n of every
    step, ``hs`` (T + 1, B, H) h_0..h_T, ``hidden``: (T, 3, B, H) h W_hhᵀ (+ b_hn in block n) (after)
    or (T, B, H) r ⊙ h (before), ``reset_after`` and ``lengths`` (or None)."""

    x: object; rows: object  # noqa: E702
    packed: GRUPacked
    gates: object
    hs: object
    hidden: object
    reset_after: bool
    lengths: object


# --8<-- [start:gru_forward]
def gru_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, reset_after=True, lengths=None,
                input_rows=None):
    """A whole sequence through one GRU layer, one direction.

    x (T, B, D), T ≥ 1, h0 (B, H), weight_ih (3H, D), weight_hh (3H, H), biases (3H,) or None, lengths ints
    (B,) or None, input_rows (table, ids) if x = table[ids] (:mod:`.distinct_rows`) -> ``((out, h_n), cache)``.
    """
    weights = {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh}
    H = seq.check_sequence_args(x, {"h0": h0}, weights, 3, "gru_forward")
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    lengths = seq.as_lengths(lengths, x)
    p = gru_pack(weight_ih, weight_hh, bias_ih, bias_hh, reset_after)
    A, rows = project_steps(x, p.WxT, p.b, 3, input_rows, "gru_forward")  # (T, 3, B, H): becomes the gates r, z, n
    Hs = seq.state_buffer(T, h0)
    with backend.errstate(xp, over="ignore"):  # e^{−u} = inf is right there (see gru_rz_gates)
        if reset_after:
            hidden = xp.empty((T, 3, B, H), dtype=A.dtype)  # h W_hhᵀ (+ b_hn): ĝ = hidden[:, 2]
            WhT = seq.gate_blocks(p.WhT, 3)  # (3, H, H)
            for t in range(T):
                gh = hidden[t]
                xp.matmul(Hs[t], WhT, out=gh)  # the one GEMM per step (3 blocks)
                if p.b_hn is not None:
                    gh[2] += p.b_hn
                a = A[t]
                gru_rz_gates(a, gh[:2])
                gru_new_state(a[2], a[0] * gh[2], Hs[t], a[1], Hs[t + 1])
        else:
            hidden = xp.empty((T, B, H), dtype=A.dtype)  # r ⊙ h_{t-1}
            WhT, gh = seq.gate_blocks(p.WhT, 2), xp.empty((2, B, H), dtype=A.dtype)
            for t in range(T):
                a = A[t]
                gru_rz_gates(a, xp.matmul(Hs[t], WhT, out=gh))
                xp.multiply(a[0], Hs[t], out=hidden[t])
                gru_new_state(a[2], hidden[t] @ p.WhnT, Hs[t], a[1], Hs[t + 1])
    out, h_n = seq.finish_forward(Hs, lengths)
    return (out, h_n), GRUCache(x, rows, p, A, Hs, hidden, reset_after, lengths)
# --8<-- [end:gru_forward]


# --8<-- [start:gru_backward]
@backend.fuse
def _reset_grads(dz_n, K_r, r, dz_r, d_ghat):
    """Reset after, (B, H) each: dz_r = dz_n ⊙ K_r and dĝ = dz_n ⊙ r."""
    xp = backend.get_array_module(dz_n)
    xp.multiply(dz_n, K_r, out=dz_r)
    xp.multiply(dz_n, r, out=d_ghat)


@backend.fuse
def _add_product(acc, a, b):
    """(B, H) each, in place: ``acc += a⊙b``."""
    acc += a * b


@backend.fuse
def _add_products(acc, a, b, c, d):
    """(B, H) each, in place: ``acc += a⊙b + c⊙d`` (a is overwritten with a⊙b)."""
    a *= b
    acc += a
    acc += c * d


def gru_backward(dy, cache: GRUCache) -> dict:
    """dy = (d_out (T, B, H), d_h_n (B, H)), either None -> gradients ``x`` (after input_rows ∂L/∂table,
    a :class:`~.embedding.RowGrad`), ``h0``, ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` as PyTorch."""
    x, p, G, Hs, lengths = cache.x, cache.packed, cache.gates, cache.hs, cache.lengths
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = Hs.shape[2]
    dHs = seq.hidden_upstream(dy, lengths, Hs, "gru_backward")
    n = seq.block_size(B * 3 * H, T)  # local derivatives a cache-sized block of steps at a time
    K, K_r = xp.empty((n, 2, B, H), dtype=G.dtype), xp.empty((n, B, H), dtype=G.dtype)
    g_hat = cache.hidden[:, 2] if cache.reset_after else None  # ĝ of every step (reset after)

    def factors(s, e):
        gru_local_grads(G[s:e], Hs[s:e], None if g_hat is None else g_hat[s:e], K[: e - s], K_r[: e - s])

    loop = _reverse_loop_after if cache.reset_after else _reverse_loop_before
    dh0, dA, dW_hh, db_hh = loop(dHs, cache, K, K_r, factors, n)
    dx, dW_ih, db_ih = input_side_grads(dA, x, p.W_ih, cache.rows, p.b is not None)  # dx: a RowGrad when rows
    grads = {"x": dx, "h0": dh0, "weight_ih": dW_ih, "weight_hh": dW_hh}
    if p.b is not None:
        grads["bias_ih"] = db_ih
        grads["bias_hh"] = grads["bias_ih"] if db_hh is None else db_hh
    return grads


def _reverse_loop_after(dHs, cache, K, K_r, factors, n):
    """Reset after: -> (dh0, ∂L/∂z of the input side (T·B, 3H), dW_hh, db_hh or None)."""
    p, G, Hs = cache.packed, cache.gates, cache.hs
    xp = backend.get_array_module(G)
    T, _, B, H = G.shape
    r, z = G[:, 0], G[:, 1]
    # E[t] = [dĝ, dz_r, dz_z, dz_n]: blocks 0..2 are the hidden side's upstream (ĝ, r, z),
    # blocks 1..3 the input side's (r, z, n), each without a copy per step
    E = xp.empty((T, B, 4, H), dtype=G.dtype)
    W_b = xp.concatenate([p.W_hh[2 * H :], p.W_hh[: 2 * H]], axis=0)  # rows ĝ(n), r, z

    def step(t, j):
        dh, e = dHs[t], E[t]
        xp.multiply(dh, K[j], out=e[:, 2:4].transpose(1, 0, 2))  # gate-major factors into row-major e
        _reset_grads(e[:, 3], K_r[j], r[t], e[:, 1], e[:, 0])
        dh_prev = e[:, 0:3].reshape(B, 3 * H) @ W_b
        _add_product(dh_prev, dh, z[t])  # + dh' ⊙ z
        return dh_prev

    dh0 = seq.backward_through_time(dHs, step, factors, n)
    dGh = E[:, :, 0:3].reshape(T * B, 3 * H)  # blocks ĝ(n), r, z: back to r, z, n below
    dW_b = dGh.T @ Hs[:-1].reshape(T * B, H)
    db_hh = None
    if p.b is not None:
        db_b = dGh.sum(axis=0)
        db_hh = xp.concatenate([db_b[H:], db_b[:H]])
    return dh0, E[:, :, 1:4].reshape(T * B, 3 * H), xp.concatenate([dW_b[H:], dW_b[:H]], axis=0), db_hh


def _reverse_loop_before(dHs, cache, K, K_r, factors, n):
    """Reset before: -> (dh0, ∂L/∂z (T·B, 3H), dW_hh, None: b_hh gets the gradient of b_ih)."""
    p, G, Hs, RH = cache.packed, cache.gates, cache.hs, cache.hidden  # RH[t] = r_t ⊙ h_{t−1}
    xp = backend.get_array_module(G)
    T, _, B, H = G.shape
    r, z = G[:, 0], G[:, 1]
    dA = xp.empty((T, B, 3, H), dtype=G.dtype)  # [dz_r, dz_z, dz_n], row-major for the GEMMs
    W_rz, W_n = p.W_hh[: 2 * H], p.W_hh[2 * H :]

    def step(t, j):
        dh, e = dHs[t], dA[t]
        xp.multiply(dh, K[j], out=e[:, 1:3].transpose(1, 0, 2))
        drh = e[:, 2] @ W_n  # ∂L/∂(r ⊙ h)
        xp.multiply(drh, K_r[j], out=e[:, 0])
        dh_prev = e[:, 0:2].reshape(B, 2 * H) @ W_rz
        _add_products(dh_prev, drh, r[t], dh, z[t])  # dh' ⊙ z + d(r⊙h) ⊙ r
        return dh_prev

    dh0 = seq.backward_through_time(dHs, step, factors, n)
    dA = dA.reshape(T * B, 3 * H)
    dW_hh = xp.concatenate([dA[:, : 2 * H].T @ Hs[:-1].reshape(T * B, H),
                            dA[:, 2 * H :].T @ RH.reshape(T * B, H)], axis=0)
    return dh0, dA, dW_hh, None
# --8<-- [end:gru_backward]


def gru_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, reset_after=True):
    """One step, as ``torch.nn.GRUCell`` (the sequence layer for T = 1): x (B, D), h (B, H) -> ``(h', cache)``."""
    (_, h_new), cache = gru_forward(x[None], h, weight_ih, weight_hh, bias_ih, bias_hh, reset_after=reset_after)
    return h_new, cache


def gru_cell_backward(dh_new, cache: GRUCache) -> dict:
    """dh' (B, H) or None -> gradients ``x``, ``h``, ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""
    return seq.step_grads(gru_backward((None, dh_new), cache), ("h",))
