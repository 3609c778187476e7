"""Sharded optimizer state (ZeRO stage 1): each of p ranks updates 1/p of the parameters.

Plain data parallelism leaves every rank with the same all-reduced gradient, and then every
rank runs the same optimizer step over *all* the parameters: p copies of Adam's moments m
and v, and p times the same arithmetic. ZeRO stage 1 (Rajbhandari et al., 2020) cuts that
repetition out. Lay the parameters end to end in one vector of S numbers, padded to p·k
with k = ⌈S/p⌉; rank r owns the chunk ``[r·k, (r+1)·k)``::

    flat parameters   |  rank 0's chunk  |  rank 1's chunk  | ... | rank p-1's chunk (+ padding) |
    m, v              |  held by rank 0  |  held by rank 1  | ... | held by rank p-1             |

A step on rank r: read its chunk of the (all-reduced, clipped) gradient and of the
parameters, run the wrapped optimizer's own ``step`` on that chunk alone (with its chunk of
m and v), write the new values into its chunk of the vector, and **all-gather** the vector,
so that every rank receives every chunk, then copy it back into the parameters.

**Why it is exactly the unsharded step.** Adam and SGD update every element from the same
element of the gradient and of their state, with scalars (the learning rate, the bias
corrections) that depend on the step count only. So the chunk's update is the same
sequence of floating-point operations on the same numbers as in the whole step, and the
all-gather copies numbers without arithmetic: the parameters are bit for bit those of the
unsharded optimizer on every rank (``tests/distributed/test_sharded_optim.py``).

**What each rank holds**: the whole model and its gradient (as before), m and v of its
chunk only (1/p of the optimizer state), and a flat vector of S numbers for the gather.

**Checkpoints** hold the whole state, in the unsharded optimizer's format, so a checkpoint
written on p ranks resumes on one process, with or without sharding, and back.
:meth:`ShardedOptimizer.consolidate_state_dict` gathers the chunks; it is a collective
(every rank calls it, ``fit`` does before rank 0 writes), then :meth:`~ShardedOptimizer.state_dict`
returns the gathered state. :meth:`~ShardedOptimizer.load_state_dict` reads a whole state
on every rank and keeps its chunk.
"""

from __future__ import annotations

import copy

from .distributed import FlatBuffer
from .errors import CheckpointError, DTypeError, RangeError
from .module import Parameter
from .optim import Optimizer

__all__ = ["ShardedOptimizer", "state_size"]


def _copy_range(arrays, layout, lo: int, hi: int, out) -> None:
    """``out[: hi − lo]`` ← elements ``[lo, hi)`` of the arrays laid end to end (``layout``:
    FlatBuffer's (shape, size) list), without building the whole flat vector."""
    offset = 0
    for a, (_, size) in zip(arrays, layout):
        a_lo, a_hi = max(lo, offset), min(hi, offset + size)
        if a_lo < a_hi:
            out[a_lo - lo:a_hi - lo] = a.reshape(-1)[a_lo - offset:a_hi - offset]
        offset += size


class ShardedOptimizer(Optimizer):
    """``ShardedOptimizer(optimizer, dist)``: ``optimizer`` (an :class:`~minidl.optim.Adam`
    or :class:`~minidl.optim.SGD` over the model's parameters) stepped in 1/p chunks across
    the ranks of ``dist`` (a :class:`minidl.distributed.DataParallel`), then all-gathered.

    Use it in place of ``optimizer`` (``fit(model, loss, ShardedOptimizer(opt, dist), ...,
    distributed=dist)``); ``optimizer`` itself then only describes the algorithm, its
    hyper-parameters and the parameters, and holds no state. ``lr`` may be changed on the
    wrapper. ``algorithm`` is the wrapped class's name, the name checkpoints and ``fit``'s
    configuration record.

    Shapes: the parameters any shapes, one dtype and device; the chunk k = ⌈S/p⌉ of S
    parameter numbers.
    """

    def __init__(self, optimizer: Optimizer, dist):
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, ShardedOptimizer):
            raise DTypeError(f"ShardedOptimizer: optimizer must be a minidl.optim optimizer (Adam, SGD), "
                             f"got {type(optimizer).__name__}")
        super().__init__(optimizer.params, optimizer.lr)
        if optimizer.step_count or any(optimizer.state):
            raise RangeError("ShardedOptimizer: wrap the optimizer before its first step (it holds state already; "
                             "load a checkpoint into the ShardedOptimizer instead)")
        self.optimizer, self.dist = optimizer, dist
        self._build()

    @property
    def algorithm(self) -> str:
        return type(self.optimizer).__name__

    def _build(self) -> None:
        """The gather vector, this rank's chunk bounds, and the inner optimizer over the chunk."""
        arrays = [p.data for p in self.params]
        size = sum(int(a.size) for a in arrays)
        p, r = self.dist.world_size, self.dist.rank
        k = -(-size // p)
        self._flat = FlatBuffer(arrays, extra=p * k - size)  # p·k numbers; the padding stays 0
        self._lo, self._hi = r * k, (r + 1) * k
        xp = self._flat.xp
        chunk = Parameter(xp.zeros(k, dtype=arrays[0].dtype))  # its .grad: the chunk's gradient
        inner = copy.copy(self.optimizer)  # the same class and hyper-parameters ...
        inner.params, inner.state, inner._scratch_buffers = [chunk], [{}], {}  # ... over the chunk only
        self._inner, self._chunk, self._gathered = inner, chunk, None

    # --8<-- [start:sharded_step]
    def step(self) -> None:
        """The wrapped optimizer's step on this rank's chunk, then one all-gather."""
        arrays = [p.data for p in self.params]
        if not self._flat.matches(arrays):
            raise DTypeError("ShardedOptimizer: the parameters changed shape, dtype or device since the optimizer "
                             "was made (move or cast the model first, then create the optimizers)")
        self.step_count += 1
        inner, chunk, flat = self._inner, self._chunk, self._flat
        inner.lr, inner.step_count = self.lr, self.step_count - 1  # inner.step() counts this step
        _copy_range([p.grad for p in self.params], flat.layout, self._lo, self._hi, chunk.grad)
        _copy_range(arrays, flat.layout, self._lo, self._hi, chunk.data)
        inner.step()  # Adam / SGD, unchanged, on k numbers instead of S
        flat.vector[self._lo:self._hi] = chunk.data
        self.dist.allgather(flat.vector)  # every rank's chunk to every rank
        flat.unpack(arrays)
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
                    vector = self._flat.pack([st[name] for st in template.state])  # the padding stays 0
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
