"""The benchmarks' ``--torch-onednn`` flag: which of PyTorch's CPU kernels minidl is timed against.

PyTorch's CPU build ships oneDNN (formerly MKL-DNN) and, by default, runs a whole
``nn.LSTM`` layer as **one** oneDNN primitive: the time loop, the gate arithmetic and the
per-step products in compiled, fused code, forward (``aten::mkldnn_rnn_layer``) and backward
(``aten::mkldnn_rnn_layer_backward``). Its GRU and vanilla RNN have no such path: they run
op by op (ATen's matmul, sigmoid, tanh, … per step), the same method as minidl's NumPy
layers. ``off`` disables oneDNN (``torch.backends.mkldnn.enabled = False``), so PyTorch's
LSTM runs op by op too (its convolutions then take ATen's own im2col path). Which of the
two a ratio was taken against is part of the ratio: ``benchmarks/README.md``, "What PyTorch's
LSTM step is".

Nothing here imports torch at import time (``rnn.py`` parses its flags before anything heavy loads).
"""

from __future__ import annotations

HELP = ("on (default): PyTorch as installed, its CPU LSTM one fused oneDNN primitive; off: oneDNN "
        "disabled (torch.backends.mkldnn.enabled = False), PyTorch's layers op by op as minidl's are")


def add_onednn_flag(parser) -> None:
    """``--torch-onednn {on, off}`` on an ``argparse`` parser."""
    parser.add_argument("--torch-onednn", choices=("on", "off"), default="on", help=HELP)


def apply_onednn(choice: str, torch) -> None:
    """Make this process's PyTorch use oneDNN (``on``, its default) or not (``off``)."""
    torch.backends.mkldnn.enabled = choice == "on"


def onednn_state(torch) -> str:
    """``"on"`` or ``"off"``: whether this process's PyTorch really uses oneDNN now (what a
    worker reports beside its figures, read back rather than taken from the flag)."""
    return "on" if torch.backends.mkldnn.enabled else "off"
