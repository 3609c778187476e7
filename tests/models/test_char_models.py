"""Report C's models. The classic char-RNN: one step and BPTT over a name, checked by
finite differences (float64), and against the PyTorch tutorial's module where torch
imports; its padded-batch forward (the model contract of fit) equals the per-name loop.
The LSTM (fused layer or cell stepped): the same checks, and the two equal each other."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl import backend, nn
from minidl.models import CharLSTM, CharRNN
from minidl.module import Module


class _Step(Module):
    """CharRNN.step/step_backward seen as one forward/backward, for gradcheck."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, h):
        return self.model.step(x, h)

    def backward(self, d_log_probs, d_h):
        return self.model.step_backward(d_log_probs, d_h)


class _Sequence(Module):
    """forward_sequence/backward_sequence seen as one forward/backward, for gradcheck."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, letters, h0):
        return self.model.forward_sequence(letters, h0)

    def backward(self, d_log_probs, d_h):
        return self.model.backward_sequence(d_log_probs, d_h)


def small_model(device, I=5, H=4, O=3):
    with backend.default_dtype(np.float64):
        return CharRNN(I, H, O).to(device)


def test_one_step_gradcheck(device, to_dev):
    model = _Step(small_model(device))
    rng = np.random.default_rng(0)
    report = minidl.gradcheck(model, to_dev(rng.standard_normal((2, 5))), to_dev(rng.standard_normal((2, 4))),
                              randomize_params=True)
    assert report.ok, str(report)


@settings(max_examples=4)
@given(T=st.integers(1, 5), B=st.integers(1, 3))
def test_bptt_over_a_name_gradcheck(T, B, device, to_dev):
    model = _Sequence(small_model(device))
    rng = np.random.default_rng(T * 10 + B)
    letters = np.zeros((T, B, 5))
    letters[np.arange(T)[:, None], np.arange(B)[None, :], rng.integers(0, 5, (T, B))] = 1.0  # one-hot
    report = minidl.gradcheck(model, to_dev(letters), to_dev(rng.standard_normal((B, 4))), randomize_params=True)
    assert report.ok, str(report)


def test_end_to_end_with_nll_loss(device, to_dev):
    """letters -> CharRNN -> NLLLoss: the pieces compose (loss gradient by finite differences)."""
    from minidl.nn import NLLLoss

    class WithLoss(Module):
        def __init__(self):
            super().__init__()
            self.model, self.loss = small_model(device), NLLLoss()

        def forward(self, letters):
            log_probs, _ = self.model.forward_sequence(letters)
            return self.loss(log_probs, to_dev(np.array([2, 0])))

        def backward(self, g):
            d_letters, _ = self.model.backward_sequence(self.loss.backward(g))
            return d_letters

    letters = np.random.default_rng(1).standard_normal((3, 2, 5))
    report = minidl.gradcheck(WithLoss(), to_dev(letters), randomize_params=True)
    assert report.ok, str(report)


def test_shapes_and_errors():
    model = CharRNN()
    assert model.i2h.weight.shape == (128, 57 + 128) and model.i2o.weight.shape == (18, 57 + 128)
    x = np.zeros((1, 57), np.float32)
    log_probs, h = model.step(x, model.init_hidden())
    assert log_probs.shape == (1, 18) and h.shape == (1, 128)
    np.testing.assert_allclose(np.exp(log_probs).sum(), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(B, 57\)"):
        model.step(np.zeros((1, 56), np.float32), model.init_hidden())
    with pytest.raises(ValueError, match=r"\(B, H\)"):
        model.step(x, np.zeros((2, 128), np.float32))
    model.clear_caches()


def test_matches_the_pytorch_tutorial_module():
    torch = pytest.importorskip("torch")

    class TutorialRNN(torch.nn.Module):  # the tutorial's classic module, as report C uses it
        def __init__(self, I, H, O):
            super().__init__()
            self.i2h = torch.nn.Linear(I + H, H)
            self.i2o = torch.nn.Linear(I + H, O)
            self.softmax = torch.nn.LogSoftmax(dim=1)

        def forward(self, x, h):
            combined = torch.cat((x, h), 1)
            return self.softmax(self.i2o(combined)), self.i2h(combined)

    theirs = TutorialRNN(5, 4, 3).double()
    ours = small_model("cpu")
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(2)
    letters = rng.standard_normal((4, 1, 5))
    h = torch.zeros(1, 4, dtype=torch.float64)
    for t in range(4):
        out_t, h = theirs(torch.tensor(letters[t]), h)
    loss = torch.nn.functional.nll_loss(out_t, torch.tensor([1]))
    loss.backward()
    out, _ = ours.forward_sequence(letters)
    d = np.zeros_like(out)
    d[0, 1] = -1.0  # ∂(−log p_1)/∂ log_probs
    ours.backward_sequence(d)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12)
    tp = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tp[n].grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=n)


# ------------------------------------------------------------------ the padded-batch forward (fit's contract)
class _WithLoss(Module):
    """model(x, lengths=...) -> NLLLoss: forward(x, y, lengths) -> scalar, backward -> d x."""

    def __init__(self, model):
        super().__init__()
        self.model, self.loss = model, nn.NLLLoss()

    def forward(self, x, y, lengths=None):
        return self.loss(self.model(x, lengths=lengths), y)

    def backward(self, upstream=1.0):
        return self.model.backward(self.loss.backward(upstream))


MODELS = {
    "char_rnn": lambda: CharRNN(5, 4, 3),
    "char_lstm": lambda: CharLSTM(5, 4, 3),
    "char_lstm_cells": lambda: CharLSTM(5, 4, 3, step_by_step=True),
}


def _names(seed=0, B=3, T=4):
    rng = np.random.default_rng(seed)
    lengths = np.array([4, 1, 3])[:B]
    ids = rng.integers(0, 5, (B, T))
    ids[np.arange(T)[None, :] >= lengths[:, None]] = 0  # padding after each name
    return ids, lengths, rng.integers(0, 3, B)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_padded_batch_gradcheck_ids_and_one_hot(name, device, to_dev):
    ids, lengths, y = _names()
    with backend.default_dtype(np.float64):
        model = _WithLoss(MODELS[name]()).to(device)
    r = minidl.gradcheck(model, to_dev(ids), to_dev(y), forward_kwargs={"lengths": lengths}, randomize_params=True,
                         check_inputs=[], mode="full")
    assert r.ok, str(r)
    one_hot = np.eye(5)[ids]
    r = minidl.gradcheck(model, to_dev(one_hot), to_dev(y), forward_kwargs={"lengths": lengths},
                         randomize_params=True, check_inputs=[0], mode="full")
    assert r.ok, str(r)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_padded_batch_equals_each_name_alone_and_ignores_the_padding(name):
    """Row b of a padded batch is the model run on name b alone; what stands in the padding
    changes no output and no gradient, and padded letters receive no gradient."""
    ids, lengths, _ = _names()
    with backend.default_dtype(np.float64):
        model = MODELS[name]()
    model.train()
    one_hot = np.eye(5)[ids]
    out = model(one_hot, lengths=lengths)
    d_one_hot = model.backward(np.ones_like(out))
    grads = {n: p.grad.copy() for n, p in model.named_parameters()}
    assert np.all(d_one_hot[np.arange(4)[None, :] >= lengths[:, None]] == 0)
    for b in range(len(ids)):
        alone = model(ids[b: b + 1, : lengths[b]])
        model.clear_caches()
        np.testing.assert_allclose(alone[0], out[b], rtol=1e-12, atol=1e-14)
    garbage = ids.copy()
    garbage[1, 1:] = [4, 3, 2]
    model.zero_grad()
    out2 = model(garbage, lengths=lengths)
    model.backward(np.ones_like(out2))
    np.testing.assert_array_equal(out2, out)
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[n], rtol=1e-12, atol=1e-15, err_msg=n)


def test_char_rnn_batch_forward_equals_the_tutorial_loop():
    model = small_model("cpu")
    ids = np.array([[3, 1, 4, 0]])
    letters = np.eye(5)[ids[0]][:, None, :]  # (T, 1, I), the tutorial's lineToTensor
    log_probs, _ = model.forward_sequence(letters)
    model.clear_caches()
    np.testing.assert_allclose(model(ids), log_probs, rtol=1e-12)
    model.clear_caches()


def test_char_lstm_stepped_cell_equals_the_fused_layer():
    """Report C's own LSTM (the cell in a Python loop) and nn.LSTM, same weights: same
    outputs and gradients, in float64, with names of different lengths."""
    ids, lengths, _ = _names(seed=3)
    with backend.default_dtype(np.float64):
        fused, cells = CharLSTM(5, 4, 3), CharLSTM(5, 4, 3, step_by_step=True)
    rename = {f"rnn.{v}": f"rnn.{k}" for k, v in nn.CellLoopLSTM.LSTM_KEYS.items()}  # rnn.weight_ih_l0 -> rnn.cell...
    cells.load_state_dict({rename.get(k, k): v for k, v in fused.state_dict().items()})
    outs = []
    for m in (fused, cells):
        out = m(ids, lengths=lengths)
        m.backward(np.cos(np.arange(out.size)).reshape(out.shape))
        outs.append(out)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-12, atol=1e-14)
    g_cells = dict(cells.named_parameters())
    for n, p in fused.named_parameters():
        np.testing.assert_allclose(g_cells[rename.get(n, n)].grad, p.grad, rtol=1e-10, atol=1e-14, err_msg=n)


def test_contract_errors_name_the_argument():
    model = CharRNN(5, 4, 3)
    with pytest.raises(minidl.errors.ShapeError, match=r"CharRNN: x must be letter ids \(B, T\)"):
        model(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(minidl.errors.IndexRangeError, match=r"letter ids must lie in \[0, 5\)"):
        model(np.array([[0, 5]]))
    with pytest.raises(minidl.errors.RangeError, match=r"lengths must lie in \[1, T\] = \[1, 2\]"):
        CharLSTM(5, 4, 3)(np.array([[0, 1]]), lengths=np.array([3]))
    with pytest.raises(minidl.errors.DTypeError, match="lengths must be integers"):
        CharLSTM(5, 4, 3)(np.array([[0, 1]]), lengths=np.array([2.0]))
    with pytest.raises(minidl.errors.DTypeError, match="one-hot x must have dtype float32"):
        model(np.zeros((1, 2, 5)))
