"""The benchmarks' ``--allocator`` flag: every process of both libraries on the same ``malloc``
settings (``benchmarks/README.md``, "One process or two, and the allocator").

Nothing here imports NumPy or minidl at import time: ``rnn.py`` parses its flags before NumPy
loads, so that the BLAS thread count it sets is the one NumPy's BLAS reads.
"""

from __future__ import annotations

HELP = ("kept (default): every process of either library keeps freed memory for the next step, as "
        "minidl's command line does (minidl.host_memory); default: glibc's own malloc settings, as a "
        "PyTorch user's script runs")


def add_allocator_flag(parser) -> None:
    """``--allocator {kept, default}`` on an ``argparse`` parser."""
    parser.add_argument("--allocator", choices=("kept", "default"), default="kept", help=HELP)


def apply_allocator(choice: str) -> None:
    """Make this process's setting: ``kept`` calls :func:`minidl.host_memory.keep_freed_memory`."""
    if choice == "kept":
        from minidl.host_memory import keep_freed_memory

        keep_freed_memory()
