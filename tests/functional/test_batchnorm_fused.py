"""BatchNorm's fused elementwise kernels (``backend.fuse``), checked like the recurrent ones
(tests/functional/test_recurrent_fused.py; both use the tracing and replay of tests/fusion_trace.py) where
CuPy is installed, with no GPU needed:

* ``normalize_and_scale`` (x̂ ← (x − μ)·r, y = γx̂ + β), ``batch_norm_dx``
  (dx = γr·(dy − mean dy − x̂·mean(dy ⊙ x̂))) and the fast forward's ``scale_shift``
  (y = (x − μ)·γr + β, minidl.functional.batchnorm_fast), traced by ``cupy.fuse`` with (M, C) columns and
  (C,) per-channel vectors, each become **one** elementwise kernel;
* the kernel's recorded operations replayed on NumPy float64 give exactly what the Python
  function gives, with γ, β given and with the scalars 1.0, 0.0 that stand for "not given";
* the float32 kernel computes in float32 only.
"""

import numpy as np
import pytest

from minidl.functional import batchnorm, batchnorm_fast

cupy = pytest.importorskip("cupy")
from fusion_trace import replay, stand_in, trace  # noqa: E402

M, C = 6, 3
# the shape of each argument: (M, C) columns or (C,) per channel; "s" a Python scalar
SHAPES = {
    "normalize_and_scale": [(M, C), (C,), (C,), (C,), (M, C)],
    "normalize_and_scale (no γ, β)": [(M, C), (C,), "s", "s", (M, C)],
    "batch_norm_dx": [(M, C), (M, C), (C,), (C,), (C,), (M, C)],
    "scale_shift": [(M, C), (C,), (C,), (M, C)],
    "scale_shift (no β)": [(M, C), (C,), "s", (M, C)],
}
SCALARS = {"normalize_and_scale (no γ, β)": [1.0, 0.0], "scale_shift (no β)": [0.0]}


def _function(case):
    name = case.split(" ")[0]
    return getattr(batchnorm_fast if name == "scale_shift" else batchnorm, name)


def _trace(f, args):
    return trace(f.plain, args)


def _arguments(case, dtype, make, scalar=float):
    """The library passes Python floats (weak scalars: a float32 kernel stays float32); the
    replay on NumPy takes them as float64 scalars."""
    scalars = iter(SCALARS.get(case, []))
    return [scalar(next(scalars)) if s == "s" else make(s, dtype) for s in SHAPES[case]]


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_one_kernel_that_computes_the_python_function(case):
    f = _function(case)
    history, kernel = _trace(f, _arguments(case, np.float64, stand_in))
    # (scale_shift is two operations, a product and a sum; the others three or more)
    assert isinstance(kernel, cupy.ElementwiseKernel) and len(history.op_list) >= (2 if "scale_shift" in case else 3)
    rng = np.random.default_rng(0)
    args = _arguments(case, np.float64, lambda s, dt: rng.uniform(0.5, 2.0, s).astype(dt), np.float64)
    mine = [a.copy() for a in args]
    assert f.plain(*mine) is None  # results are written into the arguments
    emulated = [a.copy() for a in args]
    assert replay(history, kernel, emulated) == []
    for k, (u, v) in enumerate(zip(mine, emulated)):
        np.testing.assert_array_equal(v, u, err_msg=f"argument {k}")
    assert not np.array_equal(mine[-1], args[-1])  # the output argument was written


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_float32_kernel_stays_float32(case):
    history, kernel = _trace(_function(case), _arguments(case, np.float32, stand_in))
    for op in history.op_list:
        assert all(np.dtype(t) == np.float32 for t in op.dtypes if np.dtype(t).kind == "f"), (op, op.dtypes)
    # a Python float argument is passed as a double and cast to float before any operation
    # (the check above); every array argument is float32
    wide = [p for p in kernel.in_params + kernel.out_params if p.dtype != np.float32]
    assert len(wide) == SHAPES[case].count("s") and all(p.dtype == np.float64 for p in wide), wide


def test_the_pairs_call_the_fused_functions():
    """The NumPy path runs the same functions (so the kernels above are what a GPU runs)."""
    calls = []
    real = batchnorm.normalize_and_scale, batchnorm.batch_norm_dx
    try:
        batchnorm.normalize_and_scale = lambda *a: (calls.append("forward"), real[0](*a))[1]
        batchnorm.batch_norm_dx = lambda *a: (calls.append("dx"), real[1](*a))[1]
        x = np.random.default_rng(1).standard_normal((4, C, 2, 2))
        y, cache = batchnorm.batch_norm_train_forward(x, np.ones(C), np.zeros(C))
        batchnorm.batch_norm_train_backward(np.ones_like(y), cache)
        batchnorm.batch_norm_eval_forward(x, np.zeros(C), np.ones(C))
    finally:
        batchnorm.normalize_and_scale, batchnorm.batch_norm_dx = real
    assert calls == ["forward", "dx", "forward"]
