"""The layer contract: cache stack, no_grad, state_dict, devices, printing, bad input."""

import numpy as np
import pytest

import minidl
from minidl import nn, optim


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


def test_dropout_scales_kept_units_and_is_seeded():
    x = np.ones((200, 50), np.float32)
    minidl.manual_seed(3)
    y1 = nn.Dropout(0.25)(x)
    minidl.manual_seed(3)
    y2 = nn.Dropout(0.25)(x)
    np.testing.assert_array_equal(y1, y2)
    assert set(np.unique(y1)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y1 == 0).mean() - 0.25) < 0.02


def test_strict_device_refuses_host_arrays():
    m = nn.Linear(3, 2).to("strict")
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        m(np.ones((1, 3), np.float32))
    y = m(minidl.to_device(np.ones((1, 3), np.float32), "strict"))
    with pytest.raises(TypeError, match="implicit conversion"):
        np.asarray(y)


# ---------------------------------------------------------------- bad input
def test_linear_wrong_width():
    with pytest.raises(ValueError, match=r"expected input of shape \(\.\.\., 3\), got \(2, 4\)"):
        nn.Linear(3, 2)(np.ones((2, 4), np.float32))


@pytest.mark.parametrize("bad", [-1, 10])
def test_embedding_bad_ids(bad, device, to_dev):
    emb = nn.Embedding(10, 4).to(device)
    with pytest.raises(IndexError, match=rf"token id {bad} .*\[0, 10\)"):
        emb(to_dev(np.array([[1, bad, 2]])))
    with pytest.raises(TypeError, match="integer"):
        emb(to_dev(np.array([[1.0, 2.0]])))


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss, nn.NLLLoss])
@pytest.mark.parametrize("bad", [-1, 3])
def test_labels_outside_classes(loss, bad):
    with pytest.raises(ValueError, match=rf"class target {bad} is outside \[0, 3\)"):
        loss()(np.zeros((2, 3)), np.array([0, bad]))


def test_bce_bad_input():
    with pytest.raises(ValueError, match="probabilities"):
        nn.BCELoss()(np.array([1.5, 0.5]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="target shape"):
        nn.BCEWithLogitsLoss()(np.zeros((2, 1)), np.zeros(2))


def test_bce_clamps_log_at_minus_100():
    loss = nn.BCELoss()(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert float(loss) == pytest.approx(100.0)


# ---------------------------------------------------------------- report B §4.2
def _train_scores(criterion, steps=300, seed=0):
    """A tiny classifier trained with Adam; returns the loss curve."""
    minidl.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Linear(5, 2)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        scores = model(x)  # raw scores, no log-softmax
        losses.append(float(criterion(scores, y)))
        model.backward(criterion.backward())
        opt.step()
    return losses


def test_nll_on_raw_scores_runs_away_while_cross_entropy_trains():
    nll = _train_scores(nn.NLLLoss())
    ce = _train_scores(nn.CrossEntropyLoss())
    # NLL on raw scores is −z_target: unbounded below, it falls without end ...
    # (Adam moves each weight ~lr per step, so the loss falls roughly linearly, never levelling)
    half = len(nll) // 2
    assert nll[-1] < -5 and nll[-1] < nll[half] - 2 < nll[0] - 2
    # ... while cross-entropy, bounded below by 0, converges on this separable task.
    assert 0 <= ce[-1] < 0.2 < ce[0]


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
