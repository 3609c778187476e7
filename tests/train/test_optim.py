"""Optimizers against PyTorch's update rules, clipping, and a state that resumes exactly
(and refuses to load into another optimizer)."""

import numpy as np
import pytest

import minidl
from minidl import optim
from minidl.errors import CheckpointError


def _quadratic_run(make_opt, steps=5, params0=None):
    """Minimise Σ (A θ − b)² with the given optimizer; returns θ after each step."""
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((4, 3)), rng.standard_normal(4)
    p = minidl.Parameter(np.array(params0 if params0 is not None else [0.5, -1.0, 2.0]))
    opt = make_opt([p])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        r = A @ p.data - b
        p.grad += 2 * A.T @ r
        opt.step()
        out.append(p.data.copy())
    return out, (A, b)


TORCH_CASES = [
    ("sgd", dict(lr=0.01), dict(lr=0.01)),
    ("sgd", dict(lr=0.01, momentum=0.9), dict(lr=0.01, momentum=0.9)),
    ("sgd", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1),
     dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("adam", dict(lr=0.1), dict(lr=0.1)),
    ("adam", dict(lr=0.1, weight_decay=0.1), dict(lr=0.1, weight_decay=0.1)),
    ("adamw", dict(lr=0.1, weight_decay=0.1, decoupled=True), dict(lr=0.1, weight_decay=0.1)),
]


@pytest.mark.parametrize("kind,ours,theirs", TORCH_CASES)
def test_optimizers_match_pytorch(kind, ours, theirs):
    torch = pytest.importorskip("torch")
    cls = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.Adam}[kind]
    got, (A, b) = _quadratic_run(lambda ps: cls(ps, **ours), steps=6)
    t = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tcls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    topt = tcls([t], **theirs)
    At, bt = torch.tensor(A), torch.tensor(b)
    for step in range(6):
        topt.zero_grad()
        ((At @ t - bt) ** 2).sum().backward()
        topt.step()
        np.testing.assert_allclose(got[step], t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_clip_grad_norm():
    ps = [minidl.Parameter(np.zeros(2)), minidl.Parameter(np.zeros(1))]
    ps[0].grad[:] = [3.0, 0.0]
    ps[1].grad[:] = [4.0]
    norm = optim.clip_grad_norm_(ps, 1.0)
    assert norm == pytest.approx(5.0)
    total = np.sqrt(sum((p.grad**2).sum() for p in ps))
    assert total == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(ps[0].grad, [0.6, 0.0], rtol=1e-5)
    assert optim.clip_grad_norm_(ps, 10.0) == pytest.approx(1.0, rel=1e-5)  # below: untouched


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=0.05), lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9)])
def test_optimizer_state_dict_resumes_exactly(make, tmp_path):
    full, _ = _quadratic_run(make, steps=6)
    # run 3 steps, checkpoint, rebuild, load, run 3 more
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((4, 3)), rng.standard_normal(4)
    p = minidl.Parameter(np.array([0.5, -1.0, 2.0]))
    opt = make([p])

    def step(o, q):
        o.zero_grad()
        q.grad += 2 * A.T @ (A @ q.data - b)
        o.step()

    for _ in range(3):
        step(opt, p)
    path = minidl.save({"p": p.data, "optim": opt.state_dict()}, tmp_path / "ck.npz")
    ck = minidl.load(path)
    p2 = minidl.Parameter(ck["p"])
    opt2 = make([p2])
    opt2.load_state_dict(ck["optim"])
    for _ in range(3):
        step(opt2, p2)
    np.testing.assert_array_equal(p2.data, full[-1])


def test_state_dict_names_its_optimizer_and_refuses_another(tmp_path):
    p = minidl.Parameter(np.zeros(3))
    adam = optim.Adam([p], lr=0.1)
    p.grad[:] = 1.0
    adam.step()
    sd = minidl.load(minidl.save({"optim": adam.state_dict()}, tmp_path / "ck.npz"))["optim"]
    sgd = optim.SGD([minidl.Parameter(np.zeros(3))], lr=0.5, momentum=0.9)
    with pytest.raises(CheckpointError, match="SGD.*Adam"):
        sgd.load_state_dict(sd)
    assert sgd.lr == 0.5  # nothing changed
    sd.pop("optimizer")  # an older checkpoint without the name: its entries still tell
    with pytest.raises(CheckpointError, match="exp_avg"):
        sgd.load_state_dict(sd)
    again = optim.Adam([minidl.Parameter(np.zeros(3))])
    again.load_state_dict(adam.state_dict())
    assert again.lr == 0.1 and again.step_count == 1


def _adam_whole_arrays(theta, g, m, v, t, lr, b1, b2, eps, weight_decay, decoupled):
    """The Adam update of the optimizers chapter on whole arrays, pass by pass in the order of
    ``Adam.step`` (the reference the blocked update must equal bit for bit)."""
    if weight_decay:
        if decoupled:
            theta = theta * np.float32(1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
    m = m * np.float32(b1) + g * np.float32(1 - b1)
    v = v * np.float32(b2) + (g * g) * np.float32(1 - b2)
    denom = np.sqrt(v) / np.float32(np.sqrt(1 - b2**t)) + np.float32(eps)
    return theta - (m / denom) * np.float32(lr / (1 - b1**t)), m, v


def _loop_ways():
    """The ufunc calls in cache blocks, and the compiled loop (optim.adam_loop) where numba is."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return ["calls"]
    return ["calls", "loop"]


@pytest.mark.parametrize("way", _loop_ways())
@pytest.mark.parametrize("weight_decay,decoupled", [(0.0, False), (0.01, False), (0.01, True)])
def test_adam_in_cache_blocks_is_the_whole_array_update_to_the_bit(weight_decay, decoupled, way, monkeypatch):
    """A float32 table of 2.5 blocks (the last one partial), three steps: the same bits as the
    whole-array passes, and every element moved (a skipped block would stay put); in cache
    blocks of ufunc calls and as the compiled loop."""
    monkeypatch.setitem(minidl.backend._LOOPS, "on", way == "loop")
    rng = np.random.default_rng(0)
    shape = (5, optim.CACHE_BLOCK // 2)  # 2.5 blocks of the flattened table
    theta0 = rng.standard_normal(shape).astype(np.float32)
    p = minidl.Parameter(theta0.copy())
    opt = optim.Adam([p], lr=1e-2, weight_decay=weight_decay, decoupled=decoupled)
    theta, m, v = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
    for t in (1, 2, 3):
        g = rng.standard_normal(shape).astype(np.float32)
        p.grad = g.copy()
        opt.step()
        theta, m, v = _adam_whole_arrays(theta, g, m, v, t, 1e-2, 0.9, 0.999, 1e-8, weight_decay, decoupled)
        np.testing.assert_array_equal(p.data, theta)
        np.testing.assert_array_equal(opt.state[0]["exp_avg"], m)
        np.testing.assert_array_equal(opt.state[0]["exp_avg_sq"], v)
    assert np.mean(p.data != theta0) > 0.999  # (an element can come back to its start by chance)


@pytest.mark.skipif(_loop_ways() == ["calls"], reason="numba is not installed: Adam makes its ufunc calls only")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay,decoupled", [(0.0, False), (0.1, False), (0.1, True)])
def test_the_compiled_adam_loop_is_the_ufunc_calls_to_the_bit(dtype, weight_decay, decoupled, monkeypatch):
    """Two parameters (a matrix and a vector), four steps with gradients of mixed scale, the
    second optimizer on the loop: θ, m and v equal to the bit, float32 and float64."""
    rng = np.random.default_rng(1)
    shapes = [(7, 5), (11,)]
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    runs = []
    for on in (False, True):
        monkeypatch.setitem(minidl.backend._LOOPS, "on", on)
        params = [minidl.Parameter(a.copy()) for a in start]
        opt = optim.Adam(params, lr=3e-2, weight_decay=weight_decay, decoupled=decoupled)
        grads = np.random.default_rng(2)
        for _ in range(4):
            for p in params:
                scale = 10.0 ** grads.integers(-6, 2, p.data.shape)
                p.grad = (grads.standard_normal(p.data.shape) * scale).astype(dtype)
            opt.step()
        runs.append([p.data for p in params] + [st[k] for st in opt.state for k in ("exp_avg", "exp_avg_sq")])
    for calls, loop in zip(*runs):
        assert calls.dtype == loop.dtype and np.array_equal(calls, loop)
    assert all(np.mean(p != a) > 0.99 for p, a in zip(runs[1][:2], start))


def test_cache_blocks_are_views_in_blocks_and_whole_arrays_when_strided():
    a, b = np.arange(10.0), np.zeros(10)
    blocks = list(optim.cache_blocks((a, b), block=4))
    assert [len(x) for x, _ in blocks] == [4, 4, 2]
    for x, y in blocks:
        y += x  # writes through the views
    np.testing.assert_array_equal(b, a)
    strided = np.arange(20.0)[::2]
    (whole,) = list(optim.cache_blocks((strided, b), block=4))
    assert whole[0] is strided and whole[1] is b  # a strided array: no flat view of it exists
