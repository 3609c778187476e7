"""Report E's residual-around-layers LSTM stack: finite differences, the one-layer case,
and PyTorch parity of the same composition."""

import numpy as np
import pytest
from bad_inputs import Case, backward_after, bad_input_test, states_backward_after, zeros
from fuzzing import (
    draw_array,
    finite,
    fuzz_test,
    host,
    maybe_list,
    mostly,
    on_device,
)
from hypothesis import strategies as st
from recurrent_helpers import reference_sequence

import minidl
from minidl import backend, nn
from minidl.errors import DTypeError, RangeError, ShapeError


def make_stack(D, H, L, dropout=0.0):
    with backend.default_dtype(np.float64):
        return nn.ResidualStackLSTM(D, H, num_layers=L, dropout=dropout)


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_gradcheck(device, to_dev, with_lengths, dropout):
    T, B, D, H, L = 4, 3, 2, 3, 3
    stack = make_stack(D, H, L, dropout).to(device)
    rng = np.random.default_rng(1)
    x = to_dev(rng.standard_normal((T, B, D)))
    lengths = [4, 2, 3] if with_lengths else None
    mode = "full" if device == "cpu" else "direction"
    report = minidl.gradcheck(stack, x, forward_kwargs={"lengths": lengths}, randomize_params=True, mode=mode)
    assert report.ok, str(report)
    assert {n for n, _ in stack.named_parameters()} <= set(report.errors)


def test_one_layer_is_a_plain_lstm():
    stack = make_stack(3, 4, 1)
    lstm = nn.LSTM(3, 4).double()
    lstm.load_state_dict({k.replace("layers.0.", ""): v for k, v in stack.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    out_s, (h_s, c_s) = stack(x, lengths=[5, 3])
    out_l, (h_l, c_l) = lstm(x, lengths=[5, 3])
    np.testing.assert_allclose(out_s, out_l, atol=1e-12)
    np.testing.assert_allclose(h_s, h_l, atol=1e-12)
    np.testing.assert_allclose(c_s, c_l, atol=1e-12)


def test_states_are_the_stack_outputs_at_the_last_real_step():
    stack = make_stack(2, 3, 3)
    x = np.random.default_rng(2).standard_normal((4, 2, 3 * 0 + 2))
    out, (h_n, _) = stack(x, lengths=[4, 2])
    np.testing.assert_allclose(h_n[-1], out[[3, 1], [0, 1]], atol=1e-12)
    assert np.all(out[2:, 1] == 0)  # padding stays zero through the sums


def test_matches_pytorch_composition():
    torch = pytest.importorskip("torch")
    T, B, D, H, L = 5, 3, 4, 3, 3
    stack = make_stack(D, H, L)
    layers = [torch.nn.LSTM(D if l == 0 else H, H).double() for l in range(L)]
    for l, layer in enumerate(layers):
        sd = {k.split(".", 2)[2]: torch.tensor(v) for k, v in stack.state_dict().items()
              if k.startswith(f"layers.{l}.")}
        layer.load_state_dict(sd)
    x = np.random.default_rng(3).standard_normal((T, B, D))
    g = np.random.default_rng(4).standard_normal((T, B, H))
    xt = torch.tensor(x, requires_grad=True)
    u = xt
    for l, layer in enumerate(layers):
        out, _ = layer(u)
        u = out if l == 0 else out + u
    (u * torch.tensor(g)).sum().backward()
    out, _ = stack(x)
    np.testing.assert_allclose(out, u.detach().numpy(), atol=1e-12)
    dx, _, _ = stack.backward(g)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    for l, layer in enumerate(layers):
        np.testing.assert_allclose(stack.layers[l].weight_hh_l0.grad, layer.weight_hh_l0.grad.numpy(), atol=1e-12)


def test_refuses_bidirectional_and_hx():
    with pytest.raises(minidl.errors.RangeError, match="bidirectional"):
        nn.ResidualStackLSTM(2, 3, 2, bidirectional=True)
    stack = make_stack(2, 3, 2)
    with pytest.raises(minidl.errors.ShapeError, match="hx"):
        stack(np.zeros((3, 1, 2)), hx=np.zeros((2, 1, 3)))


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.ResidualStackLSTM", "a list as input", lambda: nn.ResidualStackLSTM(2, 3)([[[0.0, 0.0]]]), DTypeError,
         r"ResidualStackLSTM: input must be an array .*got list"),
    Case("nn.ResidualStackLSTM", "no time step", lambda: nn.ResidualStackLSTM(2, 3)(zeros(0, 2, 2)), ShapeError,
         r"ResidualStackLSTM: input must have shape \(T, B, D\) with T ≥ 1 and D = 2, got \(0, 2, 2\)"),
    Case("nn.ResidualStackLSTM", "float64 input on float32 parameters",
         lambda: nn.ResidualStackLSTM(2, 3)(zeros(3, 2, 2, dtype=np.float64)), DTypeError,
         r"ResidualStackLSTM: input must have dtype float32"),
    Case("nn.ResidualStackLSTM", "an initial state (every layer starts from zeros)",
         lambda: nn.ResidualStackLSTM(2, 3)(zeros(3, 2, 2), hx=zeros(2, 2, 3)), ShapeError,
         r"ResidualStackLSTM: hx must be None"),
    Case("nn.ResidualStackLSTM", "lengths with a 0",
         lambda: nn.ResidualStackLSTM(2, 3)(zeros(3, 2, 2), lengths=[0, 2]), RangeError,
         r"ResidualStackLSTM: lengths must lie in \[1, T\] = \[1, 3\]"),
    Case("nn.ResidualStackLSTM", "bidirectional", lambda: nn.ResidualStackLSTM(2, 3, bidirectional=True), RangeError,
         r"ResidualStackLSTM: bidirectional=True is not offered"),
    Case("nn.ResidualStackLSTM", "no layers", lambda: nn.ResidualStackLSTM(2, 3, num_layers=0), RangeError,
         r"ResidualStackLSTM: num_layers must be a positive int, got 0"),
    Case("nn.ResidualStackLSTM", "a d_h_n of the wrong shape",
         states_backward_after(nn.ResidualStackLSTM(2, 3, num_layers=2), zeros(3, 2, 2), zeros(1, 2, 3)),
         ShapeError, r"ResidualStackLSTM\.backward: d_h_n must have the output's shape \(2, 2, 3\), got \(1, 2, 3\)"),
    Case("nn.ResidualStackLSTM", "a d_out of the wrong shape",
         backward_after(nn.ResidualStackLSTM(2, 3), zeros(3, 2, 2), zeros(3, 2, 4)), ShapeError,
         r"ResidualStackLSTM\.backward: d_out must have the output's shape \(3, 2, 3\), got \(3, 2, 4\)"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_residual_stack(data):
    """Report E's residual stack: two one-layer LSTMs and the skip, against the textbook step."""
    d, h = data.draw(st.integers(1, 3), label="D"), data.draw(st.integers(1, 3), label="H")
    stack = nn.ResidualStackLSTM(d, h, num_layers=2)
    t, b = data.draw(mostly([1, 2, 3], [0]), label="T"), data.draw(mostly([1, 2], [0]), label="B")
    x = draw_array(data, shape=(t, b, data.draw(mostly([d], [d + 1]), label="width")),
                   dtypes=[np.float32] * 3 + [np.float64, np.int64], scale=1.0)
    lengths = data.draw(st.one_of(st.none(), st.lists(st.integers(0, t + 1), min_size=b, max_size=b),
                                  st.lists(st.integers(1, max(t, 1)), min_size=0, max_size=b + 1)), label="lengths")
    device, (xd,) = on_device(data, x)
    stack.to(device)
    out, (h_n, _) = stack(maybe_list(data, xd), lengths=lengths)
    u1, _ = reference_sequence("LSTM", stack.layers[0], x, lengths)
    u2, _ = reference_sequence("LSTM", stack.layers[1], u1, lengths)
    want = u2 + u1  # padding is zero in both, so in the sum too
    np.testing.assert_allclose(host(out), want, rtol=1e-4, atol=1e-5)
    last = [t - 1] * b if lengths is None else [n - 1 for n in lengths]
    np.testing.assert_allclose(host(h_n)[-1], want[last, np.arange(b)], rtol=1e-4, atol=1e-5)
    dx = stack.backward(backend.to_device(np.ones(out.shape, np.float32), device))[0]
    assert host(dx).shape == x.shape
    if finite(x):
        assert finite(host(out)) and finite(host(dx))


FUZZ = {"nn.ResidualStackLSTM": fuzz_residual_stack}
test_fuzz = fuzz_test(FUZZ)
