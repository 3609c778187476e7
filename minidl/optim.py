"""Optimizers: SGD (momentum, Nesterov, weight decay), Adam/AdamW, gradient-norm clipping.

Each ``step()`` updates ``p.data`` in place from ``p.grad``; ``zero_grad()`` clears the
gradients. The update rules follow PyTorch's documentation exactly, so the same
hyper-parameters give the same trajectories:

SGD with momentum μ, dampening 0, weight decay λ:
    g ← ∇ + λθ;   b ← μ b + g (b = g at the first step);   g ← g + μ b (Nesterov) or b;
    θ ← θ − η g

Adam (Kingma & Ba 2015) with β₁, β₂, ε:
    g ← ∇ + λθ (Adam's L2 form; AdamW instead decays θ ← θ(1 − ηλ) directly)
    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²
    m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ)        (bias correction: m, v start at 0)
    θ ← θ − η m̂ / (√v̂ + ε)
"""

from __future__ import annotations

import math

from . import backend
from .checks import check_number, check_state_value
from .errors import CheckpointError, DTypeError, RangeError
from .module import Parameter

__all__ = ["Optimizer", "SGD", "Adam", "clip_grad_norm_"]


#: elements per block of :func:`cache_blocks`: the five arrays of an Adam update (θ, g, m,
#: v and one scratch) take 5 · 4 B · 2¹⁵ = 640 KiB of float32, well inside a core's L2
CACHE_BLOCK = 1 << 15


def cache_blocks(arrays, block: int = CACHE_BLOCK):
    """Same-shaped arrays -> tuples of views of them, block by block, for an update that
    treats every element on its own (an optimizer step).

    On the host, for C-contiguous arrays, yields flat views of ``block`` consecutive elements
    of each: several passes over a block then read it from the cache instead of memory.
    Otherwise (a GPU, where one kernel per pass over the whole array is cheapest, or a
    strided array) yields the arrays themselves, once.
    """
    if backend.device_of(arrays[0]) != "cpu" or not all(a.flags.c_contiguous for a in arrays):
        yield tuple(arrays)
        return
    flat = [a.reshape(-1) for a in arrays]  # views: the arrays are contiguous
    for start in range(0, flat[0].size, block):
        yield tuple(f[start:start + block] for f in flat)


class Optimizer:
    """Base class: holds the parameter list and a per-parameter state dict."""

    #: the per-parameter state entries this optimizer keeps (checked when a state is loaded)
    state_names: tuple = ()

    def __init__(self, params, lr: float):
        who = type(self).__name__
        if isinstance(params, Parameter):
            raise DTypeError(f"{who}: params must be an iterable of Parameters (model.parameters()), "
                             "got a single Parameter")
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise RangeError(f"{who}: params must hold at least one Parameter, got an empty list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise DTypeError(f"{who}: params must hold Parameters, got {type(p).__name__} at position {i}")
        self.lr = check_number(lr, "lr", who, low=0.0)  # 0 is allowed, as in PyTorch (a frozen step)
        self.state: list[dict] = [{} for _ in self.params]
        self.step_count = 0
        self._scratch_buffers: dict = {}  # working memory, not state: never saved

    @property
    def algorithm(self) -> str:
        """The update rule's name, as checkpoints and ``fit``'s configuration record it (the
        class name; a wrapper such as the sharded optimizer gives its wrapped class's)."""
        return type(self).__name__

    def _scratch(self, like, xp):
        """A reusable work array shaped like ``like`` (shared by parameters of one shape)."""
        key = (like.shape, str(like.dtype), id(xp))
        buf = self._scratch_buffers.get(key)
        if buf is None:
            buf = self._scratch_buffers[key] = xp.empty_like(like)
        return buf

    def zero_grad(self) -> None:
        """Zero the gradients of every parameter this optimizer updates."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:  # pragma: no cover - abstract
        """Update every parameter from its gradient (one optimisation step)."""
        raise NotImplementedError

    # state_dict: flat names -> arrays/scalars, so it can live in an .npz checkpoint
    def state_dict(self) -> dict:
        """Flat ``{"optimizer", "step_count", "lr", "state.<i>.<name>": array}``, storable in an
        ``.npz``; ``"optimizer"`` names the class, so that no other optimizer loads it."""
        sd = {"optimizer": type(self).__name__, "step_count": self.step_count, "lr": self.lr}
        for i, st in enumerate(self.state):
            for k, v in st.items():
                sd[f"state.{i}.{k}"] = v
        return sd

    def load_state_dict(self, sd: dict) -> None:
        """Restore :meth:`state_dict` (arrays copied to each parameter's device and dtype).

        Raises :class:`~minidl.errors.CheckpointError` naming the entry when the state was
        written by another optimizer, lacks ``step_count`` or ``lr``, or holds a state for a
        parameter that does not exist, of the wrong shape, or not a real floating array.
        The learning rate is restored, as PyTorch's ``load_state_dict`` restores it.
        """
        who = f"{type(self).__name__}.load_state_dict"
        self._check_kind(sd, who)
        try:
            step_count = check_number(sd["step_count"], "step_count", who, low=0, integer=True)
            lr = check_number(sd["lr"], "lr", who, low=0.0)
        except KeyError as e:
            raise CheckpointError(f"{who}: the state has no {e.args[0]!r} entry") from None
        except (DTypeError, RangeError) as e:
            raise CheckpointError(str(e)) from None
        state = [{} for _ in self.params]
        for key, v in sd.items():
            if key.startswith("state."):
                i, name, value = self._state_entry(key, v, who)
                state[i][name] = value
        self.step_count, self.lr, self.state = step_count, lr, state

    def _check_kind(self, sd: dict, who: str) -> None:
        kind = sd.get("optimizer")
        kind = kind.item() if hasattr(kind, "item") else kind  # a 0-d string array after an .npz round trip
        names = {key.split(".", 2)[-1] for key in sd if key.startswith("state.")}
        foreign = sorted(names - set(self.state_names))
        if (kind is not None and str(kind) != type(self).__name__) or foreign:
            raise CheckpointError(f"{who}: the state must come from {type(self).__name__}, got the state of "
                                  f"{kind or 'another optimizer'} (entries {foreign or sorted(names)})")

    def _state_entry(self, key: str, v, who: str):
        _, i, name = key.split(".", 2)
        if not i.isdigit() or int(i) >= len(self.params):
            raise CheckpointError(f"{who}: {key!r} is the state of parameter {i}, but this optimizer has "
                                  f"{len(self.params)} parameters")
        p = self.params[int(i)].data
        if tuple(getattr(v, "shape", ())) != tuple(p.shape):
            raise CheckpointError(f"{who}: {key!r} must have the parameter's shape {tuple(p.shape)}, "
                                  f"got {tuple(getattr(v, 'shape', ()))}")
        check_state_value(key, v, p, who)
        xp = backend.get_array_module(p)
        return int(i), name, xp.array(backend.to_device(v, backend.device_of(p)), dtype=p.dtype, copy=True)


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, weight_decay=0, nesterov=False)``, as ``torch.optim.SGD``."""

    state_names = ("momentum_buffer",)

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr)
        self.momentum = check_number(momentum, "momentum", "SGD", low=0.0)
        self.weight_decay = check_number(weight_decay, "weight_decay", "SGD", low=0.0)
        if nesterov and self.momentum == 0:
            raise RangeError("SGD: nesterov=True needs momentum > 0, got momentum=0")
        self.nesterov = bool(nesterov)

    # --8<-- [start:sgd]
    def step(self) -> None:
        """One SGD update of every parameter (see the module docstring for the rule)."""
        self.step_count += 1
        for p, st in zip(self.params, self.state):
            g = p.grad
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                if "momentum_buffer" not in st:
                    st["momentum_buffer"] = g.copy()
                else:
                    buf = st["momentum_buffer"]
                    buf *= self.momentum
                    buf += g
                buf = st["momentum_buffer"]
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g
    # --8<-- [end:sgd]


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled=False)``.

    ``decoupled=True`` is AdamW (Loshchilov & Hutter): weight decay shrinks θ directly
    instead of entering the gradient (``torch.optim.AdamW``; note its default decay is
    0.01 there, here 0 unless given).
    """

    state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False):
        super().__init__(params, lr)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise RangeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.beta1 = check_number(betas[0], "betas[0]", "Adam", low=0.0, high=1.0, high_open=True)
        self.beta2 = check_number(betas[1], "betas[1]", "Adam", low=0.0, high=1.0, high_open=True)
        self.eps = check_number(eps, "eps", "Adam", low=0.0)
        self.weight_decay = check_number(weight_decay, "weight_decay", "Adam", low=0.0)
        self.decoupled = bool(decoupled)

    # --8<-- [start:adam]
    def step(self) -> None:
        """One Adam update of every parameter, with bias correction."""
        self.step_count += 1
        t = self.step_count
        b1, b2 = self.beta1, self.beta2
        bias1 = 1 - b1**t
        bias2 = 1 - b2**t
        # θ −= η m̂/(√v̂ + ε) = (η/bias1) · m / (√v / √bias2 + ε): fold the corrections
        # into two scalars so the arrays are touched as few times as possible.
        step_size = self.lr / bias1
        sqrt_bias2 = math.sqrt(bias2)
        for p, st in zip(self.params, self.state):
            xp = backend.get_array_module(p.data)
            if "exp_avg" not in st:
                st["exp_avg"] = xp.zeros_like(p.data)
                st["exp_avg_sq"] = xp.zeros_like(p.data)
            arrays = (p.data, p.grad, st["exp_avg"], st["exp_avg_sq"])
            if backend.compiled_loops_for(p.data) and all(a.flags.c_contiguous for a in arrays):
                self._loop_step(arrays, step_size, sqrt_bias2)  # the lines below, in one compiled pass
                continue
            # every element's update is independent of the others: on the host, run the thirteen
            # passes below over one cache-sized block at a time (the same numbers, in the same
            # order), instead of streaming an embedding table through memory thirteen times
            for theta, g, m, v in cache_blocks(arrays):
                tmp = self._scratch(theta, xp)  # reused every step: no fresh temporaries
                if self.weight_decay:
                    if self.decoupled:
                        theta *= 1 - self.lr * self.weight_decay
                    else:
                        g = g + self.weight_decay * theta
                m *= b1
                xp.multiply(g, 1 - b1, out=tmp)
                m += tmp  # m = β₁m + (1−β₁)g
                v *= b2
                xp.multiply(g, g, out=tmp)
                tmp *= 1 - b2
                v += tmp  # v = β₂v + (1−β₂)g²
                xp.sqrt(v, out=tmp)
                tmp /= sqrt_bias2
                tmp += self.eps  # √v̂ + ε
                xp.divide(m, tmp, out=tmp)
                tmp *= step_size
                theta -= tmp
    # --8<-- [end:adam]

    def _loop_step(self, arrays, step_size, sqrt_bias2) -> None:
        """:meth:`step` for one parameter as :func:`adam_loop`, its constants in the arrays' dtype."""
        c = arrays[0].dtype.type
        mode = 0 if not self.weight_decay else (2 if self.decoupled else 1)
        adam_loop(*(a.reshape(-1) for a in arrays), c(self.beta1), c(1 - self.beta1), c(self.beta2),
                  c(1 - self.beta2), c(sqrt_bias2), c(self.eps), c(step_size), c(self.weight_decay),
                  c(1 - self.lr * self.weight_decay), mode)


# --8<-- [start:adam_loop]
@backend.compile_loop
def adam_loop(theta, g, m, v, b1, c1, b2, c2, sqrt_bias2, eps, step_size, weight_decay, decay, mode):
    """One Adam update of flat host arrays, each element in one pass: the operations of
    :meth:`Adam.step`'s calls in their order, each rounded to the arrays' dtype (the constants
    come in that dtype; compiled, ``math.sqrt`` of a float32 is a float32 square root), so
    the same numbers bit for bit (``tests/train/test_optim.py``).
    mode 0: no weight decay; 1: Adam's L2 term g + λθ; 2: AdamW's θ(1 − ηλ) (``decay``)."""
    for i in range(theta.size):
        th, gi = theta[i], g[i]
        if mode == 1:
            gi = gi + weight_decay * th
        elif mode == 2:
            th = th * decay
        mi = m[i] * b1 + gi * c1  # m = β₁m + (1−β₁)g
        vi = v[i] * b2 + (gi * gi) * c2  # v = β₂v + (1−β₂)g²
        m[i], v[i] = mi, vi
        theta[i] = th - (mi / (math.sqrt(vi) / sqrt_bias2 + eps)) * step_size
# --8<-- [end:adam_loop]


# --8<-- [start:clip]
def clip_grad_norm_(params, max_norm: float) -> float:
    """Rescale all gradients together so their global L2 norm is at most ``max_norm``.

    ‖g‖ = √(Σ_p Σ_i g_pi²); if ‖g‖ > max_norm every gradient is multiplied by
    max_norm / (‖g‖ + 1e-6), which keeps the direction and bounds the step. Returns ‖g‖
    measured before clipping (as ``torch.nn.utils.clip_grad_norm_``).
    """
    max_norm = check_number(max_norm, "max_norm", "clip_grad_norm_", low=0.0)
    params = [p for p in params if p.grad is not None]
    if not params:
        return 0.0
    # summed on the device, then one device-to-host copy (not one per parameter)
    total = math.sqrt(float(sum((p.grad * p.grad).sum() for p in params)))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for p in params:
            p.grad *= scale
    return total
# --8<-- [end:clip]
