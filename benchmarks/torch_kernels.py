"""The benchmarks' ``--torch-onednn`` and ``--torch-flush-denormal`` flags: which of PyTorch's
CPU settings minidl is timed against.

PyTorch's CPU build ships oneDNN (formerly MKL-DNN) and, by default, runs a whole
``nn.LSTM`` layer as **one** oneDNN primitive: the time loop, the gate arithmetic and the
per-step products in compiled, fused code, forward (``aten::mkldnn_rnn_layer``) and backward
(``aten::mkldnn_rnn_layer_backward``). Its GRU and vanilla RNN have no such path: they run
op by op (ATen's matmul, sigmoid, tanh, … per step), the same method as minidl's NumPy
layers. ``off`` disables oneDNN (``torch.backends.mkldnn.enabled = False``), so PyTorch's
LSTM runs op by op too (its convolutions then take ATen's own im2col path). Which of the
two a ratio was taken against is part of the ratio: ``benchmarks/README.md``, "What PyTorch's
LSTM step is".

``--torch-flush-denormal on`` calls ``torch.set_flush_denormal(True)``: the core then treats
subnormal float32 numbers as 0 (flush-to-zero and denormals-are-zero), PyTorch's own remedy for
what minidl's reverse loop does by hand (``minidl/functional/subnormal.py``). PyTorch leaves it
off by default, and on an Intel core a recurrent backward whose gradient decays through the
subnormal range then runs several times slower (``benchmarks/README.md``, "Subnormal
gradients"). It is set before PyTorch starts its threads, which inherit it.

Nothing here imports torch at import time (``rnn.py`` parses its flags before anything heavy loads).
"""

from __future__ import annotations

ONEDNN_HELP = ("on (default): PyTorch as installed, its CPU LSTM one fused oneDNN primitive; off: oneDNN "
               "disabled (torch.backends.mkldnn.enabled = False), PyTorch's layers op by op as minidl's are")
FLUSH_HELP = ("off (default): PyTorch as installed, subnormal numbers computed as such; on: "
              "torch.set_flush_denormal(True), subnormals read and written as 0")


def add_torch_flags(parser) -> None:
    """``--torch-onednn {on, off}`` and ``--torch-flush-denormal {off, on}`` on a parser."""
    parser.add_argument("--torch-onednn", choices=("on", "off"), default="on", help=ONEDNN_HELP)
    parser.add_argument("--torch-flush-denormal", choices=("off", "on"), default="off", help=FLUSH_HELP)


def torch_flags_argv(args) -> list:
    """The two flags as given, for a child process's command line."""
    return ["--torch-onednn", args.torch_onednn, "--torch-flush-denormal", args.torch_flush_denormal]


def apply_torch_flags(args, torch, flush=True) -> None:
    """Both settings, in this process (before PyTorch runs anything, so its threads inherit them).

    ``flush=False`` leaves the core's flush-to-zero mode alone: it is the CPU's, not PyTorch's,
    so in a process that also times minidl it would flush NumPy's subnormals too."""
    apply_onednn(args.torch_onednn, torch)
    if flush and args.torch_flush_denormal == "on" and not torch.set_flush_denormal(True):
        raise SystemExit("--torch-flush-denormal on: this CPU has no flush-to-zero mode PyTorch can set")


def describe(args) -> str:
    """The settings as a header says them."""
    return f"PyTorch's oneDNN {args.torch_onednn}, flush-denormal {args.torch_flush_denormal}"


def apply_onednn(choice: str, torch) -> None:
    """Make this process's PyTorch use oneDNN (``on``, its default) or not (``off``)."""
    torch.backends.mkldnn.enabled = choice == "on"


def flush_denormal_state(torch) -> str:
    """``"on"`` when this process's PyTorch really computes a subnormal float32 result as 0
    (2⁻¹²⁶ · ½, a subnormal, comes out 0), else ``"off"``: read back, not taken from the flag."""
    tiny = torch.tensor([2.0 ** -126], dtype=torch.float32)
    return "on" if (tiny * 0.5).item() == 0.0 else "off"


def numpy_flushes_subnormals() -> bool:
    """Whether this thread's core flushes NumPy's subnormal float32 results to 0 (it must not,
    where minidl is timed: its own flush is what is measured)."""
    import numpy as np

    return bool(np.float32(2.0 ** -126) * np.float32(0.5) == 0)


def onednn_state(torch) -> str:
    """``"on"`` or ``"off"``: whether this process's PyTorch really uses oneDNN now (what a
    worker reports beside its figures, read back rather than taken from the flag)."""
    return "on" if torch.backends.mkldnn.enabled else "off"
