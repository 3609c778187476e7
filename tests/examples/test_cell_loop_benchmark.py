"""benchmarks/cell_loop_lstm.py --quick runs and writes its numbers (a smoke test, not a timing)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_cell_loop_benchmark_quick(tmp_path):
    out = tmp_path / "t.json"
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "cell_loop_lstm.py"), "--quick", "--json",
                    str(out)], check=True, env=env, capture_output=True, timeout=300)
    res = json.loads(out.read_text())
    assert set(res["cases"]) == {"C-names", "B-imdb"}
    for case in res["cases"].values():
        assert case["fused_ms"] > 0 and case["cell_loop_ms"] > 0 and case["steps"] >= 2
