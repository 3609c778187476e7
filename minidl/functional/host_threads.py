"""The host's threads: how many the BLAS library runs a product on, and a small pool that
runs independent pieces of one layer's work on that many threads, BLAS single-threaded
inside each.

A multithreaded BLAS splits *one* product over its threads, which then meet when it ends.
For the hundreds of small products of a chunked convolution (``conv_fast``) those meetings
cost more than the second thread gains. Splitting the *batch* instead, a few pieces of the
images per thread (:data:`PIECES_PER_THREAD`), which the threads take one after the other and
work through in chunks with a single-threaded BLAS, keeps every product cache-sized and has
the threads meet once per layer. NumPy releases the interpreter lock inside ``matmul``,
copies and ufuncs on large arrays, so the threads run at the same time; only the few lines
of Python between those calls take turns. Elementwise work (ReLU) is cut the same way by
:func:`split_rows`, and needs no partial sums: each piece writes its own rows of the result.

The number of threads follows the BLAS library's own setting, read when asked
(``OPENBLAS_NUM_THREADS`` when NumPy loaded, or a later ``threadpoolctl.threadpool_limits``):
a process given one BLAS thread (an MPI rank beside another, say) gets no pool and runs
exactly the single-threaded code. Work too small to be worth a hand-off (:data:`MIN_SHARE`)
is one piece as well, run on the calling thread with BLAS on one thread. The pool is made
again after a ``fork`` (the child has none of its parent's threads).
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import NamedTuple

from threadpoolctl import ThreadpoolController

from .. import backend
from ..errors import ShapeError

__all__ = ["MIN_SHARE", "PIECES_PER_THREAD", "Shares", "blas_threads", "host_shares", "host_workers",
           "run_shares", "shares", "split_rows", "sum_in_order"]

#: The fewest numbers a thread's share of the work should pass over. Handing work to a thread
#: and waiting for it costs tens of microseconds; one pass over 2¹⁸ float32 numbers (1 MiB)
#: takes about as long as a few of those, so smaller work stays on the calling thread.
#: (ResNet-20's smallest BatchNorm, 128 × 64 × 8 × 8 numbers, is two threads' 2¹⁸ each.)
MIN_SHARE = 1 << 18

#: Pieces per thread: the threads take the pieces one after the other from a common counter,
#: so a thread that another job holds off its core leaves the rest to the others, and the
#: layer waits at the end for one piece, not for a whole share. More pieces cost more (a
#: partial sum and a start-up per piece): on a loaded machine, 1 and 2 were level, 4 and 8
#: up to 10% dearer in CPU time (``benchmarks/README.md``, "2 threads").
PIECES_PER_THREAD = 2

_state: dict = {"blas": None, "pool": None, "pid": None, "size": 0, "depth": 0, "saved": []}
_lock = threading.Lock()


def _blas_libraries() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded in this process (found once)."""
    if _state["blas"] is None:
        _state["blas"] = ThreadpoolController().select(user_api="blas").lib_controllers
    return _state["blas"]


def blas_threads() -> int:
    """The threads the host BLAS runs a product on now (the largest setting if several BLAS
    libraries are loaded; the environment's, or one per CPU, if none is found)."""
    libs = _blas_libraries()
    if libs:
        return max(1, max(lib.get_num_threads() or 1 for lib in libs))
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def host_workers(like) -> int:
    """How many threads a layer splits its batch over: BLAS's thread count for a host array,
    1 for a device array (a GPU runs one kernel over the whole batch)."""
    return 1 if backend.device_of(like) != "cpu" else blas_threads()


def shares(n: int, workers: int) -> list:
    """``[(a0, a1), (a1, a2), ...]``: ``range(n)`` cut into ``min(workers, n)`` contiguous
    pieces of sizes differing by at most one (the first ones longer); ``[(0, 0)]`` for n = 0."""
    k = max(1, min(workers, n))
    bounds = [i * (n // k) + min(i, n % k) for i in range(k + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


class Shares(NamedTuple):
    """Work cut for the host's threads: ``pieces``, contiguous ``(a, b)`` ranges of
    ``range(n)`` in order, and the number of ``threads`` that take them."""

    pieces: list
    threads: int


def host_shares(n: int, like, numbers: int) -> Shares:
    """``range(n)`` (images, rows) cut for the host's threads: one thread per BLAS thread
    (:func:`host_workers`), but none for less than :data:`MIN_SHARE` of the ``numbers`` the
    whole work passes over, and :data:`PIECES_PER_THREAD` pieces per thread. One thread gets
    one piece, ``[(0, n)]``: the single-threaded code."""
    threads = min(host_workers(like), max(1, numbers // MIN_SHARE))
    if threads == 1:
        return Shares(shares(n, 1), 1)
    pieces = shares(n, threads * PIECES_PER_THREAD)
    return Shares(pieces, min(threads, len(pieces)))


def _pool(size: int) -> ThreadPoolExecutor:
    """The process's pool, of at least ``size`` threads (made anew after a fork, whose child
    has none of its parent's threads, and when more threads are asked for than it has)."""
    with _lock:
        pool = _state["pool"]
        if pool is None or _state["pid"] != os.getpid() or _state["size"] < size:
            if pool is not None and _state["pid"] == os.getpid():
                pool.shutdown(wait=False)  # its queued work still runs
            pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="minidl")
            _state.update(pool=pool, pid=os.getpid(), size=size)
        return pool


def _set_threads(lib, n: int) -> None:
    """Set a BLAS library's threads. threadpoolctl ignores a setting of a pthreads OpenBLAS
    made from another thread than the first one that set it (to keep threads from fighting
    over the one process-wide value); the pool's lock already orders its own settings, so it
    calls the library's setter itself where threadpoolctl has one."""
    getattr(lib, "_real_set_num_threads", lib.set_num_threads)(n)


@contextmanager
def _one_blas_thread():
    """Every BLAS library on one thread while the block runs; the first of several callers
    at once saves the settings and the last one restores them."""
    libs = _blas_libraries()
    with _lock:
        if _state["depth"] == 0:
            _state["saved"] = [lib.get_num_threads() for lib in libs]
            for lib in libs:
                _set_threads(lib, 1)
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                for lib, n in zip(libs, _state["saved"]):
                    _set_threads(lib, n)


def run_shares(work, split: Shares) -> list:
    """``[work(0, slot), ..., work(len(pieces) − 1, slot)]``: piece ``k`` of ``split`` by
    whichever of its threads takes it next (the calling thread is one of them), with every BLAS
    library on one thread meanwhile. ``slot`` (0 … threads − 1) names the thread, for scratch
    buffers of its own; what ``work`` returns must not depend on it. One thread runs the pieces
    in order on the calling thread, on one BLAS thread too: one thread means work too small to
    be worth a second one (:func:`host_shares`), and a multithreaded BLAS would wake its
    threads for each small product (with one BLAS thread set, nothing is changed). The results
    come back in piece order, whatever the threads' timing, so a caller that combines them in
    that order gets the same numbers every run; an exception in a piece is raised after every
    thread has stopped."""
    pieces, threads = split
    if threads == 1:
        if blas_threads() == 1:
            return [work(k, 0) for k in range(len(pieces))]
        with _one_blas_thread():
            return [work(k, 0) for k in range(len(pieces))]
    results, taken = [None] * len(pieces), itertools.count()

    def take(slot):  # the next untaken piece, until none is left (count's next() is atomic)
        while (k := next(taken)) < len(pieces):
            results[k] = work(k, slot)
    with _one_blas_thread():
        futures = [_pool(threads - 1).submit(take, slot) for slot in range(1, threads)]
        try:
            take(0)
        finally:
            wait(futures)  # every thread stops before BLAS gets its threads back
        for f in futures:
            f.result()  # re-raises a piece's exception
    return results


def sum_in_order(terms):
    """``terms[0] + terms[1] + ...``, added in this order (into ``terms[0]``): the pieces'
    partial sums get the same rounding every run, whichever thread finished first."""
    total = terms[0]
    for term in terms[1:]:
        total += term
    return total


def split_rows(func, *arrays) -> None:
    """``func(*arrays)``, run as ``func(*(a[i:j] for a in arrays))`` for contiguous pieces
    ``[i, j)`` of the leading axis, on the host's threads (:func:`host_shares`, sized by the
    first array). For **elementwise** work that writes its result into one of the arrays
    (every output element depends only on the same element of each input) the pieces compute
    the whole call's numbers, bit for bit: only who computes which rows changes.

    All arrays share the leading length. One piece, ``func(*arrays)`` on the calling thread,
    for a 0-d array, a device array, one BLAS thread, or work under :data:`MIN_SHARE` numbers
    per thread (a ReLU of ResNet-20's first stage, 128 × 16 × 32 × 32, is two threads' 2²⁰).
    """
    first = arrays[0]
    if any(a.shape[:1] != first.shape[:1] for a in arrays):
        raise ShapeError(f"split_rows: the arrays must share their leading length, got shapes "
                         f"{[tuple(a.shape) for a in arrays]}")
    if first.ndim == 0 or first.size < 2 * MIN_SHARE:  # one thread's work at most: skip asking BLAS
        func(*arrays)
        return
    split = host_shares(first.shape[0], first, first.size)
    if split.threads == 1:
        func(*arrays)
        return
    run_shares(lambda k, slot: func(*(a[slice(*split.pieces[k])] for a in arrays)), split)
