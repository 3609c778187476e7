"""Exercise: the backward pass of a bidirectional LSTM layer on padded sequences (chapter:
deep-bidirectional-residual.md).

Forward (given below): x: (T, B, D) holds B sequences, sequence b with lengths[b] ≤ T real
steps followed by padding. Two one-layer LSTMs, each with its own weights and zero
initial states, read it in opposite directions:

    out_f = LSTM_f(x)                        (T, B, H), forward in time
    out_r = rev(LSTM_r(rev(x)))              (T, B, H), each sequence read from its last real step
    out = [out_f, out_r]                     (T, B, 2H), concatenated on the last axis

where rev reverses each sequence within its own length and leaves the padding where it is:
rev(a)[t, b] = a[lengths[b] − 1 − t, b] for t < lengths[b]. Padded steps of out are 0.

Given below: ``reverse_within_lengths(a, lengths)`` (rev), and the library's backward of one
layer, ``lstm_backward((d_layer_out, None, None), cache) -> {"x", "weight_ih", "weight_hh",
"bias_ih", ...}`` (it writes over its cache: call it once per cache).

Given d_out = ∂L/∂out: (T, B, 2H), lengths: (B,) and the forward's caches
(cache_f, cache_r), return

    dx: (T, B, D), then for the forward direction and then the reverse one:
    dW_ih: (4H, D), dW_hh: (4H, H), db: (4H,)

Hint: rev is a permutation of each sequence's steps. What is the backward of a permutation,
and where does the reverse layer's input gradient belong in time?

Check it:  python -m minidl.exercises check bidirectional_backward
"""

import numpy as np

from minidl.functional.lstm import lstm_backward, lstm_forward  # noqa: F401


def reverse_within_lengths(a, lengths):
    """Given. a: (T, B, ...) -> each column's first lengths[b] steps in reverse order, padding in place."""
    t = np.arange(a.shape[0])[:, None]  # (T, 1)
    L = np.asarray(lengths)[None, :]  # (1, B)
    return a[np.where(t < L, L - 1 - t, t), np.arange(a.shape[1])[None, :]]


def bidirectional_forward(x, lengths, forward_weights, reverse_weights):
    """Given. x: (T, B, D); lengths: (B,); each weights dict: weight_ih, weight_hh, bias_ih, bias_hh
    -> (out (T, B, 2H), (cache_f, cache_r))."""
    zeros = np.zeros((x.shape[1], forward_weights["weight_hh"].shape[1]))
    (out_f, _, _), cache_f = lstm_forward(x, zeros, zeros, **forward_weights, lengths=lengths)
    (out_r, _, _), cache_r = lstm_forward(reverse_within_lengths(x, lengths), zeros, zeros, **reverse_weights,
                                          lengths=lengths)
    return np.concatenate([out_f, reverse_within_lengths(out_r, lengths)], axis=2), (cache_f, cache_r)


def bidirectional_backward(d_out, lengths, caches):
    """d_out: (T, B, 2H); lengths: (B,); caches: (cache_f, cache_r)
    -> (dx, dW_ih_f, dW_hh_f, db_f, dW_ih_r, dW_hh_r, db_r)."""
    raise NotImplementedError("split d_out, one backward per direction, and put the reverse one back in time")
