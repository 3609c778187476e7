"""The LSTM step's elementwise work as loops over the elements, compiled on the host.

:mod:`.lstm` writes a step's elementwise work as NumPy calls: ten a step forward, five
backward, eleven for the local derivatives of a block of steps. Each call passes once over
its arrays and costs about 0.75 µs before it starts; at report B's B = H = 64 a call's
arithmetic takes about as long, and this work was some 40% of a training step
(``benchmarks/README.md``, "Session 17"). Here the same operations are written as one loop
over the elements that does all of them in one pass, compiled by numba
(:func:`~minidl.backend.compile_loop`): one call, each number read once.

**The same numbers, bit for bit.** Each loop makes the operations of the ufunc calls it
replaces, in their order, each rounded to the arrays' dtype (the constants ½ and 1 come in
as arguments of that dtype: numba would compute ``1.0 − x`` of a float32 ``x`` in float64),
and the compiler, without fast-math, neither fuses a multiply and an add nor reorders them.
``tests/functional/test_lstm_loops.py`` compares both ways, compiled and as plain Python, to
the last bit. The ``tanh`` calls stay NumPy's: numba's ``tanh`` is a call into the C
library for each number (the PyPI build of its compiler has no vector ``tanh``, ``numba -s``:
"SVML … False"), NumPy's works on 16 numbers at a time.

:func:`step_functions` picks, for the arrays of a layer, these or :mod:`.lstm`'s.

Shapes as in :mod:`.lstm`: the compute layout (4, B, H), gate blocks o, i, f, g.
"""

from __future__ import annotations

from .. import backend
from .gate_layout import tanh_of_sum

__all__ = ["cell_update_loop", "local_grads_loop", "step_back_loop", "lstm_gates", "lstm_local_grads",
           "lstm_gates_backward", "step_functions"]


# --8<-- [start:loops]
@backend.compile_loop
def cell_update_loop(s, c_prev, c, half):
    """s (4, B, H) holds tanh(z/2) for o, i, f and tanh z for g; in place: o, i, f become
    σ(z) = ½ tanh(z/2) + ½; c (B, H) = f⊙c_prev + i⊙g (the first half of ``_cell_update``)."""
    B, H = c.shape
    for j in range(3):
        for b in range(B):
            for k in range(H):
                s[j, b, k] = s[j, b, k] * half + half
    for b in range(B):
        for k in range(H):
            c[b, k] = s[2, b, k] * c_prev[b, k] + s[1, b, k] * s[3, b, k]


@backend.compile_loop
def local_grads_loop(G, c_prev, tanh_c, K, P, one):
    """G (n, 4, B, H) gates o, i, f, g; c_prev, tanh_c, P (n, B, H); K (n, 4, B, H):
    K_o = o(1−o)⊙τ, K_i = i(1−i)⊙g, K_f = f(1−f)⊙c, K_g = (1−g²)⊙i, P = (1−τ²)⊙o."""
    n, _, B, H = G.shape
    for t in range(n):
        for b in range(B):
            for k in range(H):
                o, i, f, g = G[t, 0, b, k], G[t, 1, b, k], G[t, 2, b, k], G[t, 3, b, k]
                tc = tanh_c[t, b, k]
                K[t, 0, b, k] = ((one - o) * o) * tc
                K[t, 1, b, k] = ((one - i) * i) * g
                K[t, 2, b, k] = ((one - f) * f) * c_prev[t, b, k]
                K[t, 3, b, k] = (one - g * g) * i
                P[t, b, k] = (one - tc * tc) * o


@backend.compile_loop
def step_back_loop(dh, dc, K, P, f, dz, dc_new):
    """One step back, (B, H) each but K (4, B, H) and dz (B, 4, H): dc_new = dh⊙P + dc
    (∂L/∂c'), dc = dc_new⊙f, dz_o = dh⊙K_o, dz_{i,f,g} = dc_new⊙K_{i,f,g}. dz may be the
    memory of the saved gates, f among them: every f is read before the first dz is written."""
    B, H = dh.shape
    for b in range(B):
        for k in range(H):
            dc_new[b, k] = dh[b, k] * P[b, k] + dc[b, k]
    for b in range(B):
        for k in range(H):
            dc[b, k] = dc_new[b, k] * f[b, k]
    for b in range(B):
        for k in range(H):
            dz[b, 0, k] = dh[b, k] * K[0, b, k]
        for j in range(1, 4):
            for k in range(H):
                dz[b, j, k] = dc_new[b, k] * K[j, b, k]
# --8<-- [end:loops]


def lstm_gates(a, hW, c_prev, c, tanh_c, h):
    """:func:`.lstm.lstm_gates` with the loop above: NumPy's ``tanh`` over the four gates, one
    loop for the sigmoids and c', NumPy's ``tanh`` of c' and the product h' = o⊙tanh c'."""
    xp = backend.get_array_module(a)
    tanh_of_sum(a, hW)
    cell_update_loop(a, c_prev, c, a.dtype.type(0.5))
    xp.tanh(c, out=tanh_c)
    xp.multiply(a[0], tanh_c, out=h)


def lstm_local_grads(gates, c_prev, tanh_c, K, P):
    """:func:`.lstm.lstm_local_grads` as one loop; the leading dims () or (n,)."""
    if gates.ndim == 3:  # one step: the loop's leading axis of length 1
        gates, c_prev, tanh_c, K, P = gates[None], c_prev[None], tanh_c[None], K[None], P[None]
    local_grads_loop(gates, c_prev, tanh_c, K, P, gates.dtype.type(1))


def lstm_gates_backward(dh, dc, K, P, f, dz, dc_new):
    """:func:`.lstm.lstm_gates_backward` as one loop (the same arguments)."""
    step_back_loop(dh, dc, K, P, f, dz, dc_new)


def step_functions(x, gates, local_grads, gates_backward):
    """The three elementwise functions of an LSTM step for a layer whose input is ``x``: the
    compiled loops above for a NumPy array when they compile (:func:`~minidl.backend.compiled_loops`),
    else the ones given, :mod:`.lstm`'s ufunc calls (on CuPy arrays one fused kernel each)."""
    if backend.compiled_loops_for(x):
        return lstm_gates, lstm_local_grads, lstm_gates_backward
    return gates, local_grads, gates_backward
