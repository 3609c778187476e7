"""What every recurrent layer shares: lengths, per-sequence reversal, the input projection
of all steps, the reverse-time loop, and the gradients on the input side.

A sequence layer (one layer, one direction; :mod:`.lstm`, :mod:`.gru`, :mod:`.rnn`) does
not loop a cell module. For ``x: (T, B, D)`` it

1. projects the inputs of **all** steps at once, ``A = x W_ihᵀ + b``: gate-major for the
   LSTM and the GRU (:func:`project_gate_major`, (T, gates, B, H), each gate of a step one
   contiguous block), one GEMM into (T, B, H) for the vanilla RNN (:func:`project_inputs`);
2. runs the recurrence: per step one small GEMM ``h_{t-1} W_hhᵀ`` added into ``A[t]`` and
   the cell's gate arithmetic, written with ``out=`` into preallocated buffers;
3. backward: gets the local derivatives of a block of steps at a time, runs the reverse
   loop (:func:`backward_through_time`: a few elementwise calls and one small GEMM per
   step, collecting ∂L/∂z of every step, the carried gradients flushed below the subnormal
   range: :mod:`.subnormal`), then ``dx`` and ``dW_ih`` with one GEMM each
   (:func:`input_grads`).

**Variable lengths.** ``lengths[b]`` real steps, then padding. In the forward direction a
padded step comes after every real step of its sequence, so it cannot change them: the loop
runs over the whole batch, and afterwards the outputs at padded steps are zeroed and
``h_n`` is read at step ``lengths[b] − 1``. In the backward the upstream gradient at padded
steps is zeroed and ``d h_n`` enters at step ``lengths[b] − 1``; then every gradient at a
padded step is exactly zero, so padding neither receives gradient nor changes any. The
reverse direction runs on each sequence reversed *within its own length*
(:func:`reverse_padded`), so it too starts at the last real token.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from ..checks import check_dtype, check_shape, require_array
from ..errors import DTypeError, RangeError, ShapeError
from .subnormal import FLUSH_EVERY, subnormal_flush

__all__ = [
    "Lengths", "check_lengths", "make_lengths", "as_lengths", "reverse_padded", "check_sequence_args",
    "check_upstreams", "project_inputs", "gate_blocks", "project_gate_major", "state_buffer", "finish_forward",
    "last_real", "hidden_upstream", "upstream", "block_size", "backward_through_time", "input_grads", "step_grads",
]


class Lengths(NamedTuple):
    """Per-sequence lengths, prepared once per batch on the arrays' device.

    ``host`` (B,) ints; ``last`` (B,) = lengths − 1 and ``batch`` (B,) = 0..B−1 as device
    index arrays (``out[last, batch]`` is each sequence's last real step); ``pad`` (T, B, 1)
    True at padding, where outputs and upstream gradients are set to 0 with ``copyto`` (a
    product with a 0/1 mask would keep a NaN or inf there: NaN · 0 is NaN); ``rev`` (T, B) the
    time index of :func:`reverse_padded`.
    """

    host: object
    last: object
    batch: object
    pad: object
    rev: object


def check_lengths(lengths, T: int, B: int, who: str = "make_lengths"):
    """``lengths`` (ints, shape (B,), 1 ≤ len ≤ T) as a host int64 array, or a clear error."""
    host = backend.asnumpy(lengths)  # a list, a NumPy or a device array -> host
    whole = host.dtype.kind == "f" and bool((host == host.round()).all())
    if host.size and host.dtype.kind not in "iu" and not whole:  # [] is float64, and fine
        raise DTypeError(f"{who}: lengths must be integers, got dtype {host.dtype}")
    host = host.astype("int64")
    if host.shape != (B,):
        raise ShapeError(f"{who}: lengths must have shape (B,) = ({B},), got {host.shape}")
    if host.size and (host.min() < 1 or host.max() > T):
        raise RangeError(f"{who}: lengths must lie in [1, T] = [1, {T}], got min {host.min()}, max {host.max()}")
    return host


def make_lengths(lengths, T: int, B: int, xp, who: str = "make_lengths") -> Lengths:
    """Check ``lengths`` (:func:`check_lengths`) and build :class:`Lengths` on namespace ``xp``."""
    host = check_lengths(lengths, T, B, who)
    L = xp.asarray(host)  # the one host-to-device copy; the index arrays are made where they are used
    t = xp.arange(T)[:, None]
    real = t < L[None, :]  # (T, B)
    rev = xp.where(real, L[None, :] - 1 - t, t)
    return Lengths(host=host, last=L - 1, batch=xp.arange(B), pad=~real[:, :, None], rev=rev)


def as_lengths(lengths, x):
    """None, a prepared :class:`Lengths`, or ints (B,) -> None or :class:`Lengths` for x (T, B, D)."""
    if lengths is None or isinstance(lengths, Lengths):
        return lengths
    T, B = x.shape[:2]
    return make_lengths(lengths, T, B, backend.get_array_module(x))


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


def check_sequence_args(x, states: dict, weights: dict, gates: int, who: str) -> int:
    """x (T ≥ 1, B, D), each state (B, H), ``weights`` {"weight_ih": (gates·H, D),
    "weight_hh": (gates·H, H), "bias_ih"/"bias_hh": (gates·H,) or None}, all of the
    parameters' dtype. Returns H."""
    check_shape(x, (None, None, None), "x", who)
    T, B, D = x.shape
    if T == 0:
        raise ShapeError(f"{who}: x must have at least one time step (T ≥ 1), got shape {tuple(x.shape)}")
    W_hh = check_shape(weights["weight_hh"], (None, None), "weight_hh", who)
    H, dtype = W_hh.shape[1], W_hh.dtype
    if (weights.get("bias_ih") is None) != (weights.get("bias_hh") is None):
        raise RangeError(f"{who}: bias_ih and bias_hh must both be given or both be None")
    want = {"weight_ih": (gates * H, D), "weight_hh": (gates * H, H), "bias_ih": (gates * H,),
            "bias_hh": (gates * H,)}
    for name, a in weights.items():
        if a is not None:
            check_shape(a, want[name], name, who)
            check_dtype(a, dtype, name, who)
    check_dtype(x, dtype, "x", who)
    for name, s in states.items():
        check_shape(s, (B, H), name, who)
        check_dtype(s, dtype, name, who)
    return H


def check_upstreams(dys, shapes, names, who: str) -> None:
    """Each upstream gradient (None: zero) is a floating array of its output's shape."""
    for dy, shape, name in zip(dys, shapes, names):
        if dy is None:
            continue
        require_array(dy, name, who)
        if tuple(dy.shape) != tuple(shape):
            raise ShapeError(f"{who}: {name} must have its output's shape {tuple(shape)}, got {tuple(dy.shape)}")
        if dy.dtype.kind != "f":
            raise DTypeError(f"{who}: {name} must be a floating array, got dtype {dy.dtype}")


def project_inputs(x, WxT, b=None):
    """The input projection of every step in one GEMM: x (T, B, D) -> ``x Wᵀ + b`` (T, B, n)."""
    T, B, D = x.shape
    A = x.reshape(T * B, D) @ WxT
    if b is not None:
        A += b
    return A.reshape(T, B, WxT.shape[1])


def gate_blocks(WT, gates: int):
    """(D, gates·H) -> (gates, D, H): the gate blocks of a transposed weight, each one
    contiguous (D, H) copy. BLAS could read a block in place (row stride gates·H), but at
    H = 64 its GEMMs then took 1.5 times as long (benchmarks/README, the Intel VM)."""
    D, H = WT.shape[0], WT.shape[1] // gates
    return backend.get_array_module(WT).ascontiguousarray(WT.reshape(D, gates, H).transpose(1, 0, 2))


def project_gate_major(x, WxT, b, gates: int):
    """The input projection of every step, gate-major: x (T, B, D), WxT (D, gates·H), b
    (gates·H,) or None -> (T, gates, B, H), each gate of each step one contiguous (B, H)
    block (the elementwise work of a step then runs on contiguous memory).

    Two ways to the same numbers: for small layers one batched matmul, T·gates GEMMs
    (B, D) x (D, H) against a contiguous copy of WxT's gate blocks; for large ones
    (D·H ≥ 128·256: report E's 200 and 512 inputs at H = 256) a row-major GEMM
    (n·B, D) x (D, gates·H) over a few steps at a time, regrouped gate-major while its
    output is still in the cache. Measured on one core: the batched call is 10–20% slower
    at report E's sizes, and faster at report B's D = H = 64, where its GEMMs are too small
    to pay for packing (benchmarks/README; on the Intel VM 2.9 ms against 6.5 ms, and 4.3 ms
    when the gate blocks are read in place, with their row stride gates·H).
    """
    T, B, D = x.shape
    H = WxT.shape[1] // gates
    xp = backend.get_array_module(x)
    if D * H < _ROW_MAJOR_PROJECTION:
        A = xp.matmul(x[:, None], gate_blocks(WxT, gates))
        if b is not None:
            A += b.reshape(gates, 1, H)
        return A
    A = xp.empty((T, gates, B, H), dtype=x.dtype)
    n = max(1, min(T, 1024 // B))  # ~1,024 rows: the (n·B, gates·H) product stays in L2
    Y = xp.empty((n * B, gates * H), dtype=x.dtype)
    for s in range(0, T, n):
        e = min(T, s + n)
        rows = Y[: (e - s) * B]
        xp.matmul(x[s:e].reshape(-1, D), WxT, out=rows)
        gate_major = rows.reshape(e - s, B, gates, H).transpose(0, 2, 1, 3)
        if b is None:
            A[s:e] = gate_major
        else:
            xp.add(gate_major, b.reshape(gates, 1, H), out=A[s:e])
    return A


_ROW_MAJOR_PROJECTION = 128 * 256  # D·H from which project_gate_major uses row-major GEMMs


def state_buffer(T: int, s0):
    """A (T + 1, B, H) time-major buffer with ``S[0] = s0``; the loop writes ``S[t + 1]``."""
    S = backend.get_array_module(s0).empty((T + 1,) + s0.shape, dtype=s0.dtype)
    S[0] = s0
    return S


def last_real(S, lengths: Lengths | None):
    """Each sequence's state after its last real step, from S (T + 1, B, H), as a new array."""
    return S[-1].copy() if lengths is None else S[1:][lengths.last, lengths.batch]


def finish_forward(Hs, lengths: Lengths | None):
    """Outputs (zeroed in place at padding) and each sequence's last real state from Hs (T+1, B, H)."""
    h_n = last_real(Hs, lengths)
    out = Hs[1:]
    if lengths is not None:
        backend.get_array_module(out).copyto(out, 0, where=lengths.pad)  # padded h_t are 0, even after a NaN
    return out, h_n


def hidden_upstream(dy, lengths: Lengths | None, Hs, who: str):
    """The start of every sequence backward: check the upstream gradients ``dy = (d_out
    (T, B, H), d_h_n (B, H)[, d_c_n (B, H)])`` (each may be None: zero) against the saved
    states ``Hs`` (T + 1, B, H), and return ∂L/∂h_t of every step from ``d_out`` and
    ``d_h_n`` (:func:`upstream`), a fresh (T, B, H) buffer."""
    T, B, H = Hs.shape[0] - 1, Hs.shape[1], Hs.shape[2]
    names = ("d_out", "d_h_n", "d_c_n")[: len(dy)]
    check_upstreams(dy, [(T, B, H)] + [(B, H)] * (len(dy) - 1), names, who)
    return upstream(dy[0], dy[1], lengths, (T, B, H), backend.get_array_module(Hs), Hs.dtype)


def upstream(d_out, d_last, lengths: Lengths | None, shape, xp, dtype):
    """∂L/∂h_t of every step from the outputs and from h_n, a fresh (T, B, H) buffer."""
    dHs = xp.zeros(shape, dtype=dtype)
    if d_out is not None:
        dHs[...] = d_out
        if lengths is not None:
            xp.copyto(dHs, 0, where=lengths.pad)  # not `*= mask`: NaN · 0 is NaN
    if d_last is not None:
        if lengths is None:
            dHs[-1] += d_last
        else:
            dHs[lengths.last, lengths.batch] += d_last
    return dHs


def block_size(step_size: int, T: int) -> int:
    """How many steps' local derivatives to compute in one vectorized call.

    All T at once would stream arrays of many MB through memory (and allocate them); one at a
    time would pay the per-call cost of each ufunc every step. Blocks of about 64K numbers
    stay in the CPU cache and still amortise the calls.
    """
    return max(1, min(T, 65536 // max(step_size, 1)))


# --8<-- [start:backward_through_time]
def backward_through_time(dHs, step, factors=None, n=None, carries=()):
    """The reverse-time loop of every recurrent backward; returns ∂L/∂h_0.

    Args:
        dHs: (T, B, H) ∂L/∂h_t from above (outputs and h_n); completed in place: when step
            t has run, ``dHs[t − 1]`` holds the recurrence's part too.
        step: ``step(t, j) -> ∂L/∂h_{t−1}``, the cell's backward of step t (``j``: t's
            index in the current block of local derivatives).
        factors: ``factors(s, e)`` computes the local derivatives of steps s..e−1, called
            before those steps run, in blocks of ``n`` steps (None: there are none to make).
        carries: the other gradients (B, H) that ``step`` carries to the step before, in
            place (the LSTM's ∂L/∂c).

    After every ``FLUSH_EVERY`` = 4th step (t = 4, 8, ...), the entries of the carried
    gradients (``dHs[t − 1]`` and ``carries``) smaller than ``tiny/eps`` (2⁻¹⁰³ in float32)
    are set to 0: a gradient that decays over hundreds of steps would otherwise pass through
    the subnormal numbers, which cost some CPUs a hundred cycles an operation
    (:mod:`.subnormal`).
    """
    T = dHs.shape[0]
    n = T if n is None else n
    dh0 = None
    flush = subnormal_flush(dHs[0])  # None off the host
    for s in range((T - 1) // n * n, -1, -n):  # blocks of n steps, last block first
        e = min(s + n, T)
        if factors is not None:
            factors(s, e)
        for t in range(e - 1, s - 1, -1):
            dh_prev = step(t, t - s)
            if t > 0:
                dHs[t - 1] += dh_prev  # dHs[t − 1] is now complete: output + recurrence
                if flush is not None and t % FLUSH_EVERY == 0:
                    for g in (dHs[t - 1], *carries):
                        flush(g)
            else:
                dh0 = dh_prev
    return dh0
# --8<-- [end:backward_through_time]


def input_grads(dZ2, x, W):
    """After the loop, one GEMM each: ``dx = dZ W`` (T, B, D) and ``dW = dZᵀ x``.

    dZ2 (T·B, n) holds ∂L/∂(x Wᵀ) of every step, W (n, D) the input weights."""
    T, B, D = x.shape
    dx = (dZ2 @ W).reshape(T, B, D)
    return dx, dZ2.T @ x.reshape(T * B, D)


def step_grads(grads: dict, states) -> dict:
    """A sequence backward's gradients for a one-step sequence as a cell's: ``x`` (1, B, D)
    -> (B, D), and ``h0``, ``c0`` renamed to the cell's state names ``states``."""
    grads["x"] = grads["x"][0]
    for seq_name, name in zip(("h0", "c0"), states):
        grads[name] = grads.pop(seq_name)
    return grads
