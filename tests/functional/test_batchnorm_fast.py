"""The train-mode BatchNorm the layers run (x − μ cached, long rows) equals the readable pair
of minidl.functional.batchnorm in float64: outputs, batch statistics and every gradient, for
every input rank and memory layout, with and without γ and β, and for batch sizes that do and
do not split into long rows, on one thread or with the rows split over several."""

import numpy as np
import pytest

from minidl import backend
from minidl.errors import ShapeError
from minidl.functional import batchnorm, batchnorm_fast, host_threads
from minidl.functional.batchnorm import batch_norm_train_backward, batch_norm_train_forward
from minidl.functional.batchnorm_fast import BatchNormFastCache, batch_norm_fast_backward, batch_norm_fast_forward


@pytest.fixture(autouse=True)
def _one_share(monkeypatch):
    """One thread, whatever the machine's BLAS; the tests that split the rows say so."""
    monkeypatch.setattr(host_threads, "host_workers", lambda like: 1)


def _threads(monkeypatch, n):
    """Split the work over ``n`` threads (the real pool), however small it is."""
    monkeypatch.setattr(host_threads, "host_workers", lambda like: n)
    monkeypatch.setattr(host_threads, "MIN_SHARE", 1)


def _x(shape, seed=0, scale=1.0, shift=0.0):
    return shift + scale * np.random.default_rng(seed).standard_normal(shape)


def _channels_last(a):
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)) if a.ndim > 2 else a


@pytest.mark.parametrize("shape", [(7, 3), (6, 3, 5), (4, 3, 4, 4), (3, 5, 3, 5), (64, 2, 4, 4)])
@pytest.mark.parametrize("params", ["both", "weight only", "none"])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_fast_pair_equals_the_readable_pair(device, to_dev, monkeypatch, shape, params, layout, workers):
    """Also with the long rows split over 2 and 3 threads (the real pool; more threads than
    rows for the smallest shapes)."""
    _threads(monkeypatch, workers)
    C = shape[1]
    x, dy = _x(shape, 1, 2.0, 3.0), _x(shape, 2)
    if layout == "channels_last":  # what a convolution hands over: (N, C, H, W) view of (N, H, W, C)
        x, dy = (np.moveaxis(_channels_last(a), -1, 1) for a in (x, dy))
    w = to_dev(_x((C,), 3, 0.5, 1.0)) if params != "none" else None
    b = to_dev(_x((C,), 4)) if params == "both" else None
    y_ref, c_ref = batch_norm_train_forward(to_dev(x), w, b, eps=1e-5)
    y, cache = batch_norm_fast_forward(to_dev(x), w, b, eps=1e-5)
    assert isinstance(cache, BatchNormFastCache) and y.shape == x.shape
    host = backend.asnumpy
    np.testing.assert_allclose(host(y), host(y_ref), rtol=1e-12, atol=1e-12)
    for name in ("batch_mean", "batch_var"):
        np.testing.assert_allclose(host(getattr(cache, name)), host(getattr(c_ref, name)), rtol=1e-12, err_msg=name)
    g_ref, g = batch_norm_train_backward(to_dev(dy), c_ref), batch_norm_fast_backward(to_dev(dy), cache)
    assert set(g) == set(g_ref)
    for name in g:
        np.testing.assert_allclose(host(g[name]), host(g_ref[name]), rtol=1e-11, atol=1e-12, err_msg=name)


def test_long_rows_are_cut_only_where_they_fit():
    """t pixels per row: a power of two dividing M, up to ROW_LENGTH numbers per row."""
    assert batchnorm_fast._repeat(np.zeros((131072, 16))) == batchnorm_fast.ROW_LENGTH // 16
    assert batchnorm_fast._repeat(np.zeros((12, 16))) == 4
    assert batchnorm_fast._repeat(np.zeros((7, 3))) == 1
    assert batchnorm_fast._repeat(np.zeros((8, 4096))) == 1


def test_float32_stays_float32():
    x = _x((8, 4, 4, 4), 1).astype(np.float32)
    y, cache = batch_norm_fast_forward(x, np.ones(4, np.float32), np.zeros(4, np.float32))
    g = batch_norm_fast_backward(np.ones_like(y), cache)
    assert y.dtype == cache.x_centered.dtype == cache.rstd.dtype == np.float32
    assert all(v.dtype == np.float32 for v in g.values())


def test_one_value_per_channel_is_refused():
    with pytest.raises(ShapeError, match="more than 1 value per channel"):
        batch_norm_fast_forward(np.zeros((1, 3, 1, 1)))


def test_the_fast_pair_calls_the_fused_functions():
    """The NumPy path runs the functions that are one kernel each on a GPU."""
    calls = []
    real = batchnorm_fast.scale_shift, batchnorm_fast.batch_norm_dx
    try:
        batchnorm_fast.scale_shift = lambda *a: (calls.append("forward"), real[0](*a))[1]
        batchnorm_fast.batch_norm_dx = lambda *a: (calls.append("dx"), real[1](*a))[1]
        y, cache = batch_norm_fast_forward(_x((4, 3, 2, 2)), np.ones(3), np.zeros(3))
        batch_norm_fast_backward(np.ones_like(y), cache)
    finally:
        batchnorm_fast.scale_shift, batchnorm_fast.batch_norm_dx = real
    assert calls == ["forward", "dx"] and real[1] is batchnorm.batch_norm_dx


def test_threads_give_the_same_bits_every_run(monkeypatch):
    """Three threads, float32, ten runs: bit-identical outputs, statistics and gradients (the
    shares' partial sums are added in share order)."""
    _threads(monkeypatch, 3)
    x, dy = _x((32, 16, 8, 8), 1, 2.0, 3.0).astype(np.float32), _x((32, 16, 8, 8), 2).astype(np.float32)
    w, b = _x((16,), 3).astype(np.float32), _x((16,), 4).astype(np.float32)
    runs = []
    for _ in range(10):
        y, cache = batch_norm_fast_forward(x, w, b)
        g = batch_norm_fast_backward(dy, cache)
        runs.append([y, cache.batch_mean, cache.batch_var, g["x"], g["weight"], g["bias"]])
    for run in runs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(run, runs[0]))
