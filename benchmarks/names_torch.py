"""PyTorch twin of examples/names_rnn.py (report C): the same names, split, sampling order,
model, start weights and SGD, trained with torch.nn, to compare accuracy and time.

    MINIDL_DATA=path/to/data python benchmarks/names_torch.py --model rnn --seed 0 --threads 1
    MINIDL_DATA=path/to/data python benchmarks/names_torch.py --model lstm --protocol heldout

PyTorch is a reference here, never a dependency of minidl: this script needs ``torch``.
It takes the example's flags (and ``--threads``), reuses the example's data preparation
and samplers (so both see the very same names in the same order: the tutorial protocol's
draws depend only on ``(seed, window)``, the held-out epochs on ``(seed, epoch)``), copies
the freshly initialised minidl model's weights into the torch model, and writes
``history.json`` (``{"rows": [...]}``) and ``summary.json`` with the example's keys.
``--model mylstm`` is trained as ``torch.nn.LSTM`` (the same function, report C's own LSTM
has no PyTorch counterpart of its own). There is no dropout in these models, so the two
libraries differ only by floating-point rounding, which grows over the steps.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

import names_rnn as ex  # noqa: E402  (examples/names_rnn.py)
import torch  # noqa: E402

import minidl  # noqa: E402
from minidl.data.batching import BatchLoader  # noqa: E402
from minidl.fileio import atomic_write_text  # noqa: E402
from minidl.host_memory import keep_unless_declined  # noqa: E402


class TorchCharRNN(torch.nn.Module):
    """The tutorial's char-RNN (i2h, i2o, LogSoftmax) over padded batches, as minidl's CharRNN
    (keys ``i2h.weight``, ``i2h.bias``, ``i2o.weight``, ``i2o.bias``)."""

    def __init__(self, n_letters, n_classes, hidden=128):
        super().__init__()
        self.n_letters, self.hidden = n_letters, hidden
        self.i2h = torch.nn.Linear(n_letters + hidden, hidden)
        self.i2o = torch.nn.Linear(n_letters + hidden, n_classes)

    def forward(self, ids, lengths):
        x = torch.nn.functional.one_hot(ids.t(), self.n_letters).float()  # (T, B, 57)
        h = torch.zeros(ids.shape[0], self.hidden)
        out = None
        for t in range(int(lengths.max())):
            combined = torch.cat([x[t], h], dim=1)
            h_new = self.i2h(combined)
            log_probs = torch.log_softmax(self.i2o(combined), dim=1)
            h = torch.where((lengths > t)[:, None], h_new, h)  # a finished name keeps its state
            last = (lengths - 1 == t)[:, None]
            out = log_probs if out is None else torch.where(last, log_probs, out)
        return out


class TorchCharLSTM(torch.nn.Module):
    """LSTM(57, 64) -> the state after the last letter -> Linear(64, 18) -> LogSoftmax, as
    minidl's CharLSTM (keys ``rnn.weight_ih_l0``, ..., ``fc.weight``, ``fc.bias``)."""

    def __init__(self, n_letters, n_classes, hidden=64):
        super().__init__()
        self.n_letters = n_letters
        self.rnn = torch.nn.LSTM(n_letters, hidden)
        self.fc = torch.nn.Linear(hidden, n_classes)

    def forward(self, ids, lengths):
        x = torch.nn.functional.one_hot(ids.t(), self.n_letters).float()
        seq, _ = self.rnn(x)  # padding comes after the letters: step length-1 is the last real state
        h = seq[lengths - 1, torch.arange(ids.shape[0])]
        return torch.log_softmax(self.fc(h), dim=1)


# CharLSTM(step_by_step=True) keeps its weights in a CellLoopLSTM's LSTMCell: the same arrays as layer 0's
CELL_KEYS = {f"rnn.{k}": f"rnn.{v}" for k, v in minidl.nn.CellLoopLSTM.LSTM_KEYS.items()}


def start_weights(minidl_model) -> dict:
    """The minidl model's state under the torch twin's keys."""
    return {CELL_KEYS.get(k, k): torch.tensor(minidl.asnumpy(v)) for k, v in minidl_model.state_dict().items()}


def _tensors(b):
    return torch.from_numpy(b.x.astype(np.int64)), torch.from_numpy(b.lengths.astype(np.int64))


def evaluate(model, split, n_classes):
    """Every name of ``split`` once (the example's batches): loss and the example's scores."""
    model.eval()
    total, yt, yp = 0.0, [], []
    with torch.no_grad():
        for b in ex.eval_loader(split):
            out = model(*_tensors(b))
            total += float(torch.nn.functional.nll_loss(out, torch.from_numpy(b.y), reduction="sum"))
            yt.append(b.y)
            yp.append(out.argmax(1).numpy())
    model.train()
    yt, yp = np.concatenate(yt), np.concatenate(yp)
    return dict(ex.scores(yt, yp, n_classes), loss=total / len(yt))


def train_pass(model, opt, loader, clip):
    """One pass over ``loader`` (a window of the tutorial, or an epoch): mean loss, accuracy."""
    tl = tc = tn = 0
    for b in loader:
        opt.zero_grad()
        out = model(*_tensors(b))
        y = torch.from_numpy(b.y)
        loss = torch.nn.functional.nll_loss(out, y)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        tl += float(loss.detach()) * len(b.y)
        tc += int((out.detach().argmax(1) == y).sum())
        tn += len(b.y)
    return tl / max(tn, 1), tc / max(tn, 1)


def main(argv=None):
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--out", default=None, help="write history.json and summary.json here")
    own, rest = p.parse_known_args(argv)
    args = ex.parse_args(rest)  # every other flag is the example's
    args.out = own.out
    if own.threads:
        torch.set_num_threads(own.threads)
    t0 = time.perf_counter()
    train, test, languages = ex.prepare_data(args)
    C = len(languages)
    t_data = time.perf_counter() - t0
    minidl.manual_seed(args.seed)
    torch.manual_seed(args.seed)
    model = TorchCharRNN(ex.N_LETTERS, C) if args.model == "rnn" else TorchCharLSTM(ex.N_LETTERS, C)
    model.load_state_dict(start_weights(ex.names_model(args.model, n_languages=C)), strict=True)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {len(train)} training names, "
          f"protocol {args.protocol}, SGD lr {args.lr}")
    rows, elapsed = [], 0.0
    best = best_state = None
    if args.protocol == "tutorial":
        steps = args.steps or (args.epochs * len(train) if args.epochs else ex.TUTORIAL_STEPS)
        loader = ex.TutorialSampler(train, steps, args.log_every, args.seed)
        epochs = loader.windows
    else:
        steps = None
        loader = BatchLoader(train.ids, train.labels, train.lengths, batch_size=args.batch_size, shuffle=True,
                             seed=args.seed)
        epochs = args.epochs or 10
    for epoch in range(1, epochs + 1):
        te = time.perf_counter()
        loss, acc = train_pass(model, opt, loader, args.clip)
        row = {"epoch": epoch, "train_loss": loss, "train_acc": acc}
        if steps is not None:
            row["step"] = min(epoch * args.log_every, steps)
        else:
            ev = evaluate(model, test, C)
            row.update(test_loss=ev["loss"], test_acc=ev["acc"], test_balanced_acc=ev["balanced_acc"])
            if best is None or ev["acc"] > best["test_acc"]:
                best, best_state = row, copy.deepcopy(model.state_dict())
        row["seconds"] = time.perf_counter() - te
        elapsed += row["seconds"]
        rows.append(row)
        msg = f"epoch {epoch:3d}  train loss {loss:.4f} acc {acc:.4f}"
        if "test_acc" in row:
            msg += f"  test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}"
        print(msg + f"  ({row['seconds']:.1f} s)")

    summary = {"protocol": args.protocol, "model": args.model, "languages": languages, "lr": args.lr,
               "train_names": len(train), "test_names": None if test is None else len(test), "steps": steps,
               "epochs": epochs, "data_seconds": t_data, "train_seconds": elapsed, "torch": torch.__version__,
               "threads": torch.get_num_threads()}
    if steps is not None:
        last = evaluate(model, train, C)
        tut = evaluate(model, ex.subset(train, loader.draw(args.confusion_samples, ex.CONFUSION_STREAM)), C)
        last.update(sampled_acc=tut["acc"], sampled_balanced_acc=tut["balanced_acc"],
                    confusion_sampled=tut["confusion"])
        summary.update(last=last, last_acc=last["acc"], last_epoch=epochs, best_acc=last["acc"], best_epoch=epochs)
    else:
        last = evaluate(model, test, C)
        model.load_state_dict(best_state)
        summary.update(last=last, best=evaluate(model, test, C), last_acc=rows[-1]["test_acc"],
                       last_epoch=epochs, best_acc=best["test_acc"], best_epoch=best["epoch"])
    summary.update(wall_seconds=time.perf_counter() - t0, args=dict(vars(args), threads=own.threads))
    print(f"last: accuracy {last['acc']:.2%} (class-balanced {last['balanced_acc']:.2%}"
          + (f", sampled {last['sampled_acc']:.2%})" if "sampled_acc" in last else ")")
          + f"; training {elapsed:.1f} s")
    if args.out:
        for name, obj in (("history.json", {"rows": rows}), ("summary.json", summary)):
            atomic_write_text(os.path.join(args.out, name), json.dumps(obj, indent=1))
    return dict(summary, rows=rows)


if __name__ == "__main__":
    keep_unless_declined()  # as minidl's command line (minidl.cli.run): both libraries on the same allocator
    main(sys.argv[1:])
