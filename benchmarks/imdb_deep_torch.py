"""PyTorch twin of examples/imdb_deep_lstm.py for report E's BiLSTM-2 and LSTM-4 (and LSTM-8):
the same model on the native ``torch.nn.LSTM(num_layers=…, bidirectional=…, dropout=…)``, the
same start weights, the same batches in the same order, the same optimizer, trained with
torch.nn — so that the per-epoch losses of the two libraries can be laid side by side.

    MINIDL_DATA=path/to/data python benchmarks/imdb_deep_torch.py --model lstm4 --hidden-size 64 --epochs 1 --limit 2000

The twins of the 10-epoch records (hidden 64, report E's other settings)::

    MINIDL_DATA=path/to/data python benchmarks/imdb_deep_torch.py --model bilstm2 --hidden-size 64 --epochs 10 --seed 0
    MINIDL_DATA=path/to/data python benchmarks/imdb_deep_torch.py --model lstm4 --hidden-size 64 --epochs 10 --seed 0

It takes the example's own flags (``--model``, ``--embed-dim``, ``--hidden-size``,
``--dropout``, ``--epochs``, ``--batch-size``, ``--lr``, ``--vocab-size``, ``--max-len``,
``--seed``, ``--data``, ``--limit``, ``--grad-every``, ``--out``) and two of its own:
``--threads`` (``torch.set_num_threads``) and ``--pack``. It calls the example's ``prepare``:
the seed, the data, the minidl model's fresh weights (copied into the torch module by name:
minidl's recurrent parameters have PyTorch's names and gate order i, f, g, o) and the
bucketed ``BatchLoader`` batches are the example's.

The model, as minidl's ``ImdbClassifier(fc_dim=None)``: Embedding(padding_idx=0) → the LSTM
stack (dropout between layers, none after the top one) → the top layer's state after each
review's *last real token* (both directions' final states, forward first, for BiLSTM-2) →
Dropout → Linear(H·dirs, 2), cross-entropy, Adam. A one-directional stack reads its top
layer's output at step length − 1: padding comes after the tokens, so that *is* the last real
state. The bidirectional model's reverse direction must start at each review's last real
token, as minidl's ``lengths`` make it: each layer runs as a forward pass and a pass over every
review reversed within its length, on the native module's own weights
(:class:`~torch_twins.TorchImdb`). Both give the numbers ``pack_padded_sequence`` gives (a test
compares them in float64), ``--pack`` computes them by packing, to check; PyTorch's packed LSTM
is slow on the CPU (BiLSTM-2's first epoch at hidden 64, one thread, each run beside two
others on this project's 2-core machine, 2026-12-06: 1,357 s packed, 350 s unpacked).

``reslstm8`` is refused: its residual around each layer has no native ``torch.nn.LSTM``.

What still differs between the two runs: the dropout masks (each library draws its own;
the twin's come from torch's generator, seeded with ``--seed``) and float32 rounding,
amplified a little by training. Writes to ``--out`` (default
``runs/imdb_deep_torch_<model>_h<hidden>``) ``history.json``/``.csv`` with the example's
columns, ``grad_norms.json``/``.png`` (each layer's gradient norm, as the example records it),
``summary.json`` (the example's fields, ``library: pytorch``, the torch version and threads,
``resumed_after_epochs``) and after every epoch ``torch_last.npz``, the checkpoint
(:mod:`twin_checkpoint`: the net, Adam's state, torch's generator, the loader's epoch, the
history, the gradient-norm rows and step counter; no pickle). ``--resume`` continues an
interrupted run from it, exactly: the rows, gradient norms, weights and summary are those of
a run that was never stopped, but for the seconds (the example's resume leaves the epochs
before it out of ``grad_norms.json``). A resume with other settings (``--seed``,
``--hidden-size``, ``--dropout`` ...) is refused in one ``error:`` line (exit 2); a
``--resume`` with no checkpoint in ``--out`` starts from epoch 1, as the example's does; a
folder holding a run is refused without ``--resume`` or ``--overwrite``. The same command
with ``--resume`` added continues it::

    MINIDL_DATA=path/to/data python benchmarks/imdb_deep_torch.py --model bilstm2 --hidden-size 64 \\
        --epochs 10 --seed 0 --resume

On the CPU only. PyTorch is a reference here, never a dependency of minidl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from types import SimpleNamespace

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import example_module  # noqa: E402
import twin_loop  # noqa: E402
from torch_twins import TorchImdb  # noqa: E402

from minidl import asnumpy  # noqa: E402
from minidl.cli import run as cli_run  # noqa: E402
from minidl.fileio import atomic_write_text  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NO_TWIN = {"reslstm8": "its residual around each layer (u_{l+1} = LSTM_l(u_l) + u_l) has no native "
                       "torch.nn.LSTM equivalent; the twin covers bilstm2, lstm4 and lstm8"}


def load_example():
    """examples/imdb_deep_lstm.py as a module (its parser, ``MODELS``, ``prepare``, ``layer_of``)."""
    return example_module.load_example("imdb_deep_lstm")


def TorchDeepImdb(vocab, embed, hidden, layers, bidirectional, dropout, pack=False) -> TorchImdb:
    """Report E's text model in PyTorch: :class:`~torch_twins.TorchImdb` on a stacked LSTM with
    dropout ``dropout`` between the layers and before the head, no hidden Linear
    (``fc_dim=None``); fed each review's length (packed when ``pack``)."""
    return TorchImdb(vocab, embed, hidden, "lstm", layers, bidirectional, rnn_dropout=dropout, fc_dim=None,
                     dropout=dropout, pack=pack)


def twin_of(model, args) -> TorchImdb:
    """A :func:`TorchDeepImdb` of the shape of ``model`` (a minidl ``ImdbClassifier`` on
    ``nn.LSTM``, ``fc_dim=None``) holding its weights (every name must match: ``strict``;
    the dtype is the minidl model's). ``args``: ``dropout`` and ``pack``."""
    rnn = model.rnn
    vocab, embed = model.embedding.weight.data.shape
    tm = TorchDeepImdb(vocab, embed, rnn.hidden_size, rnn.num_layers, rnn.bidirectional, args.dropout,
                       pack=getattr(args, "pack", False))
    state = {k: torch.from_numpy(np.array(asnumpy(v))) for k, v in model.state_dict().items()}
    tm.to(dtype=state["embedding.weight"].dtype)  # before loading: float64 weights must not pass through float32
    tm.load_state_dict(state, strict=True)
    return tm


def last_state(tm) -> str:
    """How ``tm`` finds each review's last real state, in words (the log and summary.json)."""
    if tm.pack:
        return "packed"
    return "reversal within lengths" if tm.dirs == 2 else "output at length - 1"


def _tensors(batch) -> tuple:
    """A minidl ``Batch``'s module inputs: ids (B, T) and lengths (B,), int64 tensors."""
    return torch.from_numpy(np.asarray(batch.x, dtype=np.int64)), torch.from_numpy(np.asarray(batch.lengths,
                                                                                               dtype=np.int64))


def layer_norms(tm, layer_of) -> list[float]:
    """Each recurrent layer's gradient norm sqrt(Σ ‖∂L/∂θ‖²) over its parameters (both
    directions), grouped by the example's ``layer_of``."""
    sums: dict[int, float] = {}
    for name, p in tm.named_parameters():
        layer = layer_of(name)
        if layer is not None:
            sums[layer] = sums.get(layer, 0.0) + float((p.grad.double() ** 2).sum())
    return [sums[k] ** 0.5 for k in sorted(sums)]


def train_step(tm, opt, loss_fn, batch, record=None):
    """One step on a minidl ``Batch`` (x (B, T) ids, lengths (B,), y (B,)): forward,
    cross-entropy, backward, ``record()`` (before the step), Adam. Returns (loss, logits)
    as host values: a float and a (B, 2) array."""
    return twin_loop.train_step(tm, opt, loss_fn, _tensors(batch), torch.from_numpy(np.asarray(batch.y, np.int64)),
                                record)


def grad_recorder(tm, every: int, layer_of) -> SimpleNamespace:
    """``record()`` appends a row of layer norms every ``every`` steps to ``rows`` and counts
    the steps in ``step``: the state a checkpoint carries (``state()``, ``load(state)``)."""
    g = SimpleNamespace(step=0, rows=[])

    def record():
        if g.step % every == 0:
            g.rows.append({"step": g.step, "norms": layer_norms(tm, layer_of)})
        g.step += 1

    def load(state):
        g.step, g.rows = int(state.get("grad_step", 0)), list(state.get("grad_rows", []))

    g.record, g.load = record, load
    g.state = lambda: {"grad_step": g.step, "grad_rows": g.rows}
    return g


def settings(args) -> dict:
    """What the run is, stored in its checkpoint and compared on ``--resume`` (flag: value):
    every flag but the epochs, the paths, the threads and what only the example reads."""
    keys = ("model", "embed_dim", "hidden_size", "dropout", "batch_size", "lr", "vocab_size", "max_len", "seed",
            "limit", "grad_every", "pack")
    return {"--" + k.replace("_", "-"): getattr(args, k) for k in keys}


def parse_args(ex, argv):
    """The example's flags, ``--threads``, ``--pack`` and ``--out`` (another default); what
    only the example does (a GPU, --allow-config-change, reslstm8) ends with one ``error:``
    line, exit 2."""
    pre = argparse.ArgumentParser(prog="imdb_deep_torch.py", add_help=False)
    pre.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    pre.add_argument("--pack", action="store_true", help="find the last real state by pack_padded_sequence "
                     "(the same numbers, slower)")
    pre.add_argument("--out", default=None)
    own, rest = pre.parse_known_args(argv)
    if "-h" in rest or "--help" in rest:
        print(__doc__)
    args = ex.parse_args(rest)
    for flag, given, why in (("--allow-config-change", args.allow_config_change,
                              "the twin resumes with its checkpoint's settings only"),
                             ("--device", args.device != "cpu", "the twin runs on the CPU")):
        if given:
            pre.error(f"{flag} is the example's: {why}")
    if args.model in NO_TWIN:
        pre.error(f"--model {args.model}: {NO_TWIN[args.model]}")
    if own.threads is not None and own.threads < 1:
        pre.error(f"--threads must be >= 1, got {own.threads}")
    args.threads, args.pack = own.threads, own.pack
    args.out = own.out or f"runs/imdb_deep_torch_{args.model}_h{args.hidden_size}"
    return args


def main(argv=None) -> dict:
    ex = load_example()
    args = parse_args(ex, argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    run = twin_loop.TwinRun(args.out, settings(args), resume=args.resume, overwrite=args.overwrite,
                            prog="imdb_deep_torch.py")
    try:
        prep = ex.prepare(args)  # the example's seed, data, batches and start weights
        torch.manual_seed(args.seed)  # the dropout masks: the same in every run of this seed
        tm = twin_of(prep.model, args)
        opt = torch.optim.Adam(tm.parameters(), lr=args.lr)  # betas, eps as minidl's Adam: (0.9, 0.999), 1e-8
        loss_fn = torch.nn.CrossEntropyLoss()
        params = sum(p.numel() for p in tm.parameters())
        print(tm)
        print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; {args.model}, hidden "
              f"{args.hidden_size}, {params:,} parameters; {len(prep.data.train)} train / {len(prep.data.test)} test "
              f"reviews; batch {args.batch_size}, Adam lr {args.lr}; last state by "
              f"{last_state(tm)}")
        grads = grad_recorder(tm, args.grad_every, ex.layer_of)
        grads.load(run.restore(tm, opt, prep.train_loader))
        hist = run.train(args.epochs, lambda epoch: twin_loop.train_epoch(
            tm, opt, loss_fn, prep.train_loader, prep.test_loader, epoch, _tensors, grads.record), tm, opt,
            prep.train_loader, grads.state)
        ex.plot_grad_norms(grads.rows, os.path.join(args.out, "grad_norms.png"),
                           f"{args.model} (PyTorch): gradient norm per layer (hidden {args.hidden_size})")
        summary = {"model": args.model, "hidden_size": args.hidden_size, "parameters": params,
                   **run.summary(prep.t_data), "last_state": last_state(tm),
                   "args": dict(vars(args))}
        for name, obj in (("grad_norms.json", {"every": args.grad_every, "rows": grads.rows}),
                          ("summary.json", summary)):
            atomic_write_text(os.path.join(args.out, name), json.dumps(obj, indent=1))
    finally:
        run.close()
    print(f"best test acc {summary['best_acc']:.2%} (epoch {summary['best_epoch']}); last {summary['last_acc']:.2%}; "
          f"wall time {summary['wall_seconds']:.1f} s; outputs in {args.out}/")
    return dict(summary, history=hist.rows, grad_norms=grads.rows)


if __name__ == "__main__":
    sys.exit(cli_run(main, sys.argv[1:]))  # a user error (no data, a damaged checkpoint, a held --out): one line
