"""``minidl.history.time_to``: when a run first reached a threshold, and the seconds it took."""

from minidl.history import History, time_to

# epoch 3 is the best; epoch 2 is the first at or above 0.85 (and exactly at 0.86)
ROWS = [{"epoch": 1, "test_acc": 0.80, "train_acc": 0.70, "seconds": 10.0},
        {"epoch": 2, "test_acc": 0.86, "train_acc": 0.90, "seconds": 12.0},
        {"epoch": 3, "test_acc": 0.90, "train_acc": 0.95, "seconds": 11.0}]


def test_time_to_is_the_first_epoch_at_or_above_and_the_seconds_up_to_its_end():
    assert time_to(ROWS, 0.85) == (ROWS[1], 22.0)  # the first to reach it, not the best
    assert time_to(ROWS, 0.86) == (ROWS[1], 22.0)  # at counts: ≥, not >
    assert time_to(ROWS, 0.5) == (ROWS[0], 10.0)  # the first epoch's own seconds only
    assert time_to(ROWS, 0.90) == (ROWS[2], 33.0)
    assert time_to(ROWS, 0.91) is None
    assert time_to([], 0.5) is None


def test_time_to_takes_a_history_and_any_column():
    assert time_to(History(list(ROWS)), 0.85) == (ROWS[1], 22.0)
    assert time_to(ROWS, 0.90, key="train_acc") == (ROWS[1], 22.0)
