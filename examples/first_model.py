"""Your first minidl model: surnames to their language (18 classes) with an LSTM, trained by hand.

    python examples/first_model.py          # the names data set (200 KB), downloaded once

Every step of training is in plain sight: forward through the layers, the loss, backward
through the same layers in reverse order, the optimizer's step, then an evaluation.
``examples/names_rnn.py`` and ``minidl.train.fit`` do the same with checkpoints, resume,
MPI and plots. ``MINIDL_FIRST_LIMIT=N`` trains on N names only (a quick check).
"""

import os

import numpy as np

import minidl
from minidl import nn, optim
from minidl.data.batching import BatchLoader
from minidl.data.names import N_LETTERS, load_names, one_hot

minidl.manual_seed(0)
data = load_names(download=True, unique=True)  # split per language, letter ids (N, T), no name in both
train, test = data.train, data.test
limit = int(os.environ.get("MINIDL_FIRST_LIMIT", "0")) or len(train)
keep = np.random.default_rng(0).permutation(len(train))[:limit]   # the splits are sorted by language

lstm = nn.LSTM(N_LETTERS, 64, batch_first=True)   # one-hot letters (B, T, 57) -> states (B, T, 64)
head = nn.Linear(64, len(data.languages))          # last real state (B, 64) -> scores (B, 18)
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.Adam(lstm.parameters() + head.parameters(), lr=0.005)


def scores_of(ids, lengths):
    """Forward pass: letter ids (B, T) -> class scores (B, 18)."""
    _, (h_n, _) = lstm(one_hot(ids, lengths=lengths), lengths=lengths)   # h_n: (1, B, 64)
    return head(h_n[0])                        # each name's state after its last letter


def test_accuracy():
    with minidl.no_grad():                     # no caches kept: nothing will go backward
        batches = BatchLoader(test.ids, test.labels, test.lengths, batch_size=512, shuffle=False)
        right = sum(int((scores_of(b.x, b.lengths).argmax(1) == b.y).sum()) for b in batches)
    return right / len(test)


print(f"{limit} training names, {len(test)} test names; test accuracy before training: {test_accuracy():.1%}")
loader = BatchLoader(train.ids[keep], train.labels[keep], train.lengths[keep], batch_size=32, seed=0)
for epoch in range(1, 6):
    total = 0.0
    for batch in loader:
        loss = loss_fn(scores_of(batch.x, batch.lengths), batch.y)   # forward: a scalar
        d_scores = loss_fn.backward()          # backward, layer by layer in reverse: d loss / d scores
        d_h = head.backward(d_scores)          # adds head.weight.grad, head.bias.grad; returns d loss / d h
        lstm.backward(None, d_h[None], None)   # no gradient reaches the outputs or c_n, only h_n
        optimizer.step()                       # p -= Adam's step, for every parameter
        optimizer.zero_grad()                  # grads are summed into .grad: clear them for the next batch
        total += float(loss) * len(batch.y)
    print(f"epoch {epoch}: train loss {total / limit:.3f}, test accuracy {test_accuracy():.1%}")
