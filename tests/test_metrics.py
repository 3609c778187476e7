"""Metrics against hand-computed values; device arrays are accepted (copied to the host)."""

import numpy as np
import pytest

from minidl import metrics


def test_accuracy_from_indices_scores_and_binary_outputs(to_dev):
    y = np.array([0, 1, 2, 2, 1])
    assert metrics.accuracy(np.array([0, 1, 1, 2, 0]), y) == pytest.approx(3 / 5)
    scores = np.array([[2.0, 1, 0], [0, 3, 1], [0, 1, 5], [1, 0, 0], [0, 2, 1]])  # argmax 0 1 2 0 1
    assert metrics.accuracy(to_dev(scores), to_dev(y)) == pytest.approx(4 / 5)
    probs = np.array([[0.9], [0.2], [0.6], [0.4]])
    t = np.array([[1.0], [0.0], [0.0], [0.0]])  # a BCE target column
    assert metrics.accuracy(probs, t) == pytest.approx(3 / 4)
    assert metrics.accuracy(np.log(probs / (1 - probs)), t, threshold=0.0) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="differ in length"):
        metrics.accuracy(np.array([0, 1]), y)
    with pytest.raises(ValueError, match="integer class indices"):
        metrics.accuracy(np.array([0, 1]), np.array([0.5, 1.0]))


def test_confusion_matrix_and_per_class_accuracy_by_hand(to_dev):
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    p = np.array([0, 1, 0, 1, 1, 2, 0, 2, 1])
    M = metrics.confusion_matrix(to_dev(y), to_dev(p), num_classes=4)
    assert M.tolist() == [
        [2, 1, 0, 0],
        [0, 2, 0, 0],
        [1, 1, 2, 0],
        [0, 0, 0, 0],
    ]
    acc = metrics.per_class_accuracy(y, p, num_classes=4)
    np.testing.assert_allclose(acc[:3], [2 / 3, 1.0, 0.5])
    assert np.isnan(acc[3])  # no samples of class 3
    assert metrics.confusion_matrix(y, p).shape == (3, 3)
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\)"):
        metrics.confusion_matrix(y, p, num_classes=2)
    table = metrics.format_per_class(y, p, ["neg", "pos", "mixed"])
    assert "mixed" in table and "66.67%" in table and "50.00%" in table
    assert table.splitlines()[-1].split()[1:] == ["9", "6", "66.67%"]
