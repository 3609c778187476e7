"""Sharded optimizer state (ZeRO stage 1): each of p ranks updates 1/p of the parameters.

Plain data parallelism leaves every rank with the same all-reduced gradient, and then every
rank runs the same optimizer step over *all* the parameters: p copies of Adam's moments m
and v, and p times the same arithmetic. ZeRO stage 1 (Rajbhandari et al., 2020) cuts that
repetition out. Lay the parameters end to end in one vector of S numbers, padded to p·k
with k = ⌈S/p⌉; rank r owns the chunk ``[r·k, (r+1)·k)``::

    flat parameters   |  rank 0's chunk  |  rank 1's chunk  | ... | rank p-1's chunk (+ padding) |
    m, v              |  held by rank 0  |  held by rank 1  | ... | held by rank p-1             |

The parameters and their gradients are made views of two such vectors, so that a chunk is
a view too. A step on rank r runs the wrapped optimizer's own ``step`` on its chunk alone
(the chunk of the all-reduced, clipped gradient, and its chunk of m and v), which updates
those parameters in place, and then **all-gathers** the parameter vector: every rank
receives every other rank's chunk, straight into its parameters.

**The gradient.** ``fit`` normally all-reduces the whole gradient; with a sharded optimizer
it calls :meth:`ShardedOptimizer.reduce_gradients` instead, a *reduce-scatter* that leaves
on each rank the summed chunk it updates, half the bytes of an all-reduce (the other half
is the all-gather), and clips that chunk with the norm of the whole gradient (each rank's
sum of squares over its chunk, all-reduced).

**Why it is exactly the unsharded step.** Adam and SGD update every element from the same
element of the gradient and of their state, with scalars (the learning rate, the bias
corrections) that depend on the step count only. So the chunk's update is the same
sequence of floating-point operations on the same numbers as in the whole step, and the
all-gather copies numbers without arithmetic: given the same gradient, the parameters are
bit for bit those of the unsharded optimizer on every rank
(``tests/distributed/test_sharded_optim.py``). The reduce-scatter's sum and the chunked
norm group the same additions differently from the all-reduce and ``clip_grad_norm_``:
equal to rounding, as p ranks already are to one process.

**What each rank holds**: the whole model and its gradient (as before, now in the two flat
vectors), and m and v of its chunk only (1/p of the optimizer state).

**Checkpoints** hold the whole state, in the unsharded optimizer's format, so a checkpoint
written on p ranks resumes on one process, with or without sharding, and back.
:meth:`ShardedOptimizer.consolidate_state_dict` gathers the chunks; it is a collective
(every rank calls it, ``fit`` does before rank 0 writes), then :meth:`~ShardedOptimizer.state_dict`
returns the gathered state. :meth:`~ShardedOptimizer.load_state_dict` reads a whole state
on every rank and keeps its chunk.
"""

from __future__ import annotations

import copy
import math

from .distributed import FlatBuffer
from .errors import CheckpointError, DTypeError, RangeError
from .module import Parameter
from .optim import Optimizer

__all__ = ["ShardedOptimizer", "state_size"]


class ShardedOptimizer(Optimizer):
    """``ShardedOptimizer(optimizer, dist)``: ``optimizer`` (an :class:`~minidl.optim.Adam`
    or :class:`~minidl.optim.SGD` over the model's parameters) stepped in 1/p chunks across
    the ranks of ``dist`` (a :class:`minidl.distributed.DataParallel`), then all-gathered.

    Use it in place of ``optimizer`` (``fit(model, loss, ShardedOptimizer(opt, dist), ...,
    distributed=dist)``); ``optimizer`` itself then only describes the algorithm, its
    hyper-parameters and the parameters, and holds no state. The parameters' ``data`` and
    ``grad`` become views of two flat vectors (relinked at the next step if something, such
    as ``model.load_state_dict``, gives them new arrays). ``lr`` may be changed on the
    wrapper. ``algorithm`` is the wrapped class's name, the name checkpoints and ``fit``'s
    configuration record.

    ``reduce_scatter=True`` (the default): ``fit`` sums the gradients with
    :meth:`reduce_gradients`, a reduce-scatter that gives each rank only the chunk it
    updates (with the all-gather, the bytes of one all-reduce), and clips that chunk by the
    whole gradient's norm. ``False``: ``fit`` all-reduces the whole gradient and clips it as
    without sharding, and the step is then the unsharded step bit for bit; with the
    reduce-scatter the gradient's sum and norm are grouped differently, equal to rounding.

    Shapes: the parameters any shapes, one dtype and device; the chunk k = ⌈S/p⌉ of S
    parameter numbers.
    """

    def __init__(self, optimizer: Optimizer, dist, reduce_scatter: bool = True):
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, ShardedOptimizer):
            raise DTypeError(f"ShardedOptimizer: optimizer must be a minidl.optim optimizer (Adam, SGD), "
                             f"got {type(optimizer).__name__}")
        super().__init__(optimizer.params, optimizer.lr)
        if optimizer.step_count or any(optimizer.state):
            raise RangeError("ShardedOptimizer: wrap the optimizer before its first step (it holds state already; "
                             "load a checkpoint into the ShardedOptimizer instead)")
        self.optimizer, self.dist = optimizer, dist
        self.reduce_scatter = bool(reduce_scatter)
        self._build()

    @property
    def algorithm(self) -> str:
        return type(self.optimizer).__name__

    def _build(self) -> None:
        """The two flat vectors, this rank's chunk bounds, the inner optimizer over the chunk."""
        arrays = [p.data for p in self.params]
        size = sum(int(a.size) for a in arrays)
        p, r = self.dist.world_size, self.dist.rank
        k = -(-size // p)
        self._pad = p * k - size
        self._flat = FlatBuffer(arrays, extra=self._pad)  # the parameters live here (the padding stays 0)
        self._grads = FlatBuffer(arrays, extra=self._pad)  # and their gradients here
        self._lo, self._hi = r * k, (r + 1) * k
        self._link()
        chunk = Parameter(self._flat.vector[self._lo:self._hi])  # views: the step writes into the parameters
        chunk.grad = self._grads.vector[self._lo:self._hi]
        self._reduced = self._flat.xp.zeros(k, dtype=arrays[0].dtype)  # the reduce-scatter's own buffer
        inner = copy.copy(self.optimizer)  # the same class and hyper-parameters ...
        inner.params, inner.state, inner._scratch_buffers = [chunk], [{}], {}  # ... over the chunk only
        self._inner, self._gathered = inner, None

    def _views(self, flat: FlatBuffer) -> list:
        views, offset = [], 0
        for shape, size in flat.layout:
            views.append(flat.vector[offset:offset + size].reshape(shape))
            offset += size
        return views

    def _link(self) -> None:
        """Copy every ``p.data`` and ``p.grad`` into the flat vectors and make them views of
        them: the chunk's step then updates the parameters in place, and the all-gather
        writes straight into them (no copy in or out at each step)."""
        self._flat.pack([p.data for p in self.params])
        self._grads.pack([p.grad for p in self.params])
        self._data_views, self._grad_views = self._views(self._flat), self._views(self._grads)
        for p, d, g in zip(self.params, self._data_views, self._grad_views):
            p.data, p.grad = d, g

    def _linked(self) -> bool:
        return all(p.data is d and p.grad is g for p, d, g in zip(self.params, self._data_views, self._grad_views))

    def _ensure_linked(self) -> None:
        if not self._linked():  # load_state_dict or .to() gave the model new arrays
            if not self._flat.matches([p.data for p in self.params]):
                raise DTypeError("ShardedOptimizer: the parameters changed shape, dtype or device since the "
                                 "optimizer was made (move or cast the model first, then create the optimizers)")
            self._link()

    # --8<-- [start:reduce_gradients]
    def reduce_gradients(self, local_n: int, global_n: int, max_norm: float | None = None) -> float:
        """In place of ``dist.allreduce_gradients`` and ``clip_grad_norm_`` (``fit`` calls it
        when ``reduce_scatter`` is on): this rank's chunk of Σ_ranks p.grad · local_n/global_n
        by one reduce-scatter, then, with ``max_norm``, the chunk rescaled by the clipping
        factor of the *whole* gradient's norm, √(Σ_ranks ‖chunk_r‖²) (one all-reduce of two
        numbers, which also checks that the shards add up to ``global_n`` rows). Returns
        that norm. Afterwards only this rank's chunk of the gradients is the batch's.
        """
        local_n, global_n = int(local_n), int(global_n)
        if global_n < 1 or not 0 <= local_n <= global_n:
            raise RangeError(f"reduce_gradients: need 0 <= local_n <= global_n and global_n >= 1, "
                             f"got local_n={local_n}, global_n={global_n}")
        self._ensure_linked()
        grads, chunk = self._grads.vector, self._inner.params[0].grad
        if local_n == 0:
            grads[...] = 0  # no forward ran here: whatever p.grad holds is not a gradient
        else:
            grads *= local_n / global_n
        self.dist.reduce_scatter(grads, self._reduced)
        chunk[...] = self._reduced
        rows, sum_sq = self.dist.allreduce_sum([float(local_n), float((chunk * chunk).sum())])
        if int(round(float(rows))) != global_n:
            raise RangeError(f"reduce_gradients: the ranks' shards add up to {int(round(float(rows)))} rows but rank "
                             f"{self.dist.rank} was told global_n={global_n}: the ranks are not on the same batch")
        norm = math.sqrt(float(sum_sq))
        if max_norm is not None and norm > max_norm:
            chunk *= max_norm / (norm + 1e-6)  # clip_grad_norm_'s factor
        return norm
    # --8<-- [end:reduce_gradients]

    # --8<-- [start:sharded_step]
    def step(self) -> None:
        """The wrapped optimizer's step on this rank's chunk, then one all-gather."""
        self._ensure_linked()
        self.step_count += 1
        inner = self._inner
        inner.lr, inner.step_count = self.lr, self.step_count - 1  # inner.step() counts this step
        inner.step()  # Adam / SGD, unchanged, on the k numbers of this rank's chunk, in place
        self.dist.allgather(self._flat.vector)  # every rank's chunk to every rank: the parameters
        self._gathered = None  # a gathered state is now out of date
    # --8<-- [end:sharded_step]

    # -- checkpoints: the whole state, in the wrapped optimizer's format
    def consolidate_state_dict(self) -> None:
        """Gather every rank's chunk of the state (a collective: call it on every rank)."""
        state = self._inner.state[0]
        names = [n for n in self.optimizer.state_names if n in state]  # created at the first step on every rank
        gathered = {}
        for name in names:
            vector = self._flat.xp.zeros_like(self._flat.vector)
            vector[self._lo:self._hi] = state[name]
            self.dist.allgather(vector)
            gathered[name] = [vector[o:o + size].reshape(shape).copy()
                              for (shape, size), o in zip(self._flat.layout, self._offsets())]
        self._gathered = (self.step_count, gathered)

    def _offsets(self):
        offset = 0
        for _, size in self._flat.layout:
            yield offset
            offset += size

    def state_dict(self) -> dict:
        """The whole state as the wrapped optimizer writes it (``"optimizer"`` is its class).

        On more than one rank, :meth:`consolidate_state_dict` must have run on every rank
        since the last step (a RangeError says so otherwise)."""
        if self._gathered is None or self._gathered[0] != self.step_count:
            if self.dist.world_size > 1:
                raise RangeError("ShardedOptimizer.state_dict: call consolidate_state_dict() on every rank first "
                                 "(after the last step): the state is spread over the ranks")
            self.consolidate_state_dict()
        sd = {"optimizer": self.algorithm, "step_count": self.step_count, "lr": self.lr}
        gathered = self._gathered[1]
        for i in range(len(self.params)):
            for name, arrays in gathered.items():
                sd[f"state.{i}.{name}"] = arrays[i]
        return sd

    def load_state_dict(self, sd: dict) -> None:
        """Keep this rank's chunk of a whole state (any rank count wrote it, or one process).

        The wrapped optimizer checks the state (its class, the shapes, the values) and
        raises :class:`~minidl.errors.CheckpointError` naming what is wrong."""
        template = self.optimizer
        template.load_state_dict(sd)  # checks everything; holds the whole state for a moment
        try:
            chunks = {}
            for name in template.state_names:
                have = [name in st for st in template.state]
                if any(have) and not all(have):
                    raise CheckpointError(f"ShardedOptimizer.load_state_dict: {name!r} is stored for "
                                          f"{sum(have)} of the {len(have)} parameters")
                if all(have):
                    arrays = [st[name] for st in template.state]
                    vector = FlatBuffer(arrays, extra=self._pad).pack(arrays)  # the padding stays 0
                    chunks[name] = vector[self._lo:self._hi].copy()
            self.step_count, self.lr = template.step_count, template.lr
        finally:
            template.state, template.step_count = [{} for _ in template.params], 0
        self._inner.state = [chunks]
        self._gathered = None

    def __repr__(self) -> str:
        k = self._hi - self._lo
        return f"ShardedOptimizer({self.algorithm}, rank {self.dist.rank} of {self.dist.world_size}, chunk of {k:,})"


def state_size(optimizer) -> int:
    """How many numbers of optimizer state this process holds: m and v of its chunk for a
    sharded Adam (2k), of every parameter for a plain one (2S)."""
    states = optimizer._inner.state if isinstance(optimizer, ShardedOptimizer) else optimizer.state
    return sum(int(v.size) for st in states for v in st.values() if hasattr(v, "size"))
