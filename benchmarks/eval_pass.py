"""One test pass over the 25,000 IMDB test reviews, report B's model, in minidl and in PyTorch:
the evaluation every epoch of ``examples/imdb_lstm.py`` runs, and its PyTorch twin's.

    MINIDL_DATA=path/to/data python benchmarks/eval_pass.py                 # LSTM, 1 thread, batches of 256
    MINIDL_DATA=path/to/data python benchmarks/eval_pass.py --cell gru --batch 128 --threads 2

Both libraries get the example's test batches (``BatchLoader``, bucketed by length, each
batch trimmed to its longest review) and the same weights (minidl's seeded initialisation,
copied into :class:`torch_twins.TorchImdb`); each runs in a process of its own
(``minidl.host_memory`` keeps freed memory in both, as the example does), evaluates the whole
set ``--rounds`` times and reports its fastest pass. minidl's pass is ``minidl.train.evaluate``
(under ``no_grad``: the recurrent layer runs its forward without a cache); PyTorch's is the
twin's ``_evaluate`` (``torch.no_grad``). Prints seconds per pass, the ratio minidl / PyTorch,
and the test losses, which must agree (same weights). PyTorch is a reference here, never a
dependency of minidl; without it only minidl runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    p.add_argument("--batch", type=int, default=256, help="test batch size (the example's: 256)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (minidl), torch.set_num_threads")
    p.add_argument("--rounds", type=int, default=2, help="whole passes per library; the fastest is reported")
    p.add_argument("--limit", type=int, default=None, help="N test reviews (a quick check, not a result)")
    p.add_argument("--data", default=None, help="aclImdb folder or archive (default: $MINIDL_DATA)")
    p.add_argument("--library", choices=["minidl", "torch"], default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.batch < 1 or args.threads < 1 or args.rounds < 1:
        p.error("--batch, --threads and --rounds must be >= 1")
    return args


def one_library(args) -> dict:
    """Time ``args.rounds`` passes in this process; {seconds (each pass), acc}."""
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    import minidl
    from minidl.data.batching import BatchLoader
    from minidl.data.imdb import load_imdb
    from minidl.host_memory import keep_freed_memory
    from minidl.models import ImdbClassifier

    keep_freed_memory()
    data = load_imdb(args.data, vocab_size=20001, max_len=300, seed=0, limit=args.limit)  # the example's
    test = BatchLoader(data.test.ids, data.test.labels, data.test.lengths, batch_size=args.batch,
                       shuffle=False, bucket=True, trim=True)
    minidl.manual_seed(0)
    model = ImdbClassifier(20001, 64, 64, cell=args.cell, fc_dim=64, num_classes=2)
    if args.library == "minidl":
        from minidl import nn
        from minidl.train import evaluate

        def one_pass():
            ev = evaluate(model, nn.CrossEntropyLoss(), test)
            return ev["loss"], ev["acc"]
    else:
        import numpy as np
        import torch
        from imdb_torch import _evaluate
        from torch_twins import TorchImdb

        torch.set_num_threads(args.threads)
        twin = TorchImdb(20001, 64, 64, cell=args.cell)
        twin.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in model.state_dict().items()})

        def one_pass():
            loss, acc, _ = _evaluate(twin, torch.nn.CrossEntropyLoss(), test)
            return loss, acc
    seconds = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        loss, acc = one_pass()
        seconds.append(time.perf_counter() - t0)
    return {"seconds": seconds, "loss": float(loss), "acc": float(acc)}


def main(argv=None):
    args = parse_args(argv)
    if args.library:
        print(json.dumps(one_library(args)))
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    libraries = ["minidl"]
    try:
        import torch  # noqa: F401
        libraries.append("torch")
    except ImportError:
        print("torch does not import: minidl only", file=sys.stderr)
    passthrough = list(argv if argv is not None else sys.argv[1:])
    results = {}
    for lib in libraries:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), *passthrough, "--library", lib], env=env,
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"error: the {lib} process exited with {out.returncode}:\n{out.stderr[-2000:]}")
        results[lib] = json.loads(out.stdout.strip().splitlines()[-1])
    load = os.getloadavg()
    print(f"IMDB test pass, {args.cell.upper()} (report B's sizes), batches of {args.batch}, {args.threads} "
          f"thread(s); load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    print()
    print(f"| library | pass (s), fastest of {args.rounds} | every pass (s) | test loss | test accuracy |")
    print("| --- | ---: | --- | ---: | ---: |")
    for lib, r in results.items():
        print(f"| {lib} | {min(r['seconds']):.2f} | {', '.join(f'{s:.2f}' for s in r['seconds'])} "
              f"| {r['loss']:.6f} | {r['acc']:.4f} |")
    if "torch" in results:
        ratio = min(results["minidl"]["seconds"]) / min(results["torch"]["seconds"])
        print(f"\nminidl / PyTorch = {ratio:.2f}")
        if abs(results["minidl"]["loss"] - results["torch"]["loss"]) > 1e-4 * abs(results["torch"]["loss"]):
            sys.exit("error: the two libraries' test losses differ: not the same model")


if __name__ == "__main__":
    main()
