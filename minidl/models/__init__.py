"""The reports' models, built from ``minidl.nn`` layers with hand-written backwards.

* :class:`ImdbClassifier` — reports A, B, D, E's IMDB sentiment models (LSTM/GRU/RNN,
  stacked, bidirectional, residual).
* :class:`CharRNN` — report C's classic character-level RNN (names → language).
* :class:`NamesRNN`, :class:`NamesLSTM` — report C's three name classifiers on padded
  batches (char-RNN, LSTM(57, 64) + Linear, and the same with the cell-loop LSTM).
* :func:`resnet34`, :func:`plain34`, :func:`resnet20`, :func:`plain20` — report E's CIFAR-10
  ResNets and their twins without shortcuts.
"""

from .char_rnn import CharRNN
from .imdb import ImdbClassifier
from .names import NamesLSTM, NamesRNN, names_model
from .resnet import ResNet, plain20, plain34, resnet20, resnet34

__all__ = ["ImdbClassifier", "CharRNN", "NamesRNN", "NamesLSTM", "names_model", "ResNet", "resnet20", "plain20",
           "resnet34", "plain34"]
