"""The weights in the layout the fast recurrent code computes with.

PyTorch stores the gate blocks of ``weight_ih`` / ``weight_hh`` as i, f, g, o (LSTM) and
r, z, n (GRU). The fast steps of :mod:`.lstm` and :mod:`.gru` want two changes, made once
per forward when the weights are packed, not at every step:

* **block order**: the LSTM's blocks go to o, i, f, g, so that its three sigmoid gates are
  one contiguous block (one call serves all three), and the three gates multiplied by
  ``dc'`` in the backward are another;
* **scaled rows**, so that one call of one function serves every gate. The LSTM: since
  ``σ(z) = ½ tanh(z/2) + ½``, halving the rows of the sigmoid gates o, i, f makes **one**
  ``tanh`` call give tanh(z/2) for them and tanh z for g, and a multiply-add on the o, i, f
  block finishes the sigmoids (:func:`tanh_of_sum`, :func:`half_plus_half`). The GRU: since
  ``σ(z) = 1/(1 + e^{−z})``, negating the rows of r and z makes **one** ``exp`` call give
  ``e^{−z}`` for both (:func:`sigmoid_of_negated`); its n gate has a tanh of its own.

The unscaled weights are kept as well, for the backward (``dx = dz W``). Gradients computed
in the LSTM's compute order go back to PyTorch's with :func:`from_compute_order`.
:func:`sigmoid_slope` is the sigmoid's derivative from its value. Each of these functions
runs as one fused kernel on a GPU.

Why two identities: on the Intel Xeon VM of December 2026 (numpy 2.4.6) float32 ``tanh``
costs less per element than ``exp`` followed by a reciprocal, and the LSTM's step was 6%
faster with the tanh form (``benchmarks/README.md``, "Session 14"). The tanh form rounds a
sigmoid below 2·10⁻⁹ (z < −20) to 0; its absolute error stays under 3.5·10⁻⁸, the exp form's
7.3·10⁻⁸ near σ = 1 (making it fast, "Gate-major layout"). The GRU was not measured again and keeps the ``exp`` form.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend

__all__ = ["reorder_blocks", "to_compute_order", "from_compute_order", "LSTMPacked", "lstm_pack",
           "GRUPacked", "gru_pack", "tanh_of_sum", "half_plus_half", "sigmoid_of_negated", "sigmoid_slope"]


def reorder_blocks(W, order, H: int):
    """The (H, ...) row blocks of W taken in ``order``: a gate layout change."""
    xp = backend.get_array_module(W)
    return xp.concatenate([W[k * H : (k + 1) * H] for k in order], axis=0)


def to_compute_order(W, H):
    """Rows (or entries) of a PyTorch-layout (4H, ...) array reordered i,f,g,o -> o,i,f,g."""
    return reorder_blocks(W, (3, 0, 1, 2), H)


def from_compute_order(W, H):
    """Inverse of :func:`to_compute_order`: o,i,f,g -> i,f,g,o."""
    return reorder_blocks(W, (1, 2, 3, 0), H)


class LSTMPacked(NamedTuple):
    """Weights in the compute layout (blocks o, i, f, g).

    ``WxT`` (D, 4H), ``WhT`` (H, 4H), ``b`` (4H,) or None: for the forward, with the rows of
    the sigmoid gates o, i, f halved (so the products give z/2 for them and z for g, and one
    ``tanh`` serves all four gates).
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
    # one tanh for all gates: σ(z) = ½ tanh(z/2) + ½, so feed z/2 to the sigmoid gates o, i, f
    WxT[:, : 3 * H] *= 0.5
    WhT[:, : 3 * H] *= 0.5
    b = None
    if b_ih is not None:
        b = to_compute_order(b_ih + b_hh, H)
        b[: 3 * H] *= 0.5
    return LSTMPacked(WxT, WhT, b, Wx, Wh)
# --8<-- [end:lstm_pack]


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


# --8<-- [start:tanh_of_sum]
@backend.fuse
def tanh_of_sum(a, u):
    """In place: ``a ← tanh(a + u)``: tanh(z/2) for the LSTM's o, i, f blocks (their rows
    halved by :func:`lstm_pack`) and tanh z for g, in one call."""
    xp = backend.get_array_module(a)
    a += u
    xp.tanh(a, out=a)


@backend.fuse
def half_plus_half(s):
    """In place: ``s ← ½ s + ½``, which turns tanh(z/2) into σ(z)."""
    s *= 0.5
    s += 0.5
# --8<-- [end:tanh_of_sum]


# --8<-- [start:sigmoid_of_negated]
@backend.fuse
def sigmoid_of_negated(a, u):
    """In place: ``a ← 1/(1 + e^{a + u})``, σ(z) where ``a + u = −z`` (the packed weights'
    pre-activation; σ(2z) where it is −2z). e^{a+u} = inf gives 0, the right limit: callers
    silence that overflow with ``backend.errstate(xp, over="ignore")``."""
    xp = backend.get_array_module(a)
    a += u
    xp.exp(a, out=a)
    a += 1.0
    xp.reciprocal(a, out=a)


@backend.fuse
def sigmoid_slope(s, K):
    """``K = s(1 − s)``: σ'(z) from s = σ(z)."""
    xp = backend.get_array_module(s)
    xp.subtract(1.0, s, out=K)
    K *= s
# --8<-- [end:sigmoid_of_negated]
