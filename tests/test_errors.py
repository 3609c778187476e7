"""Every bad input, one row each: the call, the minidl.errors class it must raise, and a
regex the message must match (it names the call and the argument, and says what was
expected and what was given).

One section per area (layers, recurrent, conv, losses, optimizers, loaders, checkpoints,
training); add a layer's rows to its area's list. A row is
``Case(who, what, call, error, match)``: ``who`` the public name it covers ("nn.Linear",
"optim.Adam", "minidl.load", ...), ``what`` a few words for the test id, ``call`` a
zero-argument function that must raise. The table's own tests are at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import minidl
from minidl import nn, optim
from minidl.data import pad_sequences
from minidl.errors import (
    CheckpointError,
    DTypeError,
    IndexRangeError,
    MinidlError,
    RangeError,
    ShapeError,
)


@dataclass(frozen=True)
class Case:
    who: str
    what: str
    call: Callable[[], object]
    error: type
    match: str

    @property
    def id(self) -> str:
        return f"{self.who}: {self.what}"


def f64(*shape):
    return np.ones(shape)


def f32(*shape):
    return np.ones(shape, np.float32)


def backward_after(layer, x, dy):
    """Call ``layer.backward(dy)`` after a forward of ``x`` (the upstream-gradient rows)."""

    def call():
        layer(x)
        return layer.backward(dy)

    return call


def _sgd_with_state(**kw):
    p = minidl.Parameter(np.zeros(3))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad[:] = 1.0
    opt.step()
    sd = opt.state_dict()
    sd.update(kw)
    return sd


def _adam_state():
    p = minidl.Parameter(np.zeros(3))
    opt = optim.Adam([p], lr=0.1)
    p.grad[:] = 1.0
    opt.step()
    return opt.state_dict()


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


def _sgd_loads(sd):
    return lambda: optim.SGD([minidl.Parameter(np.zeros(3))], lr=0.5, momentum=0.9).load_state_dict(sd)


# ===================================================================== layers
ELEMENTWISE = [("ReLU", nn.ReLU), ("Tanh", nn.Tanh), ("Sigmoid", nn.Sigmoid), ("Softmax", nn.Softmax),
               ("LogSoftmax", nn.LogSoftmax), ("Dropout", nn.Dropout), ("Flatten", nn.Flatten)]

LAYERS = [
    Case("nn.Linear", "input of the wrong width", lambda: nn.Linear(3, 2)(f32(2, 4)), ShapeError,
         r"Linear: input must have shape \(\.\.\., 3\), got \(2, 4\)"),
    *[Case(f"nn.{name}", "a list instead of an array", lambda cls=cls: cls()([[1.0, 2.0]]), DTypeError,
           rf"{name}: input must be an array .*got list") for name, cls in ELEMENTWISE],
    *[Case(f"nn.{name}", "an upstream gradient of the wrong shape",
           backward_after(cls(), f64(2, 3), f64(3, 2)), ShapeError,
           rf"{name}\.backward: dy must have the output's shape \(2, 3\), got \(3, 2\)")
      for name, cls in ELEMENTWISE if name != "Flatten"],
    *[Case(f"nn.{name}", "an integer upstream gradient", backward_after(cls(), f64(2, 3), np.ones((2, 3), int)),
           DTypeError, rf"{name}\.backward: dy must be a floating array, got dtype int64")
      for name, cls in ELEMENTWISE],
    Case("nn.ReLU", "a boolean input (PyTorch refuses it too)", lambda: nn.ReLU()(np.ones(3, bool)), DTypeError,
         r"ReLU: input must be a floating, integer, unsigned array, got dtype bool"),
    Case("nn.Tanh", "a complex input", lambda: nn.Tanh()(np.ones(3, complex)), DTypeError,
         r"Tanh: input must be .*got dtype complex128"),
    Case("nn.Sigmoid", "a string array", lambda: nn.Sigmoid()(np.array(["a"])), DTypeError,
         r"Sigmoid: input must be .*got dtype <U1"),
    Case("nn.Softmax", "an integer input (PyTorch refuses it too)", lambda: nn.Softmax(-1)(np.ones((2, 3), int)),
         DTypeError, r"Softmax: input must be a floating array, got dtype int64"),
    Case("nn.Softmax", "dim outside the input's dims", lambda: nn.Softmax(dim=2)(f64(2, 3)), ShapeError,
         r"Softmax: dim must lie in \[-2, 2\) for an input with 2 dims, got 2"),
    Case("nn.LogSoftmax", "dim not an integer", lambda: nn.LogSoftmax(dim="1")(f64(2, 3)), DTypeError,
         r"LogSoftmax: dim must be an integer, got str"),
    Case("nn.Dropout", "p above 1", lambda: nn.Dropout(1.5), RangeError,
         r"Dropout: p \(the dropout probability\) must be a finite number in \[0.0, 1.0\], got 1.5"),
    Case("nn.Dropout", "p NaN", lambda: nn.Dropout(float("nan")), RangeError, r"Dropout: p .*got nan"),
    Case("nn.Dropout", "p a string", lambda: nn.Dropout("0.5"), DTypeError, r"Dropout: p .*must be a real number"),
    Case("nn.Dropout", "an integer input in training (PyTorch refuses it too)",
         lambda: nn.Dropout(0.5)(np.ones((2, 3), int)), DTypeError,
         r"Dropout: input must be a floating array in training mode, got dtype int64"),
    Case("nn.Embedding", "a list of ids", lambda: nn.Embedding(10, 4)([1, 2]), DTypeError,
         r"Embedding: ids must be an array .*got list"),
    Case("nn.Embedding", "floating ids", lambda: nn.Embedding(10, 4)(np.array([1.0])), DTypeError,
         r"Embedding: ids must be an integer array \(token ids\), got dtype float64"),
    Case("nn.Embedding", "a negative id", lambda: nn.Embedding(10, 4)(np.array([[1, -1, 2]])), IndexRangeError,
         r"Embedding: ids must lie in \[0, 10\) .*got token id -1"),
    Case("nn.Embedding", "an id past the vocabulary", lambda: nn.Embedding(10, 4)(np.array([10])), IndexRangeError,
         r"Embedding: ids must lie in \[0, 10\) .*got token id 10"),
    Case("nn.Embedding", "an upstream gradient of the wrong shape",
         backward_after(nn.Embedding(10, 4), np.array([[1, 2, 3]]), f32(1, 3, 5)), ShapeError,
         r"Embedding\.backward: dy must have the output's shape \(1, 3, 4\), got \(1, 3, 5\)"),
    Case("nn.Embedding", "an empty table", lambda: nn.Embedding(0, 4), RangeError,
         r"Embedding: num_embeddings must be a finite number in \[1, inf\), got 0"),
    Case("nn.Embedding", "padding_idx outside the table", lambda: nn.Embedding(5, 4, padding_idx=5), RangeError,
         r"Embedding: padding_idx must be a finite number in \[-5, 4\], got 5"),
    Case("nn.Flatten", "start_dim outside the input's dims", lambda: nn.Flatten(start_dim=3)(f64(2, 3)), ShapeError,
         r"Flatten: start_dim must lie in \[-2, 2\) for an input with 2 dims, got 3"),
    Case("nn.Flatten", "start_dim after end_dim", lambda: nn.Flatten(2, 1)(f64(2, 3, 4)), ShapeError,
         r"Flatten: start_dim must not come after end_dim, got start_dim=2, end_dim=1"),
    Case("nn.Flatten", "an upstream gradient of the wrong shape",
         backward_after(nn.Flatten(), f64(2, 3, 2), f64(2, 3, 2)), ShapeError,
         r"Flatten\.backward: dy must have the output's shape \(2, 6\), got \(2, 3, 2\)"),
    Case("nn.Sequential", "a layer that is not a Module", lambda: nn.Sequential(nn.ReLU(), 3), DTypeError,
         r"Sequential: layers must be Modules, got int at position 1"),
]

# ===================================================================== recurrent
# (RNN, LSTM, GRU and their cells: rows added with the recurrent layers' checks)
RECURRENT: list[Case] = []

# ===================================================================== conv
# (Conv2d, pooling, BatchNorm, BasicBlock; more rows in tests/nn/test_conv_errors.py until they move here)
CONV = [
    Case("nn.AdaptiveAvgPool2d", "an image with no pixel (the mean would be 0/0)",
         lambda: nn.AdaptiveAvgPool2d(1)(f32(1, 2, 1, 0)), ShapeError,
         r"AdaptiveAvgPool2d: input must have H, W >= 1, got \(1, 2, 1, 0\)"),
]

# ===================================================================== losses
CLASS_LOSSES = [("CrossEntropyLoss", nn.CrossEntropyLoss), ("NLLLoss", nn.NLLLoss)]
BINARY_LOSSES = [("BCELoss", nn.BCELoss), ("BCEWithLogitsLoss", nn.BCEWithLogitsLoss)]
ALL_LOSSES = CLASS_LOSSES + BINARY_LOSSES


def _loss_backward(cls, upstream):
    def call():
        crit = cls()
        if cls in (nn.CrossEntropyLoss, nn.NLLLoss):
            crit(np.zeros((2, 3)), np.array([0, 1]))
        else:
            crit(np.full((2, 1), 0.5), np.ones((2, 1)))
        return crit.backward(upstream)

    return call


LOSSES = [
    *[Case(f"nn.{name}", "an unknown reduction", lambda cls=cls: cls(reduction="none"), RangeError,
           rf"{name}: reduction must be one of \('mean', 'sum'\), got 'none'") for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "a list as input", lambda cls=cls: cls()([[0.5]], np.ones((1, 1))), DTypeError,
           rf"{name}: input must be an array .*got list") for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "an integer input", lambda cls=cls: cls()(np.ones((2, 3), int), np.array([0, 1])),
           DTypeError, rf"{name}: input must be a floating array, got dtype int64") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "mean over an empty batch", lambda cls=cls: cls()(np.zeros((0, 3)), np.zeros(0, int)),
           ShapeError, rf"{name}: input must have at least one element to average \(reduction='mean'\), "
           r"got shape \(0, 3\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "input not (N, C)", lambda cls=cls: cls()(f64(3), np.array([0, 1, 2])), ShapeError,
           rf"{name}: input must have shape \(N, C\) with C ≥ 1 classes, got \(3,\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "floating class targets", lambda cls=cls: cls()(f64(2, 3), np.array([0.0, 1.0])),
           DTypeError, rf"{name}: target must be integer class indices, got dtype float64")
      for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "targets of the wrong shape", lambda cls=cls: cls()(f64(2, 3), np.array([[0, 1]])),
           ShapeError, rf"{name}: target must have shape \(2,\), got \(1, 2\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", f"class target {bad}", lambda cls=cls, bad=bad: cls()(f64(2, 3), np.array([0, bad])),
           IndexRangeError, rf"{name}: target must hold class indices in \[0, 3\), got class target {bad}")
      for name, cls in CLASS_LOSSES for bad in (-1, 3)],
    Case("nn.BCELoss", "a probability above 1", lambda: nn.BCELoss()(np.array([1.5, 0.5]), np.array([1.0, 0.0])),
         RangeError,
         r"BCELoss: input \(probabilities; use BCEWithLogitsLoss on logits\) must lie in \[0, 1\], got 1.5"),
    Case("nn.BCELoss", "a NaN input (it passes a range test)",
         lambda: nn.BCELoss()(np.array([np.nan, 0.5]), np.array([1.0, 0.0])), RangeError,
         r"BCELoss: input .*must lie in \[0, 1\], got nan"),
    *[Case(f"nn.{name}", "a NaN target", lambda cls=cls: cls()(np.array([0.5, 0.5]), np.array([np.nan, 0.0])),
           RangeError, rf"{name}: target must lie in \[0, 1\], got nan") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a target above 1", lambda cls=cls: cls()(np.array([0.5]), np.array([2.0])),
           RangeError, rf"{name}: target must lie in \[0, 1\], got 2.0") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a target of another shape", lambda cls=cls: cls()(f64(2, 1), f64(2)), ShapeError,
           rf"{name}: target must have shape \(2, 1\), got \(2,\)") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a string target", lambda cls=cls: cls()(f64(1), np.array(["1"])), DTypeError,
           rf"{name}: target must be a real array, got dtype <U1") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a non-scalar upstream gradient", _loss_backward(cls, f64(2)), ShapeError,
           rf"{name}\.backward: upstream must be a scalar \(the loss is 0-d\), got shape \(2,\)")
      for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "a NaN upstream gradient", _loss_backward(cls, float("nan")), RangeError,
           rf"{name}\.backward: upstream must be a finite number .*got nan") for name, cls in ALL_LOSSES],
]

# ===================================================================== optimizers
OPTIMIZERS = [
    Case("optim.SGD", "no parameters", lambda: optim.SGD([], lr=0.1), RangeError,
         r"SGD: params must hold at least one Parameter, got an empty list"),
    Case("optim.SGD", "one Parameter, not a list", lambda: optim.SGD(minidl.Parameter(f64(2)), lr=0.1), DTypeError,
         r"SGD: params must be an iterable of Parameters"),
    Case("optim.Adam", "arrays instead of Parameters", lambda: optim.Adam([f64(2)]), DTypeError,
         r"Adam: params must hold Parameters, got ndarray at position 0"),
    Case("optim.Adam", "lr NaN", lambda: optim.Adam([minidl.Parameter(f64(2))], lr=float("nan")), RangeError,
         r"Adam: lr must be a finite number in \[0.0, inf\), got nan"),
    Case("optim.SGD", "a negative lr", lambda: optim.SGD([minidl.Parameter(f64(2))], lr=-0.1), RangeError,
         r"SGD: lr must be a finite number in \[0.0, inf\), got -0.1"),
    Case("optim.SGD", "lr a string", lambda: optim.SGD([minidl.Parameter(f64(2))], lr="0.1"), DTypeError,
         r"SGD: lr must be a real number, got str"),
    Case("optim.SGD", "a negative momentum", lambda: optim.SGD([minidl.Parameter(f64(2))], 0.1, momentum=-0.5),
         RangeError, r"SGD: momentum must be a finite number in \[0.0, inf\), got -0.5"),
    Case("optim.SGD", "Nesterov without momentum", lambda: optim.SGD([minidl.Parameter(f64(2))], 0.1, nesterov=True),
         RangeError, r"SGD: nesterov=True needs momentum > 0"),
    Case("optim.Adam", "beta1 = 1", lambda: optim.Adam([minidl.Parameter(f64(2))], betas=(1.0, 0.999)), RangeError,
         r"Adam: betas\[0\] must be a finite number in \[0.0, 1.0\), got 1.0"),
    Case("optim.Adam", "betas not a pair", lambda: optim.Adam([minidl.Parameter(f64(2))], betas=0.9), RangeError,
         r"Adam: betas must be a pair \(beta1, beta2\), got 0.9"),
    Case("optim.Adam", "a negative eps", lambda: optim.Adam([minidl.Parameter(f64(2))], eps=-1e-8), RangeError,
         r"Adam: eps must be a finite number in \[0.0, inf\), got -1e-08"),
    Case("optim.Adam", "an infinite weight decay",
         lambda: optim.Adam([minidl.Parameter(f64(2))], weight_decay=float("inf")), RangeError,
         r"Adam: weight_decay must be a finite number in \[0.0, inf\), got inf"),
    Case("optim.clip_grad_norm_", "max_norm NaN", lambda: optim.clip_grad_norm_([minidl.Parameter(f64(2))], np.nan),
         RangeError, r"clip_grad_norm_: max_norm must be a finite number in \[0.0, inf\), got nan"),
    Case("optim.SGD.load_state_dict", "Adam's state (lr would change silently)", lambda: _sgd_loads(_adam_state())(),
         CheckpointError, r"SGD\.load_state_dict: the state must come from SGD, got the state of Adam"),
    Case("optim.SGD.load_state_dict", "no lr", lambda: _sgd_loads(_without(_sgd_with_state(), "lr"))(),
         CheckpointError, r"SGD\.load_state_dict: the state has no 'lr' entry"),
    Case("optim.SGD.load_state_dict", "lr NaN", lambda: _sgd_loads(_sgd_with_state(lr=float("nan")))(),
         CheckpointError, r"SGD\.load_state_dict: lr must be a finite number .*got nan"),
    Case("optim.SGD.load_state_dict", "a state of the wrong shape",
         lambda: _sgd_loads(_sgd_with_state(**{"state.0.momentum_buffer": f64(4)}))(), CheckpointError,
         r"'state\.0\.momentum_buffer' must have the parameter's shape \(3,\), got \(4,\)"),
    Case("optim.SGD.load_state_dict", "a complex state",
         lambda: _sgd_loads(_sgd_with_state(**{"state.0.momentum_buffer": np.ones(3, complex)}))(), CheckpointError,
         r"SGD\.load_state_dict: 'state\.0\.momentum_buffer' must be a floating array \(the parameter is float64\), "
         r"got dtype complex128"),
    Case("optim.SGD.load_state_dict", "a state for a parameter it does not have",
         lambda: _sgd_loads(_sgd_with_state(**{"state.5.momentum_buffer": f64(3)}))(), CheckpointError,
         r"'state\.5\.momentum_buffer' is the state of parameter 5, but this optimizer has 1 parameters"),
]

# ===================================================================== loaders
# (data.imdb, data.names, data.cifar10, batching; more rows in tests/data/test_data_errors.py until they move here)
LOADERS = [
    Case("data.pad_sequences", "a fractional max_len (was silently cut to 2)",
         lambda: pad_sequences([[1, 2, 3]], 2.5), RangeError,
         r"pad_sequences: max_len must be >= 1 \(an integer\), got 2.5"),
]

# ===================================================================== checkpoints
CHECKPOINTS = [
    Case("Module.load_state_dict", "a complex array", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": np.ones((2, 3), complex), "bias": f64(2)}), CheckpointError,
        r"load_state_dict: 'weight' must be a floating array \(the parameter is float32\), got dtype complex128"),
    Case("Module.load_state_dict", "an integer array for a float parameter", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": np.ones((2, 3), int), "bias": f64(2)}), CheckpointError,
        r"'weight' must be a floating array .*got dtype int64"),
    Case("Module.load_state_dict", "a list", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": [[1.0] * 3] * 2, "bias": f64(2)}), CheckpointError, r"'weight' must be an array, got list"),
    Case("Module.load_state_dict", "a transposed weight", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": f64(3, 2), "bias": f64(2)}), CheckpointError,
        r"load_state_dict: 'weight' expected shape \(2, 3\), got \(3, 2\)"),
]

# ===================================================================== training
# (train.fit, resume, divergence: rows added with the training checks)
TRAINING: list[Case] = []


ALL = LAYERS + RECURRENT + CONV + LOSSES + OPTIMIZERS + LOADERS + CHECKPOINTS + TRAINING


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_bad_input_raises_a_named_error(case):
    assert issubclass(case.error, MinidlError), f"{case.error.__name__} is not one of minidl.errors"
    with pytest.raises(case.error, match=case.match):
        case.call()


def test_rows_are_distinct():
    ids = [c.id for c in ALL]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
