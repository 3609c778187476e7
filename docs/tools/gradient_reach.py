"""How far back the loss's gradient reaches in report B's LSTM, as it trains.

    MINIDL_DATA=path/to/data python docs/tools/gradient_reach.py [--steps 400] [--every 25] [--seed 0]

Trains report B's model as ``examples/imdb_lstm.py`` does (embedding 64, one LSTM layer of 64,
a 64-unit ReLU layer, dropout 0.5, cross-entropy, Adam(1e-3), batches of 64 reviews bucketed
by length, float32) on the IMDB training reviews, one step after the other. Before the first
step and every ``--every`` steps it measures, on one fixed probe batch (64 training reviews
of at least 300 tokens, their last 300, drawn with ``--seed``; ``--length`` for another
number of steps), the norm of the loss's gradient with respect to each input step,
‖∂L/∂x_t‖ over the batch: the model in eval mode (no dropout), the LSTM fed x = table[ids]
as a plain array, so that its backward returns ∂L/∂x step by step instead of per word. (The
probe's gradients are cleared before the next training step and it draws no random
numbers, so the training is the one it would be without it.)

Prints one row per measurement: the training step, the *reach* (how many steps back from the
last the gradient is still not exactly 0; in float32 the reverse loop sets carried gradients
below 2⁻¹⁰³ to 0, ``minidl/functional/subnormal.py``), the norm 0, 50, 100, 200 and 299
steps back, and two things that could explain a change: the forget gate's mean value over the
probe's steps and reviews, and the spectral norm ‖·‖₂ of each gate's block of W_hh (i, f, g,
o, PyTorch's order). ``docs/vanishing-exploding.md`` and ``docs/making-it-fast.md`` quote a run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))  # this checkout's minidl
import minidl  # noqa: E402
from minidl import nn, optim  # noqa: E402
from minidl.data.batching import BatchLoader  # noqa: E402
from minidl.data.imdb import load_imdb  # noqa: E402
from minidl.functional.lstm import lstm_forward  # noqa: E402
from minidl.models import ImdbClassifier  # noqa: E402

MAX_LEN = 300  # report B's reviews: their last 300 tokens
BACK = (0, 50, 100, 200, 299)  # steps back at which the table shows the norm (those below T)


def probe_batch(train, B, T, seed):
    """(B, T) ids: the first T of the kept tokens of B training reviews of at least T tokens
    (for T = 300, their last 300), and their labels."""
    full = np.flatnonzero(train.lengths >= T)
    if len(full) < B:
        raise SystemExit(f"only {len(full)} training reviews have {T} tokens, the probe needs {B}")
    rows = np.random.default_rng(seed).choice(full, size=B, replace=False)
    return train.ids[rows, :T], train.labels[rows]


def input_gradient_norms(model, ids, labels):
    """‖∂L/∂x_t‖ for ids (B, T), t = T−1 down to 0 (index k: k steps back from the last), in eval
    mode; the model is left in train mode with its gradients zeroed."""
    T = ids.shape[1]
    model.eval()
    head = [m for m in (model.fc1, model.act, model.dropout, model.fc2) if m is not None]
    loss_fn = nn.CrossEntropyLoss()
    x = model.embedding.weight.data[ids.T]  # (T, B, E): a plain array, so the LSTM's dx is dense
    _, (h_n, _) = model.rnn(x)
    y = h_n[-1]
    for m in head:
        y = m(y)
    loss_fn(y, labels)
    dy = loss_fn.backward()
    for m in reversed(head):
        dy = m.backward(dy)
    d_h_n = np.zeros_like(h_n)
    d_h_n[-1] = dy
    dx = model.rnn.backward(None, d_h_n, None)[0]  # (T, B, E)
    model.zero_grad()  # the probe's parameter gradients are not the training's
    model.train()
    return np.linalg.norm(dx.reshape(T, -1), axis=1)[::-1]


def forget_gate_mean(model, ids) -> float:
    """The mean of the forget gate f over the probe's steps, reviews and units. The functional
    forward keeps every step's gates for its backward, (T, 4, B, H) in the compute order o, i,
    f, g (``minidl/functional/gate_layout.py``): f is block 2."""
    lstm = model.rnn
    x = model.embedding.weight.data[ids.T]
    h0 = np.zeros((ids.shape[0], lstm.hidden_size), dtype=x.dtype)
    _, cache = lstm_forward(x, h0, h0, lstm.weight_ih_l0.data, lstm.weight_hh_l0.data,
                            lstm.bias_ih_l0.data, lstm.bias_hh_l0.data)
    return float(cache.gates[:, 2].mean(dtype=np.float64))


def recurrent_block_norms(model) -> list:
    """‖W_hh‖₂ of each gate's (H, H) block, in PyTorch's row order i, f, g, o."""
    W = model.rnn.weight_hh_l0.data.astype(np.float64)
    H = W.shape[1]
    return [float(np.linalg.norm(W[k * H:(k + 1) * H], 2)) for k in range(4)]


def report_b_model():
    """Report B's classifier, freshly initialised from minidl's generator, as
    ``examples/imdb_lstm.py`` builds it."""
    return ImdbClassifier(20001, 64, 64, cell="lstm", fc_dim=64, num_classes=2)


def report_b_training(data, seed):
    """Report B's model, its Adam, its loss and its bucketed training batches, as
    ``examples/imdb_lstm.py`` makes them (call ``minidl.manual_seed(seed)`` before loading the
    data, as the example does): ``(model, opt, loss_fn, loader)``."""
    model = report_b_model()
    loader = BatchLoader(data.train.ids, data.train.labels, data.train.lengths, batch_size=64, shuffle=True,
                         seed=seed, bucket=True, trim=True)
    return model, optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss(), loader


def training_steps(model, opt, loss_fn, loader, last):
    """Train for ``last`` steps (epoch after epoch), yielding each step's number once it is done."""
    step = 0
    while step < last:
        for batch in loader:
            opt.zero_grad()
            loss_fn(model(batch.x, batch.lengths), batch.y)
            model.backward(loss_fn.backward())
            opt.step()
            step += 1
            yield step
            if step == last:
                return


def reach(norms) -> int:
    """How many steps back (from the last, which counts) the gradient is not exactly 0."""
    return int(np.flatnonzero(norms)[-1]) + 1 if norms.any() else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=400, help="training steps (an epoch is 391)")
    p.add_argument("--every", type=int, default=25, help="measure every N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--length", type=int, default=MAX_LEN, help="the probe's steps, at most 300")
    p.add_argument("--data", default=None, help="aclImdb folder or .tar.gz (default: $MINIDL_DATA)")
    p.add_argument("--limit", type=int, default=None, help="N reviews of each split (a quick check)")
    args = p.parse_args(argv)
    if args.steps < 0 or args.every < 1 or not 1 <= args.length <= MAX_LEN:
        p.error(f"--steps must be >= 0, --every >= 1 and --length in [1, {MAX_LEN}]")

    minidl.manual_seed(args.seed)
    data = load_imdb(args.data, vocab_size=20001, max_len=MAX_LEN, truncate="pre", seed=args.seed, limit=args.limit)
    model, opt, loss_fn, train = report_b_training(data, args.seed)
    ids, labels = probe_batch(data.train, 64, args.length, args.seed)
    back = [k for k in BACK if k < args.length]
    print(f"report B's LSTM, seed {args.seed}; probe: 64 training reviews x {args.length} tokens; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print()
    print("| training step | reach (steps back) | " + " | ".join(f"‖∂L/∂x‖ {k} back" for k in back)
          + " | mean f | ‖W_hh‖₂ i, f, g, o |")
    print("| ---: | ---: | " + " | ".join("---:" for _ in back) + " | ---: | ---: |")

    def report(step):
        norms = input_gradient_norms(model, ids, labels)
        blocks = ", ".join(f"{v:.2f}" for v in recurrent_block_norms(model))
        print(f"| {step} | {reach(norms)} | " + " | ".join(f"{norms[k]:.1e}" for k in back)
              + f" | {forget_gate_mean(model, ids):.3f} | {blocks} |", flush=True)

    report(0)
    for step in training_steps(model, opt, loss_fn, train, args.steps):
        if step % args.every == 0 or step == args.steps:
            report(step)

if __name__ == "__main__":
    main()
