"""The fused elementwise kernels of the recurrent steps (``backend.fuse``): one Python source
serves NumPy (ufunc by ufunc) and CuPy (one kernel). Checked without a GPU, where CuPy is
installed (skipped where it is not: the library then runs the same functions unfused):

* each fused function, traced by ``cupy.fuse`` with stand-in CuPy arrays that own no device
  memory, becomes **one** elementwise kernel, in float32 and float64, with no float64 in the
  float32 kernel;
* the operations recorded in that kernel, replayed on NumPy float64 arrays, give exactly what
  the Python function gives (so the kernel computes the formula the CPU runs);
* ``cupy.fuse`` of the function called with NumPy arrays runs the Python function itself.

What only a GPU can check: that NVRTC compiles the generated source and that the kernel's
float32 results on the device match (the GPU script does that).
"""

import numpy as np
import pytest

from minidl.functional import gate_layout, gru, lstm, rnn

cupy = pytest.importorskip("cupy")
import fusion_trace  # noqa: E402
from fusion_trace import replay, stand_in  # noqa: E402

FUSED = {f"{m.__name__.split('.')[-1]}.{name}": getattr(m, name)
         for m in (lstm, gru, rnn, gate_layout) for name in dir(m) if hasattr(getattr(m, name), "fused")}


def test_every_step_module_has_fused_kernels():
    names = {n.split(".")[0] for n in FUSED}
    assert names == {"lstm", "gru", "rnn", "gate_layout"}, sorted(FUSED)


def n_args(f):
    return f.plain.__code__.co_argcount


def trace(f, shape, dtype):
    """cupy.fuse's tracing of ``f.plain`` with stand-in arrays of one shape and dtype."""
    return fusion_trace.trace(f.plain, [stand_in(shape, dtype) for _ in range(n_args(f))])


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_kernel_computes_the_python_function(name):
    f = FUSED[name]
    rng = np.random.default_rng(0)
    args = [rng.uniform(-1.5, 1.5, (3, 4)) for _ in range(n_args(f))]
    history, kernel = trace(f, (3, 4), np.float64)
    assert isinstance(kernel, cupy.ElementwiseKernel) and len(history.op_list) >= 1
    mine = [a.copy() for a in args]
    got = f.plain(*mine)
    emulated = [a.copy() for a in args]
    returned = replay(history, kernel, emulated)
    for k, (u, v) in enumerate(zip(mine, emulated)):
        np.testing.assert_array_equal(v, u, err_msg=f"argument {k}")
    if got is None:
        assert returned == []
    else:
        np.testing.assert_array_equal(returned[0], got)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_float32_kernel_stays_float32(name):
    history, kernel = trace(FUSED[name], (2, 5), np.float32)
    for op in history.op_list:
        assert all(np.dtype(t) == np.float32 for t in op.dtypes if np.dtype(t).kind == "f"), (op, op.dtypes)
    assert all(p.dtype == np.float32 for p in kernel.in_params + kernel.out_params)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_cupy_fuse_on_numpy_runs_the_python_function(name):
    f = FUSED[name]
    rng = np.random.default_rng(1)
    args = [rng.uniform(-1.5, 1.5, (2, 3)) for _ in range(n_args(f))]
    a1, a2 = [a.copy() for a in args], [a.copy() for a in args]
    r1, r2 = f.fused(*a1), f.plain(*a2)
    for u, v in zip(a1, a2):
        np.testing.assert_array_equal(u, v)
    assert (r1 is None) == (r2 is None)
    if r1 is not None:
        np.testing.assert_array_equal(r1, r2)
