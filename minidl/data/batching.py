"""Mini-batches over arrays: seeded shuffling, drop-last, and bucketing by length.

Why bucket? A batch of padded reviews costs as much as its *longest* review times the batch
size: with IMDB's lengths (median about 200 tokens, 10% above 500) a random batch cut to
``max_len = 300`` is mostly 300 steps long even though a third of its rows end before step
150. Sorting reviews by length before cutting batches puts similar lengths together, and
trimming each batch to its own longest row then removes nearly all the padding::

    random batches, max_len 300:    every batch 300 steps
    bucketed + trimmed:             batches of 40, 41, ..., 300 steps (about 0.7x the work)

Sorting the *whole* set would make every epoch's batches the same, so sorting happens inside
a *pool* of ``bucket_pool`` batches drawn at random: the pool is shuffled, sorted by length,
cut into batches, and then the order of all batches is shuffled. Every sample still appears
exactly once per epoch; only its batch-mates are "similar length" ones.

Reproducible and resumable: epoch ``e`` draws from ``numpy.random.default_rng([seed, e])``,
so the order of an epoch depends only on ``(seed, e)``. The loader's state is these two
numbers (:meth:`BatchLoader.state_dict`); a training run restored from a checkpoint taken
between epochs continues with exactly the batches it would have seen.
"""

from __future__ import annotations

import hashlib
import math
from typing import Iterator, NamedTuple

import numpy as np

from ..errors import RangeError, ShapeError

__all__ = ["Batch", "BatchLoader", "array_digest"]


class Batch(NamedTuple):
    """One mini-batch (host NumPy arrays).

    Attributes:
        x: (B, T_b, ...) rows of ``x``; when ``lengths`` are known and ``trim`` is on,
            ``T_b = max(lengths)`` of this batch, otherwise the full T.
        y: (B, ...) rows of ``y``, or None.
        lengths: (B,) int64 real lengths, or None.
        index: (B,) int64 positions of these rows in the data set.
    """

    x: np.ndarray
    y: np.ndarray | None
    lengths: np.ndarray | None
    index: np.ndarray


def array_digest(*arrays, extra: str = "") -> str:
    """SHA-256 (hex, 16 digits) of the arrays' dtypes, shapes and bytes (None allowed) and ``extra``."""
    h = hashlib.sha256(extra.encode())
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


class BatchLoader:
    """Iterate over ``(x, y, lengths)`` in mini-batches, one epoch per ``for`` loop.

    Args:
        x: (N, T, ...) inputs, e.g. padded token ids (N, T).
        y: (N, ...) targets, or None.
        lengths: (N,) real sequence lengths (``0 <= lengths <= T``), or None.
        batch_size: rows per batch, B.
        shuffle: draw a new order every epoch (seeded); False keeps data-set order, or with
            ``bucket=True`` a fixed shortest-first order (good for fast evaluation).
        seed: seed of the epoch orders.
        drop_last: drop the final smaller batch (N % B rows) of each epoch.
        bucket: group similar lengths into batches (needs ``lengths``).
        bucket_pool: batches per sorting pool when shuffling; bigger = less padding, less
            randomness in who meets whom. ``None`` sorts the whole epoch at once.
        pad: ``"post"`` if the padding of ``x`` is after the tokens (trimming keeps the first
            ``T_b`` columns), ``"pre"`` if before (trimming keeps the last ``T_b``).
        trim: cut each batch's ``x`` to its longest sequence (default: on when ``lengths``
            are given).

    Example::

        loader = BatchLoader(data.train.ids, data.train.labels, data.train.lengths,
                             batch_size=64, bucket=True, seed=0)
        for epoch in range(10):
            for batch in loader:          # Batch(x (B, T_b), y (B,), lengths (B,), index (B,))
                ...
            checkpoint["loader"] = loader.state_dict()
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        lengths: np.ndarray | None = None,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        bucket: bool = False,
        bucket_pool: int | None = 100,
        pad: str = "post",
        trim: bool | None = None,
    ):
        x = np.asarray(x)
        if x.ndim < 1 or len(x) == 0:
            raise ShapeError(f"BatchLoader: x must be a non-empty array (N, ...), got shape {x.shape}")
        N = len(x)
        if y is not None:
            y = np.asarray(y)
            if len(y) != N:
                raise ShapeError(f"BatchLoader: y must have N = {N} rows like x {x.shape}, got shape {y.shape}")
        if lengths is not None:
            lengths = np.asarray(lengths)
            if lengths.shape != (N,) or lengths.dtype.kind not in "iu":
                raise ShapeError(f"BatchLoader: lengths must be integers of shape ({N},), got {lengths.dtype} "
                                 f"{lengths.shape}")
            T = x.shape[1] if x.ndim >= 2 else 0
            if x.ndim < 2 or lengths.min() < 0 or lengths.max() > T:
                raise RangeError(f"BatchLoader: lengths must lie in [0, T = {T}] for x of shape {x.shape}, "
                                 f"got range [{lengths.min()}, {lengths.max()}]")
        if int(batch_size) < 1:
            raise RangeError(f"BatchLoader: batch_size must be >= 1, got {batch_size}")
        if bucket and lengths is None:
            raise RangeError("BatchLoader: bucket=True needs the sequence lengths (lengths=...)")
        if bucket_pool is not None and int(bucket_pool) < 1:
            raise RangeError(f"BatchLoader: bucket_pool must be >= 1 or None, got {bucket_pool}")
        if pad not in ("pre", "post"):
            raise RangeError(f"BatchLoader: pad must be 'pre' or 'post', got {pad!r}")
        self.x, self.y, self.lengths = x, y, lengths
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last, self.bucket = bool(shuffle), bool(drop_last), bool(bucket)
        self.bucket_pool = None if bucket_pool is None else int(bucket_pool)
        self.pad = pad
        self.trim = (lengths is not None) if trim is None else bool(trim)
        if self.trim and lengths is None:
            raise RangeError("BatchLoader: trim=True needs the sequence lengths (lengths=...)")
        self.seed = int(seed)
        self.epoch = 0  # the next epoch to be drawn

    def fingerprint(self) -> str:
        """A digest of the data (x, y, lengths: dtypes, shapes, bytes) and of the settings
        that decide the batches: equal on two ranks exactly when they would draw the same
        batches (``fit`` compares it across ranks before training)."""
        settings = (self.batch_size, self.shuffle, self.seed, self.drop_last, self.bucket, self.bucket_pool,
                    self.pad, self.trim)
        return array_digest(self.x, self.y, self.lengths, extra=repr(settings))

    def __len__(self) -> int:
        """Batches per epoch."""
        n = len(self.x) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    # --8<-- [start:epoch_order]
    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """The row indices of every batch of epoch ``epoch``, in the order they are served.

        Depends only on ``(seed, epoch)`` and the data, never on earlier calls.
        """
        N, B = len(self.x), self.batch_size
        rng = np.random.default_rng([self.seed, int(epoch)])
        order = rng.permutation(N) if self.shuffle else np.arange(N)
        if self.bucket:
            # Sort by length inside pools of `bucket_pool` batches. The sort is stable, so rows
            # of equal length keep their random order: batch-mates change from epoch to epoch.
            pool = N if (self.bucket_pool is None or not self.shuffle) else self.bucket_pool * B
            order = np.concatenate([
                chunk[np.argsort(self.lengths[chunk], kind="stable")]
                for chunk in np.split(order, range(pool, N, pool))
            ])
        batches = np.split(order, range(B, N, B))
        if self.drop_last and len(batches[-1]) < B:
            batches.pop()
        if self.bucket and self.shuffle:
            # Otherwise each pool would run short-to-long, and every epoch would end on the
            # longest batches: serve the batches in random order instead.
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches
    # --8<-- [end:epoch_order]

    def make_batch(self, index: np.ndarray) -> Batch:
        """Gather rows ``index`` into a :class:`Batch`, trimmed to their longest sequence."""
        x = self.x[index]
        lengths = None if self.lengths is None else self.lengths[index].astype(np.int64)
        if self.trim:
            T_b = max(int(lengths.max()), 1)
            x = x[:, :T_b] if self.pad == "post" else x[:, x.shape[1] - T_b:]
        y = None if self.y is None else self.y[index]
        return Batch(x, y, lengths, index.astype(np.int64))

    def __iter__(self) -> Iterator[Batch]:
        """One epoch. The epoch counter advances when the iteration *starts*."""
        batches = self.epoch_batches(self.epoch)
        self.epoch += 1
        return (self.make_batch(idx) for idx in batches)

    def padding_fraction(self, epoch: int | None = None) -> float:
        """Share of the x cells of an epoch's batches that are padding (needs ``lengths``)."""
        if self.lengths is None:
            raise RangeError("BatchLoader.padding_fraction needs lengths")
        cells = real = 0
        T = self.x.shape[1]
        for idx in self.epoch_batches(self.epoch if epoch is None else epoch):
            L = self.lengths[idx]
            width = max(int(L.max()), 1) if self.trim else T
            cells += width * len(idx)
            real += int(L.sum())
        return 1.0 - real / cells

    def state_dict(self) -> dict:
        """``{"seed": int, "epoch": int}``: all that decides the coming epochs' orders."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (values may be 0-d arrays, as read from ``.npz``)."""
        missing = {"seed", "epoch"} - set(state)
        if missing:
            raise KeyError(f"loader state lacks {sorted(missing)}; expected keys 'seed' and 'epoch'")
        epoch = int(state["epoch"])
        if epoch < 0:
            raise RangeError(f"BatchLoader.load_state_dict: epoch must be >= 0, got {epoch}")
        self.seed, self.epoch = int(state["seed"]), epoch

    def __repr__(self) -> str:
        return (f"BatchLoader(N={len(self.x)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, bucket={self.bucket}, seed={self.seed}, epoch={self.epoch})")
