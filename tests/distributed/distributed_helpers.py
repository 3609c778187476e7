"""An in-process world of threads that stands in for MPI in the normal test suite.

``ThreadDataParallel`` is a :class:`minidl.distributed.DataParallel` whose collectives
meet at a barrier: every rank sums the same slots in rank order, so every rank gets the
same bits (as MPI's reductions give). Everything else (sharding, weighting, the flat
buffer, the checks) is the library's own code, the code MPI ranks run.
"""

from __future__ import annotations

import threading

from minidl.distributed import DataParallel


class ThreadWorld:
    """Shared slots and a barrier for ``n`` threads (a timeout instead of a hang)."""

    def __init__(self, n: int, timeout: float = 120.0):
        self.n = n
        self.barrier = threading.Barrier(n, timeout=timeout)
        self.slots = [None] * n

    def allreduce(self, rank, vector):
        self.slots[rank] = vector.copy()
        self.barrier.wait()
        total = self.slots[0].copy()
        for s in self.slots[1:]:
            total += s
        self.barrier.wait()  # everyone has read the slots before they are reused
        vector[...] = total

    def allgather(self, rank, vector):
        k = vector.size // self.n
        self.slots[rank] = vector[rank * k:(rank + 1) * k].copy()
        self.barrier.wait()
        for r, chunk in enumerate(self.slots):
            vector[r * k:(r + 1) * k] = chunk
        self.barrier.wait()

    def reduce_scatter(self, rank, vector, out):
        self.allreduce(rank, vector)
        k = out.size
        out[...] = vector[rank * k:(rank + 1) * k]

    def broadcast(self, rank, vector, root):
        if rank == root:
            self.slots[root] = vector.copy()
        self.barrier.wait()
        vector[...] = self.slots[root]
        self.barrier.wait()


class ThreadDataParallel(DataParallel):
    """Rank ``rank`` of a :class:`ThreadWorld` (``world=None``: a world of one)."""

    def __init__(self, rank, world_size, world):
        super().__init__(rank, world_size)
        self.world = world

    def _allreduce_(self, vector):
        if self.world is not None:
            self.world.allreduce(self.rank, vector)

    def _broadcast_(self, vector, root=0):
        if self.world is not None:
            self.world.broadcast(self.rank, vector, root)

    def _allgather_(self, vector):
        if self.world is not None:
            self.world.allgather(self.rank, vector)

    def _reduce_scatter_(self, vector, out):
        if self.world is not None:
            self.world.reduce_scatter(self.rank, vector, out)
        else:
            out[...] = vector


class SummingThreadDataParallel(ThreadDataParallel):
    """A thread rank without its own all-gather: the library's fallback (an all-reduce with
    the other chunks zeroed) runs instead."""

    _allgather_ = DataParallel._allgather_


def run_ranks(p, work, catch=None, kind=ThreadDataParallel):
    """Run ``work(dist)`` on ``p`` thread ranks; return the results in rank order.

    The threads share the process's random generators: give them work that draws nothing
    random (dropout off). Exceptions of type ``catch`` are returned in place of a result;
    any other is raised.
    """
    world = ThreadWorld(p)
    results = [None] * p

    def target(rank):
        try:
            results[rank] = work(kind(rank, p, world))
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            results[rank] = e
            if not (catch and isinstance(e, catch)):
                world.barrier.abort()  # wake the other ranks instead of leaving them waiting

    threads = [threading.Thread(target=target, args=(r,)) for r in range(p)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, BaseException) and not (catch and isinstance(r, catch)):
            raise r
    return results
