"""The convolution's functional pairs: im2col/col2im adjointness, the fast pair against the
plain reference loop (forward and backward) and the reference against finite differences,
the functional contract (cache, gradient keys), the workspace, and the geometry helpers."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minidl import backend
from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.functional.conv import (
    Conv2dCache,
    col2im,
    conv2d_backward,
    conv2d_forward,
    conv2d_reference_backward,
    conv2d_reference_forward,
    im2col,
)
from minidl.functional.geometry import conv_geometry, conv_output_size, pair
from minidl.functional.workspace import Workspace
from minidl.gradcheck import gradcheck
from minidl.module import Module, Parameter


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


class PairModule(Module):
    """A functional pair as a Module, so that ``minidl.gradcheck`` checks the bare pair."""

    def __init__(self, forward, backward, params, **options):
        super().__init__()
        self._functions = (forward, backward, options)
        self._names = list(params)
        for name, value in params.items():
            setattr(self, name, None if value is None else Parameter(value))

    def forward(self, x):
        forward, _, options = self._functions
        args = [None if getattr(self, n) is None else getattr(self, n).data for n in self._names]
        y, cache = forward(x, *args, **options)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        grads = self._functions[1](dy, self.saved())
        self.accumulate_grads(grads)
        return grads["x"]


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(2, 6), w=st.integers(2, 6),
       k=st.sampled_from([1, 2, 3]), stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 2))
def test_col2im_is_the_adjoint_of_im2col(device, to_dev, n, c, h, w, k, stride, padding, dilation):
    """⟨im2col(x), G⟩ = ⟨x, col2im(G)⟩ for every x, G: col2im is im2col transposed."""
    Ho, Wo = conv_output_size((h, w), k, stride, padding, dilation)
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


def test_functional_matches_direct_sum_with_dilation():
    """The GEMM equals the definition y[n,o,h,w] = b[o] + Σ W[o,c,i,j]·x̃[n,c,h·s+i·d,w·s+j·d]
    (the reference loop has no dilation: this covers it)."""
    x, W, b = _x((2, 3, 6, 5), 1), _x((4, 3, 3, 2), 2), _x((4,), 3)
    s, p, d = 2, 1, 2
    y, _ = conv2d_forward(x, W, b, stride=s, padding=p, dilation=d)
    xp_ = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = y.shape[2:]
    ref = np.zeros_like(y) + b[None, :, None, None]
    for i in range(3):
        for j in range(2):
            patch = xp_[:, :, i * d:i * d + s * (Ho - 1) + 1:s, j * d:j * d + s * (Wo - 1) + 1:s]
            ref += np.einsum("oc,nchw->nohw", W[:, :, i, j], patch)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


SHARED = Workspace()


@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(3, 6), w=st.integers(3, 6),
       k=st.sampled_from([1, 2, 3, (3, 2)]), stride=st.sampled_from([1, 2, (2, 1)]),
       padding=st.sampled_from([0, 1, (2, 0)]), bias=st.booleans(), shared=st.booleans())
def test_fast_pair_equals_the_reference_loop(device, to_dev, n, c, o, h, w, k, stride, padding, bias, shared):
    """im2col + GEMM (with or without a workspace) = the textbook loop, forward and backward.
    The workspace is shared by all examples, so its buffers hold the last geometry's numbers."""
    Ho, Wo = conv_output_size((h, w), k, stride, padding)
    assume(Ho >= 1 and Wo >= 1)
    kh, kw = pair(k, "k")
    x, W, b, dy = _x((n, c, h, w), 1), _x((o, c, kh, kw), 2), _x((o,), 3) if bias else None, _x((n, o, Ho, Wo), 4)
    dev_b = None if b is None else to_dev(b)
    workspace = SHARED if shared else None
    y, cache = conv2d_forward(to_dev(x), to_dev(W), dev_b, stride=stride, padding=padding, workspace=workspace)
    y_ref, cache_ref = conv2d_reference_forward(to_dev(x), to_dev(W), dev_b, stride=stride, padding=padding)
    np.testing.assert_allclose(backend.asnumpy(y), backend.asnumpy(y_ref), rtol=1e-12, atol=1e-12)
    grads = conv2d_backward(to_dev(dy), cache)
    grads_ref = conv2d_reference_backward(to_dev(dy), cache_ref)
    assert set(grads) == set(grads_ref) == {"x", "weight"} | ({"bias"} if bias else set())
    for name in grads:
        np.testing.assert_allclose(backend.asnumpy(grads[name]), backend.asnumpy(grads_ref[name]),
                                   rtol=1e-11, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("k,stride,padding,bias", [(3, 1, 1, True), ((2, 3), (2, 1), (1, 0), False), (1, 2, 0, True)])
def test_reference_pair_gradcheck(device, to_dev, k, stride, padding, bias):
    kh, kw = pair(k, "k")
    params = {"weight": to_dev(_x((3, 2, kh, kw), 1)), "bias": to_dev(_x((3,), 2)) if bias else None}
    m = PairModule(conv2d_reference_forward, conv2d_reference_backward, params, stride=stride, padding=padding)
    r = gradcheck(m, to_dev(_x((2, 2, 5, 4))))
    assert r.ok, str(r)
    assert set(r.errors) == {"input 0", "weight"} | ({"bias"} if bias else set())


@pytest.mark.parametrize("groups,dilation", [(1, 2), (2, 1), (3, 2)])
def test_fast_pair_gradcheck_with_groups_and_dilation(device, to_dev, groups, dilation):
    params = {"weight": to_dev(_x((3 * groups, 2, 3, 2), 1)), "bias": to_dev(_x((3 * groups,), 2))}
    m = PairModule(conv2d_forward, conv2d_backward, params, stride=(2, 1), padding=1, dilation=dilation,
                   groups=groups, workspace=Workspace())
    r = gradcheck(m, to_dev(_x((2, 2 * groups, 6, 5))))
    assert r.ok, str(r)


def test_cache_keeps_the_input_not_the_column_matrix():
    x, W = _x((2, 3, 6, 6)), _x((4, 3, 3, 3), 1)
    y, cache = conv2d_forward(x, W, stride=1, padding=1)
    assert isinstance(cache, Conv2dCache) and cache.x is x and cache.weight is W and not cache.has_bias
    assert cache.output_shape == y.shape == (2, 4, 6, 6)
    big = [f for f in cache if hasattr(f, "nbytes") and f.nbytes > x.nbytes]
    assert big == [], "the cache holds an array larger than the input (the im2col matrix?)"


def test_workspace_is_reused_and_results_do_not_depend_on_it():
    """A shared workspace holds the largest layer's matrix; a second layer reuses it, and the
    numbers equal those computed with fresh arrays, also after the buffer was overwritten."""
    ws = Workspace()
    x1, W1 = _x((2, 3, 8, 8)), _x((4, 3, 3, 3), 1)
    x2, W2 = _x((2, 4, 8, 8), 2), _x((5, 4, 3, 3), 3)
    y1, c1 = conv2d_forward(x1, W1, padding=1, workspace=ws)
    held = ws.nbytes
    y2, c2 = conv2d_forward(x2, W2, padding=1, workspace=ws)  # overwrites the first layer's columns
    # the larger im2col matrix (2·8·8, 3·3·4) and padded input (2, 10, 10, 4), float64
    assert ws.nbytes == (2 * 8 * 8 * 9 * 4 + 2 * 10 * 10 * 4) * 8
    assert held <= ws.nbytes
    dy2, dy1 = _x(y2.shape, 4), _x(y1.shape, 5)
    g2, g1 = conv2d_backward(dy2, c2), conv2d_backward(dy1, c1)
    f1, fc1 = conv2d_forward(x1, W1, padding=1)
    np.testing.assert_array_equal(y1, f1)
    for name, g in conv2d_backward(dy1, fc1).items():
        np.testing.assert_array_equal(g1[name], g, err_msg=name)
    assert g2["x"].shape == x2.shape and g2["weight"].shape == W2.shape


def test_fixed_workspace_does_not_grow():
    ws = Workspace()
    small = np.zeros(3)
    ws.array("cols", (2, 3), small)
    one_off = ws.fixed().array("cols", (4, 5), small)
    assert one_off.shape == (4, 5) and ws.nbytes == 6 * 8
    assert ws.fixed().array("cols", (3,), small).base is not None  # fits: a view of the buffer
    ws.clear()
    assert ws.nbytes == 0


def test_geometry_helpers():
    assert pair(3, "k") == (3, 3) and pair((2, 1), "k") == (2, 1) and pair(np.int64(2), "k") == (2, 2)
    assert conv_output_size((32, 32), 3, 1, 1) == (32, 32)
    assert conv_output_size((32, 31), 3, 2, 1) == (16, 16)
    assert conv_output_size((7, 7), 3, 1, 0, 2) == (3, 3)
    g = conv_geometry((1, 1, 5, 6), (3, 2), stride=(2, 1), padding=1)
    assert (g.kernel, g.stride, g.padding, g.dilation, g.out) == ((3, 2), (2, 1), (1, 1), (1, 1), (3, 7))


@pytest.mark.parametrize("call,error,match", [
    (lambda: pair((1, 2, 3), "stride"), RangeError, r"stride must be an int or a pair of ints, got \(1, 2, 3\)"),
    (lambda: pair(1.5, "kernel_size"), RangeError, "kernel_size must be an int or a pair of ints, got 1.5"),
    (lambda: conv_geometry((1, 1, 5, 5), 0), RangeError, r"kernel_size must be >= 1, got \(0, 0\)"),
    (lambda: conv_geometry((1, 1, 5, 5), 3, stride=(1, 0)), RangeError, r"stride must be >= 1, got \(1, 0\)"),
    (lambda: conv_geometry((1, 1, 5, 5), 3, padding=-1), RangeError, r"padding must be >= 0, got \(-1, -1\)"),
    (lambda: conv_geometry((1, 1, 5, 5), 3, dilation=0), RangeError, r"dilation must be >= 1"),
    (lambda: conv_geometry((1, 1, 2, 2), 3), ShapeError, r"spatial size \(2, 2\).*smaller"),
    (lambda: conv2d_forward(np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 3, 3), np.float32)), DTypeError,
     "weight's dtype float32, got float64"),
    (lambda: conv2d_forward(np.zeros((1, 2, 4, 4)), np.zeros((3, 1, 3, 3)), groups=2), RangeError,
     "groups must be an int >= 1 that divides out_channels 3, got 2"),
    (lambda: conv2d_forward(np.zeros((1, 3, 4, 4)), np.zeros((3, 2, 3, 3))), ShapeError,
     r"x must have shape \(N, 2, H, W\)"),
    (lambda: conv2d_forward(np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 3, 3)), np.zeros(2)), ShapeError,
     r"bias must have shape \(3,\), got \(2,\)"),
    (lambda: conv2d_forward([[1.0]], np.zeros((3, 2, 3, 3))), DTypeError, "x must be an array"),
])
def test_functional_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
