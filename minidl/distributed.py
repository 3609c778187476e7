"""Data-parallel training: N processes, each computing the gradient of its shard of every batch.

**Why it is exact.** A training step minimises the *mean* loss over a global batch of N samples,
``L = (1/N) Σ_{i=1..N} ℓ_i``, so its gradient is the mean of the per-sample gradients::

    ∇L = (1/N) Σ_i ∇ℓ_i

Cut the batch into p shards S_1..S_p of sizes n_1..n_p (Σ_r n_r = N). Rank r computes the
gradient of *its* mean loss, g_r = (1/n_r) Σ_{i∈S_r} ∇ℓ_i. Weighting each by its share of
the batch and summing over ranks gives back the big-batch gradient exactly::

    Σ_r (n_r/N) · g_r = Σ_r (n_r/N) · (1/n_r) Σ_{i∈S_r} ∇ℓ_i = (1/N) Σ_i ∇ℓ_i = ∇L

With equal shards (n_r = N/p) the weights are all 1/p: the plain average of the ranks'
gradients. When N is not a multiple of p (the last batch of an epoch, or a batch of 1 on 3
ranks) the shards differ by one row, and the plain average would over-weight the samples of
the smaller shards; the weights n_r/N fix that, and a rank with an empty shard (n_r = 0)
contributes nothing. Every rank then holds the same ∇L, so clipping (a function of the whole
gradient) and the optimizer step (a function of the gradient and of its own state, identical
on every rank) keep every rank's weights identical, step after step. Up to the rounding of a
different summation order, p ranks train the same weights as one process on the same global
batches: ``tests/distributed/`` checks it to 1e-10 in float64.

**Where it does not hold.**

* **BatchNorm** normalises with the statistics of the batch it sees: on a rank that is the
  shard, not the global batch, so the forward pass itself differs (a "ghost batch" norm of
  size n_r), and the running statistics differ between ranks. ``broadcast_parameters``
  makes them equal again (rank 0's) when it is called; this module does not synchronise
  them every step (SyncBatchNorm would need an all-reduce inside the forward pass).
* **Dropout** draws a mask per sample from a random stream. One process draws the whole
  batch's masks from one stream; p ranks draw from p streams, so the masks, and hence the
  trajectory, differ (statistically it is the same training). Each rank needs a stream of
  its own, or rank 1 would repeat rank 0's masks row for row: ``fit`` reseeds every rank at
  the start of each epoch from a hash of (seed, epoch, rank).
* **Losses that are not a mean over samples** (``reduction="sum"``): the ranks' gradients
  simply add; pass ``local_n = global_n`` (weight 1).

**The interface** :func:`minidl.train.fit` uses (``fit(..., distributed=dist)``):
``dist.rank``, ``dist.world_size``, ``dist.is_root`` (rank 0: it alone writes checkpoints
and logs); ``dist.broadcast_parameters(model)`` once at the start (and after a resume);
``dist.shard(batch)`` this rank's rows of a global batch; after backward and before
clipping, ``dist.allreduce_gradients(params, local_n, global_n)``; and
``dist.allreduce_sum(value)`` for metrics (loss sums, correct counts, sample counts).
Before the first of these, ``dist.agree(settings)`` makes the ranks compare their settings
(hyper-parameters, seed, epochs, resume point, a digest of their data) and refuses, on every
rank, ranks that were started differently, naming each difference.

**When a rank fails.** An uncaught exception on any rank aborts the whole job
(``MPI_Abort``, installed by :class:`MPIDataParallel`); an error the examples turn into one
``error:`` line does the same through :func:`abort_job` (``minidl.cli.run`` calls it), even
on a rank that failed before starting MPI. No rank is left waiting in a collective.

Variants: :class:`SingleProcess` (world size 1, no communication: what :func:`init` gives
outside ``mpiexec``), :class:`MPIDataParallel` (mpi4py; host arrays; device arrays are
staged through the host) and :class:`NCCLDataParallel` (one GPU per rank over
``cupy.cuda.nccl``; **untested on a GPU so far**). mpi4py and CuPy are optional extras,
imported only when such a variant is created; ``import minidl`` never imports them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import numpy as np

from . import backend
from .errors import DTypeError, RangeError, ShapeError

__all__ = ["init", "launched_by_mpi", "abort_job", "shard_bounds", "shard_batch", "work_shard_bounds",
           "work_shard_rows", "shard_batch_by_work", "FlatBuffer", "DataParallel", "SingleProcess", "MPIDataParallel",
           "NCCLDataParallel"]

# Environment variables a process launcher sets in every process it starts: MPICH's Hydra
# and Intel MPI (PMI_*), Open MPI (OMPI_*), PMIx launchers such as Slurm's srun (PMIX_*),
# MVAPICH (MV2_*).
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def launched_by_mpi(environ=None) -> bool:
    """True when this process was started by ``mpiexec``/``mpirun``/``srun`` (any world size)."""
    env = os.environ if environ is None else environ
    return any(k in env for k in _LAUNCHER_VARS)


def _launched_world_size(environ=None) -> int:
    """The world size the launcher announced (1 when it says none)."""
    env = os.environ if environ is None else environ
    for key in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS"):
        if env.get(key, "").isdigit():
            return int(env[key])
    return 1


def abort_job(code: int = 1) -> None:
    """End every rank of this job now (``MPI_Abort``), when this process is one of several
    started by a launcher; a no-op otherwise.

    Called after a rank has said why it stops (the examples' one ``error:`` line): the
    other ranks may be waiting in a collective, or not yet in ``MPI_Init``, and would wait
    forever. A rank that never started MPI (it failed while parsing its arguments) starts
    it here just to abort: ``MPI_Abort`` reaches the ranks still in ``MPI_Init`` too.
    """
    if not launched_by_mpi() or _launched_world_size() <= 1:
        return
    try:
        from mpi4py import MPI
    except ImportError:  # no MPI here: nothing can be waiting on this rank
        return
    _let_output_through()
    MPI.COMM_WORLD.Abort(int(code))


def _let_output_through() -> None:
    """Flush, then wait a moment before ``MPI_Abort``. The launcher forwards each rank's
    output through a pipe; when MPI_Abort makes it kill the job, lines still in that pipe
    can be lost (seen with MPICH's Hydra: a job whose ranks both printed their error showed
    none, and a traceback cut after its first line)."""
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(0.5)


# ----------------------------------------------------------------------------- sharding
# --8<-- [start:shard_bounds]
def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of rank ``rank`` in a batch of ``n`` rows cut into ``world_size``.

    Contiguous shards whose sizes differ by at most one: the first ``n mod p`` ranks get
    ``⌈n/p⌉`` rows, the others ``⌊n/p⌋`` (possibly 0 when ``n < p``). Rank order = row order,
    so concatenating the shards of ranks 0..p-1 gives the batch back.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise RangeError(f"shard_bounds: rank must lie in [0, world_size = {world_size}), got {rank}")
    if n < 0:
        raise RangeError(f"shard_bounds: n must be >= 0, got {n}")
    base, extra = divmod(int(n), int(world_size))
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)
# --8<-- [end:shard_bounds]


def _rows(a) -> int | None:
    return None if a is None or getattr(a, "ndim", 0) == 0 else a.shape[0]


def shard_batch(batch, rank: int, world_size: int):
    """This rank's rows of ``batch``: a ``Batch(x, y, lengths, index)`` or a tuple
    ``(x, y[, lengths])`` of arrays with the same first dimension N (``None`` entries stay
    ``None``). Returns the same type, every array cut to rows :func:`shard_bounds`.

    ``x`` keeps its width: a bucketed batch trimmed to its longest review stays that wide on
    every rank (padded steps change nothing, so this costs a little time, never accuracy).
    """
    fields = tuple(batch)
    sizes = {_rows(a) for a in fields} - {None}
    if len(sizes) != 1:
        shapes = [None if a is None else tuple(getattr(a, "shape", ())) for a in fields]
        raise ShapeError(f"shard: every array of a batch needs the same number of rows N, got shapes {shapes}")
    start, stop = shard_bounds(sizes.pop(), rank, world_size)
    cut = [a if _rows(a) is None else a[start:stop] for a in fields]
    return type(batch)._make(cut) if hasattr(batch, "_make") else type(batch)(cut)


# --8<-- [start:work_shard_bounds]
def work_shard_bounds(sorted_lengths, world_size: int) -> list[tuple[int, int]]:
    """Cut rows sorted by length (shortest first) into ``world_size`` contiguous shards whose
    largest *work* is as small as it can be; returns every rank's ``[start, stop)``.

    The work of a shard is ``rows × longest length``: a recurrent layer runs a shard to its
    own longest sequence, every row at every step (padding included). The longest rows go
    to the last rank, which therefore gets fewer of them. First the smallest bound C that a
    cut can keep every shard's work under (a bisection over integers; from the last rank
    down, each takes as many rows as keep its work ≤ C, the first rank keeps the rest);
    then the cut at that C in which no rank takes more than an equal share of the rows left
    (still ≤ C, and equal lengths give shards whose sizes differ by at most one). A shard
    may be empty when there are fewer rows than ranks.
    """
    if world_size < 1:
        raise RangeError(f"work_shard_bounds: world_size must be >= 1, got {world_size}")
    lengths = [max(int(L), 1) for L in sorted_lengths]  # a length-0 row still costs a row
    if any(a > b for a, b in zip(lengths, lengths[1:])):
        raise RangeError("work_shard_bounds: the lengths must be sorted shortest first")

    def cut(bound, fair):  # the stops of ranks p-1, ..., 1 (each shard's work <= bound), rank 0's stop
        stops, stop = [], len(lengths)
        for i in range(world_size - 1):
            stops.append(stop)
            take = min(stop, bound // lengths[stop - 1]) if stop else 0
            if fair:
                take = min(take, -(-stop // (world_size - i)))  # at most ⌈rows left / ranks left⌉
            stop -= take
        return stops, stop

    low, high = 0, len(lengths) * (lengths[-1] if lengths else 0)  # high is always feasible
    while low < high:
        mid = (low + high) // 2
        _, start = cut(mid, fair=False)
        if start * (lengths[start - 1] if start else 0) <= mid:
            high = mid
        else:
            low = mid + 1
    stops, start = cut(high, fair=True)
    bounds, lo = [], 0
    for stop in [start] + stops[::-1]:
        bounds.append((lo, stop))
        lo = stop
    return bounds
# --8<-- [end:work_shard_bounds]


def work_shard_rows(lengths, world_size: int) -> list:
    """Every rank's rows of a batch with these ``lengths`` (N,), balanced by work: the rows
    sorted by length (a stable sort: a bucketed batch is already in that order), cut by
    :func:`work_shard_bounds`. Returns ``world_size`` int64 index arrays into the batch."""
    host = backend.asnumpy(lengths).astype(np.int64).reshape(-1)
    order = np.argsort(host, kind="stable")
    return [order[start:stop] for start, stop in work_shard_bounds(host[order], world_size)]


def _batch_lengths(batch):
    """The ``lengths`` of a Batch or of an ``(x, y, lengths)`` tuple; None when there are none."""
    if hasattr(batch, "lengths"):
        return batch.lengths
    return batch[2] if len(batch) > 2 else None


def shard_batch_by_work(batch, rank: int, world_size: int):
    """This rank's rows of ``batch`` with the shards balanced by work (:func:`work_shard_bounds`).

    The rows are ordered by length (a stable sort: a bucketed batch is already in that
    order) and cut so that the rank holding the longest sequences holds fewer of them. Any
    assignment of rows to ranks keeps the gradient exact (the weights n_r/N, module
    docstring); only the time each rank waits for the others changes. A batch without
    lengths (images) is cut by count, as :func:`shard_batch` cuts it.
    """
    lengths = _batch_lengths(batch)
    if lengths is None:
        return shard_batch(batch, rank, world_size)
    fields = tuple(batch)
    sizes = {_rows(a) for a in fields} - {None}
    if len(sizes) != 1:
        shapes = [None if a is None else tuple(getattr(a, "shape", ())) for a in fields]
        raise ShapeError(f"shard: every array of a batch needs the same number of rows N, got shapes {shapes}")
    if not 0 <= rank < world_size:
        raise RangeError(f"shard_batch_by_work: rank must lie in [0, world_size = {world_size}), got {rank}")
    rows = work_shard_rows(lengths, world_size)[rank]
    cut = [a if _rows(a) is None else a[rows] for a in fields]
    return type(batch)._make(cut) if hasattr(batch, "_make") else type(batch)(cut)


# ----------------------------------------------------------------------------- one flat buffer
class FlatBuffer:
    """Many arrays laid end to end in one contiguous vector, so that one collective call
    moves them all (one message instead of one per parameter: the latency α is paid once).

    ``FlatBuffer(arrays, extra=0)``: a vector of ``Σ size + extra`` elements of the arrays'
    common dtype, on their device. ``pack(arrays, scale)`` copies ``scale · a`` in;
    ``unpack(arrays)`` copies the segments back into the arrays (in place, same shapes).
    The ``extra`` trailing slots are free for the caller (``vector[-extra:]``).
    """

    def __init__(self, arrays, extra: int = 0):
        arrays = list(arrays)
        dtypes = sorted({str(a.dtype) for a in arrays})
        if len(dtypes) != 1:
            raise DTypeError(f"FlatBuffer: all arrays need one dtype to share a buffer, got {dtypes} "
                             "(cast the model to one dtype: model.float() or model.double())")
        self.xp = backend.get_array_module(*arrays)
        self.layout = tuple((tuple(a.shape), int(a.size)) for a in arrays)
        self.size = sum(s for _, s in self.layout)
        self.vector = self.xp.zeros(self.size + int(extra), dtype=arrays[0].dtype)

    def matches(self, arrays) -> bool:
        """Whether ``arrays`` have this buffer's layout, dtype and device (the cache key)."""
        return (len(arrays) == len(self.layout)
                and all(tuple(a.shape) == s for a, (s, _) in zip(arrays, self.layout))
                and all(a.dtype == self.vector.dtype for a in arrays)
                and backend.get_array_module(*arrays) is self.xp)

    def pack(self, arrays, scale: float = 1.0):
        """vector[segment_k] = scale · arrays[k] (ravelled); returns the vector."""
        offset = 0
        for a, (_, size) in zip(arrays, self.layout):
            seg = self.vector[offset:offset + size]
            if scale == 1.0:
                seg[...] = a.reshape(-1)
            else:
                self.xp.multiply(a.reshape(-1), scale, out=seg)
            offset += size
        return self.vector

    def unpack(self, arrays) -> None:
        """``arrays[k][...] = vector[segment_k]`` (reshaped): the values written back in place."""
        offset = 0
        for a, (shape, size) in zip(arrays, self.layout):
            a[...] = self.vector[offset:offset + size].reshape(shape)
            offset += size


def _model_arrays(model) -> list[tuple[str, object]]:
    """``(name, array)`` for every parameter and buffer: what rank 0 sends at the start."""
    return ([(name, p.data) for name, p in model.named_parameters()]
            + [(name, b) for name, b in model.named_buffers() if hasattr(b, "dtype")])


def _fingerprint(named_arrays) -> bytes:
    """A digest of the names, shapes and dtypes: ranks must build the same model."""
    text = ";".join(f"{n}:{tuple(a.shape)}:{a.dtype}" for n, a in named_arrays)
    return hashlib.sha256(text.encode()).digest()


def _flatten(settings: dict, prefix: str = "") -> dict:
    """``{"config": {"seed": 1}}`` -> ``{"config.seed": 1}``: a difference names its leaf."""
    flat = {}
    for k, v in settings.items():
        if isinstance(v, dict) and v:
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


# ----------------------------------------------------------------------------- the interface
class DataParallel:
    """What every variant shares. A variant supplies two in-place collectives on a 1-D
    contiguous array: ``_allreduce_(v)`` (v ← Σ_ranks v) and ``_broadcast_(v, root)``
    (v ← v of rank ``root``); everything else (sharding, the weighting, the flat buffer,
    the checks) is written once, here. The all-gather and the reduce-scatter of a sharded
    optimizer fall back on the all-reduce unless a variant overrides ``_allgather_`` and
    ``_reduce_scatter_`` (MPI does).

    Attributes:
        rank: this process's rank in [0, world_size).
        world_size: the number of processes p.
        is_root: rank 0, which writes checkpoints and prints.
    """

    def __init__(self, rank: int, world_size: int):
        self.rank, self.world_size = int(rank), int(world_size)
        self._grad_buffer: FlatBuffer | None = None
        self.balance = "work"  # how shard() cuts a batch with lengths: "work" or "count"

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, world_size={self.world_size})"

    # -- the two primitives a variant implements
    def _allreduce_(self, vector) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _broadcast_(self, vector, root: int = 0) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the interface
    def shard(self, batch):
        """This rank's rows of the global batch; may be empty. ``self.balance == "work"`` (the
        default) balances the ranks' work on batches with lengths (:func:`shard_batch_by_work`),
        ``"count"`` gives every rank the same number of rows (:func:`shard_batch`)."""
        if self.balance == "work":
            return shard_batch_by_work(batch, self.rank, self.world_size)
        if self.balance != "count":
            raise RangeError(f"shard: balance must be 'work' or 'count', got {self.balance!r}")
        return shard_batch(batch, self.rank, self.world_size)

    # --8<-- [start:allgather]
    def allgather(self, vector) -> None:
        """In place: ``vector`` (p·k,) is p chunks of k; afterwards chunk r on every rank is
        rank r's chunk ``vector[r·k:(r+1)·k]`` (the rest of each rank's vector is overwritten).

        What a sharded optimizer needs after each rank has updated its chunk of the
        parameters (:class:`minidl.sharded_optim.ShardedOptimizer`).
        """
        if vector.ndim != 1 or vector.size % self.world_size:
            raise ShapeError(f"allgather: need a 1-D vector of a multiple of world_size = {self.world_size} "
                             f"elements, got shape {tuple(vector.shape)}")
        if self.world_size > 1:
            self._allgather_(vector)
    # --8<-- [end:allgather]

    def _allgather_(self, vector) -> None:
        """The all-gather as an all-reduce with every other rank's chunk zeroed: exact, since
        x + 0 = x (only a −0.0 comes back as +0.0). A variant may override it with a real
        all-gather, which moves half the bytes."""
        k = vector.size // self.world_size
        lo = self.rank * k
        vector[:lo] = 0
        vector[lo + k:] = 0
        self._allreduce_(vector)

    def reduce_scatter(self, vector, out) -> None:
        """``out`` (k,) ← chunk r of Σ_ranks ``vector`` (p·k,), on rank r: each rank receives
        only the sum of the chunk it owns (``vector`` may be overwritten). Half the bytes of
        an all-reduce, which is a reduce-scatter followed by an all-gather."""
        if vector.ndim != 1 or vector.size != self.world_size * out.size:
            raise ShapeError(f"reduce_scatter: need a vector of world_size · k = {self.world_size} · {out.size} "
                             f"elements, got shape {tuple(vector.shape)}")
        self._reduce_scatter_(vector, out)

    def _reduce_scatter_(self, vector, out) -> None:
        """The reduce-scatter as an all-reduce, keeping this rank's chunk (a variant may
        override it with a real one)."""
        self._allreduce_(vector)
        k = out.size
        out[...] = vector[self.rank * k:(self.rank + 1) * k]

    def broadcast_parameters(self, model) -> None:
        """Give every rank rank 0's parameters and buffers (one broadcast per dtype).

        Raises ShapeError on every rank when the ranks' models differ in names or shapes.
        """
        named = _model_arrays(model)
        digest = np.frombuffer(_fingerprint(named), dtype=np.uint8).astype(np.int64)
        root_digest = digest.copy()
        self._broadcast_(root_digest, 0)
        differs = np.array([float((root_digest != digest).any())])
        self._allreduce_(differs)
        if differs[0]:
            raise ShapeError(f"broadcast_parameters: the models of {int(differs[0])} rank(s) differ from rank 0's "
                             "in parameter names, shapes or dtypes (build the same model on every rank)")
        by_dtype: dict[str, list] = {}
        for _, a in named:
            by_dtype.setdefault(str(a.dtype), []).append(a)
        for arrays in by_dtype.values():
            flat = FlatBuffer(arrays)
            vector = flat.pack(arrays) if self.is_root else flat.vector
            self._broadcast_(vector, 0)
            if not self.is_root:
                flat.unpack(arrays)

    def agree(self, settings: dict) -> None:
        """Refuse to go on unless every rank was given the same ``settings`` (a JSON-able
        dict: hyper-parameters, seed, data identity, where a resume starts...).

        Each rank hashes its settings; rank 0's hash is broadcast and one all-reduce counts
        the ranks that differ. Only then (nothing is sent twice when all agree) every rank
        receives every rank's settings and raises :class:`~minidl.errors.RangeError` naming
        each differing setting with its value per rank: the same message on every rank.
        """
        text = json.dumps(settings, sort_keys=True, default=str)
        digest = np.frombuffer(hashlib.sha256(text.encode()).digest(), dtype=np.uint8).astype(np.int64)
        root_digest = digest.copy()
        self._broadcast_(root_digest, 0)
        differs = np.array([float((root_digest != digest).any())])
        self._allreduce_(differs)
        if not differs[0]:
            return
        everyone = [_flatten(json.loads(self._broadcast_text(text, r))) for r in range(self.world_size)]
        keys = sorted({k for d in everyone for k in d})
        diff = [k for k in keys if len({json.dumps(d.get(k), sort_keys=True) for d in everyone}) > 1]
        listed = "; ".join(f"{k}: " + ", ".join(f"rank {r} {d.get(k)!r}" for r, d in enumerate(everyone))
                           for k in diff)
        raise RangeError(f"the {self.world_size} ranks were started with different settings ({listed}): "
                         "every rank must run the same command (same flags, same data, same --resume)")

    def _broadcast_text(self, text: str, root: int) -> str:
        """Rank ``root``'s ``text`` on every rank (its length first, then its bytes)."""
        data = np.frombuffer(text.encode(), dtype=np.uint8).astype(np.int64)
        n = np.array([len(data) if self.rank == root else 0], dtype=np.int64)
        self._broadcast_(n, root)
        buf = data.copy() if self.rank == root else np.zeros(int(n[0]), dtype=np.int64)
        self._broadcast_(buf, root)
        return buf.astype(np.uint8).tobytes().decode()

    # --8<-- [start:allreduce_gradients]
    def allreduce_gradients(self, params, local_n: int, global_n: int) -> None:
        """Every ``p.grad`` ← Σ_ranks p.grad · local_n/global_n, in one flattened all-reduce.

        Call after ``model.backward`` and before clipping and ``optimizer.step``; each
        rank's ``p.grad`` must be the gradient of the *mean* loss over its ``local_n`` rows
        (zeros when ``local_n == 0``), and ``global_n`` is the number of rows of the global
        batch *this rank* was given (before sharding). Three trailing slots of the buffer
        carry ``local_n``, ``global_n`` and ``global_n²``; after the sum, every rank checks
        that the shards add up to its ``global_n`` and that all ranks were given the same
        ``global_n`` (Σg² · p = (Σg)² holds only when every g is equal): ranks on different
        global batches are refused, on every rank, before any weight moves.

        Shapes: each p.grad any shape; all of one dtype and device.
        """
        local_n, global_n = int(local_n), int(global_n)
        if global_n < 1 or not 0 <= local_n <= global_n:
            raise RangeError(f"allreduce_gradients: need 0 <= local_n <= global_n and global_n >= 1, "
                             f"got local_n={local_n}, global_n={global_n}")
        grads = [p.grad for p in params]
        if not grads:
            return
        if self._grad_buffer is None or not self._grad_buffer.matches(grads):
            self._grad_buffer = FlatBuffer(grads, extra=3)  # allocated once, reused every step
        flat = self._grad_buffer
        vector = flat.pack(grads, scale=local_n / global_n)
        if local_n == 0:
            vector[...] = 0  # no forward ran here: whatever p.grad holds is not a gradient
        vector[-3], vector[-2], vector[-1] = local_n, global_n, float(global_n) ** 2
        self._allreduce_(vector)
        counts = backend.asnumpy(vector[-3:])
        total, sum_g, sum_g2 = (int(round(float(c))) for c in counts)
        if total != global_n or sum_g * sum_g != self.world_size * sum_g2:
            raise RangeError(f"allreduce_gradients: rank {self.rank} was given a global batch of {global_n} rows, "
                             f"the ranks were given {sum_g} rows in all over {self.world_size} ranks and their "
                             f"shards add up to {total}: the ranks are not on the same global batch "
                             "(same data, batch size and loader seed on every rank?)")
        flat.unpack(grads)
    # --8<-- [end:allreduce_gradients]

    def allreduce_sum(self, value):
        """Σ_ranks value: a number (returns a Python number), or an array / list of numbers
        (returns an array of the same shape; NumPy stays NumPy, device stays device)."""
        if isinstance(value, (int, float, np.integer, np.floating)):
            kind = int if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else float
            out = np.array([value], dtype=np.int64 if kind is int else np.float64)
            self._allreduce_(out)
            return kind(out[0])
        xp = backend.get_array_module(value) if hasattr(value, "dtype") else np
        out = xp.array(value, copy=True)
        flat = out.reshape(-1)  # a view of the fresh contiguous copy
        self._allreduce_(flat)
        return out


class SingleProcess(DataParallel):
    """World size 1, no communication: every method is the identity. ``fit`` with it trains
    exactly as without it (the tests check it bit for bit)."""

    def __init__(self):
        super().__init__(0, 1)

    def _allreduce_(self, vector) -> None:
        pass

    def _broadcast_(self, vector, root: int = 0) -> None:
        pass

    def allreduce_gradients(self, params, local_n: int, global_n: int) -> None:
        """Nothing to add: the one process's gradient is the batch's (checks local_n == global_n)."""
        if int(local_n) != int(global_n):
            raise RangeError(f"allreduce_gradients: one process holds the whole batch, but local_n={local_n} "
                             f"!= global_n={global_n}")


# ----------------------------------------------------------------------------- MPI
def _host_staged(collective, vector) -> None:
    """Run a host collective on ``vector``; device arrays go through a host copy (the MPI
    wheels on PyPI are not CUDA-aware)."""
    if isinstance(vector, np.ndarray):
        collective(vector)
        return
    host = backend.asnumpy(vector).copy()
    collective(host)
    vector[...] = backend.get_array_module(vector).asarray(host)


class MPIDataParallel(DataParallel):
    """Data parallelism over an MPI communicator (mpi4py), host arrays.

    ``MPIDataParallel(comm=None)`` uses ``MPI.COMM_WORLD``. When the world has more than one
    rank, an uncaught exception on any rank aborts the whole job (``MPI_Abort``) instead of
    leaving the other ranks waiting forever in their next collective.
    """

    def __init__(self, comm=None, *, abort_on_error: bool = True):
        from mpi4py import MPI  # the optional extra: pip install -e ".[mpi]"

        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        super().__init__(self.comm.Get_rank(), self.comm.Get_size())
        if abort_on_error and self.world_size > 1:
            _install_abort_hook(self.comm)

    def _allreduce_(self, vector) -> None:
        _host_staged(lambda v: self.comm.Allreduce(self.MPI.IN_PLACE, v, op=self.MPI.SUM), vector)

    def _broadcast_(self, vector, root: int = 0) -> None:
        _host_staged(lambda v: self.comm.Bcast(v, root=root), vector)

    def _allgather_(self, vector) -> None:
        _host_staged(lambda v: self.comm.Allgather(self.MPI.IN_PLACE, v), vector)

    def _reduce_scatter_(self, vector, out) -> None:
        if isinstance(vector, np.ndarray) and isinstance(out, np.ndarray):
            self.comm.Reduce_scatter_block(vector, out, op=self.MPI.SUM)
            return
        host = backend.asnumpy(out).copy()
        self.comm.Reduce_scatter_block(backend.asnumpy(vector), host, op=self.MPI.SUM)
        out[...] = backend.get_array_module(out).asarray(host)


def _install_abort_hook(comm) -> None:
    """sys.excepthook that prints the traceback, then aborts every rank (like ``python -m mpi4py``).
    Installed once per process."""
    if getattr(sys.excepthook, "_minidl_abort", False):
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        _let_output_through()
        comm.Abort(1)

    hook._minidl_abort = True
    sys.excepthook = hook


# ----------------------------------------------------------------------------- NCCL
# NCCL's unique id is 128 C chars; they are sent as int16 so that both a signed (x86) and an
# unsigned (ARM) char survive the trip.
_NCCL_UNIQUE_ID_BYTES = 128
_NCCL_DTYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
                "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32", "int64": "NCCL_INT64"}


def nccl_dtype(dtype, nccl) -> int:
    """NCCL's datatype code for a NumPy/CuPy ``dtype`` (``nccl``: ``cupy.cuda.nccl``)."""
    name = _NCCL_DTYPES.get(str(np.dtype(dtype)))
    if name is None:
        raise DTypeError(f"NCCL all-reduce: dtype {np.dtype(dtype)} is not supported, expected one of "
                         f"{sorted(_NCCL_DTYPES)}")
    return getattr(nccl, name)


class NCCLDataParallel(DataParallel):
    """Data parallelism over NCCL (``cupy.cuda.nccl``), one GPU per rank, MPI to start.

    **Untested on a GPU**: written against CuPy's documented ``NcclCommunicator`` API
    (``allReduce``/``bcast`` on device pointers, on the current stream); only its pieces
    that need no GPU (the dtype table, the unique-id encoding, the shared flat-buffer and
    weighting logic) are tested. Rank r uses GPU ``local_rank mod device_count``, where the
    local rank is r's rank among the processes of its node. Rank 0 creates NCCL's unique id
    and MPI broadcasts it; after that, device arrays go over NCCL and host arrays (metrics
    given as Python numbers) over MPI. Put the model on the GPU (``model.to("cuda")``)
    before ``broadcast_parameters``.
    """

    def __init__(self, comm=None, *, device_id: int | None = None):
        import cupy
        from cupy.cuda import nccl

        self.host = MPIDataParallel(comm)
        super().__init__(self.host.rank, self.host.world_size)
        if device_id is None:
            local = self.host.comm.Split_type(self.host.MPI.COMM_TYPE_SHARED)
            device_id = local.Get_rank() % cupy.cuda.runtime.getDeviceCount()
            local.Free()
        cupy.cuda.Device(device_id).use()
        self.device_id, self.cupy, self.nccl = device_id, cupy, nccl
        uid = np.zeros(_NCCL_UNIQUE_ID_BYTES, dtype=np.int16)
        if self.is_root:
            uid[:] = nccl.get_unique_id()
        self.host._broadcast_(uid, 0)
        self.comm = nccl.NcclCommunicator(self.world_size, tuple(int(c) for c in uid), self.rank)

    def _allreduce_(self, vector) -> None:
        if isinstance(vector, np.ndarray):
            self.host._allreduce_(vector)
            return
        stream = self.cupy.cuda.get_current_stream().ptr
        self.comm.allReduce(vector.data.ptr, vector.data.ptr, vector.size, nccl_dtype(vector.dtype, self.nccl),
                            self.nccl.NCCL_SUM, stream)

    def _broadcast_(self, vector, root: int = 0) -> None:
        if isinstance(vector, np.ndarray):
            self.host._broadcast_(vector, root)
            return
        stream = self.cupy.cuda.get_current_stream().ptr
        self.comm.bcast(vector.data.ptr, vector.size, nccl_dtype(vector.dtype, self.nccl), root, stream)


# ----------------------------------------------------------------------------- the factory
def init(kind: str = "auto", device: str = "cpu") -> DataParallel:
    """The data-parallel context of this process.

    ``kind="auto"``: under a launcher (``mpiexec -n p python script.py``, ``srun``) an
    :class:`MPIDataParallel` over ``COMM_WORLD`` (or :class:`NCCLDataParallel` when
    ``device="cuda"``), even when p = 1; otherwise :class:`SingleProcess`, and mpi4py is
    not even imported. ``"mpi"``, ``"nccl"`` and ``"none"`` force a variant.
    """
    if kind == "auto":
        if not launched_by_mpi():
            return SingleProcess()
        kind = "nccl" if str(device).startswith("cuda") else "mpi"
    if kind == "none":
        return SingleProcess()
    if kind not in ("mpi", "nccl"):
        raise RangeError(f"init: kind must be 'auto', 'mpi', 'nccl' or 'none', got {kind!r}")
    try:
        return MPIDataParallel() if kind == "mpi" else NCCLDataParallel()
    except ImportError as e:
        raise ImportError(f"minidl.distributed.init({kind!r}) needs {e.name}: pip install -e \".[mpi]\""
                          + (" and a CuPy wheel (.[cuda12] or .[cuda13])" if kind == "nccl" else "")) from e
