"""Tracing ``cupy.fuse`` without a GPU, for the fused-kernel tests of tests/functional/
(imported only after ``pytest.importorskip("cupy")``).

``stand_in`` makes CuPy arrays that own no device memory; ``trace`` runs cupy.fuse's own
tracer over a Python function with them and returns the recorded operations and the
ElementwiseKernel it would compile; ``replay`` runs those recorded operations on NumPy
arrays, element by element as the GPU would, so a test can compare the kernel's arithmetic
with the Python function's.
"""

import re

import cupy
import numpy as np
from cupy._core import _fusion_thread_local, core, fusion


def stand_in(shape, dtype):
    """A CuPy array that owns no device memory: enough for cupy.fuse to trace a function."""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    mem = cupy.cuda.UnownedMemory(0, max(n, 1), None, device_id=0)
    return core.ndarray(shape, dtype, memptr=cupy.cuda.MemoryPointer(mem, 0))


def trace(plain, args):
    """cupy.fuse's tracing of ``plain`` called with ``args`` -> (history of operations, ElementwiseKernel)."""
    history = fusion._FusionHistory()
    _fusion_thread_local.thread_local.history = history
    _fusion_thread_local.thread_local.is_old_fusing = True
    try:
        kernel, _ = history.get_fusion(plain, tuple(args), "k")
    finally:
        _fusion_thread_local.thread_local.history = None
        _fusion_thread_local.thread_local.is_old_fusing = False
    return history, kernel


def numpy_op(name):
    if name.startswith("astype_"):
        return lambda a: np.asarray(a).astype(name[len("astype_"):])
    return getattr(np, name[len("cupy_"):])


def replay(history, kernel, arrays):
    """Run the kernel's recorded operations on NumPy arrays, as the GPU would element by
    element: inputs it writes are written back; returns what the kernel returns."""
    env = {v.index: a.copy() for v, a in zip(history.param_list, arrays)}
    env.update({v.index: v.const_value for v in history.local_list if v.const_value is not None})
    for op in history.op_list:
        nin = len(op.submodule.in_params)
        res = numpy_op(op.submodule.name)(*(env[v.index] for v in op.args[:nin]))
        for v, r in zip(op.args[nin:], res if isinstance(res, tuple) else (res,)):
            env[v.index] = r
    for v, a in zip(history.param_list, arrays):
        if v.mutable:
            a[...] = env[v.index]
    returned = re.findall(r"\bv(\d+) = v(\d+);", kernel.operation)  # out param = variable
    return [env[int(src)] for _, src in returned]
