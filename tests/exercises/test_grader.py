"""The grader on a small exercise declared here (not registered): several forward outputs,
one of them without upstream, gate blocks, a student that crashes or returns the wrong
number of values, and a reference that disagrees with finite differences."""

import numpy as np
import pytest

from minidl.exercises import Blocks, Case, Exercise, grade
from minidl.exercises.grader import ERROR, FAIL, NOT_IMPLEMENTED, PASS, ReferenceMismatch

H, D, N = 2, 3, 2  # a (4H, D) weight: four gate blocks of H rows


def make_case(rng, i):
    x, W = rng.standard_normal((N, D)), rng.standard_normal((4 * H, D))
    return Case(args={"dh": rng.standard_normal((N, 4 * H)), "x": x, "W": W}, inputs={"x": x, "W": W})


def forward(x, W):
    a = x @ W.T
    return a, np.tanh(a)  # the second output does not reach the loss (upstream None)


def right(dh, x, W):
    return dh @ W, dh.T @ x


def gated(reference=right, **kw):
    return Exercise(name="gates", title="t", chapter="lstm.md", outputs=("dx", "dW"), make_case=make_case,
                    reference=lambda c: reference(**c.args), forward=forward, upstream=("dh", None),
                    grad_of={"dx": "x", "dW": "W"}, blocks={"dW": Blocks(0, ("i", "f", "g", "o"))}, **kw)


def test_a_right_answer_passes_as_a_tuple_or_a_dict():
    ex = gated()
    assert grade(ex, right).status == PASS
    assert grade(ex, lambda dh, x, W: {"dx": dh @ W, "dW": dh.T @ x}).status == PASS


def test_a_wrong_gate_block_is_named():
    def wrong_f(dh, x, W):
        dW = dh.T @ x
        dW[H:2 * H] *= -1
        return dh @ W, dW
    report = grade(gated(), wrong_f)
    assert report.status == FAIL
    assert "wrong gate blocks: f (sign flipped" in str(report) and "right: i, g, o" in str(report)


def test_a_crash_a_stub_and_a_wrong_count_are_reported():
    def crash(dh, x, W):
        return dh @ x, None
    report = grade(gated(), crash)
    assert report.status == ERROR and "raised ValueError" in str(report) and "in case 1" in str(report)

    def stub(dh, x, W):
        raise NotImplementedError
    assert grade(gated(), stub).status == NOT_IMPLEMENTED
    report = grade(gated(), lambda dh, x, W: dh @ W)
    assert report.status == ERROR and "expected 2: (dx, dW)" in str(report)


def test_a_reference_that_disagrees_with_finite_differences_is_a_library_bug():
    with pytest.raises(ReferenceMismatch, match="dW disagrees with finite differences"):
        grade(gated(reference=lambda dh, x, W: (dh @ W, 2 * dh.T @ x)), right)


def test_a_new_exercise_is_never_served_a_freed_ones_references():
    """The grader caches each exercise's references; a freed exercise's id is soon reused by
    a new one, which must still get its own (here: a wrong reference, caught every time)."""
    for _ in range(20):
        grade(gated(), right)  # prepared and cached, then the exercise is freed
        with pytest.raises(ReferenceMismatch, match="dW disagrees with finite differences"):
            grade(gated(reference=lambda dh, x, W: (dh @ W, 2 * dh.T @ x)), right)


def test_the_student_cannot_change_the_cases():
    def vandal(dh, x, W):
        out = right(dh, x, W)
        dh[...] = 0
        x[...] = 0
        return out
    ex = gated()
    assert grade(ex, vandal).status == PASS
    assert grade(ex, right).status == PASS


def test_quantities_returned_in_the_wrong_order_are_named():
    report = grade(gated(), lambda dh, x, W: (dh.T @ x, dh @ W))
    assert "this is the right value of dW: return them in the order (dx, dW)" in str(report)
    assert "this is the right value of dx" in str(report)


# ---- two upstream gradients: the cases rerun with one of them at a time ----------------------
def two_outputs_case(rng, i):
    x, W = rng.standard_normal((N, D)), rng.standard_normal((H, D))
    return Case(args={"dy": rng.standard_normal((N, H)), "dt": rng.standard_normal((N, H)), "x": x, "W": W},
                inputs={"x": x, "W": W})


def two_outputs(x, W):
    """y = x Wᵀ and t = tanh(x Wᵀ): two outputs, each with its own upstream gradient."""
    return x @ W.T, np.tanh(x @ W.T)


def two_outputs_backward(dy, dt, x, W, *, slope=True, factor=1.0):
    a = np.tanh(x @ W.T)
    dz = dy + dt * ((1 - a * a) if slope else 1.0)
    return dz @ W, factor * dz.T @ x


def two_paths():
    return Exercise(name="two", title="t", chapter="lstm.md", outputs=("dx", "dW"), make_case=two_outputs_case,
                    reference=lambda c: two_outputs_backward(**c.args), forward=two_outputs, upstream=("dy", "dt"),
                    grad_of={"dx": "x", "dW": "W"})


def test_paths_name_the_upstream_gradient_whose_path_holds_the_mistake():
    ex = two_paths()
    assert grade(ex, two_outputs_backward).status == PASS
    assert grade(ex, two_outputs_backward).paths == []  # a right answer is not split

    text = str(grade(ex, lambda dy, dt, x, W: two_outputs_backward(dy, dt, x, W, slope=False)))
    assert "paths: dy alone (dt = 0): all right" in text
    assert "dt alone (dy = 0): 2 of 2 wrong (dx, dW)" in text
    assert "the mistake is on a path that only dt takes (with dy alone every quantity is right)" in text

    report = grade(ex, lambda dy, dt, x, W: two_outputs_backward(dy, dt, x, W, factor=2.0))
    assert [(p.alone, p.zeroed, p.wrong) for p in report.paths] == [("dy", ("dt",), ("dW",)), ("dt", ("dy",), ("dW",))]
    assert "wrong with each alone: the mistake is (also) in a part every path goes through" in str(report)


def test_paths_that_are_right_alone_but_not_together_are_told_they_do_not_add_up():
    def either(dy, dt, x, W):  # ∂L/∂z takes one path's gradient, not their sum
        a = np.tanh(x @ W.T)
        dz = np.where(dy != 0, dy, dt * (1 - a * a))
        return dz @ W, dz.T @ x
    report = grade(two_paths(), either)
    assert report.status == FAIL and all(p.wrong == () for p in report.paths)
    assert "right with each alone, wrong with them together: the paths do not add up" in str(report)


def test_paths_are_left_out_for_one_upstream_or_a_student_that_fails_on_a_zero_gradient():
    def wrong_f(dh, x, W):
        dW = dh.T @ x
        dW[H:2 * H] *= -1
        return dh @ W, dW
    report = grade(gated(), wrong_f)  # one upstream gradient (the other output has none)
    assert report.status == FAIL and report.paths == [] and "paths:" not in str(report)

    def refuses_zeros(dy, dt, x, W):
        if not dy.any() or not dt.any():
            raise ValueError("a zero gradient")
        return two_outputs_backward(dy, dt, x, W, slope=False)
    report = grade(two_paths(), refuses_zeros)
    assert report.status == FAIL and report.paths == [] and "paths:" not in str(report)
