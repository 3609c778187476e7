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
from .module import Parameter

__all__ = ["Optimizer", "SGD", "Adam", "clip_grad_norm_"]


class Optimizer:
    """Base class: holds the parameter list and a per-parameter state dict."""

    def __init__(self, params, lr: float):
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = float(lr)
        self.state: list[dict] = [{} for _ in self.params]
        self.step_count = 0
        self._scratch_buffers: dict = {}  # working memory, not state: never saved

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
        """Flat ``{"step_count", "lr", "state.<i>.<name>": array}``, storable in an ``.npz``."""
        sd = {"step_count": self.step_count, "lr": self.lr}
        for i, st in enumerate(self.state):
            for k, v in st.items():
                sd[f"state.{i}.{k}"] = v
        return sd

    def load_state_dict(self, sd: dict) -> None:
        """Restore :meth:`state_dict` (arrays copied to each parameter's device and dtype)."""
        self.step_count = int(sd["step_count"])
        self.lr = float(sd["lr"])
        self.state = [{} for _ in self.params]
        for key, v in sd.items():
            if not key.startswith("state."):
                continue
            _, i, k = key.split(".", 2)
            i = int(i)
            if i >= len(self.params):
                raise KeyError(f"optimizer state for parameter {i}, but only {len(self.params)} parameters")
            p = self.params[i].data
            if tuple(getattr(v, "shape", ())) != tuple(p.shape):
                raise ValueError(f"optimizer state {key!r}: expected shape {tuple(p.shape)}, got {tuple(v.shape)}")
            xp = backend.get_array_module(p)
            self.state[i][k] = xp.array(backend.to_device(v, backend.device_of(p)), dtype=p.dtype, copy=True)


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, weight_decay=0, nesterov=False)``, as ``torch.optim.SGD``."""

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.weight_decay, self.nesterov = float(momentum), float(weight_decay), nesterov

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

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        self.beta1, self.beta2, self.eps = float(b1), float(b2), float(eps)
        self.weight_decay, self.decoupled = float(weight_decay), bool(decoupled)

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
            g = p.grad
            if self.weight_decay:
                if self.decoupled:
                    p.data *= 1 - self.lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p.data
            if "exp_avg" not in st:
                st["exp_avg"] = xp.zeros_like(p.data)
                st["exp_avg_sq"] = xp.zeros_like(p.data)
            m, v = st["exp_avg"], st["exp_avg_sq"]
            # one scratch array per parameter shape, reused every step: fresh temporaries the size of
            # an embedding table would be paid for again in page faults at every step
            tmp = self._scratch(p.data, xp)
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
            p.data -= tmp
    # --8<-- [end:adam]


# --8<-- [start:clip]
def clip_grad_norm_(params, max_norm: float) -> float:
    """Rescale all gradients together so their global L2 norm is at most ``max_norm``.

    ‖g‖ = √(Σ_p Σ_i g_pi²); if ‖g‖ > max_norm every gradient is multiplied by
    max_norm / (‖g‖ + 1e-6), which keeps the direction and bounds the step. Returns ‖g‖
    measured before clipping (as ``torch.nn.utils.clip_grad_norm_``).
    """
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
