"""Exercise: gradient clipping by global norm (chapter: optimizers.md).

Given the gradients of a model's parameters (here three: a weight matrix, a bias, a
recurrent weight) and a threshold c = max_norm > 0, clipping by global norm does

    ‖g‖ = √( Σ over every parameter p and every element i of g_pi² )   (one norm for all)
    if ‖g‖ > c:   every g_p ← g_p · c / (‖g‖ + 10⁻⁶)                  (the same factor for all)
    otherwise:    the gradients are left as they are

which keeps the direction of the whole gradient and bounds its length (the 10⁻⁶ guards
against a zero norm, as in ``torch.nn.utils.clip_grad_norm_``). Return the three clipped
gradients and ‖g‖ measured *before* clipping (what you would log). Do not change the
arrays you were given: return new ones.

Check it:  python -m minidl.exercises check clip_grad_norm
"""

import numpy as np  # noqa: F401  (you will need np.sqrt)


def clip_grad_norm(grad_w, grad_b, grad_u, max_norm):
    """grad_w: (H, D), grad_b: (H,), grad_u: (H, H); max_norm: a float > 0
    -> (clipped grad_w, clipped grad_b, clipped grad_u, norm: the global norm before clipping)."""
    raise NotImplementedError("one norm over all three, one factor for all three, and only when it is over")
