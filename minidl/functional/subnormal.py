"""Subnormal numbers in backpropagation through time, and why the reverse loop flushes them.

A float32 number smaller in magnitude than ``tiny`` = 2⁻¹²⁶ ≈ 1.2·10⁻³⁸ (float64: 2⁻¹⁰²²) is
*subnormal*: it gives up mantissa bits to reach below the smallest exponent, down to 2⁻¹⁴⁹,
then 0. Many x86 cores (Intel's among them) handle an arithmetic instruction that reads or
writes one with a microcode assist, on the order of a hundred cycles instead of one, unless
the core runs in flush-to-zero mode. NumPy never sets that mode (PyTorch leaves it off too:
``torch.set_flush_denormal(True)`` turns it on).

Backpropagation through time is where subnormals come from. Going back one step multiplies
∂L/∂h by the step's Jacobian, and in a network that forgets, the gradient shrinks by a
roughly constant factor per step: at report B's sizes (an LSTM over 300 tokens, at
initialisation) by about 10⁻⁰·² a step. Over a few hundred steps it decays through the
whole subnormal range before it reaches 0, and every GEMM over those steps' ∂L/∂z meets
subnormal inputs. Measured on an Intel Xeon (Sapphire Rapids family, 2026-12-07,
``benchmarks/README.md``): 75 of the 300 steps' ∂L/∂z were almost all subnormal, and
report B's training step took 413 ms; with this module's flush 54 ms (61 ms with the core's
flush-to-zero mode instead); PyTorch's, as installed, 385 ms. The AMD Zen 4 VM the project
ran on before showed no such cost in any benchmark.

So the reverse loop (:func:`~.sequence.backward_through_time`) sets the gradients it
carries from step to step, ∂L/∂h_{t−1} and the LSTM's ∂L/∂c_{t−1}, to zero wherever

    |g| < floor = tiny / eps            (float32: 2⁻¹⁰³ ≈ 9.9·10⁻³²; float64: 2⁻⁹⁷⁰)

after every ``FLUSH_EVERY`` = 4th step. Why this floor: it is 1/eps = 2²³ times above the
subnormal range, so a carried entry that survives a flush stays a normal number until the
steps before the next flush have shrunk it by 2²³ in all: by more than 2⁻⁵·⁷⁵ ≈ 1/54 a step
on average, where report B's gradient shrinks by 10⁻⁰·² ≈ 0.63 a step. Why every fourth
step: the flush is three calls on each carried (B, H) array, and at report B's sizes, every
step, it took 2.1 ms of a 40 ms training step (``benchmarks/rnn.py --lstm-elementwise
timed``); every fourth, 0.6 ms. Should an entry shrink faster, it is subnormal for at most
three steps before a flush catches it, where unflushed it stayed so for dozens.
What it changes: each flushed entry by less than the floor, some twenty orders of
magnitude below any gradient that moves a weight (Adam divides by √v + 10⁻⁸, so a gradient
of 10⁻³¹ moves its weight by about 10⁻²³ of the learning rate), and nothing at all in
float64 for the sizes anyone runs. The forward never makes subnormals (its values are gate
activations in (−1, 1) and their products).

On a GPU nothing is flushed: CUDA cores compute subnormals at full speed, and three more
kernel launches a step would cost time there instead of saving it. On the host, with numba
installed, the three calls are one compiled loop (:func:`flush_loop`; see
:mod:`.lstm_loops`), which sets the same entries to the same +0.
"""

from __future__ import annotations

from .. import backend

__all__ = ["FLUSH_EVERY", "flush_loop", "subnormal_floor", "subnormal_flush"]

FLUSH_EVERY = 4  # the reverse loop flushes after every 4th step (the module text says why)


# --8<-- [start:subnormal_flush]
def subnormal_floor(xp, dtype):
    """``tiny / eps`` of a floating dtype of namespace ``xp``, a scalar of that dtype:
    2⁻¹⁰³ for float32, 2⁻⁹⁷⁰ for float64."""
    info = xp.finfo(dtype)
    return info.tiny / info.eps


def subnormal_flush(like):
    """A function ``flush(g)`` that zeroes, in place, the entries of ``g`` with
    ``|g| < subnormal_floor(xp, g.dtype)``, for arrays of ``like``'s shape and dtype (B, H);
    ``None`` for arrays off the host (nothing to flush there: see the module's text).

    Three calls, on buffers made once: |g|, the comparison, and a masked write of 0 (on
    the Intel VM 2.0 µs for a (64, 64) array, against 2.6 µs with ``g ⊙ keep`` as the last
    call, a float-times-bool product that runs NumPy's casting loop; ``benchmarks/README.md``).
    NaN < floor is false, so a NaN stays visible. With compiled loops (numba) one call instead:
    :func:`flush_loop`.
    """
    if backend.device_of(like) != "cpu":
        return None
    xp = backend.get_array_module(like)
    floor = subnormal_floor(xp, like.dtype)
    if backend.compiled_loops_for(like) and like.ndim == 2:
        return lambda g: flush_loop(g, floor)
    magnitude, below = xp.empty(like.shape, dtype=like.dtype), xp.empty(like.shape, dtype=bool)

    def flush(g):
        xp.abs(g, out=magnitude)
        xp.less(magnitude, floor, out=below)
        xp.copyto(g, 0, where=below)

    return flush


@backend.compile_loop
def flush_loop(g, floor):
    """g (B, H), in place: ``g = 0`` where ``|g| < floor``, in one pass (what ``flush`` does in three)."""
    B, H = g.shape
    for b in range(B):
        for k in range(H):
            if abs(g[b, k]) < floor:
                g[b, k] = 0
# --8<-- [end:subnormal_flush]
