"""The diagnosis of one quantity: each rule fires on its mistake, and only on it."""

import numpy as np
import pytest

from minidl.exercises.diagnose import diagnose
from minidl.exercises.spec import Blocks

rng = np.random.default_rng(0)
G = rng.standard_normal((3, 5))
SQUARE = rng.standard_normal((4, 4))
T1, T2 = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
TERMS = {"through the mean": T1, "through the variance": T2}
FACTORS = {"1/N (N = 3, the batch size)": 1 / 3}


@pytest.mark.parametrize("s,g,words", [
    (None, G, "not returned"),
    ("abc", G, "not an array"),
    (G.T, G, "looks transposed (the values are right, transposed)"),
    (G.T + 1, G, "looks transposed"),
    (np.stack([G, G]) / 2, G, "forget to sum over the batch"),
    (G.reshape(15) + 1, G, "a reshape or a transpose"),
    (G.ravel()[:4], G, "wrong shape: expected (3, 5), got (4,)"),
    (SQUARE.T, SQUARE, "equals the transpose"),
    (-G, G, "sign flipped"),
    (0 * G, G, "all zeros"),
    (3 * G, G, "did you forget the factor 1/N (N = 3, the batch size)"),
    (G / 3, G, "an extra factor 1/N"),
    (-3 * G, G, "sign is flipped"),
    (0.5 * G, G, "a missing 1/2 or 2"),
    (1.7 * G, G, "off by a constant factor 1.7"),
    (G - T2, G, "missing term: through the variance"),
    (G - 2 * T1, G, "the term through the mean has the wrong sign"),
    (T1, G, "only the term through the mean"),
    (np.where(np.arange(15).reshape(3, 5) == 7, G + 1, G), G,
     "values differ at 1 of 15 elements; the largest error is at index (1, 2)"),
    (np.full((3, 5), np.nan), G, "NaN"),
])
def test_each_mistake_gets_its_diagnosis(s, g, words):
    message = diagnose(s, g, terms=TERMS, factors=FACTORS)
    assert message is not None and words in message, message


def test_a_right_value_passes_and_rounding_is_not_a_mistake():
    assert diagnose(G.copy(), G) is None
    assert diagnose(G * (1 + 1e-12), G) is None
    assert diagnose(G * (1 + 1e-5), G) is not None


def test_gate_blocks_are_named():
    g = rng.standard_normal((8, 3))  # 4 gates of 2 rows
    s = g.copy()
    s[2:4] *= -1  # f
    s[6:8] += 1  # o
    message = diagnose(s, g, blocks=Blocks(0, ("i", "f", "g", "o")))
    assert message == ("wrong gate blocks: f (sign flipped: you return −(the right value)), o (values differ); "
                       "right: i, g")
    g3 = rng.standard_normal((2, 9))  # 3 gates along axis 1
    s3 = g3.copy()
    s3[:, 3:6] *= 2
    assert "wrong gate blocks: z (off by a factor 2" in diagnose(s3, g3, blocks=Blocks(1, ("r", "z", "n")))


def test_a_per_column_scale_and_a_low_precision_answer_are_named():
    message = diagnose(G * np.array([1.0, 2.0, 0.5, 1.0, 3.0]), G)
    assert "different factor in each column (last axis): [1, 2, 0.5, 1, 3]" in message
    message = diagnose((G + 1e-3).astype(np.float32), G)
    assert "values differ" in message and "float32" in message
    assert diagnose(G.astype(np.float32), G.astype(np.float32).astype(np.float64)) is None


def test_a_sequence_gradient_is_told_at_which_steps_it_is_right():
    """For a quantity with a time axis the fallback line says which steps are right; it says
    nothing when every step is wrong, and nothing without ``step_axis``."""
    g = np.random.default_rng(0).standard_normal((5, 2, 3))
    s = g.copy()
    s[:2] += 1.0
    s[3, 0, 0] += 0.5
    message = diagnose(s, g, step_axis=0)
    assert "by step: right at t = 2, 4, wrong at t = 0…1, 3" in message, message
    assert "by step" not in diagnose(s, g)
    assert "by step" not in diagnose(g + 1.0 + g * g, g, step_axis=0)
    s = g.copy()
    s[:4] *= 1.5 + g[:4]  # wrong everywhere but the last step
    assert "right at t = 4, wrong at t = 0…3 (the last step only" in diagnose(s, g, step_axis=0)


def test_a_padded_batch_gradient_is_told_for_which_sequences_it_is_right():
    g = np.random.default_rng(1).standard_normal((4, 3, 2))
    s = g.copy()
    s[:, 1:] *= 1.5 + g[:, 1:]  # sequences 1 and 2 wrong, sequence 0 right
    message = diagnose(s, g, step_axis=0, sequence_axis=1)
    assert message.endswith("; by sequence: right at b = 0, wrong at b = 1…2"), message
    assert "by sequence" not in diagnose(s, g, step_axis=0)
