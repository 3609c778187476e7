"""Report B's IMDB sentiment LSTM, trained with minidl on the real Large Movie Review Dataset.

    python examples/imdb_lstm.py                                        # report B's LSTM
    python examples/imdb_lstm.py --cell gru                             # ... its GRU
    python examples/imdb_lstm.py --data path/to/aclImdb_v1.tar.gz --limit 2000 --epochs 2

The data: ``--data``, else ``$MINIDL_DATA``, else the cache folder (``$MINIDL_CACHE`` or
``~/.cache/minidl``); when none holds a copy, the official archive (84 MB, SHA-256
checked) is downloaded into the cache folder. ``--no-download`` forbids that: offline,
copy ``aclImdb_v1.tar.gz`` into the cache folder or pass ``--data``.

Defaults are report B's settings: Embedding(20001, 64) → LSTM(64, 64) → last real state →
Linear(64, 64) → ReLU → Dropout(0.5) → Linear(64, 2), cross-entropy, Adam 1e-3, batch 64,
10 epochs. Preprocessing (report B does not state it; these are minidl's choices): the
tokenizer of :mod:`minidl.data.text`, the 19,999 most frequent training tokens + pad +
unk, each review cut to its **last** 300 tokens (``--truncate pre``; the verdict tends to
come at the end), batches bucketed by length and trimmed to their longest review.

Writes to ``--out``: ``history.json``/``.csv``, ``curves.png``, ``confusion.png``,
``best.npz`` (the best epoch's weights) and ``last.npz`` (for ``--resume``). ``--resume``
refuses a checkpoint trained with other settings (``--epochs`` may grow) unless
``--allow-config-change``. A missing or damaged data set, an unreadable checkpoint or a
diverged run ends with one ``error:`` line and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

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
from minidl.plot import plot_confusion_matrix, plot_history
from minidl.runfolder import open_run_folder
from minidl.sharded_optim import ShardedOptimizer
from minidl.train import evaluate, fit

LOSSES = {
    # loss flag: (model output, loss module, outputs)
    "ce": ("logits", nn.CrossEntropyLoss, None),
    "nll": ("log_softmax", nn.NLLLoss, None),
    "nll-raw": ("logits", nn.NLLLoss, None),  # report B §4.2: NLL on raw scores, diverges to −∞
    "bce": ("sigmoid", nn.BCELoss, 1),
}


SIZE = int_at_most(1, 2**16)  # widths: a typo such as 1e9 must not ask for terabytes


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", choices=["lstm", "gru", "rnn", "lstmcell"], default="lstm",
                   help="lstmcell: report B's own LSTM, nn.LSTMCell stepped in Python")
    p.add_argument("--embed-dim", type=SIZE, default=64)
    p.add_argument("--hidden-size", type=SIZE, default=64)
    p.add_argument("--fc-dim", type=SIZE, default=64)
    p.add_argument("--layers", type=int_at_most(1, 100), default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--residual", action="store_true", help="report A's residual LSTM")
    p.add_argument("--dropout", type=probability, default=0.5)
    p.add_argument("--loss", choices=sorted(LOSSES), default="ce")
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--clip", type=positive_float, default=None, help="clip the global gradient norm (default: off)")
    p.add_argument("--vocab-size", type=int_at_most(2, 10**7), default=20001,
                   help="embedding rows, pad and unk included")
    p.add_argument("--max-len", type=positive_int, default=300)
    p.add_argument("--truncate", choices=["pre", "post"], default="pre",
                   help="pre: keep the LAST max-len tokens of a long review; post: the first")
    p.add_argument("--no-bucket", action="store_true", help="random batches padded to max-len")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--data", default=None, help="aclImdb folder or .tar.gz (default: $MINIDL_DATA, then the cache)")
    p.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                   help="fetch the official archive (84 MB, SHA-256 checked) when no copy is found (default); "
                        "--no-download never touches the network")
    p.add_argument("--limit", type=positive_int, default=None, help="use N reviews of each split (quick runs)")
    p.add_argument("--out", default="runs/imdb_lstm")
    p.add_argument("--device", type=device, default="cpu", help="cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.npz")
    p.add_argument("--overwrite", action="store_true", help="delete the run in OUT and start over")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: continue with settings that differ from the checkpoint's (default: refuse)")
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--shard-optimizer", action=argparse.BooleanOptionalAction, default=True,
                   help="under mpiexec: each rank runs Adam on its 1/p of the parameters, then an all-gather "
                        "(ZeRO stage 1; the same weights as unsharded); --no-shard-optimizer: every rank all of it")
    p.add_argument("--balance", choices=["work", "count"], default="work",
                   help="under mpiexec: cut each batch so the ranks' work (rows × longest review) is balanced, "
                        "or into equal row counts")
    return p.parse_args(argv)


# what may differ between a run and its --resume; every other option is the run's config
NOT_CONFIG = {"epochs", "data", "download", "out", "device", "resume", "overwrite", "allow_config_change",
              "progress", "lr", "clip",  # fit records lr and clip itself
              "shard_optimizer", "balance"}  # how ranks share the work, not what is trained


def load_data(args):
    """load_imdb, with what to do when the data are missing and the network is not there."""
    return load_or_explain(
        lambda: load_imdb(args.data, vocab_size=args.vocab_size, max_len=args.max_len, truncate=args.truncate,
                          download=args.download, limit=args.limit, seed=args.seed),
        download=args.download, given_path=args.data, what="the IMDB archive", url=IMDB_URL,
        offline="copy aclImdb_v1.tar.gz into {cache} (the cache folder, $MINIDL_CACHE) or pass --data PATH "
                "(the archive or its aclImdb/ folder)")


def main(argv=None) -> dict:
    args = parse_args(argv)
    # under `mpiexec -n p`: one of p ranks, else one process
    dist = quiet_other_ranks(distributed.init(device=args.device))
    open_run_folder(args.out, resume=args.resume, overwrite=args.overwrite, is_root=dist.is_root)
    t_start = time.perf_counter()
    minidl.manual_seed(args.seed)
    data = load_data(args)
    t_data = time.perf_counter() - t_start
    print(f"data: {len(data.train)} train / {len(data.test)} test reviews, vocab {len(data.vocab)}, "
          f"max_len {args.max_len} (truncate={args.truncate}), loaded in {t_data:.1f} s")

    output, loss_cls, classes = LOSSES[args.loss]
    model = ImdbClassifier(args.vocab_size, args.embed_dim, args.hidden_size, cell=args.cell, num_layers=args.layers,
                           bidirectional=args.bidirectional, residual=args.residual, dropout=args.dropout,
                           fc_dim=args.fc_dim, num_classes=classes or 2, output=output).to(args.device)
    print(model)
    print(f"parameters: {sum(p.data.size for p in model.parameters()):,}")
    opt = optim.Adam(model.parameters(), lr=args.lr)
    dist.balance = args.balance
    if dist.world_size > 1 and args.shard_optimizer:
        opt = ShardedOptimizer(opt, dist)
    bucket = not args.no_bucket
    train = BatchLoader(data.train.ids, data.train.labels, data.train.lengths, batch_size=args.batch_size,
                        shuffle=True, seed=args.seed, bucket=bucket, trim=bucket)
    test = BatchLoader(data.test.ids, data.test.labels, data.test.lengths, batch_size=256, shuffle=False,
                       bucket=bucket, trim=bucket)
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    config = {k: v for k, v in vars(args).items() if k not in NOT_CONFIG}
    hist = fit(model, loss_cls(), opt, train, test, epochs=args.epochs, device=args.device, clip_grad=args.clip,
               checkpoint_dir=args.out, resume=args.resume, progress=progress, config=config,
               allow_config_change=args.allow_config_change,
               distributed=dist if dist.world_size > 1 else None)
    wall = time.perf_counter() - t_start
    if not dist.is_root:  # rank 0 alone reads its checkpoint, writes figures and summary
        return {"history": hist.rows}

    best = hist.best("test_acc")
    # per-class accuracy of the last epoch's weights (reports A and D quote their last epoch):
    # that epoch's own test pass measured it, on these weights; the best epoch's weights are
    # loaded and evaluated once more for the confusion matrix
    per_class_last = [float("nan") if a is None else a
                      for a in (hist.rows[-1][f"test_acc_class{c}"] for c in range(2))]
    ck = minidl.load(os.path.join(args.out, "best.npz"))
    model.load_state_dict(ck["model"])
    ev = evaluate(model, loss_cls(), test, args.device)
    cm, per_class = ev["confusion"], ev["per_class_acc"]
    plot_history(hist.rows, os.path.join(args.out, "curves.png"),
                 title=f"IMDB {args.cell.upper()} (minidl): best test acc {best['test_acc']:.2%}")
    plot_confusion_matrix(cm, ["neg", "pos"], os.path.join(args.out, "confusion.png"))
    # time to the best epoch: data + the epochs up to and including it
    to_best = t_data + sum(r["seconds"] for r in hist.rows if r["epoch"] <= best["epoch"])

    print()
    print(f"{'':22s}{'test acc':>10s}{'epoch':>7s}")
    print(f"{'best':22s}{best['test_acc']:10.2%}{best['epoch']:7d}")
    print(f"{'last':22s}{hist.rows[-1]['test_acc']:10.2%}{hist.rows[-1]['epoch']:7d}")
    print(f"per-class accuracy (best): neg {per_class[0]:.2%}, pos {per_class[1]:.2%}")
    print(f"per-class accuracy (last): neg {per_class_last[0]:.2%}, pos {per_class_last[1]:.2%}")
    print(f"wall time {wall:.1f} s (data {t_data:.1f} s; to best epoch {to_best:.1f} s); outputs in {args.out}/")
    summary = {"best_acc": best["test_acc"], "best_epoch": best["epoch"], "last_acc": hist.rows[-1]["test_acc"],
               "last_epoch": hist.rows[-1]["epoch"], "per_class_best": [float(a) for a in per_class],
               "per_class_last": [float(a) for a in per_class_last], "wall_seconds": wall,
               "data_seconds": t_data, "seconds_to_best": to_best, "args": vars(args)}
    atomic_write_text(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=1))
    return dict(summary, history=hist.rows)


def cli(argv=None) -> int:
    """``main`` for the command line: exit code 0, or 1 after one ``error:`` line on stderr
    (a missing or damaged data set or checkpoint, a diverged run: :mod:`minidl.cli`)."""
    return run(main, argv)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
