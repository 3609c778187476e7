"""The convolution Conv2d runs (chunked im2col, the input gradient as a flipped-kernel
convolution, 1×1 kernels as one GEMM) equals the readable im2col pair in float64, forward
and backward, for every geometry and for chunks that split the batch unevenly."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minidl import backend
from minidl.functional import conv_fast
from minidl.functional.conv import Conv2dCache, conv2d_backward, conv2d_forward
from minidl.functional.conv_fast import conv2d_fast_backward, conv2d_fast_forward
from minidl.functional.geometry import conv_output_size, pair
from minidl.functional.workspace import Workspace


@pytest.fixture(autouse=True)
def _one_blas_thread(monkeypatch):
    """Chunks are cut only for a single-threaded BLAS: pretend it is one, whatever the machine."""
    monkeypatch.setattr(conv_fast, "blas_threads", lambda: 1)


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _both(to_dev, x, W, b, dy_seed=4, **options):
    """(forward, gradients) of the readable pair and of the fast pair, as host arrays."""
    dev_b = None if b is None else to_dev(b)
    y_ref, cache_ref = conv2d_forward(to_dev(x), to_dev(W), dev_b, **options)
    y, cache = conv2d_fast_forward(to_dev(x), to_dev(W), dev_b, workspace=Workspace(), **options)
    assert isinstance(cache, Conv2dCache) and y.shape == y_ref.shape
    dy = to_dev(_x(y.shape, dy_seed))
    grads_ref, grads = conv2d_backward(dy, cache_ref), conv2d_fast_backward(dy, cache)
    assert set(grads) == set(grads_ref)
    host = backend.asnumpy
    return (host(y_ref), {k: host(v) for k, v in grads_ref.items()}), (host(y), {k: host(v) for k, v in grads.items()})


def _assert_equal(ref, fast):
    np.testing.assert_allclose(fast[0], ref[0], rtol=1e-12, atol=1e-12, err_msg="y")
    for name in ref[1]:
        np.testing.assert_allclose(fast[1][name], ref[1][name], rtol=1e-11, atol=1e-12, err_msg=name)


@given(n=st.integers(1, 5), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(3, 7), w=st.integers(3, 7),
       k=st.sampled_from([1, 2, 3, (3, 2)]), stride=st.sampled_from([1, 2, (2, 1)]),
       padding=st.sampled_from([0, 1, 3, (2, 0)]), dilation=st.sampled_from([1, 2]), bias=st.booleans(),
       chunk=st.sampled_from([1, 40, 1 << 18]))
def test_fast_pair_equals_the_im2col_pair(device, to_dev, n, c, o, h, w, k, stride, padding, dilation, bias, chunk):
    """Every path (patches in chunks of one image or several, flipped-kernel input gradient,
    col2im for strides and over-padding, 1×1 GEMM) gives the im2col pair's numbers."""
    Ho, Wo = conv_output_size((h, w), k, stride, padding, dilation)
    assume(Ho >= 1 and Wo >= 1)
    kh, kw = pair(k, "k")
    x, W, b = _x((n, c, h, w), 1), _x((o, c, kh, kw), 2), _x((o,), 3) if bias else None
    old = conv_fast.CHUNK_FLOATS
    conv_fast.CHUNK_FLOATS = chunk  # 1: one image per chunk; 40: a few, the last chunk shorter
    try:
        ref, fast = _both(to_dev, x, W, b, stride=stride, padding=padding, dilation=dilation)
    finally:
        conv_fast.CHUNK_FLOATS = old
    _assert_equal(ref, fast)


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_resnet_layers_equal_the_im2col_pair(layout):
    """The ResNet shapes (3×3 stride 1 and 2, 1×1 stride-2 shortcut), on a contiguous NCHW
    input and on a channels-last one (what the previous layer hands over)."""
    x = _x((6, 4, 8, 8), 1)
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for (kh, stride, padding) in [(3, 1, 1), (3, 2, 1), (1, 2, 0), (1, 1, 0)]:
        ref, fast = _both(lambda a: a, x, _x((5, 4, kh, kh), 2), None, stride=stride, padding=padding)
        _assert_equal(ref, fast)


def test_groups_run_the_im2col_pair():
    x, W = _x((2, 4, 5, 5), 1), _x((6, 2, 3, 3), 2)
    ref, fast = _both(lambda a: a, x, W, _x((6,), 3), padding=1, groups=2)
    _assert_equal(ref, fast)


def test_float32_stays_float32_and_the_workspace_holds_one_chunk():
    """float32 in, float32 out (no float64 temporary), and the scratch memory is one chunk's
    patches, not the batch's."""
    x, W = _x((64, 8, 16, 16), 1).astype(np.float32), _x((8, 8, 3, 3), 2).astype(np.float32)
    ws = Workspace()
    y, cache = conv2d_fast_forward(x, W, padding=1, workspace=ws)
    grads = conv2d_fast_backward(np.ones(y.shape, np.float32), cache)
    assert y.dtype == grads["x"].dtype == grads["weight"].dtype == np.float32
    whole_batch_cols = 64 * 16 * 16 * 9 * 8 * 4
    assert ws.nbytes < whole_batch_cols / 3  # one chunk: a few of the 64 images


def test_a_multithreaded_blas_gets_the_whole_batch_in_one_chunk(monkeypatch):
    """With several BLAS threads (or off the CPU) one chunk is the whole batch: one large
    product instead of many small ones whose threads would wait for each other."""
    x = np.zeros((64, 8, 16, 16), np.float32)
    monkeypatch.setattr(conv_fast, "blas_threads", lambda: 2)
    assert conv_fast._images_per_chunk(x, 256, 72) == 64
    monkeypatch.setattr(conv_fast, "blas_threads", lambda: 1)
    assert conv_fast._images_per_chunk(x, 256, 72) == conv_fast.CHUNK_FLOATS // (256 * 72) < 64


def test_blas_threads_reads_the_environment(monkeypatch):
    monkeypatch.undo()  # the real function, not the fixture's stand-in
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert conv_fast.blas_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert conv_fast.blas_threads() == 1
