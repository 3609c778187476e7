"""The LSTM's compiled loops (minidl/functional/lstm_loops.py) give the ufunc calls' numbers
to the last bit: each loop against the function of minidl/functional/lstm.py it stands for,
as plain Python (always) and compiled by numba (where numba is installed), in float32 and
float64, with subnormal results among the numbers; then the whole layer, forward and
backward, with the loops and without. And the switch: ``MINIDL_COMPILED_LOOPS``."""

import sys

import numpy as np
import pytest

from minidl import backend
from minidl.errors import DeviceError, RangeError
from minidl.functional import lstm, lstm_inference, lstm_loops

try:
    import numba  # noqa: F401

    HAVE_NUMBA = True
except Exception:
    HAVE_NUMBA = False

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1, 1), (3, 2, 5), (2, 4, 3)]  # (n steps, B, H): B ≠ H, so a transposed index fails


def _ways():
    """How each loop runs: as the Python it is written in, and compiled where numba is."""
    return ["plain"] + (["compiled"] if HAVE_NUMBA else [])


def each_way_dtype_and_shape(test):
    """Run ``test`` for every way, dtype and shape."""
    for name, values in (("shape", SHAPES), ("dtype", DTYPES), ("way", _ways())):
        test = pytest.mark.parametrize(name, values)(test)
    return test


def _loop(name, way):
    loop = getattr(lstm_loops, name)
    return loop.plain if way == "plain" else loop


def _values(r, shape, dtype, low=-1.0, high=1.0):
    """Uniform numbers in [low, high], a few of them tiny, so that some products are subnormal
    (a compiler that flushed them to zero would differ from NumPy there)."""
    a = r.uniform(low, high, size=shape).astype(dtype)
    tiny = np.finfo(dtype).tiny
    a.flat[:: 7] *= dtype(tiny * 64)  # ~tiny·64: their products with numbers < 1/64 are subnormal
    return a


def _assert_same(got, want, name):
    assert got.dtype == want.dtype and got.shape == want.shape, name
    assert np.array_equal(got, want), f"{name}: {np.count_nonzero(got != want)} of {got.size} numbers differ"
    assert np.count_nonzero(want) > want.size // 2, f"{name}: the check needs numbers that are not 0"


@each_way_dtype_and_shape
def test_cell_update_loop_is_the_gates_ufunc_calls(way, dtype, shape):
    _, B, H = shape
    r = np.random.default_rng(1)
    a, u = _values(r, (4, B, H), dtype), _values(r, (4, B, H), dtype)
    c_prev = _values(r, (B, H), dtype, -3, 3)
    want = [a.copy(), np.empty((B, H), dtype), np.empty((B, H), dtype), np.empty((B, H), dtype)]
    lstm.lstm_gates(want[0], u, c_prev, *want[1:])
    got = [a.copy(), np.full((B, H), np.nan, dtype), np.full((B, H), np.nan, dtype), np.full((B, H), np.nan, dtype)]
    # lstm_loops.lstm_gates, with the loop run the way under test
    a_, c, tanh_c, h = got
    lstm_loops.tanh_of_sum(a_, u)
    _loop("cell_update_loop", way)(a_, c_prev, c, dtype(0.5))
    np.tanh(c, out=tanh_c)
    np.multiply(a_[0], tanh_c, out=h)
    for name, g, w in zip(("gates", "c'", "tanh c'", "h'"), got, want):
        _assert_same(g, w, name)


@each_way_dtype_and_shape
def test_local_grads_loop_is_the_factors_ufunc_calls(way, dtype, shape):
    n, B, H = shape
    r = np.random.default_rng(2)
    G = _values(r, (n, 4, B, H), dtype)
    G[:, :3] = 0.5 * G[:, :3] + 0.5  # sigmoid gates in (0, 1)
    c_prev, tanh_c = _values(r, (n, B, H), dtype, -3, 3), _values(r, (n, B, H), dtype)
    K, P = np.empty((n, 4, B, H), dtype), np.empty((n, B, H), dtype)
    lstm.lstm_local_grads(G, c_prev, tanh_c, K, P)
    K2, P2 = np.full_like(K, np.nan), np.full_like(P, np.nan)
    _loop("local_grads_loop", way)(G, c_prev, tanh_c, K2, P2, dtype(1))
    for k, gate in enumerate("oifg"):
        _assert_same(K2[:, k], K[:, k], f"K_{gate}")
    _assert_same(P2, P, "P")


@each_way_dtype_and_shape
def test_step_back_loop_is_the_gates_backward_ufunc_calls(way, dtype, shape):
    """dz is written over the step's saved gates, f among them, as the layer does: the loop must
    read every f before it writes a dz."""
    _, B, H = shape
    r = np.random.default_rng(3)
    dh, dc_in, P = (_values(r, (B, H), dtype, -2, 2) for _ in range(3))
    K = _values(r, (4, B, H), dtype, -2, 2)
    gates = _values(r, (4, B, H), dtype)  # the step's saved gates; f = gates[2]
    want_gates, want_dc, want_new = gates.copy(), dc_in.copy(), np.empty((B, H), dtype)
    lstm.lstm_gates_backward(dh, want_dc, K, P, want_gates[2], want_gates.reshape(B, 4, H), want_new)
    got_gates, got_dc, got_new = gates.copy(), dc_in.copy(), np.full((B, H), np.nan, dtype)
    _loop("step_back_loop", way)(dh, got_dc, K, P, got_gates[2], got_gates.reshape(B, 4, H), got_new)
    _assert_same(got_gates, want_gates, "dz")
    _assert_same(got_dc, want_dc, "dc")
    _assert_same(got_new, want_new, "dc'")


@pytest.fixture
def loops(monkeypatch):
    """Set whether the loops run (the switch's answer, without the environment variable)."""
    def set_on(on):
        monkeypatch.setitem(backend._LOOPS, "on", on)
        monkeypatch.setitem(backend._LOOPS, "why", "set by the test")
    return set_on


def _layer_run(dtype, lengths, residual):
    """Forward (training and cache-free) and backward of one LSTM layer, every result."""
    T, B, D, H = 9, 3, 4 if residual != "identity" else 5, 5
    r = np.random.default_rng(4)
    x = r.standard_normal((T, B, D)).astype(dtype)
    h0, c0 = (r.standard_normal((B, H)).astype(dtype) for _ in range(2))
    w = [0.5 * r.standard_normal(s) for s in ((4 * H, D), (4 * H, H), (4 * H,), (4 * H,))]
    w = [a.astype(dtype) for a in w]
    kw = {"lengths": np.array([9, 4, 6]) if lengths else None, "residual": residual is not None}
    if residual == "projected":
        kw["weight_res"] = r.standard_normal((H, D)).astype(dtype)
    (out, h_n, c_n), cache = lstm.lstm_forward(x, h0, c0, *w, **kw)
    results = {"out": out.copy(), "h_n": h_n, "c_n": c_n}
    for k, v in zip(("out", "h_n", "c_n"), lstm_inference.lstm_infer(x, h0, c0, *w, **kw)):
        results["infer " + k] = v
    dy = (r.standard_normal((T, B, H)).astype(dtype), r.standard_normal((B, H)).astype(dtype),
          r.standard_normal((B, H)).astype(dtype))
    results.update(lstm.lstm_backward(dy, cache))
    return results


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed: the layer runs the ufunc calls only")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lengths", [False, True])
@pytest.mark.parametrize("residual", [None, "identity", "projected"])
def test_the_layer_with_compiled_loops_is_the_layer_without(loops, dtype, lengths, residual):
    loops(False)
    without = _layer_run(dtype, lengths, residual)
    loops(True)
    assert _steps(np.zeros(1))[0] is lstm_loops.lstm_gates
    with_loops = _layer_run(dtype, lengths, residual)
    assert with_loops.keys() == without.keys()
    for name in without:
        assert np.array_equal(with_loops[name], without[name]), name


def _steps(x):
    return lstm_loops.step_functions(x, lstm.lstm_gates, lstm.lstm_local_grads, lstm.lstm_gates_backward)


def test_step_functions_follow_the_switch_and_the_array_type(loops):
    loops(False)
    assert _steps(np.zeros(1)) == (lstm.lstm_gates, lstm.lstm_local_grads, lstm.lstm_gates_backward)
    loops(True)
    assert _steps(np.zeros(1)) == (lstm_loops.lstm_gates, lstm_loops.lstm_local_grads, lstm_loops.lstm_gates_backward)
    assert _steps(np.zeros(1).view(np.matrix))[0] is lstm.lstm_gates  # not exactly NumPy's array


def _ask(monkeypatch, setting, numba_module=...):
    """compiled_loops() asked afresh with MINIDL_COMPILED_LOOPS = setting (None: unset)."""
    monkeypatch.setitem(backend._LOOPS, "on", None)
    if setting is None:
        monkeypatch.delenv("MINIDL_COMPILED_LOOPS", raising=False)
    else:
        monkeypatch.setenv("MINIDL_COMPILED_LOOPS", setting)
    if numba_module is not ...:
        monkeypatch.setitem(sys.modules, "numba", numba_module)  # None: `import numba` fails
    return backend.compiled_loops()


def test_the_switch(monkeypatch):
    assert _ask(monkeypatch, "0") is False
    assert "MINIDL_COMPILED_LOOPS=0" in backend.compiled_loops_status()
    with pytest.raises(RangeError, match="MINIDL_COMPILED_LOOPS must be 0 or 1"):
        _ask(monkeypatch, "yes")
    if HAVE_NUMBA:
        assert _ask(monkeypatch, None) is True and backend.compiled_loops_status().startswith("numba ")
        assert _ask(monkeypatch, "1") is True
    # from here on `import numba` fails, as where it is not installed
    assert _ask(monkeypatch, None, None) is False  # quietly the ufunc calls
    assert backend.compiled_loops_status().startswith("off: numba not importable")
    with pytest.raises(DeviceError, match="MINIDL_COMPILED_LOOPS=1, but numba cannot be imported"):
        _ask(monkeypatch, "1", None)
