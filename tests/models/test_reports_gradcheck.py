"""Whole-model finite-difference checks (float64, toy sizes) of the compositions issue 12
trains, each exactly as its report builds it:

* report A: Embedding → LSTM → Dropout(0.7) → Linear(H, 1) → Sigmoid → BCELoss (no hidden
  Linear), and the residual LSTM whose projection W_res maps the embedding (E ≠ H) to H;
* report B: its own LSTM (``cell="lstmcell"``, nn.LSTMCell stepped in Python) in the
  classifier with cross-entropy, and the NLL-on-raw-scores ablation;
* report C's three models are checked in tests/models/test_report_c_models.py.
"""

import numpy as np
import pytest
from helpers import WithLoss

import minidl
from minidl import backend, nn
from minidl.gradcheck import gradcheck
from minidl.models import ImdbClassifier


def batch(rng, V=7):
    lengths = np.array([4, 2, 3])
    ids = rng.integers(1, V, size=(3, 4))
    ids[np.arange(4)[None, :] >= lengths[:, None]] = 0  # padding after each review
    return ids, lengths


def check(model, loss, y, device, to_dev):
    m = WithLoss(model, loss).double().to(device)
    ids, lengths = batch(np.random.default_rng(1))
    r = gradcheck(m, to_dev(ids), to_dev(y), forward_kwargs={"lengths": lengths}, randomize_params=True,
                  check_inputs=[])
    assert r.ok, str(r)
    assert set(r.errors) == {n for n, _ in m.named_parameters()}
    return r


@pytest.mark.parametrize("residual", [False, True], ids=["lstm", "residual-lstm"])
def test_report_a_exact_head(residual, device, to_dev):
    minidl.manual_seed(0)
    model = ImdbClassifier(vocab_size=7, embed_dim=3, hidden_size=4, fc_dim=None, dropout=0.7, num_classes=1,
                           output="sigmoid", residual=residual)
    assert model.fc1 is None and model.fc2.weight.shape == (1, 4)  # Linear(H, 1): no hidden Linear
    r = check(model, nn.BCELoss(), np.array([[1.0], [0.0], [1.0]]), device, to_dev)
    if residual:
        assert "model.rnn.weight_res_l0" in r.errors  # E = 3 ≠ H = 4: the projection W_res is trained
        assert model.rnn.weight_res_l0.shape == (4, 3)


def test_report_b_own_lstm_classifier(device, to_dev):
    minidl.manual_seed(0)
    model = ImdbClassifier(vocab_size=7, embed_dim=3, hidden_size=4, fc_dim=4, dropout=0.5, cell="lstmcell")
    assert isinstance(model.rnn, nn.CellLoopLSTM)
    check(model, nn.CrossEntropyLoss(), np.array([1, 0, 1]), device, to_dev)


def test_report_b_nll_on_raw_scores(device, to_dev):
    minidl.manual_seed(0)
    model = ImdbClassifier(vocab_size=7, embed_dim=3, hidden_size=4, fc_dim=4, dropout=0.5, output="logits")
    check(model, nn.NLLLoss(), np.array([1, 0, 1]), device, to_dev)


def test_own_lstm_classifier_equals_the_fused_one():
    """Same seed, same start weights; then the same outputs and gradients (float64, eval)."""
    models = {}
    for cell in ("lstm", "lstmcell"):
        with backend.default_dtype(np.float64):
            minidl.manual_seed(3)
            models[cell] = ImdbClassifier(vocab_size=9, embed_dim=3, hidden_size=4, fc_dim=4, cell=cell).eval()
    ids, lengths = batch(np.random.default_rng(2), V=9)
    outs = {}
    for cell, m in models.items():
        outs[cell] = m(ids, lengths)
        m.backward(np.ones_like(outs[cell]))
    np.testing.assert_allclose(outs["lstmcell"], outs["lstm"], rtol=1e-12)
    fused = dict(models["lstm"].named_parameters())
    for name, p in models["lstmcell"].named_parameters():
        key = name if not name.startswith("rnn.") else "rnn." + nn.CellLoopLSTM.LSTM_KEYS[name[4:]]
        np.testing.assert_allclose(p.data, fused[key].data, rtol=0, err_msg=name)
        np.testing.assert_allclose(p.grad, fused[key].grad, rtol=1e-11, atol=1e-14, err_msg=name)


def test_own_lstm_is_one_layer_one_direction():
    with pytest.raises(ValueError, match="lstmcell"):
        ImdbClassifier(vocab_size=7, embed_dim=3, hidden_size=4, cell="lstmcell", bidirectional=True)
