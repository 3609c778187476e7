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


def test_balanced_accuracy_weighs_every_class_the_same(to_dev):
    # 8 samples of class 0, 2 of class 1: always answering 0 is 80% right, 50% balanced
    y = np.array([0] * 8 + [1] * 2)
    always0 = np.zeros(10, np.int64)
    assert metrics.accuracy(always0, y) == pytest.approx(0.8)
    assert metrics.balanced_accuracy(to_dev(y), to_dev(always0)) == pytest.approx(0.5)
    p = np.array([0] * 6 + [1] * 2 + [1, 0])  # class 0: 6/8, class 1: 1/2
    assert metrics.balanced_accuracy(y, p) == pytest.approx((6 / 8 + 1 / 2) / 2)
    # a class with no samples is left out of the mean (it has no accuracy), not counted as 0
    assert metrics.balanced_accuracy(y, p, num_classes=3) == pytest.approx((6 / 8 + 1 / 2) / 2)
    cm = metrics.confusion_matrix(y, p, num_classes=3)
    np.testing.assert_allclose(metrics.per_class_accuracy_from_confusion(cm)[:2], [6 / 8, 1 / 2])
    with pytest.raises(ValueError, match="square"):
        metrics.per_class_accuracy_from_confusion(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        metrics.balanced_accuracy_from_confusion(np.zeros((2, 2), np.int64))


def test_tally_sums_batches_and_ranks():
    """Unequal batches: the loss is the mean per sample, not the mean of batch means; a
    reduction over two identical ranks doubles every count and keeps every ratio."""
    t = metrics.Tally(confusion=True, keep_predictions=True)
    t.add(1.0, np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]]), np.array([0, 1, 1]))  # 2 of 3 right
    t.add(4.0, np.array([1]), np.array([1]), num_classes=2)  # 1 of 1 right
    assert t.n == 4 and t.correct == 3 and t.loss == pytest.approx((1.0 * 3 + 4.0 * 1) / 4)
    np.testing.assert_array_equal(t.confusion, [[1, 0], [1, 2]])
    np.testing.assert_array_equal(t.y_pred, [0, 1, 0, 1])
    np.testing.assert_array_equal(t.y_true, [0, 1, 1, 1])
    seen = []

    def two_ranks(v):
        seen.append(v.copy())
        return 2 * v

    t.reduce(two_ranks)
    assert seen[0].dtype == np.float64 and seen[0].shape == (3 + 4,)
    assert (t.n, t.correct) == (8, 6) and t.loss == pytest.approx(7 / 4) and t.acc == pytest.approx(3 / 4)
    np.testing.assert_array_equal(t.confusion, [[2, 0], [2, 4]])
    step = metrics.Tally()
    step.add(0.5, np.array([0, 0]), np.array([0, 1]))
    t.merge(step)
    assert (t.n, t.correct) == (10, 7)
    assert metrics.count_correct(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 1
    assert np.isnan(metrics.Tally().loss) and np.isnan(metrics.Tally().acc)
