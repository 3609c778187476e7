"""``check_layer``: the proof of a layer in one call (CONTRIBUTING.md, "How to add a layer").

1. the float64 finite-difference check (``minidl.gradcheck``) of every floating input and
   every parameter, on NumPy and on the strict CuPy stand-in (tests/strict_device.py), which
   refuses every silent host/device mix a GPU would refuse;
2. when torch is importable and a twin is given, PyTorch parity: the same weights (loaded
   from the twin's ``state_dict``, which also proves the parameter names are PyTorch's), the
   same inputs and the same random upstream gradient give the same outputs, input gradients
   and parameter gradients.

Usage, in ``tests/nn/``::

    from helpers import check_layer

    def test_tanh():
        check_layer(nn.Tanh, (x,), torch_layer=lambda: torch.nn.Tanh())   # torch may be None

Returns the gradcheck reports by device, for further assertions.
"""

from __future__ import annotations

import numpy as np
import strict_device  # noqa: F401  (registers the "strict" device)

import minidl
from minidl import backend

try:  # a reference for the tests only, never a dependency of the library
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

__all__ = ["check_layer", "randomize_convnet", "torch"]


def _float64(a):
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def randomize_convnet(model, seed=0):
    """Parameters for a finite-difference check of a convolution/BatchNorm/ReLU network that
    cannot pass vacuously. ``gradcheck(randomize_params=True)`` draws BN's scale and shift
    from U(-0.5, 0.5): a channel with a small scale and a negative shift is negative at every
    pixel, the ReLU after it is 0 everywhere, and everything before it gets a zero gradient
    on both sides (the check could not fail there: gradcheck reports it as not exercised).
    Here BN scales come from U(0.5, 1.5) and shifts from U(-0.2, 0.2): a normalised channel
    has zero mean, so every ReLU then passes some pixels and blocks others. Convolution and
    linear weights: U(-0.5, 0.5)."""
    from minidl.nn import BatchNorm2d  # noqa: PLC0415 (the helper is for conv nets only)

    rng = np.random.default_rng(seed)
    bn = {id(p) for m in model.modules() if isinstance(m, BatchNorm2d) for p in m.parameters()}
    for name, p in model.named_parameters():
        low, high = (-0.5, 0.5)
        if id(p) in bn:
            low, high = (0.5, 1.5) if name.endswith("weight") else (-0.2, 0.2)
        p.data[...] = backend.to_device(rng.uniform(low, high, size=p.data.shape), backend.device_of(p.data))
    return model


def check_layer(make_layer, inputs, *, forward_kwargs=None, check_inputs=None, randomize_params=True,
                mode="full", strict_mode=None, devices=("cpu", "strict"), torch_layer=None, torch_kwargs=None,
                train=True, rtol=1e-10, atol=1e-12, allow_zero=()):
    """Finite differences on every device, then PyTorch parity.

    Args:
        make_layer: ``() -> Module``, a fresh minidl layer (cast to float64 here).
        inputs: tuple of host arrays; floating ones are cast to float64 and checked,
            integer ones (ids, labels) pass through.
        forward_kwargs: keyword arguments of our forward (``lengths=...``).
        check_inputs, randomize_params, mode, allow_zero: as in :func:`minidl.gradcheck`;
            ``strict_mode`` is the mode on the strict stand-in (default ``mode``).
        torch_layer: ``() -> torch.nn.Module``, the twin, or None for no parity check;
            ``torch_kwargs`` its forward's keyword arguments.
        train: the mode both layers run in for the parity check (dropout: ``False``).
        rtol, atol: the parity tolerance (both run in float64).
    """
    inputs = tuple(_float64(a) for a in inputs)
    reports = {}
    for device in devices:
        layer = make_layer().double().to(device)
        dev_inputs = tuple(backend.to_device(a, device) for a in inputs)
        report = minidl.gradcheck(layer, *dev_inputs, forward_kwargs=forward_kwargs, check_inputs=check_inputs,
                                  randomize_params=randomize_params, allow_zero=allow_zero,
                                  mode=mode if device == "cpu" else (strict_mode or mode))
        assert report.ok, f"{type(layer).__name__} on {device}:\n{report}"
        expected = {n for n, _ in layer.named_parameters()}
        assert expected <= set(report.errors), f"parameters not checked: {expected - set(report.errors)}"
        reports[device] = report
    if torch is not None and torch_layer is not None:
        _torch_parity(make_layer, torch_layer, inputs, forward_kwargs or {}, torch_kwargs or {}, check_inputs, train,
                      rtol, atol)
    return reports


def _torch_parity(make_layer, torch_layer, inputs, forward_kwargs, torch_kwargs, check_inputs, train, rtol, atol):
    twin = torch_layer().double().train(train)
    ours = make_layer().double().train(train)
    twin_state = {k: v.detach().numpy() for k, v in twin.state_dict().items()}
    ours.load_state_dict(twin_state, strict=False)
    names = {n for n, _ in ours.named_parameters()}
    assert names <= set(twin_state), f"parameter names differ from PyTorch's: {sorted(names - set(twin_state))}"

    floating = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
    checked = [i for k, i in enumerate(floating) if check_inputs is None or k in check_inputs]
    t_inputs = [torch.tensor(a, requires_grad=i in checked) for i, a in enumerate(inputs)]
    t_out = twin(*t_inputs, **torch_kwargs)
    t_out = list(t_out) if isinstance(t_out, (tuple, list)) else [t_out]
    rng = np.random.default_rng(7)
    upstream = [rng.standard_normal(tuple(o.shape)) for o in t_out]
    torch.autograd.backward(t_out, [torch.tensor(g) for g in upstream])

    ours.zero_grad()
    out = ours(*inputs, **forward_kwargs)
    out = list(out) if isinstance(out, (tuple, list)) else [out]
    assert len(out) == len(t_out), f"{len(out)} outputs, PyTorch's twin gives {len(t_out)}"
    for i, (o, t) in enumerate(zip(out, t_out)):
        np.testing.assert_allclose(o, t.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"output {i}")
    grads = ours.backward(*upstream)
    grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
    for k, (g, i) in enumerate(zip(grads, floating)):
        if i in checked:
            np.testing.assert_allclose(g, t_inputs[i].grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {k}")
    t_params = dict(twin.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, t_params[name].grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


class WithLoss(minidl.Module):
    """A model and its loss as one module, for whole-model gradient checks:
    ``forward(ids, y, lengths=None)`` -> the scalar loss; ``backward(upstream=1.0)`` runs the
    loss's backward, then the model's (the model follows fit's contract)."""

    def __init__(self, model, loss):
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, ids, y, lengths=None):
        return self.loss(self.model(ids, lengths=lengths), y)

    def backward(self, upstream=1.0):
        self.model.backward(self.loss.backward(upstream))
        return None
