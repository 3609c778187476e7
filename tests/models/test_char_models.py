"""Report C's classic char-RNN: one step and BPTT over a name, checked by finite
differences (float64), and against the PyTorch tutorial's module where torch imports."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl import backend
from minidl.models.char_rnn import CharRNN
from minidl.module import Module


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
    model = small_model(device)
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
    log_probs, h = model(x, model.init_hidden())
    assert log_probs.shape == (1, 18) and h.shape == (1, 128)
    np.testing.assert_allclose(np.exp(log_probs).sum(), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(B, 57\)"):
        model(np.zeros((1, 56), np.float32), model.init_hidden())
    with pytest.raises(ValueError, match=r"\(B, H\)"):
        model(x, np.zeros((2, 128), np.float32))
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
