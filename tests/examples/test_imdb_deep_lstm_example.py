"""examples/imdb_deep_lstm.py end to end on a synthetic aclImdb folder: it trains, and it
records one gradient norm per recurrent layer."""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from fake_imdb import make_aclimdb  # noqa: E402
from script_loader import load_script  # noqa: E402


def _load():
    return load_script(("examples", "imdb_deep_lstm.py"), "imdb_deep_lstm")


@pytest.mark.parametrize("model,layers", [("lstm8", 8), ("reslstm8", 8), ("bilstm2", 2)])
def test_quick_run_records_layer_gradient_norms(tmp_path, monkeypatch, model, layers):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data", n_per_class=30)
    out = tmp_path / "out"
    res = _load().main(["--data", data, "--model", model, "--embed-dim", "6", "--hidden-size", "5", "--epochs", "1",
                        "--grad-every", "1", "--batch-size", "16", "--progress", "off", "--out", str(out)])
    assert res["last_epoch"] == 1 and 0.0 <= res["best_acc"] <= 1.0
    rows = json.loads((out / "grad_norms.json").read_text())["rows"]
    assert len(rows) >= 2 and all(len(r["norms"]) == layers for r in rows)
    assert all(n > 0 for n in rows[0]["norms"])  # every layer received a gradient
    assert (out / "grad_norms.png").exists() and (out / "summary.json").exists()


def test_layer_of_parses_both_layouts():
    mod = _load()
    assert mod.layer_of("rnn.weight_hh_l3_reverse") == 3
    assert mod.layer_of("rnn.bias_ih_l0") == 0
    assert mod.layer_of("rnn.layers.5.weight_ih_l0") == 5
    assert mod.layer_of("fc2.weight") is None and mod.layer_of("embedding.weight") is None
