"""The fused time loop of the sequence layers (one layer, one direction), and lengths.

A sequence layer does not loop a cell module. For ``x: (T, B, D)`` it

1. projects the inputs of **all** steps with one GEMM: ``A = x Wxᵀ + b``, (T, B, gates, H);
2. runs the recurrence: per step one small GEMM ``h_{t-1} Whᵀ`` added into ``A[t]`` and the
   gate arithmetic of the cell (the very functions of ``lstm_cell.py`` / ``gru_cell.py`` /
   ``rnn_cell.py``), writing into preallocated, contiguous, time-major buffers;
3. backward: computes the local derivatives of all steps at once, runs the reverse loop
   (a few elementwise calls and one small GEMM per step, collecting ``dz`` of every step),
   then gets ``dx``, ``dW_ih``, ``dW_hh`` and the biases with one GEMM each.

**Variable lengths.** ``lengths[b]`` real steps, then padding. In the forward direction a
padded step comes after every real step of its sequence, so it cannot change them: the loop
runs over the whole batch, and afterwards the outputs at padded steps are zeroed and
``h_n`` is read at step ``lengths[b] − 1``. In the backward the upstream gradient at padded
steps is zeroed and ``d h_n`` enters at step ``lengths[b] − 1``; then every gradient at a
padded step is exactly zero, so padding neither receives gradient nor changes any. The
reverse direction runs on each sequence reversed *within its own length*
(:func:`reverse_padded`), so it too starts at the last real token.

Arrays: x (T, B, D), h0/c0 (B, H), outputs (T, B, H); weights in PyTorch's layout.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from .gru_cell import gru_local_grads, gru_new_state, gru_pack, gru_rz_gates
from .lstm_cell import from_compute_order, lstm_gates, lstm_gates_backward, lstm_local_grads, lstm_pack
from .rnn_cell import check_nonlinearity, rnn_activation, rnn_local_grad

__all__ = [
    "Lengths",
    "make_lengths",
    "reverse_padded",
    "lstm_sequence_forward",
    "lstm_sequence_backward",
    "rnn_sequence_forward",
    "rnn_sequence_backward",
    "gru_sequence_forward",
    "gru_sequence_backward",
]


class Lengths(NamedTuple):
    """Per-sequence lengths, prepared once per batch on the arrays' device.

    ``host`` (B,) ints; ``last`` (B,) = lengths − 1 and ``batch`` (B,) = 0..B−1 as device
    index arrays (``out[last, batch]`` is each sequence's last real step); ``mask`` (T, B, 1)
    1.0 at real steps, 0.0 at padding; ``rev`` (T, B) the time index of
    :func:`reverse_padded`.
    """

    host: object
    last: object
    batch: object
    mask: object
    rev: object


def make_lengths(lengths, T: int, B: int, xp, dtype) -> Lengths:
    """Check ``lengths`` (host ints, shape (B,), 1 ≤ len ≤ T) and build :class:`Lengths`."""
    np = backend.numpy
    host = np.asarray(backend.asnumpy(lengths) if not isinstance(lengths, (list, tuple)) else lengths)
    if host.dtype.kind not in "iu" and not (host.dtype.kind == "f" and host.size and (host == host.round()).all()):
        raise TypeError(f"lengths must be integers, got dtype {host.dtype}")
    host = host.astype(np.int64)
    if host.shape != (B,):
        raise ValueError(f"lengths must have shape (B,) = ({B},), got {host.shape}")
    if host.size and (host.min() < 1 or host.max() > T):
        raise ValueError(f"lengths must lie in [1, T] = [1, {T}], got min {host.min()}, max {host.max()}")
    t = np.arange(T)[:, None]
    real = t < host[None, :]  # (T, B)
    rev = np.where(real, host[None, :] - 1 - t, t)
    return Lengths(
        host=host,
        last=xp.asarray(host - 1),
        batch=xp.asarray(np.arange(B)),
        mask=xp.asarray(real[:, :, None].astype(dtype)),
        rev=xp.asarray(rev),
    )


# --8<-- [start:reverse_padded]
def reverse_padded(x, lengths: Lengths | None):
    """Each sequence of x (T, B, ...) reversed within its own length; padding stays last.

    ``out[t, b] = x[lengths[b] − 1 − t, b]`` for real steps. It is a permutation that is its
    own inverse, so it also undoes itself, and its backward is itself.
    """
    if lengths is None:
        return x[::-1].copy()
    return x[lengths.rev, lengths.batch[None, :]]
# --8<-- [end:reverse_padded]


# ============================================================================== LSTM
# --8<-- [start:lstm_sequence_forward]
def lstm_sequence_forward(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None, lengths=None,
                          residual=False, W_res=None):
    """A whole sequence through one LSTM layer, one direction.

    Args:
        x: (T, B, D); h0, c0: (B, H); W_ih (4H, D), W_hh (4H, H), b_ih/b_hh (4H,) or None.
        lengths: a :class:`Lengths` or None (all sequences have T steps).
        residual: add F(x_t) to h_t (F = identity, or ``x_t W_resᵀ`` when ``W_res`` (H, D)
            is given); that h_t is both the output and the recurrent state.

    Returns:
        ``(out, h_n, c_n, cache)``: out (T, B, H) (zero at padded steps), h_n and c_n (B, H)
        each sequence's last real state.
    """
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = W_hh.shape[1]
    p = lstm_pack(W_ih, W_hh, b_ih, b_hh)
    x2 = x.reshape(T * B, D)
    A = x2 @ p.WxT  # the input projection of every step: one GEMM
    if p.b is not None:
        A += p.b
    A = A.reshape(T, B, 4, H)
    Hs = xp.empty((T + 1, B, H), dtype=A.dtype)  # Hs[t + 1] = h_t, Hs[0] = h0
    Cs = xp.empty((T + 1, B, H), dtype=A.dtype)
    TC = xp.empty((T, B, H), dtype=A.dtype)  # tanh(c_t), reused by the backward
    Hs[0] = h0
    Cs[0] = c0
    R = None
    if residual:
        R = x if W_res is None else (x2 @ W_res.T).reshape(T, B, H)
    with backend.numpy.errstate(over="ignore"):  # exp(−z) = inf is right there (see lstm_gates)
        for t in range(T):
            a = A[t]
            a += (Hs[t] @ p.WhT).reshape(B, 4, H)  # the one GEMM per step
            lstm_gates(a, Cs[t], Cs[t + 1], TC[t], Hs[t + 1])
            if R is not None:
                Hs[t + 1] += R[t]
    # padded h_t are zeroed in place: in the backward they only ever meet dz = 0
    out, h_n = _finish_forward(Hs, lengths)
    c_n = Cs[T].copy() if lengths is None else Cs[1:][lengths.last, lengths.batch]
    cache = (x, p, A, Hs, Cs, TC, lengths, residual, W_res)
    return out, h_n, c_n, cache
# --8<-- [end:lstm_sequence_forward]


def _chunk(step_size: int, T: int) -> int:
    """How many steps' local derivatives to compute in one vectorized call.

    All T at once would stream arrays of many MB through memory (and allocate them); one at a
    time would pay the per-call cost of each ufunc every step. Blocks of about 64K numbers
    stay in the CPU cache and still amortise the calls.
    """
    return max(1, min(T, 65536 // max(step_size, 1)))


def _upstream(d_out, d_last, lengths, T, B, H, xp, dtype):
    """∂L/∂h_t for every step from the outputs and from h_n (a fresh (T, B, H) buffer)."""
    dHs = xp.zeros((T, B, H), dtype=dtype)
    if d_out is not None:
        dHs[...] = d_out
        if lengths is not None:
            dHs *= lengths.mask
    if d_last is not None:
        if lengths is None:
            dHs[T - 1] += d_last
        else:
            dHs[lengths.last, lengths.batch] += d_last
    return dHs


# --8<-- [start:lstm_sequence_backward]
def lstm_sequence_backward(cache, d_out=None, d_h_n=None, d_c_n=None):
    """Backward of :func:`lstm_sequence_forward` (any upstream may be None = zeros).

    It consumes the cache (the saved gates become the pre-activation gradients), so it runs
    once per forward, as the module's cache stack already ensures.

    Returns ``(dx, dh0, dc0, dW_ih, dW_hh, db, dW_res)``: dx (T, B, D), dh0 and dc0 (B, H),
    weights in PyTorch's layout; ``db`` (4H,) is the gradient of both biases (None without
    bias), ``dW_res`` (H, D) or None.
    """
    x, p, G, Hs, Cs, TC, lengths, residual, W_res = cache
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = Hs.shape[2]
    dHs = _upstream(d_out, d_h_n, lengths, T, B, H, xp, G.dtype)
    dc = xp.zeros((B, H), dtype=G.dtype)
    dCs = None
    if d_c_n is not None:
        if lengths is None:
            dc += d_c_n
        else:  # c_n[b] is c at step lengths[b] − 1: inject it there
            dCs = xp.zeros((T, B, H), dtype=G.dtype)
            dCs[lengths.last, lengths.batch] = d_c_n
    # ∂L/∂z of every step, (T, B, 4, H), is written over the saved gates: step t's gates are
    # last read (their factors K, P and f) just before its dz is written, and a fresh buffer
    # of this size would cost as much in page faults as the arithmetic it holds
    dZ = G
    n = _chunk(B * 4 * H, T)
    K, P = xp.empty((n, B, 4, H), dtype=G.dtype), xp.empty((n, B, H), dtype=G.dtype)
    dh0 = None
    for t in range(T - 1, -1, -1):
        j = t % n
        if t == T - 1 or j == n - 1:  # the factors of steps t−j..t, vectorized over steps
            s = t - j
            lstm_local_grads(G[s : t + 1], Cs[s : t + 1], TC[s : t + 1], K[: j + 1], P[: j + 1])
        if dCs is not None:
            dc += dCs[t]
        _, dc = lstm_gates_backward(dHs[t], dc, K[j], P[j], G[t, :, 2, :], dZ[t])
        dh_prev = dZ[t].reshape(B, 4 * H) @ p.Wh  # the one GEMM per step
        if t > 0:
            dHs[t - 1] += dh_prev  # dHs[t-1] is now complete: output + recurrence
        else:
            dh0 = dh_prev
    dZ2 = dZ.reshape(T * B, 4 * H)
    x2 = x.reshape(T * B, D)
    dx = (dZ2 @ p.Wx).reshape(T, B, D)
    dW_ih = from_compute_order(dZ2.T @ x2, H)
    dW_hh = from_compute_order(dZ2.T @ Hs[:-1].reshape(T * B, H), H)
    db = from_compute_order(dZ2.sum(axis=0), H) if p.b is not None else None
    dW_res = None
    if residual:  # h_t = o⊙tanh(c_t) + F(x_t): dHs is also ∂L/∂F(x_t)
        if W_res is None:
            dx += dHs
        else:
            dHs2 = dHs.reshape(T * B, H)
            dx += (dHs2 @ W_res).reshape(T, B, D)
            dW_res = dHs2.T @ x2
    return dx, dh0, dc, dW_ih, dW_hh, db, dW_res
# --8<-- [end:lstm_sequence_backward]


def _finish_forward(Hs, lengths):
    """Outputs (zero at padding) and each sequence's last real state from Hs (T+1, B, H)."""
    out = Hs[1:]
    if lengths is None:
        return out, Hs[-1].copy()
    h_n = out[lengths.last, lengths.batch]
    out *= lengths.mask
    return out, h_n


# ============================================================================== RNN
# --8<-- [start:rnn_sequence]
def rnn_sequence_forward(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh", lengths=None):
    """A whole sequence through one Elman RNN layer, one direction.

    x (T, B, D), h0 (B, H), W_ih (H, D), W_hh (H, H), biases (H,) or None ->
    ``(out (T, B, H), h_n (B, H), cache)``: h_t = φ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh).
    """
    check_nonlinearity(nonlinearity)
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = W_hh.shape[1]
    x2 = x.reshape(T * B, D)
    A = x2 @ W_ih.T  # every step's input projection: one GEMM
    if b_ih is not None:
        A += b_ih + b_hh
    A = A.reshape(T, B, H)
    WhT = W_hh.T.copy()
    Hs = xp.empty((T + 1, B, H), dtype=A.dtype)
    Hs[0] = h0
    for t in range(T):
        a = A[t]
        a += Hs[t] @ WhT
        rnn_activation(a, nonlinearity, out=Hs[t + 1])
    out, h_n = _finish_forward(Hs, lengths)
    return out, h_n, (x, W_ih, W_hh, Hs, nonlinearity, lengths, b_ih is not None)


def rnn_sequence_backward(cache, d_out=None, d_h_n=None):
    """-> ``(dx, dh0, dW_ih, dW_hh, db)``; db (H,) the gradient of both biases (or None)."""
    x, W_ih, W_hh, Hs, nonlinearity, lengths, has_bias = cache
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = Hs.shape[2]
    Dphi = rnn_local_grad(Hs[1:], nonlinearity)  # φ' of every step at once
    dHs = _upstream(d_out, d_h_n, lengths, T, B, H, xp, Hs.dtype)
    dZ = xp.empty((T, B, H), dtype=Hs.dtype)
    dh0 = None
    for t in range(T - 1, -1, -1):
        xp.multiply(dHs[t], Dphi[t], out=dZ[t])
        dh_prev = dZ[t] @ W_hh
        if t > 0:
            dHs[t - 1] += dh_prev
        else:
            dh0 = dh_prev
    dZ2 = dZ.reshape(T * B, H)
    x2 = x.reshape(T * B, D)
    dx = (dZ2 @ W_ih).reshape(T, B, D)
    dW_ih = dZ2.T @ x2
    dW_hh = dZ2.T @ Hs[:-1].reshape(T * B, H)
    db = dZ2.sum(axis=0) if has_bias else None
    return dx, dh0, dW_ih, dW_hh, db
# --8<-- [end:rnn_sequence]


# ============================================================================== GRU
# --8<-- [start:gru_sequence_forward]
def gru_sequence_forward(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, reset_after=True, lengths=None):
    """A whole sequence through one GRU layer, one direction (equations in ``gru_cell``).

    x (T, B, D), h0 (B, H), W_ih (3H, D), W_hh (3H, H), biases (3H,) or None ->
    ``(out (T, B, H), h_n (B, H), cache)``.
    """
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = W_hh.shape[1]
    p = gru_pack(W_ih, W_hh, b_ih, b_hh, reset_after)
    x2 = x.reshape(T * B, D)
    A = x2 @ p.WxT
    if p.b is not None:
        A += p.b
    A = A.reshape(T, B, 3, H)  # becomes the gates r, z, n
    Hs = xp.empty((T + 1, B, H), dtype=A.dtype)
    Hs[0] = h0
    with backend.numpy.errstate(over="ignore"):  # e^{−u} = inf is right there (see gru_rz_gates)
        if reset_after:
            GH = xp.empty((T, B, 3, H), dtype=A.dtype)  # h W_hhᵀ (+ b_hn): ĝ = GH[:, :, 2]
            for t in range(T):
                gh = GH[t]
                xp.matmul(Hs[t], p.WhT, out=gh.reshape(B, 3 * H))
                if p.b_hn is not None:
                    gh[:, 2] += p.b_hn
                a = A[t]
                gru_rz_gates(a, gh[:, :2])
                gru_new_state(a, a[:, 0] * gh[:, 2], Hs[t], Hs[t + 1])
            saved = GH
        else:
            RH = xp.empty((T, B, H), dtype=A.dtype)  # r ⊙ h_{t-1}
            for t in range(T):
                a = A[t]
                gru_rz_gates(a, (Hs[t] @ p.WhT).reshape(B, 2, H))
                xp.multiply(a[:, 0], Hs[t], out=RH[t])
                gru_new_state(a, RH[t] @ p.WhnT, Hs[t], Hs[t + 1])
            saved = RH
    out, h_n = _finish_forward(Hs, lengths)
    return out, h_n, (x, p, A, Hs, saved, reset_after, lengths)
# --8<-- [end:gru_sequence_forward]


# --8<-- [start:gru_sequence_backward]
def gru_sequence_backward(cache, d_out=None, d_h_n=None):
    """-> ``(dx, dh0, dW_ih, dW_hh, db_ih, db_hh)`` in PyTorch's layout (biases None if absent)."""
    x, p, G, Hs, saved, reset_after, lengths = cache
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = Hs.shape[2]
    TB = T * B
    x2 = x.reshape(TB, D)
    H_prev = Hs[:-1]
    dHs = _upstream(d_out, d_h_n, lengths, T, B, H, xp, G.dtype)
    r, z = G[:, :, 0], G[:, :, 1]
    dh0 = None
    n = _chunk(B * 3 * H, T)  # local derivatives a cache-sized block of steps at a time
    K, K_r = xp.empty((n, B, 2, H), dtype=G.dtype), xp.empty((n, B, H), dtype=G.dtype)
    g_hat = saved[:, :, 2] if reset_after else None

    def factors(t):
        j = t % n
        if t == T - 1 or j == n - 1:
            s = t - j
            gru_local_grads(G[s : t + 1], H_prev[s : t + 1], None if g_hat is None else g_hat[s : t + 1],
                            K[: j + 1], K_r[: j + 1])
        return K[j], K_r[j]

    if reset_after:
        # E[t] = [dĝ, dz_r, dz_z, dz_n]: blocks 0..2 are the hidden side's upstream
        # (ĝ, r, z), blocks 1..3 the input side's (r, z, n), each without a copy per step
        E = xp.empty((T, B, 4, H), dtype=G.dtype)
        W_b = xp.concatenate([p.W_hh[2 * H :], p.W_hh[: 2 * H]], axis=0)  # rows ĝ(n), r, z
        for t in range(T - 1, -1, -1):
            dh, e = dHs[t], E[t]
            K_t, K_r_t = factors(t)
            xp.multiply(dh[:, None, :], K_t, out=e[:, 2:4])
            xp.multiply(e[:, 3], K_r_t, out=e[:, 1])
            xp.multiply(e[:, 3], r[t], out=e[:, 0])
            dh_prev = e[:, 0:3].reshape(B, 3 * H) @ W_b
            dh_prev += dh * z[t]
            if t > 0:
                dHs[t - 1] += dh_prev
            else:
                dh0 = dh_prev
        dA = E[:, :, 1:4].reshape(TB, 3 * H)
        dGh = E[:, :, 0:3].reshape(TB, 3 * H)
        dW_b = dGh.T @ H_prev.reshape(TB, H)
        dW_hh = xp.concatenate([dW_b[H:], dW_b[:H]], axis=0)
        db_b = dGh.sum(axis=0)
        db_hh = xp.concatenate([db_b[H:], db_b[:H]]) if p.b is not None else None
    else:
        dA = xp.empty((T, B, 3, H), dtype=G.dtype)  # [dz_r, dz_z, dz_n]
        W_rz, W_n = p.W_hh[: 2 * H], p.W_hh[2 * H :]
        for t in range(T - 1, -1, -1):
            dh, e = dHs[t], dA[t]
            K_t, K_r_t = factors(t)
            xp.multiply(dh[:, None, :], K_t, out=e[:, 1:3])
            drh = e[:, 2] @ W_n  # ∂L/∂(r ⊙ h)
            xp.multiply(drh, K_r_t, out=e[:, 0])
            dh_prev = e[:, 0:2].reshape(B, 2 * H) @ W_rz
            drh *= r[t]
            dh_prev += drh
            dh_prev += dh * z[t]
            if t > 0:
                dHs[t - 1] += dh_prev
            else:
                dh0 = dh_prev
        dA = dA.reshape(TB, 3 * H)
        dW_hh = xp.concatenate([dA[:, : 2 * H].T @ H_prev.reshape(TB, H),
                                dA[:, 2 * H :].T @ saved.reshape(TB, H)], axis=0)
        db_hh = dA.sum(axis=0) if p.b is not None else None
    dx = (dA @ p.W_ih).reshape(T, B, D)
    dW_ih = dA.T @ x2
    db_ih = dA.sum(axis=0) if p.b is not None else None
    return dx, dh0, dW_ih, dW_hh, db_ih, db_hh
# --8<-- [end:gru_sequence_backward]
