"""Where a ResNet training step spends its time, by layer kind: the breakdown behind the
convolution rows of ``benchmarks/README.md``.

One step = forward + cross-entropy + backward + Adam(1e-3), float32, random CIFAR-shaped
data (``benchmarks/resnet_step.py``, the step ``benchmarks/conv.py`` times). Every
``forward``/``backward`` of the network's modules, the loss and ``Adam.step`` run under a
timer that measures *CPU time of this process* (``time.process_time``), exclusive of the
nested calls it makes, so a block's own time is its residual additions and a model's own
time is its glue. CPU time, unlike wall time, does not count the time other programs hold
the core, so the shares survive a loaded machine better than a stopwatch does (memory
bandwidth and caches are still shared).

Within the convolution, the time spent in BLAS (``xp.matmul``) is measured separately:
the fast path calls ``xp.matmul`` by name, so wrapping ``numpy.matmul`` here counts every
product it makes. (Code that multiplies with the ``@`` operator is not seen by the
wrapper; its products count as the convolution's other time.)

    python benchmarks/conv_profile.py                        # resnet20, batch 128, 3 steps, 1 thread
    python benchmarks/conv_profile.py --model resnet34 --batch 32 --steps 1

Prints a Markdown table of milliseconds per step and shares.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minidl
sys.path.insert(0, HERE)
from resnet_step import set_blas_threads, training_step  # noqa: E402  (imports no NumPy yet)


class Timers:
    """Exclusive CPU time per label: a nested timed call's time is taken off its caller's."""

    def __init__(self):
        self.total: dict[str, float] = {}
        self.stack: list[list] = []  # [label, start, time of nested timed calls]

    def wrap(self, fn, label):
        def timed(*args, **kwargs):
            self.stack.append([label, time.process_time(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                lab, t0, inner = self.stack.pop()
                spent = time.process_time() - t0
                self.total[lab] = self.total.get(lab, 0.0) + spent - inner
                if self.stack:
                    self.stack[-1][2] += spent
        return timed


def _label(module) -> str:
    name = type(module).__name__
    return {"BasicBlock": "residual adds (BasicBlock's own)", "ResNet": "model glue",
            "Sequential": "model glue"}.get(name, name)


def instrument(model, loss_fn, opt, timers: Timers):
    """Wrap the bound forward/backward of every module (on the instances: nothing global)."""
    import numpy as np

    for m in list(model.modules()) + [loss_fn]:
        label = _label(m)
        for attr in ("forward", "backward"):
            object.__setattr__(m, attr, timers.wrap(getattr(m, attr), label))
    opt.step = timers.wrap(opt.step, "Adam")
    opt.zero_grad = timers.wrap(opt.zero_grad, "zero_grad")
    np.matmul = timers.wrap(np.matmul, "GEMM (xp.matmul)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="resnet20", choices=["resnet20", "resnet34"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (set before NumPy loads)")
    args = p.parse_args(argv)
    if args.threads != 1:  # the layers would split their batch over threads, which the timers' one stack cannot follow
        p.error("--threads: the per-layer timers follow one thread only; for two threads use "
                "benchmarks/conv_threads.py")
    set_blas_threads(args.threads)  # before NumPy loads

    model, loss_fn, opt, step = training_step(args.model, args.batch)
    step()  # warm-up: buffers grown, pages mapped
    timers = Timers()
    instrument(model, loss_fn, opt, timers)
    t0 = time.process_time()
    for _ in range(args.steps):
        step()
    total = (time.process_time() - t0) / args.steps
    rows = sorted(((v / args.steps, k) for k, v in timers.total.items()), reverse=True)
    rows.append((total - sum(v for v, _ in rows), "outside the timed calls"))
    print(f"# {args.model}, batch {args.batch}, {args.threads} thread(s), CPU time per step over {args.steps} "
          f"steps after one warm-up: {total * 1e3:.0f} ms (timers included)")
    print("| part | ms/step | share |")
    print("| --- | ---: | ---: |")
    for v, k in rows:
        print(f"| {k} | {v * 1e3:.0f} | {v / total:.0%} |")
    return dict((k, v) for v, k in rows)


if __name__ == "__main__":
    main()
