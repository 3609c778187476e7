"""How fast two float32 trainings of the same net drift apart, step by step: minidl against
minidl under another BLAS kernel (the same code, only the rounding of its matrix products
differs), and minidl against its PyTorch twin (``benchmarks/cifar_torch.py``'s).

    MINIDL_DATA=path/to/data python benchmarks/cifar_drift.py --depth 34 --width 16 --plain --steps 40
    MINIDL_DATA=path/to/data python benchmarks/cifar_drift.py --depth 34 --width 16 --steps 40

Why: the twins start from the same weights and read the same batches, and in float64 their
steps agree to 1e-10 (``tests/examples/test_cifar_torch_twin.py``). In float32 their losses
part after a few steps, by a little for ResNet-34 and by several percent for Plain-34. Is that
a difference between the libraries, or what float32 training does to *any* two runs that
round differently? The control answers it: OpenBLAS picks a GEMM kernel for the CPU
(``OPENBLAS_CORETYPE`` overrides the pick), and another kernel sums the products of a
convolution in another order. If minidl under that kernel parts from minidl as fast as
PyTorch does, the twin's gap is the rounding's, amplified by training, not the library's.

Each of the three runs is its own process (OpenBLAS reads ``OPENBLAS_CORETYPE`` when NumPy
loads), one thread each: ``prepare`` of ``examples/cifar10_resnet.py`` (the seed, the data, the
start weights, the batches: the example's flags), then ``--steps`` steps of Adam on its first
batches, the training loss of each. The table gives the three losses per step and the gaps
relative to minidl's; the summary, per comparison, the first step whose loss differs by more
than 0.1% and the median and largest |gap|. ``--out FILE`` writes them as JSON (atomically).
A ``--coretype`` that OpenBLAS already picks on this CPU would compare a run with itself and
is refused. CPU only; PyTorch is a reference here, never a dependency of minidl.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from example_module import load_example  # noqa: E402
from resnet_step import set_blas_threads  # noqa: E402

from minidl.cli import run as cli_run  # noqa: E402
from minidl.errors import RangeError  # noqa: E402
from minidl.fileio import atomic_write_text  # noqa: E402

HERE = os.path.abspath(__file__)
PARTED = 1e-3  # a relative loss gap above this: the two runs have parted


def parse_args(argv):
    """This script's flags; the rest are the example's (``--depth``, ``--width``, ``--plain``,
    ``--seed``, ``--batch-size``, ``--lr``, ``--limit``, ``--data`` ...), passed to each run."""
    p = argparse.ArgumentParser(prog="cifar_drift.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=40, help="Adam steps per run (default 40)")
    p.add_argument("--coretype", default="Haswell",
                   help="the OpenBLAS kernel of the control run (OPENBLAS_CORETYPE; default Haswell)")
    p.add_argument("--out", default=None, help="write the losses and the summary to this JSON file")
    p.add_argument("--worker", choices=("minidl", "torch"), help=argparse.SUPPRESS)
    own, example_flags = p.parse_known_args(argv)
    if own.steps < 1:
        p.error(f"--steps must be >= 1, got {own.steps}")
    return own, example_flags


def worker(kind: str, steps: int, example_flags: list) -> dict:
    """One run, in this process: ``{"losses": [...], "blas": OpenBLAS's kernel or None}``."""
    from threadpoolctl import threadpool_info

    ex = load_example("cifar10_resnet")
    args = ex.parse_args(example_flags)
    prep = ex.prepare(args)
    losses = []
    if kind == "minidl":
        from minidl import nn, optim

        model, loss_fn = prep.model, nn.CrossEntropyLoss()
        opt = optim.Adam(model.parameters(), lr=args.lr)
        model.train()
        for _, batch in zip(range(steps), prep.train_loader):
            losses.append(float(loss_fn(model(batch.x), batch.y)))
            model.backward(loss_fn.backward())
            opt.step()
            opt.zero_grad()
    else:
        import cifar_torch
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(args.seed)
        tm = cifar_torch.twin_of(prep.model, args)
        opt, loss_fn = torch.optim.Adam(tm.parameters(), lr=args.lr), torch.nn.CrossEntropyLoss()
        tm.train()
        for _, batch in zip(range(steps), prep.train_loader):
            losses.append(cifar_torch.train_step(tm, opt, loss_fn, batch)[0])
    blas = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
    return {"losses": losses, "blas": blas[0] if blas else None}


def _spawn(kind: str, steps: int, example_flags: list, coretype: str | None = None) -> dict:
    """:func:`worker` in a child process, one BLAS thread, under OpenBLAS kernel ``coretype``
    (None: the one OpenBLAS picks for this CPU). A child, because OpenBLAS reads
    ``OPENBLAS_CORETYPE`` once, when NumPy loads."""
    env = dict(os.environ)
    set_blas_threads(1, env)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    else:
        env.pop("OPENBLAS_CORETYPE", None)
    done = subprocess.run([sys.executable, HERE, "--worker", kind, "--steps", str(steps), *example_flags], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} run{' under ' + coretype if coretype else ''} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def gaps(ours: list, theirs: list) -> list:
    """Per step, (their loss − our loss) / our loss."""
    return [(b - a) / a for a, b in zip(ours, theirs)]


def summarize(g: list) -> dict:
    """The first step (1-based) whose |gap| exceeds :data:`PARTED`, and the median and largest |gap|."""
    parted = next((k + 1 for k, x in enumerate(g) if abs(x) > PARTED), None)
    return {"parted_at_step": parted, "median_abs_gap": statistics.median(abs(x) for x in g),
            "max_abs_gap": max(abs(x) for x in g)}


def main(argv=None) -> dict:
    own, example_flags = parse_args(argv)
    if own.worker:
        print(json.dumps(worker(own.worker, own.steps, example_flags)))
        return {}
    load_example("cifar10_resnet").parse_args(example_flags)  # a bad example flag ends here, before three runs start
    base = _spawn("minidl", own.steps, example_flags)
    control = _spawn("minidl", own.steps, example_flags, own.coretype)
    if base["blas"] is None or control["blas"] == base["blas"]:
        raise RangeError(f"--coretype {own.coretype}: OpenBLAS runs {base['blas']} kernels here by default too, so "
                         "the control would repeat the run; name another kernel (Haswell, Zen, SkylakeX, Prescott)")
    twin = _spawn("torch", own.steps, example_flags)
    a, b, c = base["losses"], control["losses"], twin["losses"]
    kernel_gap, twin_gap = gaps(a, b), gaps(a, c)
    head = (f"{'step':>4}  {'minidl (' + base['blas'] + ')':>18}  {'minidl (' + control['blas'] + ')':>18}  "
            f"{'gap':>8}  {'PyTorch':>10}  {'gap':>8}")
    print(head)
    for k in range(len(a)):
        print(f"{k + 1:>4}  {a[k]:>18.6f}  {b[k]:>18.6f}  {100 * kernel_gap[k]:>+7.3f}%  {c[k]:>10.6f}  "
              f"{100 * twin_gap[k]:>+7.3f}%")
    result = {"args": example_flags, "steps": own.steps, "kernels": [base["blas"], control["blas"]],
              "losses": {"minidl": a, "minidl_control": b, "pytorch": c},
              "control": summarize(kernel_gap), "twin": summarize(twin_gap)}
    for name, label in (("control", f"minidl under {control['blas']}"), ("twin", "PyTorch")):
        s = result[name]
        parted = f"from step {s['parted_at_step']}" if s["parted_at_step"] else "at no step"
        print(f"{label:>24} against minidl: apart by more than {100 * PARTED:g}% {parted}; median |gap| "
              f"{100 * s['median_abs_gap']:.2f}%, largest {100 * s['max_abs_gap']:.2f}%")
    if own.out:
        atomic_write_text(own.out, json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(cli_run(main, sys.argv[1:]))
