"""BatchNorm's functional pairs: the contract (one (y, cache) pair, gradients keyed by argument
name, no state touched), the batch statistics in the cache, and finite differences of the bare
pairs in float64 (train and eval)."""

import numpy as np
import pytest

from minidl import backend
from minidl.functional.batchnorm import (
    BatchNormEvalCache,
    BatchNormTrainCache,
    batch_norm_eval_backward,
    batch_norm_eval_forward,
    batch_norm_train_backward,
    batch_norm_train_forward,
)
from minidl.gradcheck import gradcheck
from minidl.module import Module, Parameter


def _x(shape, seed=0, scale=1.0, shift=0.0):
    return shift + scale * np.random.default_rng(seed).standard_normal(shape)


class _BN(Module):
    """The bare pair as a Module (γ, β optional), for ``minidl.gradcheck``."""

    def __init__(self, weight, bias, running=None):
        super().__init__()
        self.weight = None if weight is None else Parameter(weight)
        self.bias = None if bias is None else Parameter(bias)
        self.running = running

    def forward(self, x):
        w = None if self.weight is None else self.weight.data
        b = None if self.bias is None else self.bias.data
        if self.running is None:
            y, cache = batch_norm_train_forward(x, w, b, eps=1e-5)
            backward = batch_norm_train_backward
        else:
            y, cache = batch_norm_eval_forward(x, *self.running, w, b, eps=1e-5)
            backward = batch_norm_eval_backward
        self.save_for_backward((backward, cache))
        return y

    def backward(self, dy):
        backward, cache = self.saved()
        grads = backward(dy, cache)
        self.accumulate_grads(grads)
        return grads["x"]


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("params", ["both", "weight only", "none"])
def test_bare_pairs_gradcheck(device, to_dev, mode, params):
    C = 3
    weight = to_dev(_x((C,), 1, 0.5, 1.0)) if params != "none" else None
    bias = to_dev(_x((C,), 2)) if params == "both" else None
    running = (to_dev(_x((C,), 3)), to_dev(np.abs(_x((C,), 4)) + 0.5)) if mode == "eval" else None
    r = gradcheck(_BN(weight, bias, running), to_dev(_x((3, C, 2, 2), 5, 2.0, 1.0)))
    assert r.ok, str(r)
    assert set(r.errors) == {"input 0"} | {n for n, a in [("weight", weight), ("bias", bias)] if a is not None}


def test_train_pair_returns_one_cache_with_the_batch_statistics():
    x = _x((4, 3, 2, 5), 0, 2.0, 1.0)
    y, cache = batch_norm_train_forward(x, np.ones(3), np.zeros(3))
    assert isinstance(cache, BatchNormTrainCache) and y.shape == x.shape
    np.testing.assert_allclose(cache.batch_mean, x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(cache.batch_var, x.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)  # unbiased
    grads = batch_norm_train_backward(_x(x.shape, 1), cache)
    assert set(grads) == {"x", "weight", "bias"}
    y2, cache2 = batch_norm_train_forward(x)
    np.testing.assert_allclose(y, y2, rtol=1e-12)
    assert set(batch_norm_train_backward(_x(x.shape, 1), cache2)) == {"x"}


def test_eval_pair_leaves_the_running_statistics_alone_and_gives_them_no_gradient():
    x = _x((4, 3), 0)
    mean, var = _x((3,), 1), np.abs(_x((3,), 2)) + 0.1
    before = (mean.copy(), var.copy())
    y, cache = batch_norm_eval_forward(x, mean, var, None, np.zeros(3), eps=1e-3)
    assert isinstance(cache, BatchNormEvalCache)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-12)
    np.testing.assert_array_equal(mean, before[0])
    np.testing.assert_array_equal(var, before[1])
    grads = batch_norm_eval_backward(np.ones_like(y), cache)
    assert set(grads) == {"x", "bias"}
    np.testing.assert_allclose(grads["x"], np.broadcast_to(1 / np.sqrt(var + 1e-3), x.shape), rtol=1e-12)


def test_input_gradient_sums_to_zero_per_channel(device, to_dev):
    """Σ_m ∂L/∂x_m = 0 per channel exactly (the mean is subtracted), whatever ε is."""
    x = to_dev(_x((3, 2, 4, 4), 0, 0.01))
    _, cache = batch_norm_train_forward(x, to_dev(_x((2,), 1)), eps=1e-1)
    dx = backend.asnumpy(batch_norm_train_backward(to_dev(_x((3, 2, 4, 4), 2)), cache)["x"])
    np.testing.assert_allclose(dx.sum(axis=(0, 2, 3)), 0, atol=1e-12)
