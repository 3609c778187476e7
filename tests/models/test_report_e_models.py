"""Report E's text models at toy sizes: the whole composition (embedding → deep or residual
LSTM stack → last real state → dropout → Linear → cross-entropy) passes the float64
finite-difference check end to end."""

import numpy as np
import pytest
from helpers import WithLoss

import minidl
from minidl import nn
from minidl.gradcheck import gradcheck
from minidl.models import ImdbClassifier

E_MODELS = {  # report E's four models, as examples/imdb_deep_lstm.py builds them, at toy depth
    "bilstm2": dict(cell="lstm", num_layers=2, bidirectional=True),
    "lstm4": dict(cell="lstm", num_layers=4),
    "reslstm4": dict(cell="lstm_resstack", num_layers=4),
}




@pytest.mark.parametrize("name", sorted(E_MODELS))
def test_report_e_model_end_to_end(device, to_dev, name):
    minidl.manual_seed(0)
    model = ImdbClassifier(vocab_size=7, embed_dim=3, hidden_size=3, fc_dim=None, dropout=0.5, rnn_dropout=0.5,
                           **E_MODELS[name])
    m = WithLoss(model, nn.CrossEntropyLoss()).double().to(device)
    rng = np.random.default_rng(1)
    lengths = np.array([4, 2, 3])
    ids = rng.integers(1, 7, size=(3, 4))
    ids[np.arange(4)[None, :] >= lengths[:, None]] = 0
    y = rng.integers(0, 2, 3)
    mode = "full" if device == "cpu" else "direction"
    r = gradcheck(m, to_dev(ids), to_dev(y), forward_kwargs={"lengths": lengths}, randomize_params=True,
                  check_inputs=[], mode=mode)
    assert r.ok, str(r)
    assert "model.embedding.weight" in r.errors and "model.fc2.weight" in r.errors
