"""Solution of ``basic_block_backward``: undo the forward in reverse order. The sum
s = F(x) + x hands its gradient unchanged to both terms, and x, which fed both the branch
and the shortcut, adds up the two gradients it gets back."""

from minidl.functional.batchnorm import batch_norm_train_backward
from minidl.functional.conv import conv2d_backward


def basic_block_backward(dy, cache):
    """dy: (N, C, H, W); cache: the forward's (see the stub)
    -> (dx, dconv1_weight, dbn1_weight, dbn1_bias, dconv2_weight, dbn2_weight, dbn2_bias)."""
    ds = dy * (cache["s"] > 0)  # the last ReLU acts on the SUM s = F(x) + x
    bn2 = batch_norm_train_backward(ds, cache["bn2"])  # ∂L/∂F(x) = ds: the branch's upstream
    conv2 = conv2d_backward(bn2["x"], cache["conv2"])
    dv1 = conv2["x"] * (cache["v1"] > 0)  # the ReLU inside the branch
    bn1 = batch_norm_train_backward(dv1, cache["bn1"])
    conv1 = conv2d_backward(bn1["x"], cache["conv1"])
    dx = conv1["x"] + ds  # through the branch, plus the shortcut: ∂s/∂x ∋ the identity
    return dx, conv1["weight"], bn1["weight"], bn1["bias"], conv2["weight"], bn2["weight"], bn2["bias"]
