"""How minidl's convolution uses a second BLAS thread: variants A/B in one process.

One ResNet training step (forward, cross-entropy, backward, Adam(1e-3); float32, random
CIFAR-shaped data: ``benchmarks/resnet_step.py``, the step ``benchmarks/conv.py`` times) is
timed under each variant, the variants' steps alternating (variant 1, variant 2, ...,
variant 1, ...), so that a change in the machine's load falls on all of them alike. Each
step's wall time and the process's CPU time (all its threads) are recorded; the table gives
min and median per variant.

On a loaded machine the wall time says little about a second thread (the other jobs hold
the cores), so the table also gives the **critical path**: the step's CPU time less, for
each call split over threads, the CPU time of all its threads but the busiest
(``time.thread_time`` of each piece, summed per thread). It is what the step would take
on free cores if the threads overlapped perfectly and ran as fast side by side as they did
here: a bound, not a measurement.

Variants (the process starts with the BLAS threads of ``--threads``, default 2):

* ``pool``: what the layers do: the batch cut into pieces, ``PIECES_PER_THREAD`` per BLAS
  thread, which the threads take one after the other, each piece's chunks with a
  single-threaded BLAS (``functional/host_threads.py``), in the convolutions and in
  BatchNorm;
* ``poolconv``: the pool in the convolutions only, BatchNorm on one thread;
* ``piecesN``: the pool with N pieces per thread (``pool`` has ``PIECES_PER_THREAD``);
* ``whole``: one share, one chunk holding the whole batch, BLAS multithreaded (the code
  before the pool, for a multithreaded BLAS);
* ``chunkN``: one share, chunks N times ``CHUNK_FLOATS``, BLAS multithreaded;
* ``one``: BLAS limited to one thread for the whole step (``threadpoolctl``): the
  single-threaded path (no pool, chunks of ``CHUNK_FLOATS``).

    python benchmarks/conv_threads.py --steps 6 --variants pieces1,pieces2,pieces4,one
    python benchmarks/conv_threads.py --steps 5 --variants pool,poolconv,whole,chunk4,one
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minidl
sys.path.insert(0, HERE)
from resnet_step import set_blas_threads, training_step  # noqa: E402  (imports no NumPy yet)


def _variant(name, conv_fast, batchnorm_fast, limits, host_threads):
    """A context manager factory that sets the variant up for one step."""
    from contextlib import ExitStack, contextmanager

    @contextmanager
    def setup():
        real_shares, real_chunk = conv_fast.host_shares, conv_fast.CHUNK_FLOATS
        one = lambda n, like, numbers: host_threads.Shares([(0, n)], 1)  # noqa: E731
        with ExitStack() as stack:
            if name != "pool" and not name.startswith("pieces"):
                stack.callback(setattr, batchnorm_fast, "host_shares", batchnorm_fast.host_shares)
                batchnorm_fast.host_shares = one
            if name == "whole":
                conv_fast.host_shares, conv_fast.CHUNK_FLOATS = one, 1 << 40
            elif name.startswith("chunk"):
                conv_fast.host_shares = one
                conv_fast.CHUNK_FLOATS = real_chunk * int(name[5:])
            elif name == "one":
                stack.enter_context(limits(limits=1, user_api="blas"))
            elif name.startswith("pieces"):
                stack.callback(setattr, host_threads, "PIECES_PER_THREAD", host_threads.PIECES_PER_THREAD)
                host_threads.PIECES_PER_THREAD = int(name[6:])
            elif name not in ("pool", "poolconv"):
                raise SystemExit(f"unknown variant {name!r}")
            try:
                yield
            finally:
                conv_fast.host_shares, conv_fast.CHUNK_FLOATS = real_shares, real_chunk
    return setup


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="resnet20", choices=["resnet20", "resnet34"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=5, help="timed steps per variant")
    p.add_argument("--threads", type=int, default=2, help="BLAS threads (set before NumPy loads)")
    p.add_argument("--variants", default="pool,poolconv,one")
    args = p.parse_args(argv)
    set_blas_threads(args.threads)  # before NumPy loads

    from threadpoolctl import threadpool_limits

    from minidl.functional import batchnorm_fast, conv_fast, host_threads

    step = training_step(args.model, args.batch)[-1]
    overlapped = [0.0]  # CPU time of the shares beside the longest one, this step

    def timed_run_shares(work, split, real=host_threads.run_shares):
        spent = [0.0] * split.threads  # CPU time of each thread in this call

        def timed(k, slot):
            t0 = time.thread_time()
            try:
                return work(k, slot)
            finally:
                spent[slot] += time.thread_time() - t0
        try:
            return real(timed, split)
        finally:
            overlapped[0] += sum(spent) - max(spent)
    conv_fast.run_shares = batchnorm_fast.run_shares = timed_run_shares

    names = args.variants.split(",")
    setups = {n: _variant(n, conv_fast, batchnorm_fast, threadpool_limits, host_threads) for n in names}
    for n in names:  # warm-up: every variant's buffers grown, pages mapped
        with setups[n]():
            step()
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    path = {n: [] for n in names}
    for _ in range(args.steps):
        for n in names:
            with setups[n]():
                overlapped[0] = 0.0
                t0, c0 = time.perf_counter(), time.process_time()
                step()
                wall[n].append(time.perf_counter() - t0)
                cpu[n].append(time.process_time() - c0)
                path[n].append(cpu[n][-1] - overlapped[0])
    print(f"# {args.model}, batch {args.batch}, BLAS threads {args.threads}, {args.steps} steps per variant "
          f"(alternating), load average {os.getloadavg()[0]:.1f}")
    print("| variant | wall ms min / median | CPU ms min / median | critical path ms min / median |")
    print("| --- | ---: | ---: | ---: |")
    for n in names:
        cells = [f"{min(v[n]) * 1e3:.0f} / {statistics.median(v[n]) * 1e3:.0f}" for v in (wall, cpu, path)]
        print(f"| {n} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
