"""Report E's deep text models on IMDB: BiLSTM-2, LSTM-4, LSTM-8 and residual LSTM-8, with
each layer's gradient norm recorded over training (the diagnosis of why LSTM-8 stalls).

    MINIDL_DATA=path/to/data python examples/imdb_deep_lstm.py --model lstm8
    python examples/imdb_deep_lstm.py --model reslstm8 --hidden-size 64 --epochs 3   # CPU scale

Report E's settings are the defaults: Embedding(20001, 200) → the LSTM stack (hidden 256,
dropout 0.5 between layers) → the top layer's last real state → Dropout(0.5) →
Linear(256·dirs, 2), cross-entropy, Adam 1e-3, batch 64, reviews cut to 300 tokens,
vocabulary 20,000 + unk (+ pad), 10 epochs. Report E does not state its head or its
truncation side: minidl takes one Linear after dropout (the plainest head for its "NUM_CLASSES
= 2") and, as for report B, keeps each review's last 300 tokens.

``--model``:

* ``bilstm2``: ``nn.LSTM(200, 256, num_layers=2, bidirectional=True, dropout=0.5)``;
* ``lstm4`` / ``lstm8``: ``nn.LSTM(200, 256, num_layers=4 or 8, dropout=0.5)``;
* ``reslstm8``: ``nn.ResidualStackLSTM(200, 256, num_layers=8, dropout=0.5)``, the residual
  *around* each layer (u_{l+1} = LSTM_l(dropout(u_l)) + u_l), report E's "8 layers, each with
  a residual connection". Report A's residual sits *inside* the cell instead
  (``nn.LSTM(residual=True)``, examples/imdb_lstm.py --residual).

Besides the files of examples/imdb_lstm.py (history, curves, best/last checkpoints,
summary.json), it writes ``grad_norms.json`` and ``grad_norms.png``: the L2 norm of each
recurrent layer's parameter gradient (both directions together), every ``--grad-every``
steps.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from types import SimpleNamespace

import numpy as np

import minidl
from minidl import distributed, nn, optim
from minidl.cli import (
    device,
    int_at_most,
    load_or_explain,
    positive_float,
    positive_int,
    probability,
    quiet_other_ranks,
    run,
    seed,
)
from minidl.data.batching import BatchLoader
from minidl.data.imdb import IMDB_URL, load_imdb
from minidl.fileio import atomic_write_text
from minidl.models import ImdbClassifier
from minidl.plot import plot_history, save_figure
from minidl.runfolder import open_run_folder
from minidl.train import fit

MODELS = {  # name: (cell, layers, bidirectional)
    "bilstm2": ("lstm", 2, True),
    "lstm4": ("lstm", 4, False),
    "lstm8": ("lstm", 8, False),
    "reslstm8": ("lstm_resstack", 8, False),
}


def layer_of(name: str) -> int | None:
    """The recurrent layer a parameter belongs to (``rnn.weight_hh_l3_reverse`` -> 3,
    ``rnn.layers.3.weight_hh_l0`` -> 3), or None for the embedding and the head."""
    m = re.match(r"rnn\.layers\.(\d+)\.", name) or re.match(r"rnn\.\w+_l(\d+)(_reverse)?$", name)
    return int(m.group(1)) if m else None


class GradNormRecorder:
    """Wraps an optimizer: before each ``step`` records every recurrent layer's gradient norm.

    The norm of layer l is sqrt(Σ ‖∂L/∂θ‖²) over its parameters (weights and biases, both
    directions); one row of norms every ``every`` steps.
    """

    def __init__(self, optimizer, model, every: int = 20):
        self.optimizer, self.every, self.steps, self.rows = optimizer, every, 0, []
        groups: dict[int, list] = {}
        for name, p in model.named_parameters():
            layer = layer_of(name)
            if layer is not None:
                groups.setdefault(layer, []).append(p)
        self.groups = [groups[k] for k in sorted(groups)]

    def step(self):
        if self.steps % self.every == 0:
            norms = [float(sum(float((p.grad * p.grad).sum()) for p in ps)) ** 0.5 for ps in self.groups]
            self.rows.append({"step": self.steps, "norms": norms})
        self.steps += 1
        self.optimizer.step()

    def __getattr__(self, name):  # zero_grad, state_dict, load_state_dict, params, lr ...
        return getattr(self.optimizer, name)


def plot_grad_norms(rows, path, title):
    """One line per layer: gradient norm against training step, log scale."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    steps = [r["step"] for r in rows]
    norms = np.array([r["norms"] for r in rows])
    for l in range(norms.shape[1]):
        ax.plot(steps, np.maximum(norms[:, l], 1e-12), label=f"layer {l}", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("‖∂L/∂θ_layer‖")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save_figure(fig, path)


SIZE = int_at_most(1, 2**16)  # widths: a typo such as 1e9 must not ask for terabytes
# what may differ between a run and its --resume; every other option is the run's config
NOT_CONFIG = {"epochs", "data", "download", "out", "device", "resume", "overwrite", "allow_config_change",
              "progress", "lr", "grad_every"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="bilstm2")
    p.add_argument("--embed-dim", type=SIZE, default=200)
    p.add_argument("--hidden-size", type=SIZE, default=256)
    p.add_argument("--dropout", type=probability, default=0.5)
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--vocab-size", type=int_at_most(2, 10**7), default=20001)
    p.add_argument("--max-len", type=positive_int, default=300)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--data", default=None, help="aclImdb folder or .tar.gz (default: $MINIDL_DATA, then the cache)")
    p.add_argument("--limit", type=positive_int, default=None, help="use N reviews of each split (quick runs)")
    p.add_argument("--grad-every", type=positive_int, default=20,
                   help="record the layers' gradient norms every N steps")
    p.add_argument("--out", default="runs/imdb_deep_lstm")
    p.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                   help="fetch the official archive (84 MB, SHA-256 checked) when no copy is found (default); "
                        "--no-download never touches the network")
    p.add_argument("--device", type=device, default="cpu", help="cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.npz (the gradient norms "
                   "of the epochs before it are not in grad_norms.json)")
    p.add_argument("--overwrite", action="store_true", help="delete the run in OUT and start over")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: continue with settings that differ from the checkpoint's (default: refuse)")
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto")
    return p.parse_args(argv)


def prepare(args) -> SimpleNamespace:
    """The run's data, loaders and freshly initialised model (on the host), in the order that
    fixes its random draws: seed, data, model. ``benchmarks/imdb_deep_torch.py`` calls this
    too, so the PyTorch twin starts from these weights and sees these batches in this order."""
    t_start = time.perf_counter()
    minidl.manual_seed(args.seed)
    data = load_or_explain(
        lambda: load_imdb(args.data, vocab_size=args.vocab_size, max_len=args.max_len, limit=args.limit,
                          seed=args.seed, download=args.download),
        download=args.download, given_path=args.data, what="the IMDB archive", url=IMDB_URL,
        offline="copy aclImdb_v1.tar.gz into {cache} (the cache folder, $MINIDL_CACHE) or pass --data PATH "
                "(the archive or its aclImdb/ folder)")
    t_data = time.perf_counter() - t_start
    cell, layers, bidirectional = MODELS[args.model]
    model = ImdbClassifier(args.vocab_size, args.embed_dim, args.hidden_size, cell=cell, num_layers=layers,
                           bidirectional=bidirectional, rnn_dropout=args.dropout, dropout=args.dropout,
                           fc_dim=None)
    train = BatchLoader(data.train.ids, data.train.labels, data.train.lengths, batch_size=args.batch_size,
                        shuffle=True, seed=args.seed, bucket=True, trim=True)
    test = BatchLoader(data.test.ids, data.test.labels, data.test.lengths, batch_size=256, shuffle=False,
                       bucket=True, trim=True)
    return SimpleNamespace(data=data, model=model, train_loader=train, test_loader=test, t_data=t_data)


def main(argv=None) -> dict:
    args = parse_args(argv)
    # under `mpiexec -n p`: one of p ranks, else one process
    dist = quiet_other_ranks(distributed.init(device=args.device))
    open_run_folder(args.out, resume=args.resume, overwrite=args.overwrite, is_root=dist.is_root)
    t0 = time.perf_counter()
    prep = prepare(args)
    model = prep.model.to(args.device)
    print(model)
    print(f"parameters: {sum(p.data.size for p in model.parameters()):,}")
    opt = GradNormRecorder(optim.Adam(model.parameters(), lr=args.lr), model, every=args.grad_every)
    train, test = prep.train_loader, prep.test_loader
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    hist = fit(model, nn.CrossEntropyLoss(), opt, train, test, epochs=args.epochs, device=args.device,
               checkpoint_dir=args.out, resume=args.resume, progress=progress,
               config={k: v for k, v in vars(args).items() if k not in NOT_CONFIG},
               allow_config_change=args.allow_config_change, distributed=dist if dist.world_size > 1 else None)
    if not dist.is_root:  # rank 0 alone plots and writes the summary
        return {"history": hist.rows}
    best, last = hist.best("test_acc"), hist.rows[-1]
    plot_history(hist.rows, os.path.join(args.out, "curves.png"),
                 title=f"IMDB {args.model} (minidl): best test acc {best['test_acc']:.2%}")
    plot_grad_norms(opt.rows, os.path.join(args.out, "grad_norms.png"),
                    f"{args.model}: gradient norm per layer (hidden {args.hidden_size})")
    summary = {"best_acc": best["test_acc"], "best_epoch": best["epoch"], "last_acc": last["test_acc"],
               "last_epoch": last["epoch"], "wall_seconds": time.perf_counter() - t0, "args": vars(args)}
    for name, obj in (("grad_norms.json", {"every": args.grad_every, "rows": opt.rows}), ("summary.json", summary)):
        atomic_write_text(os.path.join(args.out, name), json.dumps(obj, indent=1))
    print(f"best test acc {best['test_acc']:.2%} (epoch {best['epoch']}), last {last['test_acc']:.2%}; "
          f"outputs in {args.out}/")
    return dict(summary, history=hist.rows, grad_norms=opt.rows)


if __name__ == "__main__":
    sys.exit(run(main, sys.argv[1:]))  # a user error (no data, a damaged checkpoint, a diverged run): one line
