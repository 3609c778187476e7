"""Float64 finite-difference checks of the sequence layers: x, every initial state, every
parameter, over {cell kind} × {1, 3 layers} × {uni, bi} × {full, mixed lengths} ×
{batch_first}, shapes drawn by hypothesis, on NumPy and on the strict CuPy stand-in."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from recurrent_helpers import KINDS, inputs_for, keep_relu_cell_alive, make_cell, make_layer, n_states, randomize

import minidl
from minidl import backend
from minidl.nn import recurrent


@pytest.mark.parametrize("batch_first", [False, True], ids=["tbd", "btd"])
@pytest.mark.parametrize("mixed", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=2)
@given(data=st.data())
def test_sequence_layer_gradcheck(data, kind, num_layers, bidirectional, mixed, batch_first, device, to_dev):
    T = data.draw(st.integers(2, 4), label="T")
    B = data.draw(st.integers(2, 3), label="B")
    H = data.draw(st.integers(1, 3), label="H")
    D = H if kind == "res_lstm" else data.draw(st.integers(1, 3).filter(lambda d: d != H or kind != "res_lstm_proj"),
                                               label="D")
    lengths = None
    if mixed:  # one full-length sequence and the others drawn, so padding is really there
        lengths = [T] + [data.draw(st.integers(1, T), label="len") for _ in range(B - 1)]
    layer = make_layer(kind, D, H, num_layers, bidirectional, batch_first).to(device)
    rng = np.random.default_rng(T * 100 + B * 10 + H)
    x, hx = inputs_for(kind, T, B, D, H, num_layers * layer.num_directions, batch_first, rng, to_dev)
    # every element on NumPy for one layer; one random direction per tensor for the stacks
    # and on the strict stand-in (whose purpose is to catch host/device leaks, at 10x the cost)
    mode = "full" if num_layers == 1 and device == "cpu" else "direction"
    # one direction gives one number, which can be small (1e-4); ε = 1e-5 keeps the
    # round-off of the difference quotient (~1e-16·|L|/ε) well below it
    randomize(layer, kind, seed=T * 100 + B * 10 + H)
    report = minidl.gradcheck(layer, x, hx, forward_kwargs={"lengths": lengths}, mode=mode,
                              eps=1e-6 if mode == "full" else 1e-5)
    assert report.ok, str(report)
    # and every parameter was checked, and both initial states
    names = set(report.errors)
    assert {n for n, _ in layer.named_parameters()} <= names
    assert {f"input {i}" for i in range(1 + n_states(kind))} <= names


@pytest.mark.parametrize("kind", ["lstm", "res_lstm_proj"] + [k for k in KINDS if k in ("gru", "rnn_tanh")])
def test_gradcheck_with_dropout_between_layers(kind, device, to_dev):
    """Dropout between layers (training): the mask is a constant of the forward, re-drawn the
    same on every evaluation because gradcheck re-seeds."""
    layer = make_layer(kind, 2, 3, num_layers=2, bidirectional=True, dropout=0.4).to(device)
    rng = np.random.default_rng(1)
    x, hx = inputs_for(kind, 4, 3, 2, 3, 4, False, rng, to_dev)
    report = minidl.gradcheck(layer, x, hx, forward_kwargs={"lengths": [4, 1, 3]}, randomize_params=True,
                              mode="direction", eps=1e-5)
    assert report.ok, str(report)


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_without_initial_state_and_bias(kind, device, to_dev):
    """hx=None: dh0 (and dc0) are still returned — the gradient w.r.t. the zero state."""
    with backend.default_dtype(np.float64):
        if kind.startswith("rnn_"):
            layer = recurrent.RNN(2, 3, nonlinearity=kind[4:], bias=False)
        elif kind.startswith("gru"):
            layer = recurrent.GRU(2, 3, bias=False, reset_after=kind == "gru")
        else:
            layer = recurrent.LSTM(2, 3, bias=False, residual=kind != "lstm")
    layer.to(device)
    x = to_dev(np.random.default_rng(2).standard_normal((3, 2, 2)))
    report = minidl.gradcheck(layer, x, forward_kwargs={"lengths": [3, 2]}, randomize_params=True)
    assert report.ok, str(report)
    out, states = layer(x)
    grads = layer.backward(out * 0 + 1.0, *([None] * n_states(kind)))
    assert len(grads) == 1 + n_states(kind)
    for g in grads[1:]:
        assert g.shape == (1, 2, 3)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru", "gru_v1"])
@settings(max_examples=3)
@given(B=st.integers(1, 3), D=st.integers(1, 4), H=st.integers(1, 4))
@example(B=1, D=2, H=2)  # a ReLU cell without biases whose draw is all off (kept alive above)
def test_cell_gradcheck(kind, bias, B, D, H, device, to_dev):
    cell = make_cell(kind, D, H, bias).to(device)
    rng = np.random.default_rng(B * 100 + D * 10 + H)
    x = to_dev(rng.standard_normal((B, D)))
    states = tuple(to_dev(rng.standard_normal((B, H))) for _ in range(n_states(kind)))
    randomize(cell, kind, seed=B * 100 + D * 10 + H)
    if kind == "rnn_relu":  # without biases every unit can be off for every row (a 20-seed run found one)
        keep_relu_cell_alive(cell, x, states[0])
    report = minidl.gradcheck(cell, x, states if kind == "lstm" else states[0])
    assert report.ok, str(report)
