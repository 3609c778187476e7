"""The LSTM forward when no backward follows: evaluation and inference.

:func:`~.lstm.lstm_forward` keeps, for its backward, every step's gates (T, 4, B, H),
``c_t`` and ``tanh c_t`` (T, B, H each), and it projects the inputs of all T steps before
the first step runs. At a test batch of report B (256 reviews, 300 tokens, H = 64) the
gates alone are 79 MB: written by the projection, read back by the step, written over,
all of it streamed through main memory, because no cache holds it. Without a backward, a
step's gates are dead as soon as ``c_t`` and ``h_t`` are made, and so is ``tanh c_t``.
So this forward computes the same numbers from buffers that stay in the CPU's cache:

* the inputs are projected a block of steps at a time (about 64K numbers: the size
  :func:`~.sequence.block_size` gives the backward's factors), and the gate arithmetic runs
  in place on that block, step by step; the next block is allocated as this one is freed,
  so the allocator hands back the same memory, still in the cache;
* ``c`` lives in two (B, H) buffers, ``c_{t−1}`` in one and ``c_t`` written into the
  other, their roles swapped every step, and ``tanh c_t`` in a third; ``c_n`` of a padded
  batch is copied out at each sequence's last real step;
* only ``h_0..h_T`` keep all T steps: they are the layer's output.

The step is the training forward's own (:func:`~.lstm.lstm_gates`, or its compiled loop), in the same order on
the same numbers, so the outputs are equal to the last bit (``tests/functional/
test_lstm_inference.py``); the per-word projection of an embedding-fed layer
(:mod:`.distinct_rows`) projects each word once per call and gathers a block's steps from
it. On a GPU there is no cache of that kind to fit in and one projection GEMM over all
steps is the fast way: the block is then all T steps.

Measured (one core of the Intel Xeon VM, ``benchmarks/eval_pass.py``; ``benchmarks/README.md``,
"Session 14"): a test pass over the 25,000 IMDB reviews with report B's model took 4.63–4.86 s
with the training forward and 3.34–3.98 s with this one, PyTorch's 2.35–2.45 s.
"""

from __future__ import annotations

from collections import Counter

from .. import backend
from . import lstm_loops
from . import sequence as seq
from .distinct_rows import project_blocks
from .gate_layout import lstm_pack
from .lstm import check_lstm_args, lstm_gates, lstm_gates_backward, lstm_local_grads

__all__ = ["lstm_infer"]


# --8<-- [start:lstm_infer]
def lstm_infer(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, lengths=None,
               residual=False, weight_res=None, input_rows=None):
    """:func:`~.lstm.lstm_forward`'s outputs without its cache: ``(out, h_n, c_n)``.

    Arguments as :func:`~.lstm.lstm_forward`: x (T, B, D), h0 and c0 (B, H), weights
    (4H, D), (4H, H), biases (4H,) or None, lengths, residual, weight_res, input_rows.
    out (T, B, H) (zero at padded steps), h_n and c_n (B, H) each sequence's last real state.
    """
    H = check_lstm_args(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, residual, weight_res, "lstm_infer")
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    lengths = seq.as_lengths(lengths, x)
    p = lstm_pack(weight_ih, weight_hh, bias_ih, bias_hh)
    Hs = seq.state_buffer(T, h0)  # the output: every h_t is kept
    c, c_next, tanh_c = c0.copy(), xp.empty_like(c0), xp.empty_like(c0)
    U, WhT = xp.empty((4, B, H), dtype=x.dtype), seq.gate_blocks(p.WhT, 4)
    R = (x if weight_res is None else seq.project_inputs(x, weight_res.T)) if residual else None
    ends = _last_steps(lengths, xp)
    c_n = c.copy() if lengths is not None else None
    gates = lstm_loops.step_functions(x, lstm_gates, lstm_local_grads, lstm_gates_backward)[0]
    for s, A in project_blocks(x, p.WxT, p.b, 4, input_rows, "lstm_infer"):  # A: (steps, 4, B, H)
        for t in range(s, s + A.shape[0]):
            xp.matmul(Hs[t], WhT, out=U)
            gates(A[t - s], U, c, c_next, tanh_c, Hs[t + 1])
            c, c_next = c_next, c  # c is now c_t
            if R is not None:
                Hs[t + 1] += R[t]
            if t in ends:
                c_n[ends[t]] = c[ends[t]]  # these sequences' last real step
    out, h_n = seq.finish_forward(Hs, lengths)
    return out, h_n, (c if c_n is None else c_n)
# --8<-- [end:lstm_infer]


def _last_steps(lengths, xp) -> dict:
    """{t: the batch rows whose last real step is t}, as slices of one index array on x's
    device (sorted there: no copy from the host); empty without lengths."""
    if lengths is None:
        return {}
    by_end = xp.argsort(lengths.last)  # the rows, grouped by their last step
    per_step = Counter((lengths.host - 1).tolist())  # how many rows end at each step (host ints)
    ends, start = {}, 0
    for t in sorted(per_step):
        ends[t], start = by_end[start : start + per_step[t]], start + per_step[t]
    return ends
