"""What the twins' resume tests compare (tests/examples/test_cifar_torch_twin.py and
test_imdb_deep_torch_twin.py): a run split by ``--resume`` against the uninterrupted run."""

from __future__ import annotations

import numpy as np

TIMES = {"train_seconds", "seconds"}  # the only columns a resumed run may not repeat
RUN_NOTES = {"wall_seconds", "data_seconds", "seconds_per_epoch", "resumed_after_epochs", "args"}


def without(rows, keys):
    """``rows`` (dicts) with ``keys`` left out."""
    return [{k: v for k, v in r.items() if k not in keys} for r in rows]


def checkpoint_arrays(folder):
    """Every array of the twin's checkpoint, read without pickle (an object array would raise)."""
    with np.load(folder / "torch_last.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
