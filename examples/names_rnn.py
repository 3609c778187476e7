"""Report C: surnames to their language (18 classes) with the classic char-RNN and an LSTM.

    MINIDL_DATA=path/to/data python examples/names_rnn.py --model rnn      # report C's RNN
    MINIDL_DATA=path/to/data python examples/names_rnn.py --model lstm     # its LSTM(57, 64)
    MINIDL_DATA=path/to/data python examples/names_rnn.py --model mylstm   # its own LSTM
    python examples/names_rnn.py --model lstm --protocol heldout --epochs 5
    python examples/names_rnn.py --model lstm --limit 40 --epochs 1          # a quick run

**Data**: the 20,074 surnames of the classic PyTorch tutorial ``data/names/*.txt``, 18
languages, folded to the 57 ASCII symbols by :mod:`minidl.data.names`; a name is a
sequence of one-hot letters.

**Models** (report C): ``--model rnn`` the tutorial's char-RNN (:class:`minidl.models.CharRNN`:
``i2h = Linear(57 + 128, 128)``, ``i2o = Linear(57 + 128, 18)``, ``LogSoftmax``);
``--model lstm`` ``LSTM(57, 64)`` → ``Linear(64, 18)`` → ``LogSoftmax``
(:class:`minidl.models.CharLSTM`); ``--model mylstm`` the same network with the LSTM run as
``nn.LSTMCell`` stepped in a Python loop (``CharLSTM(step_by_step=True)``, report C's "own
LSTM"; the same start weights as ``--model lstm`` for the same seed, and the same function:
the two runs differ only by floating-point rounding). Loss ``NLLLoss``; back-propagation
through the letters of each name.

**Protocols.** Report C follows the tutorial and does not state its protocol.

* ``--protocol tutorial`` (default; the tutorial's loop): every step draws a language
  uniformly, then one of its names uniformly (all 20,074 names), feeds that one name and
  updates with plain SGD (no momentum, no clipping); 100,000 steps (``--steps``, or
  ``--epochs E`` = E × the number of names). The curves are the tutorial's: the mean loss
  and the share of right guesses over each 1,000 steps (``--log-every``). At the end, as the
  tutorial does, 10,000 names drawn the same way give the row-normalised confusion matrix
  and the *sampled* accuracy; every name once gives the overall accuracy and the
  class-balanced accuracy (the mean of the 18 per-language accuracies, which the sampled
  accuracy estimates, since languages are drawn uniformly). Training and evaluation use
  the same names: this measures fit, not generalisation, like report C's figures.
* ``--protocol heldout``: each language split 80/20 (stratified, ``--split-seed 0``: the same
  split for every training seed), a name repeated within a language kept once (the files
  repeat 2,080 rows; a copy on both sides of the split would flatter the test score;
  ``--keep-duplicates`` keeps them), epochs over all training names in a seeded random
  order, one name per step (``--batch-size``), the same SGD; test loss and accuracy after
  every epoch, the best epoch's weights kept; overall and class-balanced test accuracy of
  the best and the last epoch, and the test set's confusion matrix.

**Learning rate** (choices, the same for minidl and ``benchmarks/names_torch.py``): the
tutorial's 0.005 for the char-RNN. For the LSTMs report C does not give one; the tutorial's
0.005 leaves an LSTM learning slowly (its gates start near ½ and one name per step with
plain SGD moves them little), so the LSTMs default to 0.05 (``--lr`` overrides), which is
what a student adapting the tutorial's loop would try next; see the results page for the
measured effect.

The data: ``--data``, else ``$MINIDL_DATA``, else the cache folder; when none holds a copy,
the tutorial's ``data.zip`` is downloaded (SHA-256 checked; ``--no-download`` forbids it).

Writes to ``--out``: ``history.json``/``.csv`` (one row per 1,000 steps or per epoch),
``summary.json``, ``curves.png``, ``confusion.png``, ``best.npz`` and ``last.npz``
(``--resume`` continues from it; it refuses a checkpoint trained with other settings,
``--steps``/``--epochs`` may grow, unless ``--allow-config-change``). A missing or damaged
data set, an unreadable checkpoint or a diverged run ends with one ``error:`` line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

import minidl
from minidl import distributed, nn, optim
from minidl.cli import device, int_at_most, load_or_explain, positive_float, positive_int, quiet_other_ranks, run, seed
from minidl.data.batching import Batch, BatchLoader
from minidl.data.names import NAMES_URL, NamesSplit, load_names
from minidl.fileio import atomic_write_text
from minidl.metrics import balanced_accuracy_from_confusion, confusion_matrix, per_class_accuracy_from_confusion
from minidl.models import CharLSTM, CharRNN
from minidl.plot import plot_confusion_matrix, plot_history, save_figure
from minidl.runfolder import open_run_folder
from minidl.train import evaluate, fit

DEFAULT_LR = {"rnn": 0.005, "lstm": 0.05, "mylstm": 0.05}
TUTORIAL_STEPS = 100_000
CONFUSION_STREAM = 1_000_003  # the rng stream of the tutorial's 10,000 evaluation samples
N_LETTERS = 57


def names_model(kind: str, n_languages: int = 18):
    """Report C's model for ``--model``: the char-RNN (hidden 128), LSTM(57, 64) + Linear, or
    the same LSTM as a cell stepped in Python."""
    if kind == "rnn":
        return CharRNN(N_LETTERS, 128, n_languages)
    return CharLSTM(N_LETTERS, 64, n_languages, step_by_step=kind == "mylstm")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["rnn", "lstm", "mylstm"], default="rnn")
    p.add_argument("--protocol", choices=["tutorial", "heldout"], default="tutorial")
    p.add_argument("--steps", type=positive_int, default=None, help=f"tutorial: SGD steps (default {TUTORIAL_STEPS:,})")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="heldout: epochs (default 10); tutorial: steps = EPOCHS x number of names")
    p.add_argument("--lr", type=positive_float, default=None, help="SGD step (default: rnn 0.005, lstm/mylstm 0.05)")
    p.add_argument("--batch-size", type=positive_int, default=1, help="heldout: names per step (the tutorial: 1)")
    p.add_argument("--clip", type=positive_float, default=None, help="clip the global gradient norm (default: off)")
    p.add_argument("--log-every", type=positive_int, default=1000, help="tutorial: steps per point of the curves")
    p.add_argument("--confusion-samples", type=int_at_most(1, 10**7), default=10_000,
                   help="tutorial: samples of the confusion matrix")
    p.add_argument("--limit", type=positive_int, default=None, help="at most N names per language (quick runs)")
    p.add_argument("--keep-duplicates", action="store_true", help="heldout: keep repeated names (the files' rows)")
    p.add_argument("--split-seed", type=seed, default=0, help="heldout: seed of the 80/20 split")
    p.add_argument("--seed", type=seed, default=0, help="start weights and sampling order")
    p.add_argument("--data", default=None, help="folder of <Language>.txt (default: $MINIDL_DATA, then the cache)")
    p.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                   help="fetch the tutorial's data.zip (SHA-256 checked) when no copy is found (default); "
                        "--no-download never touches the network")
    p.add_argument("--out", default="runs/names_rnn")
    p.add_argument("--device", type=device, default="cpu", help="cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.npz")
    p.add_argument("--overwrite", action="store_true", help="delete the run in OUT and start over")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: continue with settings that differ from the checkpoint's (default: refuse)")
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto")
    args = p.parse_args(argv)
    if args.lr is None:
        args.lr = DEFAULT_LR[args.model]
    if args.protocol == "heldout" and args.steps is not None:
        p.error("--steps is for --protocol tutorial; the held-out protocol counts --epochs")
    return args


# what may differ between a run and its --resume; every other option is the run's config
# (--steps and --epochs may grow; fit records lr and clip itself)
NOT_CONFIG = {"steps", "epochs", "data", "download", "out", "device", "resume", "overwrite", "allow_config_change",
              "progress", "lr", "clip", "confusion_samples"}


# ---------------------------------------------------------------------- data
def subset(split: NamesSplit, index) -> NamesSplit:
    """The rows ``index`` of a split, in that order."""
    index = np.asarray(index, dtype=np.int64)
    return NamesSplit([split.names[i] for i in index], split.labels[index], split.ids[index], split.lengths[index])


def limit_per_language(split: NamesSplit, n: int, seed: int) -> NamesSplit:
    """At most ``n`` names of each language, drawn at random (seeded), in data-set order."""
    rng = np.random.default_rng([seed, n])
    keep = []
    for k in np.unique(split.labels):
        rows = np.flatnonzero(split.labels == k)
        keep.append(np.sort(rng.choice(rows, size=min(n, len(rows)), replace=False)))
    return subset(split, np.sort(np.concatenate(keep)))


def prepare_data(args):
    """``(train, test, languages)``: the tutorial protocol trains and evaluates on one pool
    (``test`` is None); the held-out protocol splits each language 80/20."""
    heldout = args.protocol == "heldout"
    data = load_or_explain(
        lambda: load_names(args.data, test_fraction=0.2 if heldout else 0.0, seed=args.split_seed,
                           download=args.download, unique=heldout and not args.keep_duplicates),
        download=args.download, given_path=args.data, what="the names data", url=NAMES_URL,
        offline="unzip its data/names/ folder and pass --data PATH (that folder)")
    train, test = data.train, data.test if heldout else None
    if args.limit:
        train = limit_per_language(train, args.limit, args.split_seed)
        if test is not None:
            test = limit_per_language(test, max(1, args.limit // 4), args.split_seed)
    return train, test, list(data.languages)


# ---------------------------------------------------------------------- the tutorial's sampler
class TutorialSampler:
    """The tutorial's ``randomTrainingExample`` as a loader: a language uniformly, then one
    of its names uniformly, one name per batch. One iteration (an "epoch" for ``fit``) is a
    window of ``window`` steps, the last one shorter if ``steps`` is not a multiple.

    Window ``w`` draws from ``numpy.random.default_rng([seed, w])``, so the order depends
    only on ``(seed, w)``: the PyTorch twin draws the very same names, and a resumed run
    continues exactly (``state_dict``, as :class:`minidl.data.batching.BatchLoader`).
    """

    def __init__(self, split: NamesSplit, steps: int, window: int = 1000, seed: int = 0):
        self.split, self.steps, self.window, self.seed = split, int(steps), int(window), int(seed)
        self.by_language = [np.flatnonzero(split.labels == k) for k in np.unique(split.labels)]
        self.epoch = 0

    @property
    def windows(self) -> int:
        """Windows in the whole run (``fit``'s epochs)."""
        return -(-self.steps // self.window)

    def __len__(self) -> int:
        return max(0, min(self.window, self.steps - self.epoch * self.window))

    def draw(self, n: int, stream: int) -> np.ndarray:
        """``n`` row indices drawn the tutorial's way from the stream ``(seed, stream)``."""
        rng = np.random.default_rng([self.seed, int(stream)])
        langs = rng.integers(0, len(self.by_language), size=n)
        picks = rng.random(n)  # one uniform draw per step picks the name within its language
        return np.array([rows[int(u * len(rows))] for rows, u in
                         zip((self.by_language[k] for k in langs), picks)], dtype=np.int64)

    def indices(self, window: int) -> np.ndarray:
        """The rows served in window ``window``, in order."""
        n = max(0, min(self.window, self.steps - window * self.window))
        return self.draw(n, window)

    def __iter__(self):
        rows = self.indices(self.epoch)
        self.epoch += 1
        s = self.split
        for i in rows:
            L = int(s.lengths[i])
            yield Batch(s.ids[i : i + 1, :L], s.labels[i : i + 1], s.lengths[i : i + 1], np.array([i]))

    def state_dict(self) -> dict:
        """``{"seed", "epoch"}``: all that decides the coming windows."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (0-d arrays from ``.npz`` are fine)."""
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


def eval_loader(split: NamesSplit) -> BatchLoader:
    """Every name once, in batches of similar length (fast, deterministic)."""
    return BatchLoader(split.ids, split.labels, split.lengths, batch_size=512, shuffle=False, bucket=True)


# ---------------------------------------------------------------------- metrics
def scores(y_true, y_pred, n_classes: int) -> dict:
    """Overall and class-balanced accuracy (the mean of the per-language accuracies, over
    the languages present), per-language accuracy and the confusion counts (rows = truth)."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    per = per_class_accuracy_from_confusion(cm)
    return {"acc": float(np.trace(cm) / max(cm.sum(), 1)), "balanced_acc": float(balanced_accuracy_from_confusion(cm)),
            "per_class": [None if np.isnan(a) else float(a) for a in per], "confusion": cm.tolist(),
            "n": int(cm.sum())}


def evaluate_split(model, split: NamesSplit, n_classes: int, device: str) -> dict:
    """Every name of ``split`` once: loss and :func:`scores`."""
    ev = evaluate(model, nn.NLLLoss(), eval_loader(split), device)
    return dict(scores(ev["y_true"], ev["y_pred"], n_classes), loss=ev["loss"])


# ---------------------------------------------------------------------- figures
def plot_tutorial_curves(rows, window: int, path, title: str):
    """Report C's two curves: mean loss and share of right guesses per ``window`` steps."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    steps = [r["step"] for r in rows]
    ax_loss.plot(steps, [r["train_loss"] for r in rows])
    ax_acc.plot(steps, [100 * r["train_acc"] for r in rows])
    ax_loss.set_ylabel(f"mean loss over {window:,} steps")
    ax_acc.set_ylabel(f"right guesses over {window:,} steps (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    fig.suptitle(title)
    return save_figure(fig, path)


# ---------------------------------------------------------------------- main
def make_loaders(args, train, test):
    """``(train loader, test loader or None, fit's epochs, total steps or None)``."""
    if args.protocol == "tutorial":
        steps = args.steps or (args.epochs * len(train) if args.epochs else TUTORIAL_STEPS)
        sampler = TutorialSampler(train, steps, args.log_every, args.seed)
        return sampler, None, sampler.windows, steps
    loader = BatchLoader(train.ids, train.labels, train.lengths, batch_size=args.batch_size, shuffle=True,
                         seed=args.seed)
    return loader, eval_loader(test), args.epochs or 10, None


def finish_tutorial(args, model, train, sampler, rows, languages) -> dict:
    """The tutorial's evaluation of the final model: every name once, and 10,000 names drawn
    the tutorial's way (its confusion matrix); the curves per 1,000 steps."""
    C = len(languages)
    last = evaluate_split(model, train, C, args.device)
    tut = evaluate_split(model, subset(train, sampler.draw(args.confusion_samples, CONFUSION_STREAM)), C,
                         args.device)
    last.update(sampled_acc=tut["acc"], sampled_balanced_acc=tut["balanced_acc"], confusion_sampled=tut["confusion"])
    plot_tutorial_curves(rows, args.log_every, os.path.join(args.out, "curves.png"),
                         f"names, {args.model} (minidl), tutorial protocol")
    plot_confusion_matrix(np.array(tut["confusion"]), languages, os.path.join(args.out, "confusion.png"),
                          title=f"{args.model}: {args.confusion_samples:,} random samples (tutorial), rows normalised")
    return {"last": last, "last_acc": last["acc"], "last_epoch": len(rows), "best_acc": last["acc"],
            "best_epoch": len(rows)}


def finish_heldout(args, model, test, hist, languages) -> dict:
    """Test scores of the last epoch's weights and of the best epoch's (``best.npz``)."""
    C = len(languages)
    last = evaluate_split(model, test, C, args.device)
    model.load_state_dict(minidl.load(os.path.join(args.out, "best.npz"))["model"])
    best = evaluate_split(model, test, C, args.device)
    b = hist.best("test_acc")
    plot_history(hist.rows, os.path.join(args.out, "curves.png"), title=f"names, {args.model} (minidl), held-out")
    plot_confusion_matrix(np.array(best["confusion"]), languages, os.path.join(args.out, "confusion.png"),
                          title=f"{args.model}: test set, best epoch {b['epoch']}, rows normalised")
    return {"last": last, "best": best, "last_acc": hist.rows[-1]["test_acc"], "last_epoch": hist.rows[-1]["epoch"],
            "best_acc": b["test_acc"], "best_epoch": b["epoch"]}


def main(argv=None) -> dict:
    args = parse_args(argv)
    # under `mpiexec -n p`: one of p ranks, each taking its share of every batch (with the
    # tutorial's one name per step only rank 0's share is non-empty: use --protocol heldout
    # --batch-size N to spread the work); without a launcher: one process, as before
    dist = quiet_other_ranks(distributed.init(device=args.device))
    open_run_folder(args.out, resume=args.resume, overwrite=args.overwrite, is_root=dist.is_root)
    t_start = time.perf_counter()
    minidl.manual_seed(args.seed)
    train, test, languages = prepare_data(args)
    t_data = time.perf_counter() - t_start
    print(f"data: {len(train)} training names" + (f", {len(test)} test names" if test is not None else "")
          + f", {len(languages)} languages, protocol {args.protocol}, loaded in {t_data:.1f} s")

    model = names_model(args.model, n_languages=len(languages)).to(args.device)
    print(model)
    print(f"parameters: {sum(p.data.size for p in model.parameters()):,}; SGD lr {args.lr}")
    opt = optim.SGD(model.parameters(), lr=args.lr)
    loader, test_loader, epochs, steps = make_loaders(args, train, test)
    config = {k: v for k, v in vars(args).items() if k not in NOT_CONFIG}
    hist = fit(model, nn.NLLLoss(), opt, loader, test_loader, epochs=epochs, device=args.device,
               clip_grad=args.clip, checkpoint_dir=args.out, resume=args.resume,
               progress={"auto": None, "on": True, "off": False}[args.progress], config=config,
               allow_config_change=args.allow_config_change,
               distributed=dist if dist.world_size > 1 else None)
    if not dist.is_root:  # rank 0 alone evaluates, plots and writes the summary
        return {"history": hist.rows}
    train_seconds = sum(r["seconds"] for r in hist.rows)
    if steps is not None:  # the tutorial's x axis: steps done at the end of each window
        hist.rows[:] = [dict(r, step=min(r["epoch"] * args.log_every, steps)) for r in hist.rows]
        hist.save(os.path.join(args.out, "history.json"))
        hist.save(os.path.join(args.out, "history.csv"))

    summary = {"protocol": args.protocol, "model": args.model, "languages": languages, "lr": args.lr,
               "train_names": len(train), "test_names": None if test is None else len(test), "steps": steps,
               "epochs": epochs, "data_seconds": t_data, "train_seconds": train_seconds}
    if steps is not None:
        summary.update(finish_tutorial(args, model, train, loader, hist.rows, languages))
    else:
        summary.update(finish_heldout(args, model, test, hist, languages))
    wall = time.perf_counter() - t_start
    summary.update(wall_seconds=wall, threads=os.environ.get("OPENBLAS_NUM_THREADS"), args=vars(args))

    print()
    for name in ("best", "last"):
        s = summary.get(name)
        if s is not None:
            extra = f", sampled {s['sampled_acc']:.2%}" if "sampled_acc" in s else ""
            print(f"{name + (' epoch' if name == 'best' else ''):11s} accuracy {s['acc']:.2%} (class-balanced "
                  f"{s['balanced_acc']:.2%}{extra}) on {s['n']:,} names")
    print(f"wall time {wall:.1f} s (data {t_data:.1f} s, training {train_seconds:.1f} s); outputs in {args.out}/")
    atomic_write_text(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=1))
    return dict(summary, history=hist.rows)


def cli(argv=None) -> int:
    """``main`` for the command line: exit code 0, or 1 after one ``error:`` line on stderr
    (a missing or damaged data set or checkpoint, a diverged run: :mod:`minidl.cli`)."""
    return run(main, argv)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
