"""The reports' models, built from ``minidl.nn`` layers with hand-written backwards.

* :class:`ImdbClassifier` — reports A, B, D, E's IMDB sentiment models (LSTM/GRU/RNN,
  stacked, bidirectional, residual).
* :class:`CharRNN` — report C's classic character-level RNN (names → language).
* :class:`CharLSTM` — report C's LSTM on the same names (fused layer, or the cell stepped).
* :func:`resnet34`, :func:`plain34`, :func:`resnet20`, :func:`plain20` — report E's CIFAR-10
  ResNets and their twins without shortcuts.

Every model meets the contract of :func:`minidl.train.fit`::

    scores = model(x)                      # a batch without lengths (images)
    scores = model(x, lengths=lengths)     # a batch of padded sequences, lengths (B,) host ints
    model.backward(d_scores)               # adds into every parameter's .grad

with ``scores`` (B, C): logits, log-probabilities or probabilities of the C classes, or
(B, 1) probabilities of the positive class (BCE).
"""

from .char_lstm import CharLSTM
from .char_rnn import CharRNN
from .imdb import ImdbClassifier
from .resnet import ResNet, plain20, plain34, resnet20, resnet34

__all__ = ["ImdbClassifier", "CharRNN", "CharLSTM", "ResNet", "resnet20", "plain20", "resnet34", "plain34"]
