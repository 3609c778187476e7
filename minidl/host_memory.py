"""Keep freed host memory for the next training step instead of returning it to the system.

A training step allocates the same arrays every step: activations, gates, masks, gradients,
from a few kilobytes to hundreds of megabytes. NumPy takes them from the C library's
``malloc``, and glibc's ``malloc`` serves a large request with fresh pages from the operating
system (``mmap``) and gives them back when the array is freed (``munmap``, or a trim of its
heap). So every step the same memory comes back untouched, and the first write to each 4 KB
page is a page fault: the kernel stops the program, zeroes a page and maps it (the chapter
"Making it fast", section "Fresh memory is not free").

:func:`keep_freed_memory` asks glibc (``mallopt``) to serve every request from its heap and
never to hand freed memory back, so that after the first step a step's arrays reuse the
pages of the step before: no faults, no zeroing. It is the host-side counterpart of a GPU
framework's caching allocator (CuPy's memory pool), and what ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` set when given in the environment before a program starts. The
cost is the same as a pool's: the process keeps its peak memory until it ends.

Measured on the project's 2-core VM (``benchmarks/README.md``, "One process or two, and the
allocator"): one epoch of report B's LSTM on one core took 28.7 s instead of 30.5 s, with
24,500 page faults instead of 260,000 and 0.2 s of kernel time instead of 2.6 s; its peak
memory grew from 348 to 378 MB. PyTorch, whose CPU tensors come from the same ``malloc``,
gains more (its LSTM step of report B: 90 → 62 ms).

The setting is the whole process's, so the library never makes it on import: the command
line does (:func:`minidl.cli.run`, which the examples and the benchmarks' PyTorch twins share,
so that both libraries run on the same allocator; ``MINIDL_KEEP_FREED_MEMORY=0`` declines it),
and a script of your own can call it first.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_freed_memory", "keep_unless_declined", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

#: ``mallopt`` parameter numbers (glibc's ``malloc.h``).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3

#: Requests up to this size come from the heap (glibc's own default starts at 128 KiB and grows
#: to at most 32 MiB as large blocks are freed; report E's LSTM gates are 79 MB).
MMAP_THRESHOLD = 1 << 30
#: Free memory at the top of the heap is handed back only above this size.
TRIM_THRESHOLD = 1 << 31

_kept = False


def _glibc():
    """The process's C library, if it is glibc (``mallopt`` is glibc's); else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # absent in musl and other C libraries  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory() -> bool:
    """Make this process's ``malloc`` keep freed memory for reuse (see the module's text).

    Returns True when the C library took the setting (glibc on Linux), False where it does
    not apply (macOS, Windows, musl): nothing is changed there. Calling it again is harmless."""
    global _kept
    if _kept:
        return True
    libc = _glibc()
    if libc is None:
        return False
    # 1 on success; the threshold first, so that no large block is handed back meanwhile.
    # Older glibc refuses a threshold above 32 MiB (half its largest heap): then that.
    ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 or libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1
    ok = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    _kept = ok
    return ok


def keep_unless_declined() -> bool:
    """What a command line does: :func:`keep_freed_memory`, unless the environment says
    ``MINIDL_KEEP_FREED_MEMORY=0`` (then nothing, and False)."""
    if os.environ.get("MINIDL_KEEP_FREED_MEMORY", "1") == "0":
        return False
    return keep_freed_memory()
