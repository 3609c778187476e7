"""Gradient checking: compare a layer's hand-written backward with finite differences.

For outputs ``y_k = f(inputs, params)`` and a *random* upstream gradient ``G_k`` (never
``sum(y)``, whose all-ones upstream hides transposes and swapped gates), the scalar

    L(θ) = Σ_k ⟨G_k, y_k(θ)⟩

has ``∂L/∂θ`` = exactly what backward computes when it is fed ``G``. Each element of
every input and parameter is nudged by ±ε and

    ∂L/∂θ_j ≈ (L(θ + ε e_j) − L(θ − ε e_j)) / 2ε          (central difference, error O(ε²))

is compared with the analytic value. The error is reported per tensor as

    rel = ‖a − n‖ / max(‖a‖ + ‖n‖, tiny)

In float64 with ε = 1e-6 a correct backward gives ``rel`` around 1e-9 or smaller; a wrong
one gives 1e-2 or worse. (float32 cannot do this: its 1e-7 resolution divided by 2ε
swamps the signal, which is why checks insist on float64.)

For a layer with many parameters, ``mode="direction"`` checks one random unit direction
``v`` per tensor: ``(L(θ+εv) − L(θ−εv)) / 2ε`` against ``⟨∂L/∂θ, v⟩`` — two forwards per
tensor instead of two per element.

Randomness inside forward (dropout) is made repeatable by re-seeding minidl's generators
with the same seed before every forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import backend
from .module import Module, _flatten, no_grad

__all__ = ["gradcheck", "GradcheckReport", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised by :meth:`GradcheckReport.assert_ok` when a gradient disagrees."""


@dataclass
class GradcheckReport:
    """Relative error per checked tensor (``"input 0"``, ``"weight_ih_l0"``, ...).

    ``errors[name]`` is the relative error, ``max_abs[name]`` the largest absolute
    difference; ``ok`` is True when every relative error is below ``tol``.
    """

    errors: dict = field(default_factory=dict)
    max_abs: dict = field(default_factory=dict)
    tol: float = 1e-6
    mode: str = "full"

    @property
    def ok(self) -> bool:
        return all(e < self.tol for e in self.errors.values())

    @property
    def worst(self) -> float:
        return max(self.errors.values(), default=0.0)

    def assert_ok(self) -> "GradcheckReport":
        """Raise :class:`GradcheckError` with the table if any tensor fails; else return self."""
        if not self.ok:
            raise GradcheckError(f"gradient check failed (tol {self.tol:g}):\n{self}")
        return self

    def __str__(self) -> str:
        width = max((len(n) for n in self.errors), default=4)
        lines = [f"{'tensor':<{width}}  rel.error   max|diff|  ({self.mode})"]
        for name, e in self.errors.items():
            flag = "" if e < self.tol else "  <-- FAIL"
            lines.append(f"{name:<{width}}  {e:9.2e}  {self.max_abs[name]:9.2e}{flag}")
        return "\n".join(lines)


def _is_float_array(a) -> bool:
    return hasattr(a, "dtype") and hasattr(a, "shape") and a.dtype.kind == "f"


# --8<-- [start:rel_error]
def _rel_error(xp, a, n) -> tuple[float, float]:
    diff = float(xp.linalg.norm((a - n).ravel()))
    scale = float(xp.linalg.norm(a.ravel())) + float(xp.linalg.norm(n.ravel()))
    max_abs = float(xp.max(xp.abs(a - n))) if a.size else 0.0
    return (diff / scale if scale > 1e-300 else diff), max_abs
# --8<-- [end:rel_error]


def gradcheck(
    module: Module,
    *inputs,
    eps: float = 1e-6,
    tol: float = 1e-6,
    seed: int = 0,
    mode: str = "full",
    check_params: bool = True,
    check_inputs=None,
    randomize_params: bool = False,
    forward_kwargs: dict | None = None,
    raise_on_fail: bool = False,
) -> GradcheckReport:
    """Check ``module.backward`` against central differences of ``module.forward``.

    Args:
        module: a float64 Module (call ``.double()`` first).
        *inputs: forward's positional inputs; nested tuples are allowed (``(h0, c0)``).
            Floating arrays are checked; integer arrays (token ids, labels, lengths) and
            ``None`` are passed through.
        mode: ``"full"`` (every element) or ``"direction"`` (one random direction per
            tensor, for big layers).
        randomize_params: first redraw every parameter from U(−0.5, 0.5), so that zero
            biases or unit scales cannot hide a missing term.
        forward_kwargs: keyword arguments for forward (e.g. ``lengths=...``).
        check_inputs: indices (among the floating inputs) to check; default all. A loss's
            float target, for instance, is an input but not differentiated: ``[0]``.

    Returns:
        A :class:`GradcheckReport` (``report.ok``, ``report.errors``, ``print(report)``).
        With ``raise_on_fail`` a failing check raises :class:`GradcheckError`.

    The backward receives one random upstream gradient per floating output (in the
    flattened order of the outputs); its returned gradients are matched, in order, to
    the floating inputs (extra returned gradients, e.g. for an initial state that was not
    passed, are ignored).
    """
    if mode not in ("full", "direction"):
        raise ValueError(f"mode must be 'full' or 'direction', got {mode!r}")
    forward_kwargs = dict(forward_kwargs or {})
    leaves = _flatten(inputs)
    float_inputs = [a for a in leaves if _is_float_array(a)]
    params = list(module.named_parameters()) if check_params else []
    for name, a in [(f"input {i}", a) for i, a in enumerate(float_inputs)] + [(n, p.data) for n, p in params]:
        if a.dtype.itemsize != 8:
            raise TypeError(f"gradcheck needs float64; {name} is {a.dtype} (call module.double())")

    ref = float_inputs[0] if float_inputs else (params[0][1].data if params else None)
    xp = backend.get_array_module(ref)
    rng = backend.numpy.random.default_rng(seed)

    def device_array(host):
        return backend.to_device(host, backend.device_of(ref)) if ref is not None else host

    if randomize_params:
        for _, p in params:
            p.data[...] = device_array(rng.uniform(-0.5, 0.5, size=p.data.shape))

    def run_forward():
        backend.manual_seed(seed)  # same dropout mask on every evaluation
        return module(*inputs, **forward_kwargs)

    # --8<-- [start:check]
    # analytic gradients, from one forward and one backward with random upstream grads
    module.clear_caches()
    module.zero_grad()
    outputs = _flatten(run_forward())
    float_out = [o for o in outputs if _is_float_array(o)]
    upstream = [device_array(rng.standard_normal(o.shape)) for o in float_out]
    returned = module.backward(*upstream)
    returned = _flatten(returned) if isinstance(returned, (tuple, list)) else [returned]
    analytic = {}
    for i, a in enumerate(float_inputs):
        if check_inputs is not None and i not in check_inputs:
            continue
        g = returned[i] if i < len(returned) else None
        analytic[f"input {i}"] = (a, xp.zeros_like(a) if g is None else g)
    for name, p in params:
        analytic[name] = (p.data, p.grad.copy())

    def objective() -> float:
        with no_grad():
            outs = [o for o in _flatten(run_forward()) if _is_float_array(o)]
        return sum(float(xp.sum(o * g)) for o, g in zip(outs, upstream))

    report = GradcheckReport(tol=tol, mode=mode)
    for name, (arr, grad) in analytic.items():
        if mode == "full":
            if not arr.flags["C_CONTIGUOUS"]:
                raise ValueError(f"gradcheck nudges tensors in place; {name} must be C-contiguous")
            numeric = xp.zeros_like(arr)
            flat = arr.reshape(-1)  # a view: writing into it nudges the tensor itself
            num_flat = numeric.reshape(-1)
            for j in range(arr.size):
                old = float(flat[j])
                flat[j] = old + eps
                plus = objective()
                flat[j] = old - eps
                minus = objective()
                flat[j] = old
                num_flat[j] = (plus - minus) / (2 * eps)
            err, max_abs = _rel_error(xp, grad, numeric)
        else:
            v = device_array(rng.standard_normal(arr.shape))
            v = v / xp.linalg.norm(v.ravel())
            arr += eps * v
            plus = objective()
            arr -= 2 * eps * v
            minus = objective()
            arr += eps * v
            numeric = (plus - minus) / (2 * eps)
            exact = float(xp.sum(grad * v))
            max_abs = abs(exact - numeric)
            scale = abs(exact) + abs(numeric)
            err = max_abs / scale if scale > 1e-300 else max_abs
        report.errors[name] = err
        report.max_abs[name] = max_abs
    # --8<-- [end:check]
    module.clear_caches()
    if raise_on_fail:
        report.assert_ok()
    return report
