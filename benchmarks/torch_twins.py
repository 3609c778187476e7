"""PyTorch twins of minidl's report models, with minidl's parameter names, so that one
``state_dict`` loads into both and the two libraries time (and check) the same network.

Imported by the benchmark scripts only; importing it needs torch.
"""

from __future__ import annotations

import torch
from torch import nn


class TorchImdb(nn.Module):
    """:class:`minidl.models.ImdbClassifier`'s twin, with its parameter names: Embedding
    (padding_idx=0) → {LSTM, GRU, RNN} (time-major, ``layers`` deep, one or two directions)
    → the last real state (both directions' if bidirectional) → [Linear(·, fc_dim) → ReLU]
    → Dropout → Linear(·, num_classes) → [sigmoid for ``output="sigmoid"``].

    ``forward(ids (B, T) int64[, lengths (B,) int64 on the CPU])``. How the last real state is
    found:

    * no ``lengths``: the final state ``h_n`` (every review runs to T: no padding);
    * ``pack`` (or bidirectional, whose reverse direction must start at each review's own
      last token): ``pack_padded_sequence``, then ``h_n``;
    * otherwise the output at step ``length − 1``. Padding comes after the tokens and the
      layer runs forward only, so that output *is* the last real state: the same numbers as
      packing, and about 10× faster on a CPU (a packed LSTM step 2.4 s against 0.25 s, one
      thread, report B's sizes).

    Submodules are built in the order embedding, rnn, fc1, fc2, as before the three twins
    were one class: torch's generator is then in the same state after construction, and the
    dropout masks of a seeded run are the same.
    """

    def __init__(self, vocab, embed, hidden, cell="lstm", layers=1, bidirectional=False, rnn_dropout=0.0,
                 fc_dim=64, dropout=0.5, num_classes=2, output="logits", pack=False):
        super().__init__()
        self.dirs = 2 if bidirectional else 1
        self.output = output
        self.pack = pack or bidirectional
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn_cls(embed, hidden, num_layers=layers, bidirectional=bidirectional, dropout=rnn_dropout)
        feat = hidden * self.dirs
        self.fc1 = nn.Linear(feat, fc_dim) if fc_dim else None  # fc_dim None/0: report A's and E's head
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(fc_dim or feat, num_classes)

    def _last_state(self, h_n):
        """The top layer's final state(s) from ``h_n`` (layers·dirs, B, H): (B, dirs·H)."""
        return h_n[-1] if self.dirs == 1 else torch.cat([h_n[-2], h_n[-1]], 1)

    def forward(self, ids, lengths=None):
        x = self.embedding(ids.T)  # (T, B, E), time-major like minidl's
        if lengths is None or self.pack:
            if lengths is not None:
                x = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
            _, state = self.rnn(x)  # h_n in the batch's own order, packed or not
            y = self._last_state(state[0] if isinstance(state, tuple) else state)
        else:
            out, _ = self.rnn(x)
            y = out[lengths - 1, torch.arange(out.shape[1])]
        if self.fc1 is not None:
            y = torch.relu(self.fc1(y))
        y = self.fc2(self.dropout(y))
        return torch.sigmoid(y) if self.output == "sigmoid" else y


class TorchBasicBlock(nn.Module):
    """:class:`minidl.nn.BasicBlock`: conv-bn-relu-conv-bn, + shortcut (identity, or
    ``shortcut.0`` 1×1 conv and ``shortcut.1`` BatchNorm when the shape changes), relu."""

    def __init__(self, cin, cout, stride, shortcut=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.has_shortcut = shortcut
        self.shortcut = nn.Sequential()
        if shortcut and (stride != 1 or cin != cout):
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + self.shortcut(x) if self.has_shortcut else out)


class TorchResNet(nn.Module):
    """:class:`minidl.models.resnet.ResNet` (3×3 stem, no max-pool, ``layer1 … layerK``,
    global average pool, ``linear``)."""

    def __init__(self, num_blocks, widths, num_classes=10, shortcut=True, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        cin = widths[0]
        self.num_stages = len(widths)
        for k, (n, width) in enumerate(zip(num_blocks, widths)):
            blocks = []
            for b in range(n):
                blocks.append(TorchBasicBlock(cin, width, 2 if (k > 0 and b == 0) else 1, shortcut))
                cin = width
            setattr(self, f"layer{k + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(cin, num_classes)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        for k in range(self.num_stages):
            out = getattr(self, f"layer{k + 1}")(out)
        return self.linear(torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1))
