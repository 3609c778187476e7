"""The recurrent, convolution, pooling, residual and clipping exercises: the forwards their stubs
show the student are the library's, and their diagnoses do not hang on the default seed."""

import importlib

import numpy as np
import pytest

from minidl.exercises import grade, registry
from minidl.exercises.catalog import basic_block
from minidl.exercises.grader import FAIL
from minidl.functional.conv import im2col
from minidl.functional.gru import gru_step_reference
from minidl.functional.lstm import lstm_forward, lstm_step_reference
from minidl.functional.rnn import rnn_forward, rnn_step_reference

NAMES = ("rnn_step_backward", "rnn_bptt_backward", "lstm_step_backward", "gru_step_backward",
         "gru_step_backward_cho", "col2im", "conv2d_im2col", "basic_block_backward", "residual_stack_backward",
         "max_pool_backward", "lstm_bptt_backward", "clip_grad_norm", "numeric_gradient",
         "bidirectional_backward")


def stub(name):
    return importlib.import_module(f"minidl.exercises.stubs.{name}")


def weights(rng, gates, D, H):
    return (rng.standard_normal((gates * H, D)), rng.standard_normal((gates * H, H)),
            rng.standard_normal(gates * H), rng.standard_normal(gates * H))


def test_the_stubs_rnn_forwards_are_the_library_s():
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal((4, 3, 2)), rng.standard_normal((3, 5))
    w = weights(rng, 1, 2, 5)
    assert np.allclose(stub("rnn_step_backward").rnn_step_forward(x[0], h, *w), rnn_step_reference(x[0], h, *w)[0])
    (out, h_n), hs = stub("rnn_bptt_backward").rnn_sequence_forward(x, h, *w)
    (ref_out, ref_h_n), cache = rnn_forward(x, h, *w)
    assert np.allclose(out, ref_out) and np.allclose(h_n, ref_h_n) and np.allclose(hs, cache.hs)


def test_the_stubs_gated_forwards_are_the_library_s():
    rng = np.random.default_rng(1)
    x, h, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    w = weights(rng, 4, 4, 2)
    (h_new, c_new), gates = stub("lstm_step_backward").lstm_step_forward(x, h, c, *w)
    (ref_h, ref_c), cache = lstm_step_reference(x, h, c, *w)
    assert np.allclose(h_new, ref_h) and np.allclose(c_new, ref_c)
    assert all(np.allclose(a, b) for a, b in zip(gates, cache[6:10]))
    w = weights(rng, 3, 4, 2)
    for name, fn, reset_after in (("gru_step_backward", "gru_step_forward", True),
                                  ("gru_step_backward_cho", "gru_step_forward_cho", False)):
        h_new, gates = getattr(stub(name), fn)(x, h, *w)
        ref, cache = gru_step_reference(x, h, *w, reset_after=reset_after)
        assert np.allclose(h_new, ref)
        assert all(np.allclose(a, b) for a, b in zip(gates, cache[6:10]))


@pytest.mark.parametrize("k,s,p", [(3, 2, 1), (2, 1, 0), (3, 1, 2)])
def test_the_stubs_im2col_is_the_library_s(k, s, p):
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 4))
    assert np.array_equal(stub("col2im").im2col(x, k, s, p), im2col(x, k, s, p)[0])


def test_the_stubs_basic_block_forward_is_the_catalog_s():
    case = registry.get("basic_block_backward").make_case(np.random.default_rng(3), 0)
    y, cache = stub("basic_block_backward").basic_block_forward(**case.inputs)
    ref, ref_cache = basic_block.block_forward(**case.inputs)
    assert np.array_equal(y, ref) and np.array_equal(cache["s"], ref_cache["s"])


def test_the_stubs_lstm_sequence_forward_is_the_fused_layer_s():
    case = registry.get("lstm_bptt_backward").make_case(np.random.default_rng(6), 1)
    (out, h_n, c_n), caches = stub("lstm_bptt_backward").lstm_sequence_forward(**case.inputs)
    ref_out, ref_h_n, ref_c_n = lstm_forward(**case.inputs)[0]
    assert np.allclose(out, ref_out) and np.allclose(h_n, ref_h_n) and np.allclose(c_n, ref_c_n)
    assert len(caches) == out.shape[0]


def test_the_stubs_bidirectional_forward_is_the_module_s():
    """The stub's two directions on padded sequences against ``nn.LSTM(bidirectional=True)`` fed
    the same lengths; its rev against the library's own reversal within lengths."""
    from minidl import nn
    from minidl.functional.sequence import as_lengths, reverse_padded

    case = registry.get("bidirectional_backward").make_case(np.random.default_rng(7), 1)
    x, lengths = case.inputs["x"], case.inputs["lengths"]
    weights = {d: {w: case.inputs[f"{w}_{d}"] for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
               for d in ("f", "r")}
    out, _ = stub("bidirectional_backward").bidirectional_forward(x, lengths, weights["f"], weights["r"])
    layer = nn.LSTM(x.shape[2], weights["f"]["weight_hh"].shape[1], bidirectional=True).double()
    for d, suffix in (("f", ""), ("r", "_reverse")):
        for w, value in weights[d].items():
            getattr(layer, f"{w}_l0{suffix}").data[...] = value
    ref, _ = layer(x, lengths=[int(n) for n in lengths])
    assert np.allclose(out, ref)
    rev = stub("bidirectional_backward").reverse_within_lengths(x, lengths)
    assert np.array_equal(rev, reverse_padded(x, as_lengths([int(n) for n in lengths], x)))
    assert not np.array_equal(rev, x[::-1])  # the case has shorter sequences: a plain flip differs


def test_the_stubs_residual_stack_forward_is_the_module_s():
    """The stub's three layers, skips around the upper two, against ``nn.ResidualStackLSTM``
    holding the same weights: u_3 and h_n (the stack's states, skips included)."""
    from minidl import nn

    case = registry.get("residual_stack_backward").make_case(np.random.default_rng(4), 0)
    x = case.inputs["x"]
    layers = [{w: case.inputs[f"{w}_{l}"] for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")} for l in range(3)]
    u, h_n, _ = stub("residual_stack_backward").residual_stack_forward(x, layers)
    stack = nn.ResidualStackLSTM(x.shape[2], layers[0]["weight_hh"].shape[1], num_layers=3).double()
    for l, weights in enumerate(layers):
        for w, value in weights.items():
            getattr(stack.layers[l], f"{w}_l0").data[...] = value
    ref, (ref_h_n, _) = stack(x)
    assert np.allclose(u, ref) and np.allclose(h_n, ref_h_n)


@pytest.mark.parametrize("kernel,stride", [((2, 2), 2), ((3, 3), 1), ((2, 3), 1), ((3, 2), 2)])
def test_the_stubs_max_pool_forward_is_the_library_s(kernel, stride):
    from minidl.functional.pool import max_pool2d_forward

    x = np.random.default_rng(5).standard_normal((2, 3, 6, 5))
    y = stub("max_pool_backward").max_pool_forward(x, kernel, stride)
    assert np.array_equal(y, max_pool2d_forward(x, kernel, stride=stride)[0])


def test_the_basic_block_cases_have_mixed_relu_masks():
    """Both ReLUs pass some values and block others, so every mask matters to the gradient."""
    for i in range(4):
        cache = registry.get("basic_block_backward").make_case(np.random.default_rng([0, i]), i).args["cache"]
        for key in ("v1", "s"):
            assert 0.2 < float(np.mean(cache[key] > 0)) < 0.8, (i, key)
        assert np.any((cache["s"] > 0) != (cache["f"] > 0)), i  # the mask before the add differs


MUTANTS = [(name, m) for name in NAMES for m in registry.get(name).mutants]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name,mutant", MUTANTS, ids=[f"{n}-{m.name}" for n, m in MUTANTS])
def test_the_diagnosis_holds_for_other_seeds(name, mutant, seed):
    ex = registry.get(name)
    assert grade(ex, registry.solution(name), seed=seed).ok
    text = str(grade(ex, mutant.fn, seed=seed))
    missing = [w for w in mutant.expect if w.lower() not in text.lower()]
    assert not missing, f"seed {seed}, {mutant.name}: the report lacks {missing}:\n{text}"


def test_a_student_who_mixes_the_gru_forms_is_told_which_block():
    """The reset-after solution graded as the reset-before exercise's (with ĝ recomputed
    without b_hn): r is off, z and n of the input side are right."""
    after = registry.solution("gru_step_backward")

    def mixed(dh_new, x, h, weight_ih, weight_hh, r, z, n):
        H = h.shape[1]
        return after(dh_new, x, h, weight_ih, weight_hh, r, z, n, h @ weight_hh[2 * H:].T)

    report = grade(registry.get("gru_step_backward_cho"), mixed)
    assert report.status == FAIL and "wrong gate blocks: r (" in str(report) and "right: z, n" in str(report)
