"""The LSTM: one step in the textbook's form, the same step fast, and the sequence layer,
forward and hand-derived backward.

Equations (PyTorch's ``nn.LSTM``/``nn.LSTMCell``; gate blocks of the weights i, f, g, o)::

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

:func:`lstm_step_reference` is exactly this, line by line. The fast step computes the same
numbers in fewer passes over memory. ``dz_o`` is ``dh'`` times a factor, the other three are
``dc'`` times a factor, and every factor is known once the forward is done:
:func:`lstm_local_grads` computes them for a block of steps at once, so the backward of a
step is only ``dc' = dh'⊙P + dc'_in``, two products and ``dc = dc'⊙f``.

The fast step runs in the **compute layout** of :func:`~.gate_layout.lstm_pack`, gate-major:
``(..., 4, B, H)``, each gate one contiguous (B, H) block, in the order o, i, f, g, the o, i, f
rows halved so that one ``tanh`` call serves all four gates (tanh z for g, and tanh(z/2) for
o, i, f, which ``½ s + ½`` turns into σ(z)). ∂L/∂z goes back row by row, (B, 4, H).

The sequence pair :func:`lstm_forward` / :func:`lstm_backward` runs the fast step over
time (the shared machinery is :mod:`minidl.functional.sequence`); the cell pair
:func:`lstm_cell_forward` / :func:`lstm_cell_backward` is that pair for one step.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from ..checks import check_dtype, check_shape
from ..errors import RangeError, ShapeError
from . import lstm_loops
from . import sequence as seq
from .activations import sigmoid
from .distinct_rows import input_side_grads, project_steps
from .gate_layout import LSTMPacked, from_compute_order, half_plus_half, lstm_pack, sigmoid_slope, tanh_of_sum

__all__ = [
    "LSTMCache", "LSTMStepCache", "lstm_step_reference", "lstm_step_reference_backward", "lstm_gates",
    "lstm_local_grads", "lstm_gates_backward", "lstm_forward", "lstm_backward", "lstm_cell_forward",
    "lstm_cell_backward",
]


# --8<-- [start:lstm_reference]
class LSTMStepCache(NamedTuple):
    """What the textbook step keeps for its backward: its inputs, the gates, tc = tanh(c')."""
    x: object; h: object; c: object; weight_ih: object; weight_hh: object; has_bias: bool  # noqa: E702
    i: object; f: object; g: object; o: object; tc: object  # noqa: E702


def lstm_step_reference(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One step exactly as the equations above -> ``((h', c'), cache)``; for reading and tests.
    x (B, D), h and c (B, H), weight_ih (4H, D), weight_hh (4H, H), biases (4H,); h', c' (B, H)."""
    xp = backend.get_array_module(x)
    z = x @ weight_ih.T + h @ weight_hh.T
    if bias_ih is not None:
        z = z + bias_ih + bias_hh
    z_i, z_f, z_g, z_o = xp.split(z, 4, axis=1)  # the gate blocks, in PyTorch's order i, f, g, o
    i, f, g, o = sigmoid(z_i), sigmoid(z_f), xp.tanh(z_g), sigmoid(z_o)
    c_new = f * c + i * g
    tc = xp.tanh(c_new)
    h_new = o * tc
    return (h_new, c_new), LSTMStepCache(x, h, c, weight_ih, weight_hh, bias_ih is not None, i, f, g, o, tc)


def lstm_step_reference_backward(dy, cache: LSTMStepCache) -> dict:
    """dy = (dh', dc'), each (B, H) -> gradients keyed like :func:`lstm_step_reference`'s arguments."""
    dh_new, dc_in = dy
    x, h, c, i, f, g, o, tc = cache.x, cache.h, cache.c, cache.i, cache.f, cache.g, cache.o, cache.tc
    xp = backend.get_array_module(x)
    dc_new = dc_in + dh_new * o * (1 - tc * tc)  # c' reaches L directly and through h'
    do, di, df, dg = dh_new * tc, dc_new * g, dc_new * c, dc_new * i
    dz = xp.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    grads = {"x": dz @ cache.weight_ih, "h": dz @ cache.weight_hh, "c": dc_new * f,
             "weight_ih": dz.T @ x, "weight_hh": dz.T @ h}
    if cache.has_bias:
        grads["bias_ih"] = grads["bias_hh"] = dz.sum(axis=0)
    return grads
# --8<-- [end:lstm_reference]


# --8<-- [start:lstm_gates]
@backend.fuse
def _cell_update(o, i, f, g, c_prev, c, tc, h):
    """(B, H) each, in place: c = f⊙c_prev + i⊙g, tc = tanh c, h = o⊙tc."""
    xp = backend.get_array_module(o)
    xp.multiply(f, c_prev, out=c)
    xp.multiply(i, g, out=tc)  # tc holds i⊙g until tanh(c) is known
    c += tc
    xp.tanh(c, out=tc)
    xp.multiply(o, tc, out=h)


def lstm_gates(a, hW, c_prev, c, tanh_c, h):
    """The gate arithmetic of one step, in place; three fused kernels on a GPU.

    a: (4, B, H) the input side ``x W_ihᵀ + b`` of the pre-activations in compute layout (o, i,
    f, g, the o, i, f rows halved: :func:`~.gate_layout.lstm_pack`), overwritten with the gate
    values o, i, f, g; hW: (4, B, H) the hidden side ``h_{t−1} W_hhᵀ``, halved alike; c_prev:
    (B, H); c, tanh_c, h: (B, H) buffers for c', tanh(c'), h'.
    """
    tanh_of_sum(a, hW)  # one tanh for all four gates: tanh(z/2) (o, i, f), tanh z (g)
    half_plus_half(a[:3])  # σ(z) = ½ tanh(z/2) + ½ for o, i, f: one contiguous block
    _cell_update(a[0], a[1], a[2], a[3], c_prev, c, tanh_c, h)
# --8<-- [end:lstm_gates]


# --8<-- [start:lstm_local_grads]
@backend.fuse
def _lstm_factors(o, i, g, c_prev, tc, K_o, K_i, K_f, K_g, P):
    """(..., H) each, in place: K_o, K_i, K_f hold σ' and get their second factor; K_g, P."""
    xp = backend.get_array_module(o)
    K_o *= tc
    K_i *= g
    K_f *= c_prev
    xp.multiply(g, g, out=K_g)
    xp.subtract(1.0, K_g, out=K_g)
    K_g *= i
    xp.multiply(tc, tc, out=P)
    xp.subtract(1.0, P, out=P)
    P *= o


def lstm_local_grads(gates, c_prev, tanh_c, K, P):
    """The factors of the step backward, known once the forward is done.

    gates: (..., 4, B, H) gate values o, i, f, g; c_prev, tanh_c: (..., B, H), the leading
    dims () for one step or (T,) for several steps at once. Writes ``K`` (..., 4, B, H) and
    ``P`` (..., B, H) such that, for a step, ``dc' = dh'⊙P + dc'_in``, ``dz_o = dh'⊙K_o`` and
    ``dz_{i,f,g} = dc'⊙K_{i,f,g}``:
    K_o = τ⊙o(1−o), K_i = g⊙i(1−i), K_f = c⊙f(1−f), K_g = i⊙(1−g²), P = o⊙(1−τ²).
    """
    sigmoid_slope(gates[..., :3, :, :], K[..., :3, :, :])  # σ(1−σ) for o, i, f: one block
    _lstm_factors(gates[..., 0, :, :], gates[..., 1, :, :], gates[..., 3, :, :], c_prev, tanh_c,
                  K[..., 0, :, :], K[..., 1, :, :], K[..., 2, :, :], K[..., 3, :, :], P)
# --8<-- [end:lstm_local_grads]


# --8<-- [start:lstm_gates_backward]
@backend.fuse
def _lstm_step_back(dh, dc_in, P, f, dc_new, dc):
    """(B, H) each: dc_new = dh⊙P + dc_in (∂L/∂c'), dc = dc_new⊙f. dc may be dc_in."""
    xp = backend.get_array_module(dh)
    xp.multiply(dh, P, out=dc_new)
    dc_new += dc_in  # ∂L/∂c' in all
    xp.multiply(dc_new, f, out=dc)  # to the previous step


def lstm_gates_backward(dh, dc, K, P, f, dz, dc_new):
    """Backward of :func:`lstm_gates` for one step, in place.

    dh: (B, H) ∂L/∂h' (everything that reaches h': output and next step); dc: (B, H) ∂L/∂c'
    from the next step on entry, ∂L/∂c of the previous step on exit; K (4, B, H), P (B, H):
    this step's factors (:func:`lstm_local_grads`); f: (B, H) forget gate; dz: (B, 4, H)
    receives ∂L/∂z (unscaled; blocks o, i, f, g within each row, as the GEMMs want); it may
    be the memory of the saved gates (``f`` in it is read, by a kernel of its own, before
    ``dz`` is written); dc_new: (B, H) scratch for ∂L/∂c'.
    """
    xp = backend.get_array_module(dh)
    _lstm_step_back(dh, dc, P, f, dc_new, dc)
    xp.multiply(dh, K[0], out=dz[:, 0])
    xp.multiply(dc_new, K[1:], out=dz[:, 1:].transpose(1, 0, 2))
# --8<-- [end:lstm_gates_backward]


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs (and partly overwrites: ``gates`` becomes ∂L/∂z).

    ``x`` (T, B, D) and ``rows`` its :class:`~.distinct_rows.DistinctRows` (None: x went the dense way);
    ``packed`` the :class:`LSTMPacked` weights; ``gates`` (T, 4, B, H) the gate values of every step
    (compute layout); ``hs``, ``cs`` (T + 1, B, H) h_0..h_T and c_0..c_T; ``tanh_cs`` (T, B, H);
    ``lengths`` a :class:`~.sequence.Lengths` or None; ``residual``, ``weight_res`` as given.
    """

    x: object; rows: object  # noqa: E702
    packed: LSTMPacked
    gates: object
    hs: object
    cs: object
    tanh_cs: object
    lengths: object
    residual: bool
    weight_res: object


# --8<-- [start:lstm_forward]
def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, lengths=None,
                 residual=False, weight_res=None, input_rows=None):
    """A whole sequence through one LSTM layer, one direction.

    Args:
        x: (T, B, D), T ≥ 1; h0, c0: (B, H); weight_ih (4H, D), weight_hh (4H, H), biases (4H,)
            or None. lengths: ints (B,) or a prepared :class:`~.sequence.Lengths`, or None.
        residual: add F(x_t) to h_t (F = identity, or ``x_t W_resᵀ`` when ``weight_res``
            (H, D) is given); that h_t is both the output and the recurrent state.
        input_rows: ``(table, ids)`` when x = table[ids]: input products per distinct id (:mod:`.distinct_rows`;
            the backward's ``x`` is then ∂L/∂table as a :class:`~.embedding.RowGrad`).

    Returns:
        ``((out, h_n, c_n), cache)``: out (T, B, H) (zero at padded steps), h_n and c_n
        (B, H) each sequence's last real state.
    """
    H = check_lstm_args(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, residual, weight_res)
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    lengths = seq.as_lengths(lengths, x)
    p = lstm_pack(weight_ih, weight_hh, bias_ih, bias_hh)
    A, rows = project_steps(x, p.WxT, p.b, 4, input_rows, "lstm_forward")  # the input side of every step, (T, 4, B, H)
    Hs, Cs = seq.state_buffer(T, h0), seq.state_buffer(T, c0)  # Hs[t + 1] = h_t, Hs[0] = h0
    TC = xp.empty((T, B, H), dtype=A.dtype)  # tanh(c_t), reused by the backward
    U, WhT = xp.empty((4, B, H), dtype=A.dtype), seq.gate_blocks(p.WhT, 4)  # (4, H, H)
    R = (x if weight_res is None else seq.project_inputs(x, weight_res.T)) if residual else None
    gates = lstm_loops.step_functions(x, lstm_gates, lstm_local_grads, lstm_gates_backward)[0]
    for t in range(T):
        xp.matmul(Hs[t], WhT, out=U)  # the one GEMM per step (4 blocks), (4, B, H)
        gates(A[t], U, Cs[t], Cs[t + 1], TC[t], Hs[t + 1])
        if R is not None:
            Hs[t + 1] += R[t]
    c_n = seq.last_real(Cs, lengths)
    out, h_n = seq.finish_forward(Hs, lengths)
    return (out, h_n, c_n), LSTMCache(x, rows, p, A, Hs, Cs, TC, lengths, residual, weight_res)
# --8<-- [end:lstm_forward]


def check_lstm_args(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, residual, weight_res, who="lstm_forward"):
    """The arguments of an LSTM sequence forward (``who``), checked; returns H."""
    weights = {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh}
    H = seq.check_sequence_args(x, {"h0": h0, "c0": c0}, weights, 4, who)
    D = x.shape[2]
    if weight_res is not None and not residual:
        raise RangeError(f"{who}: weight_res is given but residual=False")
    if residual and weight_res is None and D != H:
        raise ShapeError(f"{who}: residual=True without weight_res needs D = H, got D = {D}, H = {H}"
                         " (pass weight_res (H, D) to project)")
    if weight_res is not None:
        check_shape(weight_res, (H, D), "weight_res", who)
        check_dtype(weight_res, x.dtype, "weight_res", who)
    return H


# --8<-- [start:lstm_backward]
def lstm_backward(dy, cache: LSTMCache) -> dict:
    """Backward of :func:`lstm_forward`: dy = (d_out (T, B, H), d_h_n, d_c_n (B, H)), any may
    be None (zero) -> gradients keyed by the forward's argument names: ``x`` (a RowGrad after
    ``input_rows``, unless residual: x_t then reaches h_t directly), ``h0``, ``c0``, ``weight_ih``,
    ``weight_hh`` (PyTorch layout), ``bias_ih`` = ``bias_hh`` (they enter as a sum), ``weight_res``.

    It consumes the cache (the saved gates become the pre-activation gradients), so it runs
    once per forward, as the module's cache stack already ensures.
    """
    d_c_n = dy[2]  # d_out and d_h_n: hidden_upstream below
    x, p, G, Hs, Cs, TC = cache.x, cache.packed, cache.gates, cache.hs, cache.cs, cache.tanh_cs
    lengths, residual, W_res = cache.lengths, cache.residual, cache.weight_res
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = Hs.shape[2]
    dHs = seq.hidden_upstream(dy, lengths, Hs, "lstm_backward")
    # c_n[b] is c at step lengths[b] − 1: with lengths d_c_n enters the loop there
    dCs = None if d_c_n is None or lengths is None else seq.upstream(None, d_c_n, lengths, (T, B, H), xp, G.dtype)
    dc = xp.zeros((B, H), dtype=G.dtype)
    if d_c_n is not None and lengths is None:
        dc += d_c_n
    # ∂L/∂z of every step, (T, B, 4, H) for the GEMMs after the loop, is written over the saved
    # gates (T, 4, B, H): step t's gates are last read (factors K, P and f) just before its dz
    # is written, and a fresh buffer would cost as much in page faults as its arithmetic
    dZ = G.reshape(T, B, 4, H)
    n = seq.block_size(B * 4 * H, T)
    K, P = xp.empty((n, 4, B, H), dtype=G.dtype), xp.empty((n, B, H), dtype=G.dtype)
    dc_new = xp.empty((B, H), dtype=G.dtype)
    _, local_grads, gates_backward = lstm_loops.step_functions(x, lstm_gates, lstm_local_grads, lstm_gates_backward)

    def factors(s, e):  # the factors of steps s..e−1, vectorized over steps
        local_grads(G[s:e], Cs[s:e], TC[s:e], K[: e - s], P[: e - s])

    def step(t, j):
        nonlocal dc  # updated in place, step by step
        if dCs is not None:
            dc += dCs[t]
        gates_backward(dHs[t], dc, K[j], P[j], G[t, 2], dZ[t], dc_new)
        return dZ[t].reshape(B, 4 * H) @ p.Wh  # the one GEMM per step

    dh0 = seq.backward_through_time(dHs, step, factors, n, carries=(dc,))
    dZ2 = dZ.reshape(T * B, 4 * H)
    dx, dW_ih, db = input_side_grads(dZ2, x, p.Wx, None if residual else cache.rows, p.b is not None)
    grads = {"x": dx, "h0": dh0, "c0": dc, "weight_ih": from_compute_order(dW_ih, H),
             "weight_hh": from_compute_order(dZ2.T @ Hs[:-1].reshape(T * B, H), H)}
    if p.b is not None:
        grads["bias_ih"] = grads["bias_hh"] = from_compute_order(db, H)
    if residual:  # h_t = o⊙tanh(c_t) + F(x_t): dHs is also ∂L/∂F(x_t)
        if W_res is None:
            dx += dHs
        else:
            d_res, grads["weight_res"] = seq.input_grads(dHs.reshape(T * B, H), x, W_res)
            dx += d_res
    return grads
# --8<-- [end:lstm_backward]


def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One step, as ``torch.nn.LSTMCell`` (T = 1): x (B, D), h and c (B, H) -> ``((h', c'), cache)``."""
    (_, h_new, c_new), cache = lstm_forward(x[None], h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    return (h_new, c_new), cache


def lstm_cell_backward(dy, cache: LSTMCache) -> dict:
    """dy = (dh', dc') (B, H) each, either None -> gradients ``x``, ``h``, ``c``,
    ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (consumes the cache)."""
    dh_new, dc_new = dy
    return seq.step_grads(lstm_backward((None, dh_new, dc_new), cache), ("h", "c"))
