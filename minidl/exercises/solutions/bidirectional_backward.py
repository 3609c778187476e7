"""Solution of ``bidirectional_backward``: each direction's half of d_out goes back through its
own layer. rev is a permutation of each sequence's steps, so its backward is the same
permutation: the reverse layer's upstream is rev(d_out's second half), and its input
gradient, computed in reversed time, is put back in time order with rev before the two
directions' input gradients add up."""

from minidl.exercises.stubs.bidirectional_backward import reverse_within_lengths  # the stub's rev
from minidl.functional.lstm import lstm_backward


def bidirectional_backward(d_out, lengths, caches):
    """d_out: (T, B, 2H); lengths: (B,); caches: (cache_f, cache_r)
    -> (dx, dW_ih_f, dW_hh_f, db_f, dW_ih_r, dW_hh_r, db_r)."""
    H = d_out.shape[2] // 2
    g_f = lstm_backward((d_out[..., :H], None, None), caches[0])
    d_rev = reverse_within_lengths(d_out[..., H:], lengths)  # rev's backward is rev
    g_r = lstm_backward((d_rev, None, None), caches[1])  # the reverse layer ran on rev(x)
    dx = g_f["x"] + reverse_within_lengths(g_r["x"], lengths)  # back in time order, then the sum
    return dx, g_f["weight_ih"], g_f["weight_hh"], g_f["bias_ih"], g_r["weight_ih"], g_r["weight_hh"], g_r["bias_ih"]
