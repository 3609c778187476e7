"""Layers that hold parameters and caches; the maths they call lives in ``minidl.functional``."""

from ..module import Module, Sequential
from . import init
from .activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .cell_loop_lstm import CellLoopLSTM
from .conv import Conv2d
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .layernorm import LayerNorm
from .linear import Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss
from .peephole_lstm import PeepholeLSTMCell
from .pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .recurrent import GRU, LSTM, RNN
from .residual import BasicBlock
from .residual_stack_lstm import ResidualStackLSTM
from .rnn_cells import GRUCell, LSTMCell, RNNCell

__all__ = [
    "Module", "Sequential", "init",
    "Linear", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Dropout", "Embedding", "Flatten",
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "CellLoopLSTM", "ResidualStackLSTM",
    "PeepholeLSTMCell",
    "Conv2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BasicBlock",
]
