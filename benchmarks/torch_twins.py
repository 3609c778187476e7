"""PyTorch twins of minidl's report models, with minidl's parameter names, so that one
``state_dict`` loads into both and the two libraries time (and check) the same network.

Imported by the benchmark scripts only; importing it needs torch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


def reverse_within_lengths(x, lengths):
    """x (T, B, F) with each column's first ``lengths[b]`` steps in reverse order and its
    padding left where it is: step t of column b becomes step L_b − 1 − t (t < L_b). The
    map is its own inverse, so the same call turns a reversed output back."""
    t = torch.arange(x.shape[0]).unsqueeze(1)  # (T, 1)
    L = lengths.unsqueeze(0)  # (1, B)
    index = torch.where(t < L, L - 1 - t, t)  # (T, B)
    return x.gather(0, index.unsqueeze(2).expand_as(x))


class TorchImdb(nn.Module):
    """:class:`minidl.models.ImdbClassifier`'s twin, with its parameter names: Embedding
    (padding_idx=0) → {LSTM, GRU, RNN} (time-major, ``layers`` deep, one or two directions)
    → the last real state (both directions' if bidirectional) → [Linear(·, fc_dim) → ReLU]
    → Dropout → Linear(·, num_classes) → [sigmoid for ``output="sigmoid"``].

    ``forward(ids (B, T) int64[, lengths (B,) int64 on the CPU])``. How the last real state is
    found:

    * no ``lengths``: the final state ``h_n`` (every review runs to T: no padding);
    * ``pack``: ``pack_padded_sequence``, then ``h_n``;
    * one direction: the output at step ``length − 1``. Padding comes after the tokens and
      the layer runs forward only, so that output *is* the last real state: the same numbers
      as packing, and about 10× faster on a CPU (a packed LSTM step 2.4 s against 0.25 s, one
      thread, report B's sizes);
    * two directions: the reverse direction must start at each review's own last token, so
      each layer runs as two one-directional passes on the native module's own parameters
      (``torch.func.functional_call``): forward on the padded input, backward on the input
      with each review's tokens reversed in place (:func:`reverse_within_lengths`), its output
      reversed back, the two concatenated; between the layers the module's own dropout. The
      last real state is the forward output at ``length − 1`` and the reverse output at step 0:
      what packing computes (a test compares outputs and gradients in float64), at the speed of
      an unpacked layer. The weights stay those of the one ``nn.LSTM(num_layers=…,
      bidirectional=True)``.

    Submodules are built in the order embedding, rnn, fc1, fc2, as before the three twins
    were one class: torch's generator is then in the same state after construction, and the
    dropout masks of a seeded run are the same.
    """

    def __init__(self, vocab, embed, hidden, cell="lstm", layers=1, bidirectional=False, rnn_dropout=0.0,
                 fc_dim=64, dropout=0.5, num_classes=2, output="logits", pack=False):
        super().__init__()
        self.dirs = 2 if bidirectional else 1
        self.output = output
        self.pack = pack
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn_cls(embed, hidden, num_layers=layers, bidirectional=bidirectional, dropout=rnn_dropout)
        # one-directional layers that only lend their forward code to the bidirectional path:
        # a tuple, so not submodules (no parameters, no state_dict entries); built with torch's
        # generator put back, so a seeded run's dropout masks do not depend on them
        with torch.random.fork_rng(devices=[]):
            self._one_direction = (rnn_cls(embed, hidden), rnn_cls(self.dirs * hidden, hidden)) if self.dirs == 2 \
                else ()
        feat = hidden * self.dirs
        self.fc1 = nn.Linear(feat, fc_dim) if fc_dim else None  # fc_dim None/0: report A's and E's head
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(fc_dim or feat, num_classes)

    def _last_state(self, h_n):
        """The top layer's final state(s) from ``h_n`` (layers·dirs, B, H): (B, dirs·H)."""
        return h_n[-1] if self.dirs == 1 else torch.cat([h_n[-2], h_n[-1]], 1)

    def _bidirectional_by_reversal(self, x, lengths):
        """The two-directional stack on x (T, B, E) whose column b has ``lengths[b]`` real
        steps: the top layer's last real states (B, 2H), forward then reverse."""
        rnn = self.rnn
        for layer in range(rnn.num_layers):
            if layer > 0:  # nn.LSTM's own dropout sits between the layers, none after the top
                x = nn.functional.dropout(x, rnn.dropout, self.training)
            outputs = []
            for suffix in ("", "_reverse"):
                params = {f"{w}_l0": getattr(rnn, f"{w}_l{layer}{suffix}")
                          for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
                one = self._one_direction[min(layer, 1)]
                if suffix:
                    out, _ = functional_call(one, params, (reverse_within_lengths(x, lengths),))
                    outputs.append(reverse_within_lengths(out, lengths))
                else:
                    outputs.append(functional_call(one, params, (x,))[0])
            x = torch.cat(outputs, 2)
        H = rnn.hidden_size
        return torch.cat([x[lengths - 1, torch.arange(x.shape[1]), :H], x[0, :, H:]], 1)

    def forward(self, ids, lengths=None):
        x = self.embedding(ids.T)  # (T, B, E), time-major like minidl's
        if lengths is not None and self.dirs == 2 and not self.pack:
            y = self._bidirectional_by_reversal(x, lengths)
        elif lengths is None or self.pack:
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
