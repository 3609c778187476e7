"""The host's thread pool: its size follows the BLAS library's thread setting, it cuts the
batch into contiguous pieces that its threads take one after the other, runs them with BLAS
single-threaded and gives BLAS its threads back, and a workspace's parts keep the threads'
buffers apart."""

import os
import signal
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from minidl.errors import ShapeError
from minidl.functional import host_threads
from minidl.functional.host_threads import Shares, blas_threads, host_workers, run_shares, shares, split_rows
from minidl.functional.workspace import Workspace


@given(n=st.integers(1, 300), workers=st.integers(1, 20))
def test_shares_cut_the_batch_into_contiguous_pieces(n, workers):
    parts = shares(n, workers)
    assert len(parts) == min(n, workers)
    assert parts[0][0] == 0 and parts[-1][1] == n
    assert all(a1 == b0 for (_, a1), (b0, _) in zip(parts, parts[1:]))
    sizes = [b - a for a, b in parts]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_the_pool_follows_the_blas_setting(limit):
    """``threadpool_limits`` (or ``OPENBLAS_NUM_THREADS`` at start) sets the shares: one BLAS
    thread, one share, the single-threaded code."""
    if not host_threads._blas_libraries():
        pytest.skip("no BLAS library that threadpoolctl can see")
    with threadpool_limits(limits=limit, user_api="blas"):
        assert blas_threads() == limit
        assert host_workers(np.zeros(3)) == limit


def test_without_a_visible_blas_the_environment_decides(monkeypatch):
    monkeypatch.setitem(host_threads._state, "blas", [])
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert blas_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert blas_threads() == 1


def _split(pieces, threads):
    """``pieces`` one-item pieces for ``threads`` threads."""
    return Shares([(k, k + 1) for k in range(pieces)], threads)


def test_pieces_run_on_threads_with_one_blas_thread_and_come_back_in_order():
    if not host_threads._blas_libraries():
        pytest.skip("no BLAS library that threadpoolctl can see")
    with threadpool_limits(limits=2, user_api="blas"):
        seen = {}
        barrier = threading.Barrier(3, timeout=10)  # all three pieces at once: three threads

        def work(k, slot):
            seen[k] = (threading.get_ident(), slot, blas_threads())
            barrier.wait()
            return k * 10
        assert run_shares(work, _split(3, 3)) == [0, 10, 20]
        assert len({ident for ident, _, _ in seen.values()}) == 3
        assert {slot for _, slot, _ in seen.values()} == {0, 1, 2}
        assert threading.get_ident() in {ident for ident, _, _ in seen.values()}  # the caller is one
        assert all(n == 1 for _, _, n in seen.values())
        assert blas_threads() == 2  # given back


def test_a_thread_held_up_leaves_its_pieces_to_the_others():
    """Eight pieces, two threads, the pool's thread stuck in its first piece: the calling
    thread takes the other seven, and the results still come back in piece order."""
    release, done = threading.Event(), []

    def work(k, slot):
        if slot == 1:
            release.wait(10)
        else:
            done.append(k)
            if len(done) == 7:
                release.set()
        return k
    assert run_shares(work, _split(8, 2)) == list(range(8))
    assert len(done) >= 7


def test_one_thread_runs_the_pieces_in_order_on_the_calling_thread_with_one_blas_thread():
    """One thread is small work: on the calling thread, BLAS on one thread (and given back)."""
    if not host_threads._blas_libraries():
        pytest.skip("no BLAS library that threadpoolctl can see")
    me = threading.get_ident()
    with threadpool_limits(limits=2, user_api="blas"):
        got = run_shares(lambda k, slot: (k, slot, threading.get_ident(), blas_threads()), _split(3, 1))
        assert got == [(0, 0, me, 1), (1, 0, me, 1), (2, 0, me, 1)]
        assert blas_threads() == 2


def test_an_error_in_a_piece_is_raised_after_all_threads_stop():
    ended = []

    def work(k, slot):
        if k == 1:
            raise ValueError("piece 1 failed")
        ended.append(k)
        return k
    before = blas_threads()
    with pytest.raises(ValueError, match="piece 1 failed"):
        run_shares(work, _split(3, 3))
    assert sorted(ended) == [0, 2]
    assert blas_threads() == before


def test_workspace_parts_have_their_own_buffers():
    ws = Workspace()
    like = np.zeros(1, np.float32)
    assert ws.part(0) is ws
    a, b = ws.array("cols", (4, 4), like), ws.part(1).array("cols", (4, 4), like)
    assert not np.shares_memory(a, b)
    assert ws.part(1).array("cols", (2, 2), like).base is b.base  # the part's buffer, kept in ws
    assert ws.nbytes == 2 * 16 * 4
    assert ws.fixed().part(1).array("cols", (2, 2), like).base is b.base


def test_callers_at_once_give_blas_its_threads_back():
    """Two threads each running shares at the same time: BLAS is on one thread while either
    runs, and back to its setting when both have ended (whichever ends last)."""
    if not host_threads._blas_libraries():
        pytest.skip("no BLAS library that threadpoolctl can see")
    inside = threading.Barrier(2, timeout=10)
    seen = []

    def caller():
        def work(k, slot):
            if k == 0:
                inside.wait()  # both callers are inside run_shares now
                seen.append(blas_threads())
            return k
        assert run_shares(work, _split(2, 2)) == [0, 1]
    with threadpool_limits(limits=2, user_api="blas"):
        other = threading.Thread(target=caller)
        other.start()
        caller()
        other.join()
        assert seen == [1, 1] and blas_threads() == 2


def test_shares_limit_blas_from_any_thread():
    """A caller that is not the thread that first set BLAS's threads (threadpoolctl would
    ignore its setting of a pthreads OpenBLAS) still runs its shares on one BLAS thread."""
    if not host_threads._blas_libraries():
        pytest.skip("no BLAS library that threadpoolctl can see")
    seen = []
    with threadpool_limits(limits=2, user_api="blas"):  # this thread now controls OpenBLAS
        other = threading.Thread(target=lambda: seen.append(run_shares(lambda k, slot: blas_threads(), _split(2, 2))))
        other.start()
        other.join()
        assert seen == [[1, 1]] and blas_threads() == 2


def test_small_work_stays_on_the_calling_thread(monkeypatch):
    """No thread gets fewer than MIN_SHARE numbers: a small layer is one piece on one thread
    (handing it to a thread would cost more than it saves); a large one gets one thread per
    BLAS thread and PIECES_PER_THREAD pieces per thread."""
    monkeypatch.setattr(host_threads, "host_workers", lambda like: 4)
    like, m, per = np.zeros(1), host_threads.MIN_SHARE, host_threads.PIECES_PER_THREAD
    assert host_threads.host_shares(128, like, m - 1) == Shares([(0, 128)], 1)
    assert host_threads.host_shares(128, like, 2 * m) == Shares(shares(128, 2 * per), 2)
    assert host_threads.host_shares(128, like, 100 * m) == Shares(shares(128, 4 * per), 4)
    assert host_threads.host_shares(3, like, 100 * m) == Shares(shares(3, 3), 3)  # never more pieces than items


def test_an_empty_range_is_one_empty_share():
    assert shares(0, 2) == [(0, 0)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
# forking a process whose pool has threads is the case under test; Python 3.12 on warns of it
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_forked_child_makes_its_own_pool():
    """A child forked after the pool started has none of its threads: it makes its own pool
    instead of queueing shares that nothing would run (the alarm ends a child that hangs)."""
    assert run_shares(lambda k, slot: k, _split(2, 2)) == [0, 1]  # the parent's pool is up
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if its shares ran
        code = 1
        try:
            signal.alarm(20)
            code = 0 if run_shares(lambda k, slot: k, _split(2, 2)) == [0, 1] else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# split_rows: elementwise work on pieces of the leading axis
def _split_over(monkeypatch, workers):
    """Split over ``workers`` threads (the real pool), however small the work."""
    monkeypatch.setattr(host_threads, "host_workers", lambda like: workers)
    monkeypatch.setattr(host_threads, "MIN_SHARE", 1)


@pytest.mark.parametrize("workers", [2, 3])
def test_split_rows_hands_every_row_to_exactly_one_piece(monkeypatch, workers):
    """Each element incremented once, by pieces that are views of contiguous rows (one piece
    per start of ``shares``): a lost, repeated or misplaced piece changes the count."""
    _split_over(monkeypatch, workers)
    counts, rows = np.zeros((11, 3), np.int64), []
    index = np.arange(11)[:, None] * np.ones((1, 3), np.int64)

    def work(c, i):
        assert np.shares_memory(c, counts)
        rows.append(int(i[0, 0]))
        c += 1
        c += i * 100  # each row also records its own index: a piece given the wrong rows shows
    split_rows(work, counts, index)
    np.testing.assert_array_equal(counts, 1 + index * 100)
    assert len(rows) == workers * host_threads.PIECES_PER_THREAD
    assert sorted(rows) == [a for a, _ in shares(11, len(rows))]


def test_split_rows_uses_more_than_one_thread(monkeypatch):
    _split_over(monkeypatch, 2)
    idents, barrier = set(), threading.Barrier(2, timeout=10)

    def work(a):
        idents.add(threading.get_ident())
        barrier.wait()  # two pieces at once: only two threads get here together
    split_rows(work, np.zeros((2, 5)))
    assert len(idents) == 2


def test_split_rows_is_one_call_where_a_split_does_not_pay(monkeypatch):
    """A 0-d array, work under 2 × MIN_SHARE numbers, a device array or one BLAS thread: the
    arrays themselves, once, on the calling thread."""
    calls = []

    def work(*arrays):
        calls.append((arrays, threading.get_ident()))
    scalar, small = np.array(3.0), np.zeros((4, 8))
    split_rows(work, scalar)
    monkeypatch.setattr(host_threads, "host_workers", lambda like: 2)
    split_rows(work, small, small)  # 32 numbers, MIN_SHARE = 2^18
    monkeypatch.setattr(host_threads, "MIN_SHARE", 1)
    monkeypatch.setattr(host_threads, "host_workers", lambda like: 1)  # a device array, or one BLAS thread
    split_rows(work, small)
    assert [len(a) for a, _ in calls] == [1, 2, 1]
    assert calls[0][0][0] is scalar and all(a is small for a in calls[1][0]) and calls[2][0][0] is small
    assert {ident for _, ident in calls} == {threading.get_ident()}


def test_split_rows_refuses_arrays_of_different_lengths():
    with pytest.raises(ShapeError, match=r"leading length.*\(4, 2\).*\(3, 2\)"):
        split_rows(lambda a, b: None, np.zeros((4, 2)), np.zeros((3, 2)))
