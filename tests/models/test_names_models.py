"""Report C's three models (minidl.models.names): whole-model gradient checks with the loss,
batches of padded names equal one name at a time, the char-RNN equals the tutorial's loop,
and ``--model mylstm`` (the cell loop) equals ``--model lstm`` after a training step."""

import numpy as np
import pytest

import minidl
from minidl import Module, backend, nn, optim
from minidl.errors import DTypeError, IndexRangeError, ShapeError
from minidl.gradcheck import gradcheck
from minidl.models import CharRNN, NamesLSTM, NamesRNN, names_model


class WithLoss(Module):
    """model + NLLLoss as one module: forward(ids, y, lengths) -> scalar loss."""

    def __init__(self, model):
        super().__init__()
        self.model, self.loss = model, nn.NLLLoss()

    def forward(self, ids, y, lengths=None):
        return self.loss(self.model(ids, lengths), y)

    def backward(self, upstream=1.0):
        self.model.backward(self.loss.backward(upstream))
        return None


def tiny(kind, L=5, H=3, C=4, seed=0):
    with backend.default_dtype(np.float64):
        minidl.manual_seed(seed)
        if kind == "rnn":
            return NamesRNN(L, H, C)
        return NamesLSTM(L, H, C, cell_loop=kind == "mylstm")


def padded_names(rng, lengths, L=5):
    ids = rng.integers(0, L, size=(len(lengths), max(lengths)))
    ids[np.arange(ids.shape[1])[None, :] >= np.array(lengths)[:, None]] = 0
    return ids, np.array(lengths)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "mylstm"])
def test_whole_model_with_nll_gradcheck(kind, device, to_dev):
    """letters -> recurrence -> head -> LogSoftmax -> NLLLoss, every parameter by finite differences."""
    m = WithLoss(tiny(kind)).to(device)
    rng = np.random.default_rng(4)
    ids, lengths = padded_names(rng, [4, 2, 3])
    y = rng.integers(0, 4, 3)
    r = gradcheck(m, to_dev(ids), to_dev(y), forward_kwargs={"lengths": lengths}, randomize_params=True,
                  check_inputs=[])
    assert r.ok, str(r)
    names = {n for n, _ in m.named_parameters()}
    assert set(r.errors) == names and len(names) == (4 if kind == "rnn" else 6)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "mylstm"])
def test_a_name_in_a_padded_batch_equals_the_name_alone(kind):
    model = tiny(kind)
    rng = np.random.default_rng(7)
    ids, lengths = padded_names(rng, [5, 2, 4])
    dy = rng.standard_normal((3, 4))
    model.zero_grad()
    out = model(ids, lengths)
    model.backward(dy)
    batch_grads = {n: p.grad.copy() for n, p in model.named_parameters()}
    model.zero_grad()
    for b in range(3):
        alone = model(ids[b : b + 1, : lengths[b]])  # no lengths: the name fills the batch
        np.testing.assert_allclose(out[b], alone[0], rtol=1e-12, atol=1e-14)
        model.backward(dy[b : b + 1])
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, batch_grads[n], rtol=1e-10, atol=1e-13, err_msg=n)


def test_names_rnn_is_the_tutorials_loop():
    """One unpadded name: NamesRNN equals CharRNN stepped over the one-hot letters."""
    model = tiny("rnn")
    ids = np.array([[1, 4, 0, 2]])
    letters = np.eye(5)[ids.T]  # (T, 1, 5)
    ref, _ = model.rnn.forward_sequence(letters)
    model.rnn.clear_caches()
    np.testing.assert_allclose(model(ids), ref, rtol=1e-13)
    assert isinstance(model.rnn, CharRNN)


def test_mylstm_equals_lstm_after_a_training_step():
    """Report C's own LSTM (cell loop) and the library LSTM: same seed -> same start weights,
    and one SGD step on the same batch leaves the same weights (float64)."""
    rng = np.random.default_rng(2)
    ids, lengths = padded_names(rng, [5, 3, 1, 4])
    y = rng.integers(0, 4, 4)
    after = {}
    for kind in ("lstm", "mylstm"):
        model = tiny(kind, seed=11)
        opt = optim.SGD(model.parameters(), lr=0.5)
        loss = nn.NLLLoss()
        value = loss(model(ids, lengths), y)
        model.backward(loss.backward())
        opt.step()
        sd = model.state_dict()
        sd = {nn.CellLoopLSTM.LSTM_KEYS.get(k[len("rnn."):], k[len("rnn."):]) if k.startswith("rnn.") else k: v
              for k, v in sd.items()}
        after[kind] = (float(value), sd)
    assert after["lstm"][0] == pytest.approx(after["mylstm"][0], rel=1e-13)
    assert sorted(after["lstm"][1]) == sorted(after["mylstm"][1])
    for k, v in after["lstm"][1].items():
        np.testing.assert_allclose(after["mylstm"][1][k], v, rtol=1e-12, atol=1e-14, err_msg=k)


def test_names_model_sizes_are_report_cs():
    minidl.manual_seed(0)
    rnn = names_model("rnn")
    assert rnn.rnn.i2h.weight.shape == (128, 57 + 128) and rnn.rnn.i2o.weight.shape == (18, 57 + 128)
    lstm = names_model("lstm")
    assert lstm.rnn.weight_ih_l0.shape == (4 * 64, 57) and lstm.out.weight.shape == (18, 64)
    assert isinstance(names_model("mylstm").rnn, nn.CellLoopLSTM)
    with pytest.raises(ValueError, match="kind"):
        names_model("gru")


def test_bad_inputs_are_refused():
    model = tiny("lstm")
    with pytest.raises(IndexRangeError, match=r"\[0, 5\)"):
        model(np.array([[1, 5]]))
    with pytest.raises(DTypeError, match="integer"):
        model(np.array([[1.0, 2.0]]))
    with pytest.raises(ShapeError, match=r"\(B, T\)"):
        model(np.array([1, 2]))
    with pytest.raises(IndexRangeError, match="lengths"):
        tiny("rnn")(np.array([[1, 2]]), np.array([3]))
