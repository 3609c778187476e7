"""Embedding: finite differences of the table (repeated ids sum), PyTorch parity (padding
row included), and the padding rule."""

import numpy as np
from bad_inputs import Case, backward_after, bad_input_test, f32
from fuzzing import (
    draw_array,
    fuzz_test,
    host,
    maybe_list,
    on_device,
)
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

import minidl
from minidl import backend, nn
from minidl.errors import DTypeError, IndexRangeError, RangeError, ShapeError
from minidl.functional.embedding import RowGrad


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


def test_the_gradient_given_as_rows_is_the_gradient_given_per_token():
    """A recurrent layer fed ``input_rows`` hands back ∂L/∂table summed per id (a RowGrad):
    the same table gradient as the per-token dy it summed, padding row still zero."""
    rng = np.random.default_rng(3)
    ids = np.array([[0, 2, 0], [2, 2, 4]])
    dy = rng.standard_normal((2, 3, 3))
    index = np.array([2, 0, 4])  # any order of the distinct ids
    rows = np.stack([dy.reshape(-1, 3)[ids.reshape(-1) == v].sum(axis=0) for v in index])
    grads = []
    for upstream in (dy, RowGrad(index, rows)):
        m = nn.Embedding(5, 3, padding_idx=0).double()
        m(ids)
        assert m.backward(upstream) is None
        grads.append(m.weight.grad)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-14)
    assert np.all(grads[1][0] == 0) and np.abs(grads[1][2]).min() > 1e-3


def test_negative_padding_idx_and_empty_ids():
    m = nn.Embedding(5, 2, padding_idx=-1)
    assert m.padding_idx == 4 and np.all(m.weight.data[4] == 0)
    assert m(np.zeros((0, 3), np.int64)).shape == (0, 3, 2)


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.Embedding", "a list of ids", lambda: nn.Embedding(10, 4)([1, 2]), DTypeError,
         r"Embedding: ids must be an array .*got list"),
    Case("nn.Embedding", "floating ids", lambda: nn.Embedding(10, 4)(np.array([1.0])), DTypeError,
         r"Embedding: ids must be an integer array \(token ids\), got dtype float64"),
    Case("nn.Embedding", "a negative id", lambda: nn.Embedding(10, 4)(np.array([[1, -1, 2]])), IndexRangeError,
         r"Embedding: ids must lie in \[0, 10\) .*got token id -1"),
    Case("nn.Embedding", "an id past the vocabulary", lambda: nn.Embedding(10, 4)(np.array([10])), IndexRangeError,
         r"Embedding: ids must lie in \[0, 10\) .*got token id 10"),
    Case("nn.Embedding", "an upstream gradient of the wrong shape",
         backward_after(nn.Embedding(10, 4), np.array([[1, 2, 3]]), f32(1, 3, 5)), ShapeError,
         r"Embedding\.backward: dy must have the output's shape \(1, 3, 4\), got \(1, 3, 5\)"),
    Case("nn.Embedding", "gradient rows of the wrong width",
         backward_after(nn.Embedding(10, 4), np.array([[1, 2, 1]]), RowGrad(np.array([1, 2]), f32(2, 5))),
         ShapeError, r"Embedding\.backward: dy\.rows must have the output's shape \(2, 4\), got \(2, 5\)"),
    Case("nn.Embedding", "gradient rows with fewer row numbers",
         backward_after(nn.Embedding(10, 4), np.array([[1, 2, 1]]), RowGrad(np.array([1]), f32(2, 4))),
         ShapeError, r"Embedding\.backward: dy\.index must hold one row number per row of dy\.rows \(2,\), "
                     r"got shape \(1,\)"),
    Case("nn.Embedding", "a gradient row outside the table",
         backward_after(nn.Embedding(10, 4), np.array([[1, 2, 1]]), RowGrad(np.array([1, 10]), f32(2, 4))),
         IndexRangeError, r"Embedding\.backward: dy\.index: ids must lie in \[0, 10\) .*got token id 10"),
    Case("nn.Embedding", "a gradient row given twice",
         backward_after(nn.Embedding(10, 4), np.array([[1, 2, 1]]), RowGrad(np.array([2, 1, 2]), f32(3, 4))),
         RangeError, r"Embedding\.backward: dy\.index must hold distinct row numbers, got row 2 more than once"),
    Case("nn.Embedding", "an empty table", lambda: nn.Embedding(0, 4), RangeError,
         r"Embedding: num_embeddings must be a finite number in \[1, inf\), got 0"),
    Case("nn.Embedding", "padding_idx outside the table", lambda: nn.Embedding(5, 4, padding_idx=5), RangeError,
         r"Embedding: padding_idx must be a finite number in \[-5, 4\], got 5"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_embedding(data):
    v, e = data.draw(st.integers(1, 5), label="V"), data.draw(st.integers(0, 3), label="E")
    layer = nn.Embedding(v, e)
    ids = draw_array(data, dtypes=[np.int64] * 3 + [np.int32, np.float64, np.bool_], scale=float(v), specials=False)
    if ids.dtype.kind == "i" and data.draw(st.integers(0, 3)):  # mostly ids in range
        ids = np.abs(ids) % v
    device, (idsd,) = on_device(data, ids)
    layer.to(device)
    y = host(layer(maybe_list(data, idsd)))
    np.testing.assert_array_equal(y, host(layer.weight.data)[ids])
    layer.backward(backend.to_device(np.ones(y.shape, np.float32), device))
    counts = np.bincount(ids.ravel(), minlength=v) if ids.size else np.zeros(v)
    np.testing.assert_allclose(host(layer.weight.grad), np.repeat(counts[:, None], e, axis=1))


FUZZ = {"nn.Embedding": fuzz_embedding}
test_fuzz = fuzz_test(FUZZ)
