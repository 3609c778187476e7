"""Embedding: finite differences of the table (repeated ids sum), PyTorch parity (padding
row included), and the padding rule."""

import numpy as np
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

import minidl
from minidl import nn


@given(v=st.integers(2, 6), e=st.integers(1, 4), n=st.integers(1, 3), t=st.integers(1, 4), pad=st.booleans())
def test_layer(v, e, n, t, pad):
    # The padding row is *defined* to get no gradient (its true derivative is not zero when
    # padding ids occur), so the finite-difference check uses the other ids; the parity
    # check below uses the padding id too.
    ids = np.random.default_rng(1).integers(1 if pad else 0, v, size=(n, t))
    ids[0, 0] = 1
    ids.flat[-1] = ids[0, 0]  # repeated ids must sum their gradients
    padding_idx = 0 if pad else None
    check_layer(lambda: nn.Embedding(v, e, padding_idx=padding_idx), (ids,))
    if torch is not None:
        with_padding = ids.copy()
        with_padding[-1, 0] = 0
        check_layer(lambda: nn.Embedding(v, e, padding_idx=padding_idx), (with_padding,), devices=(),
                    torch_layer=lambda: torch.nn.Embedding(v, e, padding_idx=padding_idx))


def test_embedding_padding_row_gets_no_gradient(device, to_dev):
    m = nn.Embedding(5, 3, padding_idx=0).to(device)
    ids = to_dev(np.array([[0, 2, 0], [2, 2, 4]]))
    y = m(ids)
    assert m.backward(y * 0 + 1) is None  # ids are not differentiable
    g = minidl.asnumpy(m.weight.grad)
    assert np.all(g[0] == 0) and np.all(minidl.asnumpy(m.weight.data)[0] == 0)
    np.testing.assert_allclose(g[2], 3.0)  # id 2 appears three times: the sum, not the last
    np.testing.assert_allclose(g[4], 1.0)


def test_negative_padding_idx_and_empty_ids():
    m = nn.Embedding(5, 2, padding_idx=-1)
    assert m.padding_idx == 4 and np.all(m.weight.data[4] == 0)
    assert m(np.zeros((0, 3), np.int64)).shape == (0, 3, 2)
