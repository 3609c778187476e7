"""BasicBlock: float64 finite differences (random direction) with and without shortcut and
projection, and the gradient through the identity path; NumPy and the strict CuPy double."""

import numpy as np
from bad_inputs import Case, backward_after, bad_input_test, zeros
from helpers import randomize_convnet
from hypothesis import given
from hypothesis import strategies as st

from minidl import backend, nn
from minidl.errors import ShapeError
from minidl.gradcheck import gradcheck


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _double(build):
    with backend.default_dtype(np.float64):
        return build()


@given(cin=st.integers(1, 2), cout=st.integers(1, 3), stride=st.integers(1, 2), shortcut=st.booleans(),
       hw=st.sampled_from([(4, 4), (5, 4), (5, 5)]))
def test_basic_block_gradcheck(device, to_dev, cin, cout, stride, shortcut, hw):
    m = _double(lambda: nn.BasicBlock(cin, cout, stride, shortcut=shortcut)).to(device)
    assert m.projection == (shortcut and (stride != 1 or cin != cout))
    randomize_convnet(m, seed=cin * 100 + cout * 10 + stride)
    r = gradcheck(m, to_dev(_x((2, cin) + hw)), mode="direction")
    assert r.ok, str(r)  # including: every tensor's gradient is non-zero (gradcheck's guard)
    n_params = 6 + (3 if m.projection else 0)  # conv, bn weight+bias twice; projection conv + bn
    assert len(r.errors) == 1 + n_params


def test_identity_block_passes_the_gradient_through_the_skip(device, to_dev):
    """With the residual branch's last BN scaled to 0, F ≡ 0 and the block is ReLU(x): its
    input gradient is dy wherever x > 0, whatever conv₁, conv₂ hold."""
    m = _double(lambda: nn.BasicBlock(2, 2)).to(device)
    m.bn2.weight.data[...] = 0
    m.bn2.bias.data[...] = 0
    x = np.abs(_x((2, 2, 4, 4))) + 0.1
    y = m(to_dev(x))
    np.testing.assert_allclose(backend.asnumpy(y), x, rtol=1e-12)
    dy = _x(x.shape, 1)
    np.testing.assert_allclose(backend.asnumpy(m.backward(to_dev(dy))), dy, rtol=1e-12)


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.BasicBlock", "block-channels",
         lambda: nn.BasicBlock(2, 4)(zeros(1, 3, 4, 4)),
         ShapeError, r"Conv2d: input must have shape \(N, 2, H, W\)"),
    Case("nn.BasicBlock", "block-dy",
         backward_after(nn.BasicBlock(2, 2), zeros(2, 2, 4, 4), zeros(2, 2, 4, 5)),
         ShapeError, r"BasicBlock.backward: dy must have the output's shape \(2, 2, 4, 4\)"),
]
test_bad_input = bad_input_test(BAD_INPUTS)
