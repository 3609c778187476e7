"""examples/first_model.py, the short script a student copies, end to end on a tiny made-up
names folder (no network): it trains, prints a line per epoch, and its training loss falls."""

import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# four made-up "languages", each with a spelling pattern an LSTM can find
PATTERNS = {"Alpha": ("", "ov"), "Beta": ("Mc", ""), "Gamma": ("", "ez"), "Delta": ("O'", "")}


def write_pattern_names(folder, per_language=24, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for lang, (pre, post) in PATTERNS.items():
        rows = [pre + "".join(rng.choice(list("abdeiklmnorstu"), int(rng.integers(2, 6)))).capitalize() + post
                for _ in range(per_language)]
        (folder / f"{lang}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_first_model_trains_on_a_tiny_names_folder(tmp_path):
    write_pattern_names(tmp_path / "data" / "names")
    env = dict(os.environ, MINIDL_DATA=str(tmp_path / "data"), MINIDL_CACHE=str(tmp_path / "cache"),
               MINIDL_FIRST_LIMIT="60", OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT)
    run = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "first_model.py")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("60 training names"), run.stdout
    losses = [float(v) for v in re.findall(r"train loss ([0-9.]+)", run.stdout)]
    accuracies = re.findall(r"test accuracy[a-z :]*([0-9.]+)%", run.stdout)
    assert len(losses) == 5 and len(accuracies) == 6, run.stdout
    assert losses[-1] < losses[0], run.stdout
