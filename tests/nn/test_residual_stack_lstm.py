"""Report E's residual-around-layers LSTM stack: finite differences, the one-layer case,
and PyTorch parity of the same composition."""

import numpy as np
import pytest

import minidl
from minidl import backend, nn


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
