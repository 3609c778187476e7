"""Conv2d: float64 finite differences over drawn geometries, PyTorch parity, memory layout,
the cache stack, the shared workspace; on NumPy and the strict CuPy double. (The functional
pairs and the reference loop: tests/functional/test_conv_functional.py; bad inputs
and fuzzing: ``BAD_INPUTS`` and ``FUZZ`` below.)"""

import numpy as np
import pytest
from bad_inputs import Case, backward_after, bad_input_test, zeros
from fuzzing import (
    draw_image,
    finite,
    fuzz_test,
    host,
    maybe_list,
    on_device,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from minidl import backend, nn, no_grad
from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.functional.geometry import conv_output_size
from minidl.functional.workspace import Workspace
from minidl.gradcheck import gradcheck
from minidl.models.resnet import ResNet
from minidl.nn.conv import share_workspace


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _conv64(*args, **kw):
    with backend.default_dtype(np.float64):
        return nn.Conv2d(*args, **kw)


geometry = dict(
    n=st.integers(1, 2), c=st.integers(1, 2), o=st.integers(1, 3), h=st.integers(3, 5), w=st.integers(3, 5),
    k=st.sampled_from([1, 2, 3, (2, 3)]), stride=st.sampled_from([1, 2, (1, 2)]), padding=st.integers(0, 1),
    dilation=st.sampled_from([1, 2]), bias=st.booleans(),
)


@given(**geometry)
def test_conv2d_gradcheck(device, to_dev, n, c, o, h, w, k, stride, padding, dilation, bias):
    Ho, Wo = conv_output_size((h, w), k, stride, padding, dilation)
    assume(Ho >= 1 and Wo >= 1)
    m = _conv64(c, o, k, stride=stride, padding=padding, dilation=dilation, bias=bias).to(device)
    r = gradcheck(m, to_dev(_x((n, c, h, w))), randomize_params=True)
    assert r.ok, str(r)
    assert set(r.errors) == {"input 0", "weight"} | ({"bias"} if bias else set())


@pytest.mark.parametrize("groups,c,o", [(2, 2, 4), (2, 4, 2), (3, 3, 3)])
def test_conv2d_groups_gradcheck(device, to_dev, groups, c, o):
    m = _conv64(c, o, 3, stride=2, padding=1, groups=groups).to(device)
    r = gradcheck(m, to_dev(_x((2, c, 5, 4))), randomize_params=True)
    assert r.ok, str(r)


def test_output_is_channels_last_and_backward_accepts_any_layout(device, to_dev):
    m = nn.Conv2d(3, 4, 3, padding=1).to(device)
    x = to_dev(_x((2, 3, 5, 5)).astype(np.float32))
    y = m(x)
    assert y.shape == (2, 4, 5, 5) and y.dtype == np.float32
    assert y.strides[1] == 4  # channels are adjacent in memory
    dy = _x(y.shape, 3).astype(np.float32)
    dx_cl = backend.asnumpy(m.backward(to_dev(dy)))
    m(x)
    dx_nchw = backend.asnumpy(m.backward(to_dev(np.ascontiguousarray(dy))))
    np.testing.assert_allclose(dx_cl, dx_nchw, rtol=1e-6)


@pytest.mark.parametrize("cfg", [
    dict(k=3, stride=1, padding=1, dilation=1, groups=1, bias=False),
    dict(k=3, stride=2, padding=1, dilation=1, groups=1, bias=True),
    dict(k=(3, 2), stride=(2, 1), padding=(2, 0), dilation=(2, 1), groups=1, bias=True),
    dict(k=1, stride=2, padding=0, dilation=1, groups=1, bias=False),
    dict(k=3, stride=1, padding=1, dilation=1, groups=2, bias=True),
])
def test_conv2d_matches_pytorch(device, to_dev, cfg):
    torch = pytest.importorskip("torch")
    c, o = 4, 6
    tm = torch.nn.Conv2d(c, o, cfg["k"], cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"],
                         bias=cfg["bias"]).double()
    m = _conv64(c, o, cfg["k"], cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"], bias=cfg["bias"])
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    m.to(device)
    assert repr(m) == repr(tm)
    x = _x((2, c, 7, 6))
    tx = torch.tensor(x, requires_grad=True)
    ty = tm(tx)
    y = m(to_dev(x))
    np.testing.assert_allclose(backend.asnumpy(y), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = _x(y.shape, 5)
    ty.backward(torch.tensor(dy))
    dx = m.backward(to_dev(dy))
    np.testing.assert_allclose(backend.asnumpy(dx), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(backend.asnumpy(m.weight.grad), tm.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    if cfg["bias"]:
        np.testing.assert_allclose(backend.asnumpy(m.bias.grad), tm.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv2d_backward_adds_into_grads_and_pops_caches():
    m = _conv64(2, 3, 3, padding=1)
    x1, x2 = _x((1, 2, 4, 4), 1), _x((1, 2, 4, 4), 2)
    y1 = m(x1)
    m(x2)
    dy = _x(y1.shape, 3)
    dx2 = m.backward(dy)  # last call first
    dx1 = m.backward(dy)
    m2 = _conv64(2, 3, 3, padding=1)
    m2.load_state_dict(m.state_dict())
    m2(x1)
    np.testing.assert_allclose(dx1, m2.backward(dy))
    m2(x2)
    np.testing.assert_allclose(dx2, m2.backward(dy))
    np.testing.assert_allclose(m.weight.grad, m2.weight.grad)  # the sum of both calls
    with pytest.raises(RuntimeError, match="no forward cache"):
        m.backward(dy)


def test_default_init_matches_pytorch_bounds():
    m = nn.Conv2d(8, 16, 3)
    bound = 1 / np.sqrt(8 * 9)
    assert m.weight.data.dtype == np.float32
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.weight.data).max() > 0.8 * bound
    assert np.abs(m.bias.data).max() <= bound


def test_recycled_buffers_do_not_change_results(device, to_dev):
    """Steps that reuse the im2col buffer and the shared scratch give the same numbers as
    the first step, also after an inference pass and a batch of another size."""
    m = _conv64(2, 3, 3, stride=2, padding=1).to(device)
    x, dy = _x((2, 2, 6, 5), 1), _x((2, 3, 3, 3), 2)

    def step(xh, dyh):
        y = backend.asnumpy(m(to_dev(xh)))
        m.zero_grad()
        dx = backend.asnumpy(m.backward(to_dev(dyh)))
        return y, dx, backend.asnumpy(m.weight.grad).copy()

    first = step(x, dy)
    held = m.workspace.nbytes
    with no_grad():
        m(to_dev(_x((4, 2, 6, 5), 3)))  # a bigger inference batch: a one-off array, no growth
    assert m.workspace.nbytes == held
    step(_x((1, 2, 6, 5), 4), dy[:1])
    for _ in range(2):
        for a, b in zip(first, step(x, dy)):
            np.testing.assert_array_equal(a, b)


def test_two_calls_before_backward_share_the_workspace(device, to_dev):
    """Weight sharing: the second forward overwrites the workspace, yet both backwards are
    right, because each cache keeps its input and the backward recomputes the patches."""
    m = _conv64(2, 3, 3, padding=1).to(device)
    x1, x2, dy = _x((2, 2, 5, 5), 1), _x((2, 2, 5, 5), 2), _x((2, 3, 5, 5), 3)
    m(to_dev(x1))
    m(to_dev(x2))
    dx2, dx1 = backend.asnumpy(m.backward(to_dev(dy))), backend.asnumpy(m.backward(to_dev(dy)))
    alone = _conv64(2, 3, 3, padding=1).to(device)
    alone.load_state_dict(m.state_dict())
    for x, dx in [(x1, dx1), (x2, dx2)]:
        alone(to_dev(x))
        np.testing.assert_allclose(dx, backend.asnumpy(alone.backward(to_dev(dy))), rtol=1e-13, atol=1e-13)


def test_share_workspace_gives_every_conv_one_buffer():
    net = ResNet([1, 1], [4, 8], num_classes=3)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 6 and all(c.workspace is net.workspace for c in convs)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    net.backward(np.ones_like(net(x)))
    # the 8x8 layers (64 output rows per image, at least 4 per output column) go by
    # row-shifted products, the batch's 2 images in one group: two padded images (10, 10, 4),
    # their row windows (10·8, 3·4) and their (64, 4) products; the 4x4 and stride-2 layers by
    # im2col: the largest patch matrix (the 3x3
    # layer at 4x4 with 8 channels, the batch in one chunk: (2·16, 9·8)), the largest padded
    # chunk (the stride-2 layer's input, (2, 10, 10, 4)) and the offset block of the one
    # col2im (its input gradient, (2·4·4, 4))
    rows = 2 * (10 * 10 * 4 + 10 * 8 * 3 * 4 + 64 * 4)
    assert net.workspace.nbytes == (rows + 2 * 16 * 9 * 8 + 2 * 10 * 10 * 4 + 2 * 4 * 4 * 4) * 4
    ws = share_workspace(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3)))
    assert isinstance(ws, Workspace) and ws.nbytes == 0


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.Conv2d", "conv-kernel-0",
         lambda: nn.Conv2d(3, 4, 0),
         RangeError, r"Conv2d: kernel_size must be >= 1, got \(0, 0\)"),
    Case("nn.Conv2d", "conv-stride-0",
         lambda: nn.Conv2d(3, 4, 3, stride=0),
         RangeError, r"Conv2d: stride must be >= 1, got \(0, 0\)"),
    Case("nn.Conv2d", "conv-padding-neg",
         lambda: nn.Conv2d(3, 4, 3, padding=-1),
         RangeError, r"Conv2d: padding must be >= 0"),
    Case("nn.Conv2d", "conv-dilation-0",
         lambda: nn.Conv2d(3, 4, 3, dilation=(1, 0)),
         RangeError, r"Conv2d: dilation must be >= 1"),
    Case("nn.Conv2d", "conv-kernel-triple",
         lambda: nn.Conv2d(3, 4, (3, 3, 3)),
         RangeError, r"Conv2d: kernel_size must be an int or a pair of ints, got \(3, 3, 3\)"),
    Case("nn.Conv2d", "conv-kernel-float",
         lambda: nn.Conv2d(3, 4, 2.5),
         RangeError, "Conv2d: kernel_size must be an int or a pair of ints, got 2.5"),
    Case("nn.Conv2d", "conv-padding-same",
         lambda: nn.Conv2d(3, 4, 3, padding="same"),
         RangeError, "padding must be an int, a pair or"),
    Case("nn.Conv2d", "conv-padding-mode",
         lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"),
         RangeError, "padding_mode must be 'zeros'"),
    Case("nn.Conv2d", "conv-groups",
         lambda: nn.Conv2d(3, 4, 3, groups=2),
         RangeError, r"must be divisible by groups \(2\)"),
    Case("nn.Conv2d", "conv-groups-0",
         lambda: nn.Conv2d(4, 4, 3, groups=0),
         RangeError, "groups must be an int >= 1, got 0"),
    Case("nn.Conv2d", "conv-channels-0",
         lambda: nn.Conv2d(0, 4, 3),
         RangeError, "in_channels must be an int >= 1, got 0"),
    Case("nn.Conv2d", "conv-channels",
         lambda: nn.Conv2d(3, 4, 3)(zeros(2, 4, 5, 5)),
         ShapeError, r"Conv2d: input must have shape \(N, 3, H, W\), got \(2, 4, 5, 5\)"),
    Case("nn.Conv2d", "conv-3d",
         lambda: nn.Conv2d(3, 4, 3)(zeros(3, 5, 5)),
         ShapeError, r"\(N, 3, H, W\), got \(3, 5, 5\)"),
    Case("nn.Conv2d", "conv-too-small", lambda: nn.Conv2d(3, 4, 3)(zeros(1, 3, 2, 2)), ShapeError, "smaller than the"),
    Case("nn.Conv2d", "conv-int",
         lambda: nn.Conv2d(3, 4, 3)(zeros(1, 3, 5, 5, dtype=np.int64)),
         DTypeError, "Conv2d: input must have dtype float32 .*got int64"),
    Case("nn.Conv2d", "conv-float64",
         lambda: nn.Conv2d(3, 4, 3)(zeros(1, 3, 5, 5, dtype=np.float64)),
         DTypeError, "Conv2d: input must have dtype float32 .*got float64"),
    Case("nn.Conv2d", "conv-list",
         lambda: nn.Conv2d(1, 1, 1)([[[[1.0]]]]),
         DTypeError, "Conv2d: input must be an array .*list"),
    Case("nn.Conv2d", "conv-dy-shape",
         backward_after(nn.Conv2d(3, 4, 3), zeros(2, 3, 5, 5), zeros(2, 4, 3, 4)),
         ShapeError, r"Conv2d.backward: dy must have the output's shape \(2, 4, 3, 3\), got \(2, 4, 3, 4\)"),
    Case("nn.Conv2d", "conv-dy-list",
         backward_after(nn.Conv2d(1, 1, 1), zeros(1, 1, 1, 1), [[[[1.0]]]]),
         DTypeError, "Conv2d: dy must be an array"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_conv2d(data):
    from minidl.functional.conv import conv2d_reference_forward

    cin, cout = data.draw(st.integers(1, 2), label="C_in"), data.draw(st.integers(1, 2), label="C_out")
    k, stride, pad = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(0, 1)))
    layer = nn.Conv2d(cin, cout, k, stride=stride, padding=pad)
    x = draw_image(data, cin)
    device, (xd,) = on_device(data, x)
    layer.to(device)
    y = host(layer(maybe_list(data, xd)))
    want, _ = conv2d_reference_forward(x.astype(np.float64), host(layer.weight.data).astype(np.float64),
                                       host(layer.bias.data).astype(np.float64), stride=stride, padding=pad)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    dx = host(layer.backward(backend.to_device(np.ones(y.shape, np.float32), device)))
    assert dx.shape == x.shape
    if finite(x):
        assert finite(y) and finite(dx)


FUZZ = {"nn.Conv2d": fuzz_conv2d}
test_fuzz = fuzz_test(FUZZ)


def test_an_empty_batch_gives_empty_outputs_and_gradients(device, to_dev):
    """N = 0 on every device (found by the random-seed fuzz run: the chunk loop's step was 0
    where the whole batch is one chunk, on a GPU or with a multithreaded BLAS)."""
    conv = nn.Conv2d(2, 3, 3, padding=1)
    conv.to(device)
    x = to_dev(np.zeros((0, 2, 5, 5), dtype=np.float32))
    y = conv(x)
    assert y.shape == (0, 3, 5, 5)
    dx = conv.backward(to_dev(np.zeros((0, 3, 5, 5), dtype=np.float32)))
    assert dx.shape == (0, 2, 5, 5)
    assert float(abs(backend.asnumpy(conv.weight.grad)).max()) == 0.0
