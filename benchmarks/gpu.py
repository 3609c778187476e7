"""The GPU timings: minidl on CuPy against PyTorch on the same GPU, in one run, one table.

    python benchmarks/gpu.py                  # on a machine with a GPU (benchmarks/gpu_check.sh runs it)
    python benchmarks/gpu.py --dry-run        # the same code paths on NumPy and the CPU, tiny sizes
    python benchmarks/gpu.py --only B-lstm,R34-epoch --budget 120 --json gpu.json

Cases (float32, TF32 off in both libraries, so that both compute in true float32):

* ``B-lstm``, ``B-gru``: report B's training step, Embedding(20001, 64, padding_idx=0) →
  {LSTM, GRU}(64, 64) → last state → Linear(64, 64) → ReLU → Dropout(0.5) → Linear(64, 2),
  cross-entropy, Adam(1e-3); batch 64 × 300 tokens.
* ``E-bilstm2``: report E's step, Embedding(20000, 200) → 2-layer bidirectional LSTM(200,
  256), dropout 0.5 between the layers → Dropout(0.5) → Linear(512, 2); batch 64 × 300.
* ``R34-epoch``: one epoch of report E's ResNet-34 on CIFAR-10 at batch 128, **estimated** as
  391 training steps + 79 evaluation batches (50,000 and 10,000 images), from timed training
  steps and evaluation batches on random 3×32×32 images (a step's time does not depend on
  the pixels; reading and augmenting the real images is not included).

**How a step is timed.** minidl: :func:`minidl.train.train_one_epoch` (and
:func:`~minidl.train.evaluate`) over N copies of one host batch, which is exactly what
``fit`` runs per step: the batch copied in, forward, loss, backward, Adam, one read-back
of [loss, predictions]. PyTorch: the same loop by hand (batch copied in, forward, loss,
backward, Adam, one read-back of [loss, correct]), cuDNN picking its fastest algorithms
(``cudnn.benchmark``). Each measurement is a block of N consecutive steps between two
device synchronisations (``cupy.cuda.Device().synchronize()``, ``torch.cuda.synchronize()``);
blocks alternate between the libraries after warm-up steps (which also compile minidl's
kernels); the table gives the median block.

**Same network, same numbers.** Before timing, both libraries get the same weights
(PyTorch's, loaded into minidl) and one batch, dropout off: the last column is the largest
difference of the logits and of any parameter's gradient, relative to PyTorch's largest
value. On a GPU this checks minidl's fused float32 kernels against cuDNN on the device; the
script exits with status 1 if a difference exceeds 1e-2 (a broken kernel, not rounding).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("CUPY_TF32", "0")  # CuPy's GEMMs in true float32 (read when CuPy loads)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import minidl  # noqa: E402
from minidl import backend  # noqa: E402
from minidl.models import ImdbClassifier  # noqa: E402
from minidl.models.resnet import ResNet  # noqa: E402
from minidl.nn import CrossEntropyLoss  # noqa: E402
from minidl.optim import Adam  # noqa: E402
from minidl.train import evaluate, train_one_epoch  # noqa: E402

# name: (vocab, embed, hidden, cell, layers, bidirectional, rnn_dropout, fc_dim)
TEXT = {
    "B-lstm": (20001, 64, 64, "lstm", 1, False, 0.0, 64),
    "B-gru": (20001, 64, 64, "gru", 1, False, 0.0, 64),
    "E-bilstm2": (20000, 200, 256, "lstm", 2, True, 0.5, None),
}
TEXT_DRY = {"vocab": 50, "embed": 6, "hidden": 5}
RESNET = {"blocks": [3, 4, 6, 3], "widths": [64, 128, 256, 512], "batch": 128, "image": 32}
RESNET_DRY = {"blocks": [3, 4, 6, 3], "widths": [4, 8, 8, 8], "batch": 4, "image": 8}
EPOCH_TRAIN_STEPS, EPOCH_EVAL_BATCHES = 391, 79  # ⌈50,000 / 128⌉, ⌈10,000 / 128⌉
TARGETS = {"B-lstm": 1.5, "B-gru": 1.5, "E-bilstm2": 1.5, "R34-epoch": 2.0}  # issue 13: minidl / PyTorch
CASES = list(TEXT) + ["R34-epoch"]
MISMATCH = 1e-2


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dry-run", action="store_true",
                   help="NumPy and PyTorch on the CPU, tiny sizes, one step per block: the code paths, not the times")
    p.add_argument("--only", default="", help=f"comma-separated cases among {', '.join(CASES)} (default: all)")
    p.add_argument("--block", type=int, default=5, help="steps per timed block (text cases)")
    p.add_argument("--rounds", type=int, default=3, help="timed blocks per library (alternating)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per library first (compiles kernels)")
    p.add_argument("--resnet-block", type=int, default=4, help="ResNet training steps per timed block")
    p.add_argument("--eval-block", type=int, default=3, help="ResNet evaluation batches per timed block")
    p.add_argument("--budget", type=float, default=240.0,
                   help="seconds: cases not started by then are listed as not timed")
    p.add_argument("--json", default=None, help="also write the rows to this file")
    args = p.parse_args(argv)
    args.only = [c for c in args.only.split(",") if c] or CASES
    unknown = sorted(set(args.only) - set(CASES))
    if unknown:
        p.error(f"unknown case(s) {unknown}; choose among {CASES}")
    if args.dry_run:
        args.block, args.rounds, args.warmup, args.resnet_block, args.eval_block = 1, 2, 1, 1, 1
    return args


# ----------------------------------------------------------------------------- the device
class Device:
    """Where both libraries run: "cuda" (CuPy and torch.cuda) or "cpu" (the dry run)."""

    def __init__(self, dry_run: bool):
        self.name = "cpu" if dry_run else "cuda"
        if self.name == "cuda" and not backend.cuda_available():
            sys.exit("gpu.py: no CUDA device: CuPy is missing or cupy.is_available() is False "
                     "(install the extra: pip install -e '.[cuda12]'; or run with --dry-run on a CPU)")
        self.torch, self.torch_note = _import_torch(self.name)

    def sync(self):
        """Wait for everything queued on the device (both libraries)."""
        if self.name == "cuda":
            backend.cupy.cuda.Device().synchronize()
            if self.torch is not None:
                self.torch.cuda.synchronize()

    def describe(self) -> str:
        if self.name == "cpu":
            return (f"CPU dry run ({platform.processor() or platform.machine()}): NumPy and PyTorch on the CPU at "
                    "tiny sizes; the code paths of the GPU run, not its times")
        cp = backend.cupy
        name = _nvidia_smi_name() or cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        cuda = cp.cuda.runtime.runtimeGetVersion()
        return f"{name}; CUDA runtime {cuda // 1000}.{cuda % 1000 // 10}, CuPy {cp.__version__}"


def _nvidia_smi_name() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def _import_torch(device: str):
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not importable: minidl timed alone"
    if device == "cuda" and not torch.cuda.is_available():
        return None, f"PyTorch {torch.__version__} sees no GPU (a CPU-only build?): minidl timed alone"
    torch.backends.cuda.matmul.allow_tf32 = False  # true float32, as minidl's
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    if device == "cpu":
        torch.set_num_threads(1)  # the dry run: tiny work, and a shared machine
    cudnn = torch.backends.cudnn.version() if device == "cuda" else None
    return torch, f"PyTorch {torch.__version__}" + (f", cuDNN {cudnn}" if cudnn else "")


# ----------------------------------------------------------------------------- the models
def text_pair(name, dev, dry):
    vocab, embed, hidden, cell, layers, bi, rnn_dropout, fc_dim = TEXT[name]
    if dry:
        vocab, embed, hidden = TEXT_DRY["vocab"], TEXT_DRY["embed"], TEXT_DRY["hidden"]
        fc_dim = fc_dim and 4
    minidl.manual_seed(0)
    ours = ImdbClassifier(vocab, embed, hidden, cell, num_layers=layers, bidirectional=bi, rnn_dropout=rnn_dropout,
                          dropout=0.5, fc_dim=fc_dim)
    theirs = None
    if dev.torch is not None:
        from torch_twins import TorchImdb

        dev.torch.manual_seed(0)
        theirs = TorchImdb(vocab, embed, hidden, cell, layers, bi, rnn_dropout, fc_dim, dropout=0.5)
    return ours, theirs, vocab


def resnet_pair(dev, dry):
    cfg = RESNET_DRY if dry else RESNET
    minidl.manual_seed(0)
    ours = ResNet(cfg["blocks"], cfg["widths"], num_classes=10)
    theirs = None
    if dev.torch is not None:
        from torch_twins import TorchResNet

        dev.torch.manual_seed(0)
        theirs = TorchResNet(cfg["blocks"], cfg["widths"], num_classes=10)
    return ours, theirs, cfg


def share_weights(ours, theirs, dev):
    """PyTorch's initial weights into minidl; both onto the device."""
    if theirs is not None:
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        theirs.to("cuda" if dev.name == "cuda" else "cpu")
    ours.to(dev.name)


def set_dropout(ours, theirs, p_head, p_rnn):
    """Dropout probabilities of the text models (0 for the same-network check)."""
    ours.dropout.p, ours.rnn.dropout = p_head, p_rnn
    if theirs is not None:
        theirs.dropout.p, theirs.rnn.dropout = p_head, p_rnn


def same_network_check(ours, theirs, x, y, dev):
    """Largest |minidl − PyTorch| of the logits and of any parameter gradient, each relative to
    PyTorch's largest |value|, for one batch; None without PyTorch."""
    if theirs is None:
        return None
    torch = dev.torch
    loss_fn = CrossEntropyLoss()
    out = ours(backend.to_device(x, dev.name))
    loss_fn(out, y)
    ours.backward(loss_fn.backward())
    t_out = theirs(torch.from_numpy(x).to(_torch_device(dev)))
    torch.nn.functional.cross_entropy(t_out, torch.from_numpy(y).to(_torch_device(dev))).backward()

    def rel(a, t):
        t = t.detach().cpu().numpy()
        return float(np.abs(backend.asnumpy(a) - t).max() / max(float(np.abs(t).max()), 1e-30))

    t_params = dict(theirs.named_parameters())
    grads = max(rel(p.grad, t_params[n].grad) for n, p in ours.named_parameters())
    logits = rel(out, t_out)
    ours.zero_grad()
    theirs.zero_grad()
    return logits, grads


def _torch_device(dev):
    return "cuda" if dev.name == "cuda" else "cpu"


# ----------------------------------------------------------------------------- the steps
def minidl_train(model, x, y, dev):
    opt, loss_fn = Adam(model.parameters(), lr=1e-3), CrossEntropyLoss()
    return lambda n: train_one_epoch(model, loss_fn, opt, [(x, y)] * n, device=dev.name)


def minidl_eval(model, x, y, dev):
    loss_fn = CrossEntropyLoss()
    return lambda n: evaluate(model, loss_fn, [(x, y)] * n, device=dev.name)


def torch_train(model, x, y, dev):
    torch = dev.torch
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    where = _torch_device(dev)

    def steps(n):
        model.train()
        for _ in range(n):
            xd, yd = torch.from_numpy(x).to(where), torch.from_numpy(y).to(where)
            out = model(xd)
            loss = torch.nn.functional.cross_entropy(out, yd)
            loss.backward()
            opt.step()
            opt.zero_grad()
            torch.stack([loss.detach(), (out.argmax(1) == yd).sum().to(loss.dtype)]).tolist()  # one read-back

    return steps


def torch_eval(model, x, y, dev):
    torch = dev.torch
    where = _torch_device(dev)

    def batches(n):
        model.eval()
        with torch.no_grad():
            for _ in range(n):
                xd, yd = torch.from_numpy(x).to(where), torch.from_numpy(y).to(where)
                out = model(xd)
                loss = torch.nn.functional.cross_entropy(out, yd)
                torch.cat([loss.reshape(1), out.argmax(1).to(loss.dtype)]).tolist()
        model.train()

    return batches


def time_blocks(runs: dict, block: int, rounds: int, warmup: int, dev) -> dict:
    """``runs``: library -> ``run(n)`` doing n steps. Returns library -> median seconds per step
    over ``rounds`` alternating blocks of ``block`` steps, after ``warmup`` untimed steps."""
    for run in runs.values():
        run(warmup)
    dev.sync()
    times = {lib: [] for lib in runs}
    for _ in range(rounds):
        for lib, run in runs.items():
            dev.sync()
            t0 = time.perf_counter()
            run(block)
            dev.sync()
            times[lib].append((time.perf_counter() - t0) / block)
    return {lib: statistics.median(t) for lib, t in times.items()}


# ----------------------------------------------------------------------------- the cases
def text_case(name, dev, args):
    B, T = (4, 8) if args.dry_run else (64, 300)
    ours, theirs, vocab = text_pair(name, dev, args.dry_run)
    share_weights(ours, theirs, dev)
    rng = np.random.default_rng(0)
    x, y = rng.integers(1, vocab, size=(B, T)), rng.integers(0, 2, size=B)
    _, _, _, _, _, _, rnn_dropout, _ = TEXT[name]
    set_dropout(ours, theirs, 0.0, 0.0)
    check = same_network_check(ours, theirs, x[: min(B, 8)], y[: min(B, 8)], dev)
    set_dropout(ours, theirs, 0.5, rnn_dropout)
    runs = {"minidl": minidl_train(ours, x, y, dev)}
    if theirs is not None:
        runs["PyTorch"] = torch_train(theirs, x, y, dev)
    t = time_blocks(runs, args.block, args.rounds, args.warmup, dev)
    what = f"training step, batch {B} × {T} tokens"
    return {"case": name, "what": what, "unit": "ms/step", "minidl": t["minidl"] * 1e3,
            "PyTorch": t.get("PyTorch", float("nan")) * 1e3, "check": check}


def resnet_case(dev, args):
    ours, theirs, cfg = resnet_pair(dev, args.dry_run)
    share_weights(ours, theirs, dev)
    B, S = cfg["batch"], cfg["image"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, 3, S, S)).astype(np.float32)
    y = rng.integers(0, 10, size=B)
    check = same_network_check(ours, theirs, x[: min(B, 16)], y[: min(B, 16)], dev)  # train mode: batch statistics
    train = {"minidl": minidl_train(ours, x, y, dev)}
    evals = {"minidl": minidl_eval(ours, x, y, dev)}
    if theirs is not None:
        train["PyTorch"] = torch_train(theirs, x, y, dev)
        evals["PyTorch"] = torch_eval(theirs, x, y, dev)
    t_train = time_blocks(train, args.resnet_block, args.rounds, max(1, args.warmup - 1), dev)
    t_eval = time_blocks(evals, args.eval_block, args.rounds, 1, dev)
    epoch = {lib: EPOCH_TRAIN_STEPS * t_train[lib] + EPOCH_EVAL_BATCHES * t_eval[lib] for lib in t_train}
    what = (f"epoch ≈ {EPOCH_TRAIN_STEPS} training steps + {EPOCH_EVAL_BATCHES} eval batches at batch {B} "
            f"({S}×{S} images), scaled from {args.rounds * args.resnet_block} steps and "
            f"{args.rounds * args.eval_block} eval batches timed")
    per_step = {lib: (t_train[lib] * 1e3, t_eval[lib] * 1e3) for lib in t_train}
    memory = None
    if dev.name == "cuda":
        memory = backend.cupy.get_default_memory_pool().total_bytes() / 2**30
        if theirs is not None:
            memory = (memory, dev.torch.cuda.max_memory_allocated() / 2**30)
    return {"case": "R34-epoch", "what": what, "unit": "s/epoch", "minidl": epoch["minidl"],
            "PyTorch": epoch.get("PyTorch", float("nan")), "check": check, "memory_gib": memory,
            "ms_per_step_and_eval_batch": per_step}


# ----------------------------------------------------------------------------- the table
def table(rows, dry_run: bool = False) -> str:
    lines = ["| case | what is timed | minidl | PyTorch | minidl / PyTorch | target | met | "
             "same network: logits / gradients (max rel. diff) |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        target = f"≤ {TARGETS[r['case']]}×"
        if r.get("skipped"):
            lines.append(f"| {r['case']} | {r['skipped']} | – | – | – | {target} | – | – |")
            continue
        def fmt(v, unit=r["unit"]):
            return f"{v:.1f} {unit}"

        ratio = r["minidl"] / r["PyTorch"] if r["PyTorch"] == r["PyTorch"] else None
        met = "–" if ratio is None or dry_run else ("yes" if ratio <= TARGETS[r["case"]] else "no")
        check = "–" if r["check"] is None else f"{r['check'][0]:.1e} / {r['check'][1]:.1e}"
        lines.append(f"| {r['case']} | {r['what']} | {fmt(r['minidl'])} | "
                     f"{fmt(r['PyTorch']) if ratio is not None else '–'} | "
                     f"{f'{ratio:.2f}×' if ratio is not None else '–'} | {target} | {met} | {check} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse(argv)
    start = time.perf_counter()
    dev = Device(args.dry_run)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {dev.describe()}; {dev.torch_note}; "
          f"numpy {np.__version__}; float32, TF32 off", flush=True)
    rows = []
    for case in args.only:
        if time.perf_counter() - start > args.budget:
            rows.append({"case": case, "skipped": f"not timed: the {args.budget:.0f} s budget was spent"})
            continue
        row = resnet_case(dev, args) if case == "R34-epoch" else text_case(case, dev, args)
        rows.append(row)
        print(f"#   {case}: minidl {row['minidl']:.1f}, PyTorch {row['PyTorch']:.1f} {row['unit']}; "
              f"check {row['check']} ({time.perf_counter() - start:.0f} s so far)", flush=True)
    print()
    print(table(rows, args.dry_run))
    for r in rows:
        for lib, (step, ev) in r.get("ms_per_step_and_eval_batch", {}).items():
            print(f"\nResNet-34 {lib}: {step:.1f} ms per training step, {ev:.1f} ms per eval batch", end="")
    print()
    mem = next((r.get("memory_gib") for r in rows if r.get("memory_gib")), None)
    if mem:
        print(f"\nResNet-34 GPU memory: minidl's CuPy pool {mem[0] if isinstance(mem, tuple) else mem:.2f} GiB"
              + (f", PyTorch's peak allocation {mem[1]:.2f} GiB" if isinstance(mem, tuple) else ""))
    print(f"\n{time.perf_counter() - start:.0f} s in all")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"device": dev.describe(), "torch": dev.torch_note, "rows": rows}, f, indent=1)
    bad = [r["case"] for r in rows if r.get("check") and max(r["check"]) > MISMATCH]
    if bad:
        print(f"MISMATCH: minidl and PyTorch differ by more than {MISMATCH} (relative) in {bad}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
