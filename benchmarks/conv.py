"""Training-step benchmark: ResNet-20 and ResNet-34 on 3×32×32 images, minidl vs PyTorch.

One step = forward + cross-entropy + backward + Adam update, float32, random data of the
CIFAR-10 shape. Each (framework, model) pair runs in its own child process, one after
the other in the same invocation, so the peak resident memory (``ru_maxrss`` of that
child) belongs to it alone; the ratio compares runs made minutes apart on the same
machine. PyTorch is skipped when it does not import (it is never a minidl dependency).

    python benchmarks/conv.py                          # both models, batch 128
    python benchmarks/conv.py --models resnet20 --steps 10 --batch 64
    python benchmarks/conv.py --rounds 2               # alternate minidl/torch twice
    python benchmarks/conv.py --models resnet34 --steps 1 --warmup 0 --threads 1   # peak memory of one step

Prints a Markdown table: ms/step (median over the timed steps), images/s, the ratio
minidl/PyTorch and the peak RSS of each child. Both children keep freed memory for the next
step, as minidl's command line does (``minidl.host_memory``); ``--allocator default`` leaves
glibc's own settings, as a PyTorch user's script runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minidl
sys.path.insert(0, HERE)
from allocator import add_allocator_flag, apply_allocator  # noqa: E402
from resnet_step import random_batch, set_blas_threads, training_step  # noqa: E402

CONFIGS = {"resnet20": ([3, 3, 3], [16, 32, 64]), "resnet34": ([3, 4, 6, 3], [64, 128, 256, 512])}


def bench_minidl(model_name, batch, steps, warmup):
    step = training_step(model_name, batch)[-1]
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def bench_torch(model_name, batch, steps, warmup):
    import torch
    import torch.nn as tnn
    from torch_twins import TorchResNet  # minidl's ResNet in PyTorch (benchmarks/torch_twins.py)

    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(0)
    model = TorchResNet(*CONFIGS[model_name])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = tnn.CrossEntropyLoss()
    xn, yn = random_batch(batch)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def worker(args):
    apply_allocator(args.allocator)
    fn = bench_minidl if args.worker == "minidl" else bench_torch
    times = fn(args.models, args.batch, args.steps, args.warmup)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"times": times, "peak_mb": peak_mb}))


def run_child(framework, model, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--models", model,
           "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--allocator", args.allocator]
    env = dict(os.environ)
    if args.threads:
        set_blas_threads(args.threads, env)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        if framework == "torch" and "No module named 'torch'" in out.stderr:
            return None
        raise RuntimeError(f"{framework} {model} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="resnet20,resnet34", help="comma-separated: resnet20, resnet34")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=5, help="timed steps per child")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1, help="alternate minidl and torch this many times")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS/OpenMP threads of both frameworks (default: each library's own default)")
    p.add_argument("--no-torch", action="store_true")
    add_allocator_flag(p)
    p.add_argument("--worker", choices=["minidl", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)

    import minidl

    threads = args.threads or "default"
    print(f"# conv training step, batch {args.batch}, float32, {args.steps} timed steps after {args.warmup} "
          f"warm-up, {args.rounds} round(s), threads: {threads}, allocator: {args.allocator}")
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"numpy {np.__version__}, minidl {minidl.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rows = []
    for model in args.models.split(","):
        res = {"minidl": [], "torch": []}
        peaks = {"minidl": 0.0, "torch": 0.0}
        for _ in range(args.rounds):
            for fw in ("minidl", "torch"):
                if fw == "torch" and args.no_torch:
                    continue
                r = run_child(fw, model, args)
                if r is None:
                    continue
                res[fw] += r["times"]
                peaks[fw] = max(peaks[fw], r["peak_mb"])
                print(f"#   {model} {fw}: " + " ".join(f"{t * 1e3:.0f}" for t in r["times"]) + " ms", flush=True)
        ms = {fw: statistics.median(t) * 1e3 for fw, t in res.items() if t}
        rows.append((model, ms, peaks))
    print()
    print("| model | minidl ms/step | minidl img/s | PyTorch ms/step | PyTorch img/s | ratio "
          "| peak RSS minidl / PyTorch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for model, ms, peaks in rows:
        m = ms["minidl"]
        t = ms.get("torch")
        if t is None:
            print(f"| {model} | {m:.0f} | {args.batch / m * 1e3:.0f} | – | – | – | {peaks['minidl']:.0f} MB / – |")
        else:
            print(f"| {model} | {m:.0f} | {args.batch / m * 1e3:.0f} | {t:.0f} | {args.batch / t * 1e3:.0f} | "
                  f"{m / t:.2f}× | {peaks['minidl']:.0f} MB / {peaks['torch']:.0f} MB |")


if __name__ == "__main__":
    main()
