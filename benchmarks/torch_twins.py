"""PyTorch twins of minidl's report models, with minidl's parameter names, so that one
``state_dict`` loads into both and the two libraries time (and check) the same network.

Imported by the benchmark scripts only; importing it needs torch.
"""

from __future__ import annotations

import torch
from torch import nn


class TorchImdb(nn.Module):
    """:class:`minidl.models.ImdbClassifier` without lengths: Embedding(padding_idx=0) →
    {LSTM, GRU, RNN} (time-major) → last state (both directions if bidirectional) →
    [Linear(·, fc_dim) → ReLU] → Dropout → Linear(·, classes)."""

    def __init__(self, vocab, embed, hidden, cell, layers=1, bidirectional=False, rnn_dropout=0.0, fc_dim=64,
                 dropout=0.5, num_classes=2):
        super().__init__()
        self.dirs = 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn_cls(embed, hidden, num_layers=layers, bidirectional=bidirectional, dropout=rnn_dropout)
        feat = hidden * self.dirs
        self.fc1 = nn.Linear(feat, fc_dim) if fc_dim else None
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(fc_dim or feat, num_classes)

    def forward(self, ids):
        _, state = self.rnn(self.embedding(ids.T))
        h_n = state[0] if isinstance(state, tuple) else state
        y = h_n[-1] if self.dirs == 1 else torch.cat([h_n[-2], h_n[-1]], 1)
        if self.fc1 is not None:
            y = torch.relu(self.fc1(y))
        return self.fc2(self.dropout(y))


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
