"""Conv2d: float64 finite differences over drawn geometries, im2col/col2im adjointness,
PyTorch parity, memory layout and error messages; on NumPy and the strict CuPy double."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minidl import backend, nn
from minidl.functional.conv import col2im, conv2d_backward, conv2d_forward, conv2d_output_size, im2col
from minidl.gradcheck import gradcheck


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
    Ho, Wo = conv2d_output_size(h, w, k, stride, padding, dilation)
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


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(2, 6), w=st.integers(2, 6),
       k=st.sampled_from([1, 2, 3]), stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 2))
def test_col2im_is_the_adjoint_of_im2col(device, to_dev, n, c, h, w, k, stride, padding, dilation):
    """⟨im2col(x), G⟩ = ⟨x, col2im(G)⟩ for every x, G: col2im is im2col transposed."""
    Ho, Wo = conv2d_output_size(h, w, k, stride, padding, dilation)
    assume(Ho >= 1 and Wo >= 1)
    x = _x((n, c, h, w), 1)
    cols, _ = im2col(to_dev(x), k, stride, padding, dilation)
    G = _x(cols.shape, 2)  # (M, k·k·C), columns ordered (i, j, c)
    G_offset_major = G.reshape(-1, k * k, c).transpose(1, 0, 2)  # (k·k, M, C), as col2im takes it
    dx = col2im(to_dev(np.ascontiguousarray(G_offset_major)), x.shape, k, stride, padding, dilation)
    lhs = float(np.sum(backend.asnumpy(cols) * G))
    rhs = float(np.sum(x * backend.asnumpy(dx)))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


def test_im2col_rows_are_patches():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    cols, (Ho, Wo) = im2col(x, 3, stride=1, padding=1)
    assert (Ho, Wo) == (4, 5) and cols.shape == (2 * 4 * 5, 9 * 3)
    xp_ = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    n, h, w = 1, 2, 3
    row = cols[(n * Ho + h) * Wo + w]  # column order (i, j, c)
    np.testing.assert_array_equal(row.reshape(3, 3, 3), xp_[n, :, h:h + 3, w:w + 3].transpose(1, 2, 0))


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


def test_functional_matches_direct_sum():
    """The GEMM equals the definition y[n,o,h,w] = b[o] + Σ W[o,c,i,j]·x̃[n,c,h·s+i·d,w·s+j·d]."""
    x, W, b = _x((2, 3, 6, 5), 1), _x((4, 3, 3, 2), 2), _x((4,), 3)
    s, p, d = 2, 1, 2
    y, _ = conv2d_forward(x, W, b, s, p, d)
    xp_ = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = y.shape[2:]
    ref = np.zeros_like(y) + b[None, :, None, None]
    for i in range(3):
        for j in range(2):
            patch = xp_[:, :, i * d:i * d + s * (Ho - 1) + 1:s, j * d:j * d + s * (Wo - 1) + 1:s]
            ref += np.einsum("oc,nchw->nohw", W[:, :, i, j], patch)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


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


def test_functional_can_skip_the_input_gradient():
    x, W = _x((2, 3, 5, 5)), _x((4, 3, 3, 3), 1)
    y, cache = conv2d_forward(x, W, padding=1)
    dx, dW, db = conv2d_backward(np.ones_like(y), cache, W, padding=1, need_bias=False, need_input_grad=False)
    assert dx is None and db is None and dW.shape == W.shape


def test_conv2d_errors():
    m = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, H, W\), got \(2, 4, 5, 5\)"):
        m(np.zeros((2, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\), got \(3, 5, 5\)"):
        m(np.zeros((3, 5, 5), np.float32))
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        m(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(TypeError, match="floating input"):
        m(np.zeros((1, 3, 5, 5), np.int64))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode='zeros' only"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=">= 1"):
        nn.Conv2d(3, 4, 3, stride=0)(np.zeros((1, 3, 5, 5), np.float32))


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
    from minidl import no_grad

    with no_grad():
        m(to_dev(_x((2, 2, 6, 5), 3)))
    step(_x((1, 2, 6, 5), 4), dy[:1])
    for _ in range(2):
        for a, b in zip(first, step(x, dy)):
            np.testing.assert_array_equal(a, b)
