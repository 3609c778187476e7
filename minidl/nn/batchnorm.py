"""``BatchNorm1d`` and ``BatchNorm2d`` (maths in :mod:`minidl.functional.batchnorm`; train mode runs
the same formulas in fewer passes, :mod:`minidl.functional.batchnorm_fast`)."""

from __future__ import annotations

from ..checks import check_dtype, check_float, check_upstream
from ..errors import ShapeError
from ..functional.batchnorm import batch_norm_eval_backward, batch_norm_eval_forward
from ..functional.batchnorm_fast import batch_norm_fast_backward, batch_norm_fast_forward
from ..module import Module, Parameter
from . import init

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """Per-channel normalisation with learned scale ``weight`` (γ) and shift ``bias`` (β)
    (``affine=False``: neither; keyword ``bias=False``: γ only, as in PyTorch 2.13).

    Train mode normalises with the batch's mean and (biased) variance and updates the
    buffers ``running_mean``, ``running_var`` (unbiased) and ``num_batches_tracked``:
    ``running ← (1 − momentum)·running + momentum·batch`` (``momentum=None``: the plain
    average of all batches so far, as PyTorch), from the batch statistics the functional
    forward returns in its cache (:meth:`_update_running`). Eval mode normalises with the
    running estimates, so an example's output no longer depends on the rest of its batch.

    The input must have the parameters' dtype (float32 input for float32 parameters; call
    ``.double()`` for float64), as in PyTorch.
    """

    _ndims: tuple[int, ...] = ()
    _shape_text = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True):
        super().__init__()
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        C = self.num_features
        self.weight = Parameter(init.ones((C,))) if affine else None
        self.bias = Parameter(init.zeros((C,))) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", init.zeros((C,)))
            self.register_buffer("running_var", init.ones((C,)))
            self.register_buffer("num_batches_tracked", init.zeros((), dtype="int64"))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def _check(self, x):
        who = type(self).__name__
        check_float(x, "input", who)
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ShapeError(f"{who}: input must have shape {self._shape_text.format(C=self.num_features)}, "
                             f"got {tuple(x.shape)}")
        own = self.weight if self.weight is not None else self.running_mean
        if own is not None:  # the parameters' (or the running statistics') dtype
            check_dtype(x, own.dtype, "input", who)

    def _update_running(self, mean, var_unbiased):
        """The running estimates, updated here in the open from the batch statistics that the
        (stateless) functional forward returned: ``running ← (1 − α)·running + α·batch``."""
        # in place on the buffer arrays (assigning the attribute would replace the buffer)
        count = self.num_batches_tracked
        count[...] += 1
        factor = 1.0 / float(count) if self.momentum is None else self.momentum
        running_mean, running_var = self.running_mean, self.running_var
        running_mean *= 1 - factor
        running_mean += factor * mean
        running_var *= 1 - factor
        running_var += factor * var_unbiased

    def forward(self, x):
        self._check(x)
        gamma = self.weight.data if self.weight is not None else None
        beta = self.bias.data if self.bias is not None else None
        if self.training or not self.track_running_stats:
            y, cache = batch_norm_fast_forward(x, gamma, beta, eps=self.eps)
            if self.training and self.track_running_stats:
                self._update_running(cache.batch_mean, cache.batch_var)
            self.save_for_backward((batch_norm_fast_backward, x.shape, cache))
        else:
            y, cache = batch_norm_eval_forward(x, self.running_mean, self.running_var, gamma, beta, eps=self.eps)
            self.save_for_backward((batch_norm_eval_backward, x.shape, cache))
        return y

    def backward(self, dy):
        backward, shape, cache = self.saved()
        check_upstream(dy, shape, "dy", type(self).__name__)
        grads = backward(dy, cache)
        self.accumulate_grads(grads)
        return grads["x"]

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """``BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *, bias=True)``.

    Shapes: x (N, C) or (N, C, L) -> y: same; statistics over N (and L) per channel C.
    """

    _ndims = (2, 3)
    _shape_text = "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """``BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *, bias=True)``.

    Shapes: x (N, C, H, W) -> y: same; statistics over N, H, W per channel C.
    """

    _ndims = (4,)
    _shape_text = "(N, {C}, H, W)"
