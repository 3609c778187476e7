"""The convolution Conv2d runs (chunked im2col, row-shifted products, the input gradient as a
flipped-kernel convolution, 1×1 kernels as one GEMM) equals the readable im2col pair in
float64, forward and backward, for every geometry and for chunks that split the batch
unevenly."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minidl import backend
from minidl.errors import RangeError
from minidl.functional import conv_fast, conv_rows, host_threads
from minidl.functional.conv import Conv2dCache, conv2d_backward, conv2d_forward
from minidl.functional.conv_fast import conv2d_fast_backward, conv2d_fast_forward
from minidl.functional.geometry import conv_output_size, pair
from minidl.functional.workspace import Workspace


@pytest.fixture(autouse=True)
def _one_share(monkeypatch):
    """One share of the batch (one thread), whatever the machine's BLAS; the tests that split
    the batch over threads say so."""
    monkeypatch.setattr(host_threads, "host_workers", lambda like: 1)


def _threads(monkeypatch, n):
    """Split the work over ``n`` threads (the real pool), however small it is."""
    monkeypatch.setattr(host_threads, "host_workers", lambda like: n)
    monkeypatch.setattr(host_threads, "MIN_SHARE", 1)


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
       chunk=st.sampled_from([1, 40, 1 << 18]), rows=st.booleans())
def test_fast_pair_equals_the_im2col_pair(device, to_dev, n, c, o, h, w, k, stride, padding, dilation, bias, chunk,
                                          rows):
    """Every path (patches in chunks of one image or several, row-shifted products for
    vertical stride 1, flipped-kernel input gradient, col2im for strides and over-padding,
    1×1 GEMM) gives the im2col pair's numbers."""
    Ho, Wo = conv_output_size((h, w), k, stride, padding, dilation)
    assume(Ho >= 1 and Wo >= 1)
    kh, kw = pair(k, "k")
    x, W, b = _x((n, c, h, w), 1), _x((o, c, kh, kw), 2), _x((o,), 3) if bias else None
    old = conv_fast.CHUNK_FLOATS, conv_fast.ROWS_PER_OUTPUT, conv_fast._row_shifted
    # 1: one image per chunk; 40: a few, the last chunk shorter (no floor of rows per output);
    # rows: every layer with vertical stride 1 by row-shifted products, or none
    conv_fast.CHUNK_FLOATS, conv_fast.ROWS_PER_OUTPUT = chunk, 0
    if not rows:
        conv_fast._row_shifted = lambda geo, like, outputs: False
    try:
        ref, fast = _both(to_dev, x, W, b, stride=stride, padding=padding, dilation=dilation)
    finally:
        conv_fast.CHUNK_FLOATS, conv_fast.ROWS_PER_OUTPUT, conv_fast._row_shifted = old
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


def test_chunks_are_cut_on_the_cpu_whatever_the_blas_threads():
    """Each thread works through cache-sized chunks of its own share with a single-threaded
    BLAS, so the chunk size no longer depends on BLAS's thread count."""
    x = np.zeros((64, 8, 16, 16), np.float32)
    assert conv_fast._images_per_chunk(x, 256, 72, 8) == conv_fast.CHUNK_FLOATS // (256 * 72) < 64


def test_a_wide_layer_takes_enough_rows_per_chunk():
    """At least ROWS_PER_OUTPUT rows per output column: ResNet-34's last stage (4×4 images,
    K = 9·512, O = 512) takes its batch in one product, not one product per image (which
    re-reads the 9 MiB of weights 128 times); a narrow layer keeps cache-sized chunks."""
    x = np.zeros((128, 512, 4, 4), np.float32)
    assert conv_fast.CHUNK_FLOATS // (16 * 4608) == 1  # the cache alone: one image per chunk
    assert conv_fast._images_per_chunk(x, 16, 4608, 512) == 128  # 4·512 rows = 128 images
    assert conv_fast._images_per_chunk(x[:40], 16, 4608, 512) == 40  # never past the batch
    assert conv_fast._images_per_chunk(x, 16, 4608, 100) == 25  # ⌈4·100 / 16⌉
    assert conv_fast._images_per_chunk(x, 1024, 144, 16) == 1  # ResNet-20's first stage


def test_row_windows_and_shifted_products_are_the_convolution():
    """R holds each padded row's horizontal windows, kernel row i reads R from row i·d_h·Wo
    on, and the kh products added are the convolution (here against the readable pair, with
    padding, a horizontal stride and dilation in both directions, on a channels-first input
    and on a channels-last one without padding), in groups of 1, 2 and 3 images of 3."""
    x, W = _x((3, 3, 7, 9), 1), _x((4, 3, 2, 3), 2)
    w_t = W.transpose(2, 3, 1, 0).reshape(2 * 3 * 3, 4)
    blocks = [w_t[:9], w_t[9:]]
    for options, src in [(dict(stride=(1, 2), padding=(1, 2), dilation=(2, 1)), x.transpose(0, 2, 3, 1)),
                         (dict(dilation=(2, 1)), np.ascontiguousarray(x.transpose(0, 2, 3, 1)))]:
        y_ref, _ = conv2d_forward(x, W, **options)
        geo = conv_fast.conv_geometry(x.shape, (2, 3), **options)
        (Ho, Wo), (ph, pw) = geo.out, geo.padding
        for images, groups in [(1, [(0, 1), (1, 2), (2, 3)]), (2, [(0, 2), (2, 3)]), (3, [(0, 3)])]:
            seen = []
            for n0, n1, views in conv_rows.row_windows(src, geo, Workspace(), images):
                seen.append((n0, n1))
                assert len(views) == 2 and views[0].shape == views[1].shape == (n1 - n0, Ho * Wo, 9)
                assert np.shares_memory(views[0], views[1])  # two views of one copy, 2·Wo rows apart
                for n in range(n0, n1):
                    padded = np.pad(x[n], ((0, 0), (ph, ph), (pw, pw)))
                    b = [2 * geo.stride[1] + j * geo.dilation[1] for j in range(3)]  # output column w = 2
                    for i in range(2):  # kernel row i, output row h = 1: padded row a = 1 + i·d_h
                        assert np.array_equal(views[i][n - n0, 1 * Wo + 2], padded[:, 1 + 2 * i, b].T.ravel())
                out = np.empty((n1 - n0, Ho * Wo, 4))
                conv_rows.shifted_products(views, blocks, out, np.empty_like(out))
                np.testing.assert_allclose(out.reshape(-1, Ho, Wo, 4).transpose(0, 3, 1, 2), y_ref[n0:n1],
                                           rtol=1e-12, atol=1e-12)
            assert seen == groups


def test_row_windows_refuse_a_vertical_stride():
    geo = conv_fast.conv_geometry((1, 1, 5, 5), 3, stride=(2, 1))
    with pytest.raises(RangeError, match="vertical stride 1"):
        next(conv_rows.row_windows(np.zeros((1, 5, 5, 1)), geo, Workspace()))


def test_which_layers_take_row_shifted_products(monkeypatch):
    """ResNet's 3×3 stride-1 layers on 32×32 and 16×16 images (at least 4 output rows per
    output column) go by row-shifted products, forward and backward; 8×8 images with 64
    channels, stride 2 and 1×1 layers keep im2col (or the plain GEMM)."""
    calls = []  # the images of each call
    real = conv_rows.shifted_products
    monkeypatch.setattr(conv_rows, "shifted_products", lambda *a: (calls.append(a[2].shape[0]), real(*a))[1])
    for x_shape, w_shape, options, used in [((2, 16, 32, 32), (16, 16, 3, 3), dict(padding=1), True),
                                            ((2, 32, 16, 16), (32, 32, 3, 3), dict(padding=1), True),
                                            ((2, 64, 8, 8), (64, 64, 3, 3), dict(padding=1), False),
                                            ((2, 16, 32, 32), (16, 16, 3, 3), dict(padding=1, stride=2), False),
                                            ((2, 16, 32, 32), (16, 16, 1, 1), {}, False)]:
        calls.clear()
        x, W = _x(x_shape, 1).astype(np.float32), _x(w_shape, 2).astype(np.float32)
        y, cache = conv2d_fast_forward(x, W, workspace=Workspace(), **options)
        forward = sum(calls)
        conv2d_fast_backward(np.ones(y.shape, np.float32), cache)
        assert (forward, sum(calls)) == ((2, 4) if used else (0, 0)), (x_shape, options)  # every image, each way


def test_row_groups_are_as_many_images_as_fill_a_chunk(monkeypatch):
    """A group of images for the row-shifted products holds as many images' windows R
    (Hp·Wo rows of kw·C numbers each) as fit in CHUNK_FLOATS: for 16×16 images padded to
    18 rows and 8 channels, 2¹⁷ // (18·16·24) = 18 images, forward and backward."""
    groups = []
    real = conv_rows.row_windows
    monkeypatch.setattr(conv_rows, "row_windows", lambda *a: (groups.append(a[3]), real(*a))[1])
    x, W = _x((64, 8, 16, 16), 1).astype(np.float32), _x((8, 8, 3, 3), 2).astype(np.float32)
    y, cache = conv2d_fast_forward(x, W, padding=1, workspace=Workspace())
    conv2d_fast_backward(np.ones(y.shape, np.float32), cache)
    assert groups == [conv_fast.CHUNK_FLOATS // (18 * 16 * 24)] * 2 == [18, 18]


SHARE_CASES = [  # (x shape, weight shape, options): every path of the fast pair
    ((7, 3, 9, 9), (4, 3, 3, 3), dict(padding=1)),  # stride 1: flipped-kernel input gradient
    ((7, 3, 9, 9), (4, 3, 3, 3), dict(stride=2, padding=1)),  # strided: col2im, chunked weight gradient
    ((7, 3, 9, 9), (4, 3, 1, 1), dict(stride=2)),  # 1×1 stride 2
    ((7, 3, 9, 9), (4, 3, 1, 1), {}),  # 1×1 stride 1
    ((5, 2, 6, 6), (3, 2, 2, 3), dict(padding=(1, 0), dilation=2)),
]


@pytest.mark.parametrize("workers", [2, 3, 8])
@pytest.mark.parametrize("case", range(len(SHARE_CASES)))
def test_shares_on_threads_equal_the_im2col_pair(monkeypatch, workers, case):
    """The batch cut into pieces of one or two images, taken by 2, 3 and up to 8 threads (as
    many as pieces), each piece in chunks of one image or a few, on the real pool with BLAS
    limited to one thread: the im2col pair's numbers in float64."""
    _threads(monkeypatch, workers)
    x_shape, w_shape, options = SHARE_CASES[case]
    x, W, b = _x(x_shape, 1), _x(w_shape, 2), _x((w_shape[0],), 3)
    monkeypatch.setattr(conv_fast, "ROWS_PER_OUTPUT", 0)
    row_shifted = conv_fast._row_shifted
    for chunk, rows in [(1, True), (1, False), (200, False)]:
        monkeypatch.setattr(conv_fast, "CHUNK_FLOATS", chunk)
        monkeypatch.setattr(conv_fast, "_row_shifted", row_shifted if rows else lambda geo, like, outputs: False)
        ref, fast = _both(lambda a: a, x, W, b, **options)
        _assert_equal(ref, fast)


def test_a_resnet_layer_is_split_over_the_threads(monkeypatch):
    """ResNet-20's first-stage layer at batch 8 passes over about 10⁶ patch numbers, forward
    and backward: enough for two threads (host_threads.MIN_SHARE, unpatched here), so both
    halves of the step run on both; the count of numbers is what decides it."""
    monkeypatch.setattr(host_threads, "host_workers", lambda like: 2)
    counts = []

    def counted(work, split):
        counts.append(split.threads)
        return host_threads.run_shares(work, split)
    monkeypatch.setattr(conv_fast, "run_shares", counted)
    x, W = _x((8, 16, 32, 32), 1).astype(np.float32), _x((16, 16, 3, 3), 2).astype(np.float32)
    y, cache = conv2d_fast_forward(x, W, padding=1, workspace=Workspace())
    conv2d_fast_backward(np.ones(y.shape, np.float32), cache)
    assert counts == [2, 2]


def test_threads_give_the_same_bits_every_run(monkeypatch):
    """Three threads, float32, ten runs: bit-identical outputs and gradients (the weight
    gradient's six partial sums, one per piece, are added in piece order, not in the
    order the threads take or end them)."""
    _threads(monkeypatch, 3)
    monkeypatch.setattr(conv_fast, "CHUNK_FLOATS", 1 << 12)
    monkeypatch.setattr(conv_fast, "ROWS_PER_OUTPUT", 0)
    x, W = _x((16, 8, 12, 12), 1).astype(np.float32), _x((8, 8, 3, 3), 2).astype(np.float32)
    dy = _x((16, 8, 12, 12), 3).astype(np.float32)
    runs = []
    for _ in range(10):
        y, cache = conv2d_fast_forward(x, W, padding=1, workspace=Workspace())
        g = conv2d_fast_backward(dy, cache)
        runs.append((y.copy(), g["x"].copy(), g["weight"].copy()))
    for run in runs[1:]:
        for got, first in zip(run, runs[0]):
            assert np.array_equal(got, first)


def test_one_blas_thread_runs_one_share_on_the_calling_thread(monkeypatch):
    """``OPENBLAS_NUM_THREADS=1`` (here ``threadpool_limits(1)``, as an MPI rank beside another
    would be): every call is one share, run directly, so nothing waits on a second core."""
    from threadpoolctl import threadpool_limits

    if not host_threads._blas_libraries():
        pytest.skip("no BLAS library that threadpoolctl can see")
    monkeypatch.undo()  # the real host_workers
    monkeypatch.setattr(host_threads, "MIN_SHARE", 1)
    counts = []

    def counted(work, split):
        counts.append(split.threads)
        return host_threads.run_shares(work, split)
    monkeypatch.setattr(conv_fast, "run_shares", counted)
    x, W = _x((4, 3, 8, 8), 1), _x((5, 3, 3, 3), 2)
    with threadpool_limits(limits=1, user_api="blas"):
        for stride in (1, 2):
            y, cache = conv2d_fast_forward(x, W, padding=1, stride=stride, workspace=Workspace())
            conv2d_fast_backward(np.ones(y.shape), cache)
    assert counts and set(counts) == {1}
    with threadpool_limits(limits=2, user_api="blas"):
        y, cache = conv2d_fast_forward(x, W, padding=1, workspace=Workspace())
    assert counts[-1] == 2
