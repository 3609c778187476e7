"""The gradient checker itself: it passes right backwards, catches wrong ones (down to a
gradient off by 1e-4 relative), and its tolerance has the absolute part that round-off needs."""

import numpy as np
import pytest

import minidl
from minidl import backend, nn
from minidl.errors import DTypeError, RangeError
from minidl.functional.linear import linear_backward, linear_forward
from minidl.gradcheck import (
    DEFAULT_EPS,
    UNIT_ROUNDOFF,
    GradcheckError,
    compare_direction,
    compare_full,
    default_atol,
    gradcheck,
    gradcheck_pair,
    objective_scale,
)


def _x(shape, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


class ScaledTanh(nn.Tanh):
    """tanh whose backward is off by a relative ``factor`` (0: right)."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def backward(self, dy):
        return super().backward(dy) * (1 + self.factor)


def test_gradcheck_catches_a_wrong_backward(to_dev):
    class BadTanh(nn.Tanh):
        def backward(self, dy):
            y = self.saved().y
            return dy * (1 - y)  # wrong: should be 1 - y²

    r = gradcheck(BadTanh(), to_dev(_x((2, 3))))
    assert not r.ok and r.errors["input 0"] > 1e-3
    with pytest.raises(AssertionError):
        r.assert_ok()
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(BadTanh(), to_dev(_x((2, 3))), raise_on_fail=True)


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_gradcheck_catches_a_gradient_off_by_1e_4_relative(mode, to_dev):
    x = to_dev(_x((2, 3), scale=0.7))
    assert gradcheck(ScaledTanh(0.0), x, mode=mode).ok
    for factor in (1e-4, -1e-4):
        r = gradcheck(ScaledTanh(factor), x, mode=mode)
        assert not r.ok, str(r)


def test_gradcheck_catches_one_wrong_element_of_a_parameter():
    """A bias gradient right everywhere but in one element, off there by 1e-4 relative."""

    class OneOff(nn.Linear):
        def backward(self, dy):
            dx = super().backward(dy)
            self.bias.grad[1] *= 1 + 1e-4
            return dx

    m = OneOff(3, 4).double()
    r = gradcheck(m, _x((5, 3)), randomize_params=True)
    assert not r.ok and r.used["bias"] > 1 and r.used["weight"] <= 1, str(r)


def test_gradcheck_direction_mode(device, to_dev):
    m = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double().to(device)
    r = gradcheck(m, to_dev(_x((3, 4))), mode="direction", randomize_params=True)
    assert r.ok, str(r)
    assert set(r.errors) == {"input 0", "0.weight", "0.bias", "2.weight", "2.bias"}


def test_gradcheck_refuses_float32_and_bad_mode():
    with pytest.raises(DTypeError, match="float64"):
        gradcheck(nn.Linear(2, 2), np.zeros((1, 2), np.float32))
    with pytest.raises(TypeError, match="float64"):  # a DTypeError is a TypeError
        gradcheck(nn.Linear(2, 2).double(), np.zeros((1, 2), np.float32))
    with pytest.raises(RangeError, match="mode"):
        gradcheck(nn.Linear(2, 2).double(), np.zeros((1, 2)), mode="sideways")


# ---------------------------------------------------------------- the tolerance
def test_round_off_floor_follows_the_analysis():
    y, g = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    assert objective_scale([y], [g]) == pytest.approx(4.0)
    assert default_atol(4.0, 1e-6) == pytest.approx(100 * UNIT_ROUNDOFF * 4.0 / 1e-6)
    assert default_atol(4.0, 1e-5) == pytest.approx(default_atol(4.0, 1e-6) / 10)


def test_direction_mode_scales_by_the_norms_not_the_projected_number():
    """The case that failed on some machines: a projected value of 2e-5 off by 4e-11
    (relative 1e-6, all of it round-off) passes; off by 1e-4 of ‖a‖ it fails."""
    atol = default_atol(20.0, 1e-5)  # S ~ 20, eps 1e-5, as in the failing layer
    rel, diff, used = compare_direction(1.8e-5, 1.8e-5 + 4e-11, grad_norm=0.3, direction_norm=1.0,
                                        atol=atol, rtol=1e-6)
    assert rel > 1e-6 and used < 1  # a pure relative test would have failed here
    _, _, used = compare_direction(0.1, 0.1 + 1e-4 * 0.3, grad_norm=0.3, direction_norm=1.0, atol=atol, rtol=1e-6)
    assert used > 1


def test_full_mode_is_per_element_absolute_plus_relative():
    n = np.array([1.0, 1e-9, 0.0])
    atol = 1e-8
    _, _, used = compare_full(n + np.array([0.5e-6, 5e-9, 5e-9]), n, atol, 1e-6)
    assert used <= 1
    _, _, used = compare_full(n + np.array([3e-6, 0.0, 0.0]), n, atol, 1e-6)
    assert used > 1
    _, _, used = compare_full(n + np.array([0.0, 0.0, 2e-8]), n, atol, 1e-6)  # a small gradient, wrong
    assert used > 1
    _, _, used = compare_full(n * np.nan, n, atol, 1e-6)
    assert not used <= 1  # NaN fails


def test_report_prints_relative_errors_and_tolerance():
    r = gradcheck(nn.Linear(3, 2).double(), _x((2, 3)), randomize_params=True)
    text = str(r)
    assert "rel.error" in text and "atol" in text and "rtol" in text and "weight" in text
    assert r.tol == r.rtol == 1e-6 and r.eps == DEFAULT_EPS and r.atol == pytest.approx(default_atol(r.scale, r.eps))
    assert 0 <= r.worst < 1e-6


def test_gradcheck_keeps_the_callers_random_state():
    minidl.manual_seed(5)
    backend.host_rng().random()
    state = backend.get_rng_state()
    gradcheck(nn.Dropout(0.5), _x((2, 3)), seed=3)
    assert backend.get_rng_state() == state


# ---------------------------------------------------------------- bare functional pairs
def test_gradcheck_pair_linear(device, to_dev):
    rng = np.random.default_rng(0)
    arrays = {"x": to_dev(rng.standard_normal((3, 4))), "weight": to_dev(rng.standard_normal((2, 4))),
              "bias": to_dev(rng.standard_normal(2))}
    before = {k: minidl.asnumpy(v).copy() for k, v in arrays.items()}
    for mode in ("full", "direction"):
        r = gradcheck_pair(linear_forward, linear_backward, arrays, mode=mode)
        assert r.ok and set(r.errors) == {"x", "weight", "bias"}, str(r)
    for k, v in arrays.items():  # nudged in place, restored exactly
        np.testing.assert_array_equal(minidl.asnumpy(v), before[k])


def test_gradcheck_pair_wrt_and_options():
    rng = np.random.default_rng(1)

    def scale_forward(x, weight, *, power):
        return (x * weight) ** power, (x, weight, power)

    def scale_backward(dy, cache):
        x, w, k = cache
        common = dy * k * (x * w) ** (k - 1)
        return {"x": common * w, "weight": common * x}

    arrays = {"x": rng.uniform(0.5, 1.5, 4), "weight": rng.uniform(0.5, 1.5, 4)}
    assert gradcheck_pair(scale_forward, scale_backward, arrays, {"power": 3}).ok
    r = gradcheck_pair(scale_forward, scale_backward, arrays, {"power": 3}, wrt=["weight"])
    assert set(r.errors) == {"weight"}


def test_gradcheck_pair_refuses_a_ragged_backward():
    rng = np.random.default_rng(2)
    arrays = {"x": rng.standard_normal((2, 3)), "weight": rng.standard_normal((2, 3)), "bias": rng.standard_normal(2)}

    def no_bias(dy, cache):
        g = linear_backward(dy, cache)
        del g["bias"]
        return g

    def renamed(dy, cache):
        g = linear_backward(dy, cache)
        g["W"] = g.pop("weight")
        return g

    def wrong_shape(dy, cache):
        g = linear_backward(dy, cache)
        g["bias"] = g["bias"][None]
        return g

    with pytest.raises(GradcheckError, match=r"missing \['bias'\]"):
        gradcheck_pair(linear_forward, no_bias, arrays)
    with pytest.raises(GradcheckError, match=r"not arguments \['W'\]"):
        gradcheck_pair(linear_forward, renamed, arrays)
    with pytest.raises(GradcheckError, match=r"'bias' must have its shape \(2,\), got \(1, 2\)"):
        gradcheck_pair(linear_forward, wrong_shape, arrays)
    with pytest.raises(GradcheckError, match="dict"):
        gradcheck_pair(linear_forward, lambda dy, c: (dy,), arrays)
    with pytest.raises(RangeError, match="wrt"):
        gradcheck_pair(linear_forward, linear_backward, arrays, wrt=["nope"])
    with pytest.raises(DTypeError, match="'x' must be float64"):
        gradcheck_pair(linear_forward, linear_backward, {**arrays, "x": arrays["x"].astype(np.float32)})


def test_gradcheck_pair_catches_a_wrong_pair():
    rng = np.random.default_rng(3)
    arrays = {"x": rng.standard_normal((2, 3)), "weight": rng.standard_normal((2, 3)), "bias": rng.standard_normal(2)}

    def transposed(dy, cache):
        g = linear_backward(dy, cache)
        g["weight"] = g["weight"] * (1 + 1e-4)
        return g

    r = gradcheck_pair(linear_forward, transposed, arrays)
    assert not r.ok and r.used["weight"] > 1 and r.used["x"] <= 1


def test_gradcheck_pair_nested_outputs_and_integer_outputs():
    """dy has y's structure: an array per floating output, None for an integer one."""

    def forward(x, weight):
        return (x * weight, (np.tanh(x), np.array([1, 2]))), (x, weight)

    def backward(dy, cache):
        x, w = cache
        da, (db, d_ids) = dy
        assert d_ids is None
        return {"x": da * w + db * (1 - np.tanh(x) ** 2), "weight": da * x}

    rng = np.random.default_rng(4)
    r = gradcheck_pair(forward, backward, {"x": rng.standard_normal(3), "weight": rng.standard_normal(3)})
    assert r.ok and set(r.errors) == {"x", "weight"}, str(r)


def test_gradcheck_takes_a_pair_too():
    rng = np.random.default_rng(5)
    arrays = {"x": rng.standard_normal((2, 3)), "weight": rng.standard_normal((4, 3)), "bias": rng.standard_normal(4)}
    r = gradcheck(linear_forward, linear_backward, arrays)
    assert r.ok and set(r.errors) == {"x", "weight", "bias"}
    assert set(gradcheck(linear_forward, linear_backward, arrays, {}, check_inputs=["weight"]).errors) == {"weight"}
    with pytest.raises(DTypeError, match="module must be a Module, or the pair"):
        gradcheck(linear_forward, np.zeros(3))


# --- a check must be able to fail: tensors whose gradient is ~0 on both sides --------------------
class _Dead(nn.Module):
    """y = relu(x - 10) on inputs well below 10: every gradient is 0 on both sides."""

    def forward(self, x):
        self._mask = x > 10.0
        return np.where(self._mask, x - 10.0, 0.0)

    def backward(self, dy):
        return dy * self._mask


def test_a_tensor_whose_gradient_is_zero_on_both_sides_is_not_exercised():
    r = gradcheck(_Dead(), _x((2, 3)))
    assert not r.ok and r.unexercised == ["input 0"] and r.vacuous == ["input 0"]
    assert "NOT EXERCISED" in str(r)
    with pytest.raises(GradcheckError, match="NOT EXERCISED"):
        gradcheck(_Dead(), _x((2, 3)), raise_on_fail=True)


def test_allow_zero_accepts_a_gradient_that_is_zero_by_construction_and_says_so():
    r = gradcheck(_Dead(), _x((2, 3)), allow_zero=["input 0"])
    assert r.ok and r.unexercised == ["input 0"] and r.vacuous == []
    assert "zero by construction, allowed" in str(r)
    with pytest.raises(RangeError, match="allow_zero names"):
        gradcheck(_Dead(), _x((2, 3)), allow_zero=["weight"])


def test_allow_zero_does_not_excuse_a_wrong_gradient():
    """allow_zero only excuses *both sides* ~0: a backward that returns non-zero where the
    true gradient is zero still fails on the comparison."""
    class Leaky(_Dead):
        def backward(self, dy):
            return dy

    r = gradcheck(Leaky(), _x((2, 3)), allow_zero=["input 0"])
    assert not r.ok and r.used["input 0"] > 1


def test_a_partly_zero_gradient_is_exercised():
    """One live element is enough: the check could catch that element being dropped."""
    x = _x((2, 3)) - 20.0
    x[0, 0] = 11.0
    assert gradcheck(_Dead(), x).ok


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_the_guard_applies_to_functional_pairs_and_both_modes(mode):
    def fwd(x):
        return np.where(x > 10.0, x, 0.0), x

    def bwd(dy, x):
        return {"x": dy * (x > 10.0)}

    r = gradcheck_pair(fwd, bwd, {"x": _x((2, 2))}, mode=mode)
    assert not r.ok and r.unexercised == ["x"]
    assert gradcheck_pair(fwd, bwd, {"x": _x((2, 2))}, mode=mode, allow_zero=["x"]).ok


# --- the check's random numbers are a stream of their own -------------------------------------
class _ReLUReturningY(nn.ReLU):
    """A classic slip: ``dx = y`` instead of ``dy ⊙ [x > 0]``. It equals the right answer
    exactly when the upstream gradient is the input itself."""

    def backward(self, dy):
        super().backward(dy)  # consume the cache as the right backward would
        return np.maximum(self._input_for_test, 0.0)

    def forward(self, x):
        self._input_for_test = x
        return super().forward(x)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_upstream_is_not_the_stream_tests_draw_their_inputs_from(seed):
    """Inputs drawn from ``default_rng(seed)`` (as most tests do) and a check with the same
    seed: were the upstream drawn from that same stream, G would equal x for a same-shape
    layer, and a ReLU backward returning y would pass. It must fail, and the right one pass."""
    x = np.random.default_rng(seed).standard_normal((3, 4))
    assert gradcheck(nn.ReLU(), x, seed=seed).ok
    r = gradcheck(_ReLUReturningY(), x, seed=seed)
    assert not r.ok and r.used["input 0"] > 1


def test_pair_upstream_is_not_the_input_stream_either():
    def fwd(x):
        return np.maximum(x, 0.0), x

    def bwd_returning_y(dy, x):
        return {"x": np.maximum(x, 0.0)}

    x = np.random.default_rng(0).standard_normal((5,))
    assert not gradcheck_pair(fwd, bwd_returning_y, {"x": x}).ok


# ---- what a failing tensor's gradient looks like (report.mismatches, the "↳" lines) ----------
class _Wrong(nn.Linear):
    """A Linear whose backward goes wrong in one of the ways a hand derivation does."""

    def __init__(self, n_in, n_out, how):
        super().__init__(n_in, n_out)
        self.how = how

    def backward(self, dy):
        x = self.saved().x
        dW, db, dx = dy.T @ x, dy.sum(axis=0), dy @ self.weight.data
        if self.how == "mean":
            db = dy.mean(axis=0)
        elif self.how == "transpose":
            dW = dW.T
        elif self.how == "sign":
            dx = -dx
        elif self.how == "twice":
            db = 2 * db
        elif self.how == "zero":
            dW = 0 * dW
        elif self.how == "one element":
            dx = dx.copy()
            dx[2, 1] += 0.25
        elif self.how == "scaled":
            dx = 0.7 * dx
        self.weight.grad += dW
        self.bias.grad += db
        return dx


@pytest.mark.parametrize("how,tensor,words", [
    ("mean", "bias", "analytic = numeric / 5: a mean over an axis of size 5 where a sum belongs"),
    ("transpose", "weight", "analytic is the transpose of numeric"),
    ("sign", "input 0", "sign flipped: analytic = −numeric"),
    ("twice", "bias", "analytic = 2 × numeric: a term counted twice, or a 1/2 left out?"),
    ("zero", "weight", "analytic is all zero: nothing reaches this tensor in backward"),
    ("one element", "input 0", "1 of 20 elements beyond the tolerance; the largest difference at index (2, 1)"),
    ("scaled", "input 0", "analytic = 0.7 × numeric: off by a constant factor"),
])
def test_a_failing_tensor_is_told_what_its_gradient_looks_like(how, tensor, words, to_dev):
    m = _Wrong(4, 4, how).double().to(backend.device_of(to_dev(np.zeros(1))))
    r = gradcheck(m, to_dev(_x((5, 4))), randomize_params=True)
    assert not r.ok and list(r.mismatches) == [tensor], str(r)
    assert r.mismatches[tensor].startswith(words), r.mismatches[tensor]
    line = str(r).splitlines()
    at = next(i for i, text in enumerate(line) if text.startswith(tensor))
    assert "<-- FAIL" in line[at] and line[at + 1].strip() == "↳ " + r.mismatches[tensor]


def test_a_passing_check_has_no_mismatch_lines_and_direction_mode_points_to_full():
    x = _x((5, 4))
    r = gradcheck(nn.Linear(4, 4).double(), x, randomize_params=True)
    assert r.ok and r.mismatches == {} and "↳" not in str(r)
    r = gradcheck(_Wrong(4, 4, "sign").double(), x, randomize_params=True, mode="direction")
    assert not r.ok and list(r.mismatches) == ["input 0"] and "mode='full'" in r.mismatches["input 0"]
