"""Scratch memory that outlives a call: the large temporaries of the convolution.

A convolution's im2col matrix is ``kh·kw`` times the size of its input, and it is needed
only *inside* one call (the forward's GEMM; the backward recomputes it). Allocating it
fresh in every call is slow (fresh memory costs a page fault per page on first touch, see
``docs/making-it-fast.md``), and keeping one per layer from forward to backward is what
made a ResNet-34 step need three times PyTorch's memory. A :class:`Workspace` keeps one
flat buffer per name and hands out views of its front, so the memory is touched once and
then reused: layers that run one after the other can take turns with it.

A workspace is not thread-safe: two calls that share it must not run at the same time.
Threads that split one call's work each take a :meth:`Workspace.part` of it: the same store,
buffers of their own.
"""

from __future__ import annotations

import math

from .. import backend

__all__ = ["Workspace"]


class Workspace:
    """Named scratch buffers, each grown to the largest request and reused after that.

    ``ws.array("cols", (M, K), like=x)`` returns an uninitialised ``(M, K)`` array of
    ``x``'s dtype and device, a view of the buffer ``"cols"``. Its contents are valid
    until the next request for the same name: use it within one call.
    """

    def __init__(self, *, grow: bool = True, buffers: dict | None = None, prefix: str = ""):
        self._buffers = {} if buffers is None else buffers
        self._grow = grow
        self._prefix = prefix

    def array(self, name: str, shape, like):
        """An uninitialised array of ``shape``, with ``like``'s dtype and device."""
        size, name = math.prod(shape), self._prefix + name
        buf = self._buffers.get(name)
        fits = (buf is not None and buf.size >= size and buf.dtype == like.dtype
                and backend.device_of(buf) == backend.device_of(like))
        if not fits:
            xp = backend.get_array_module(like)
            if not self._grow:  # a one-off: do not keep it
                return xp.empty(shape, dtype=like.dtype)
            buf = xp.empty(size, dtype=like.dtype)
            self._buffers[name] = buf
        return buf[:size].reshape(shape)

    def fixed(self) -> "Workspace":
        """The same buffers, but a request that does not fit gets a temporary array
        instead of growing them (for inference batches, often larger than training ones)."""
        return Workspace(grow=False, buffers=self._buffers, prefix=self._prefix)

    def part(self, k: int) -> "Workspace":
        """Part ``k`` of this workspace, for the ``k``-th of several threads: its buffers are
        its own (their names carry ``k``), kept in this workspace's store. Part 0 is this
        workspace itself."""
        if k == 0:
            return self
        return Workspace(grow=self._grow, buffers=self._buffers, prefix=f"{self._prefix}{k}/")

    def clear(self) -> None:
        """Free every buffer."""
        self._buffers.clear()

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffers."""
        return sum(b.nbytes for b in self._buffers.values())

    def __repr__(self) -> str:
        return f"Workspace({', '.join(self._buffers) or 'empty'}; {self.nbytes / 2**20:.1f} MiB)"
