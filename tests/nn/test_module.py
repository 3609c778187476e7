"""The layer contract: cache stack, no_grad, state_dict, devices, printing, bad input; Sequential's
proof (finite differences and parity with torch.nn.Sequential, whose parameter names it shares)."""

import numpy as np
import pytest
from bad_inputs import Case, bad_input_test
from helpers import check_layer, torch

import minidl
from minidl import nn
from minidl.errors import DTypeError


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_three_calls_then_three_backwards_equal_three_separate_passes(device, to_dev):
    """A module called k times holds k caches; k backwards pop them last call first."""
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double().to(device)
    xs = [to_dev(_x((2, 3), s)) for s in range(3)]
    gs = [to_dev(_x((2, 2), 10 + s)) for s in range(3)]

    # separate passes: grads summed by hand
    want = {n: 0 for n, _ in m.named_parameters()}
    want_dx = []
    for x, g in zip(xs, gs):
        m.zero_grad()
        m(x)
        want_dx.append(minidl.asnumpy(m.backward(g)))
        for n, p in m.named_parameters():
            want[n] = want[n] + minidl.asnumpy(p.grad)

    # three calls, then three backwards in reverse order
    m.zero_grad()
    for x in xs:
        m(x)
    got_dx = [minidl.asnumpy(m.backward(g)) for g in reversed(gs)][::-1]
    for n, p in m.named_parameters():
        np.testing.assert_allclose(minidl.asnumpy(p.grad), want[n], rtol=1e-12)
    for a, b in zip(got_dx, want_dx):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(RuntimeError, match="no forward cache"):
        m.backward(gs[0])


def test_no_grad_keeps_no_cache():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    with minidl.no_grad():
        for _ in range(5):
            m(np.ones((2, 3), np.float32))
    assert all(len(mod._caches) == 0 for mod in m.modules())
    m(np.ones((2, 3), np.float32))
    assert len(m[0]._caches) == 1
    m.clear_caches()
    assert len(m[0]._caches) == 0


def test_named_parameters_state_dict_and_repr():
    m = nn.Sequential(nn.Embedding(20001, 64, padding_idx=0), nn.Linear(64, 2), nn.Dropout(0.5))
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "1.weight", "1.bias"]
    assert list(m.state_dict()) == names
    assert repr(m) == (
        "Sequential(\n"
        "  (0): Embedding(20001, 64, padding_idx=0)\n"
        "  (1): Linear(in_features=64, out_features=2, bias=True)\n"
        "  (2): Dropout(p=0.5, inplace=False)\n"
        ")"
    )


def test_load_state_dict_roundtrip_and_errors():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    b.load_state_dict({k: minidl.asnumpy(v) for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    b.weight.data[...] = 0  # a copy, not shared storage
    assert np.any(a.weight.data != 0)
    with pytest.raises(ValueError, match=r"'weight' expected shape \(2, 3\), got \(3, 2\)"):
        b.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)})
    with pytest.raises(KeyError, match="missing keys \\['bias'\\]"):
        b.load_state_dict({"weight": np.zeros((2, 3))})
    with pytest.raises(KeyError, match="unexpected keys \\['extra'\\]"):
        b.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.zeros(2), "extra": np.zeros(1)})
    b.load_state_dict({"weight": np.ones((2, 3))}, strict=False)
    assert np.all(b.weight.data == 1)


def test_to_device_double_float_train_eval(device):
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert m.device == "cpu" and m[0].weight.dtype == np.float32
    m.double().to(device)
    assert m.device == device and m[0].weight.dtype == np.float64
    assert minidl.backend.device_of(m[0].weight.grad) == device
    m.eval()
    assert not m.training and not m[1].training
    x = minidl.to_device(np.ones((4, 2)), device)
    np.testing.assert_array_equal(minidl.asnumpy(m[1](x)), np.ones((4, 2)))  # identity in eval
    m.train().float().to("cpu")
    assert m[1].training and m[0].weight.dtype == np.float32


def test_strict_device_refuses_host_arrays():
    m = nn.Linear(3, 2).to("strict")
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        m(np.ones((1, 3), np.float32))
    y = m(minidl.to_device(np.ones((1, 3), np.float32), "strict"))
    with pytest.raises(TypeError, match="implicit conversion"):
        np.asarray(y)


def test_reassigned_buffer_stays_in_state_dict():
    class WithStat(nn.Linear):
        def __init__(self):
            super().__init__(2, 2)
            self.register_buffer("running", np.zeros(2))

    m = WithStat()
    m.running = m.running + 1  # as `self.running_mean = ...` in a layer's forward
    m.running += 1
    assert "running" in m.state_dict()
    np.testing.assert_array_equal(m.state_dict()["running"], [2.0, 2.0])


def test_sequential_layer(device):
    """Sequential's backward runs its layers' backwards in reverse order: one check_layer call."""
    x = 3 * np.random.default_rng(0).standard_normal((3, 4))
    twin = None if torch is None else (
        lambda: torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2), torch.nn.Tanh()))
    check_layer(lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2), nn.Tanh()), (x,),
                devices=(device,), torch_layer=twin)


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.Sequential", "a layer that is not a Module", lambda: nn.Sequential(nn.ReLU(), 3), DTypeError,
         r"Sequential: layers must be Modules, got int at position 1"),
]
test_bad_input = bad_input_test(BAD_INPUTS)
