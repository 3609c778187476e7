"""The results page and the README's results section are generated from the run records
under results/ (tools/results.py): they must match what the records render now, every
record must say where it came from, and the rendered numbers must be the records'."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("results_tool", ROOT / "tools" / "results.py")
R = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = R  # dataclasses look their module up while the file runs
spec.loader.exec_module(R)


@pytest.fixture(scope="module")
def records():
    return R.load_records()


def test_page_and_readme_are_what_the_records_render(records):
    """Fails when a number on the page (or in the README) disagrees with its record, i.e. when
    someone edits a number by hand or a record changes without `tools/results.py render`."""
    assert R.stale(records) == [], "run: python tools/results.py render"


def test_a_hand_edited_number_is_caught(records, tmp_path):
    page = tmp_path / "results.md"
    readme = tmp_path / "README.md"
    text = R.PAGE.read_text(encoding="utf-8")
    first = re.search(r"\d+\.\d\d%", text)
    assert first, "the page shows no percentage at all"
    edited = text[: first.start()] + "99.99%" + text[first.end():]
    page.write_text(edited, encoding="utf-8")
    readme.write_text(R.README.read_text(encoding="utf-8"), encoding="utf-8")
    assert R.stale(records, page, readme) == ["results.md"]


def test_every_record_says_where_it_came_from(records):
    assert records, "no records under results/"
    for name, rec in records.items():
        m = rec.meta
        assert m["name"] == name and m["command"] and m["start"] and m["threads"], name
        assert m["source"] in ("queue", "transcribed") and m["library"], name
        if m["source"] == "queue":
            for key in ("commit", "wall_seconds", "seed", "host", "cpu", "cores", "summary"):
                assert m.get(key) is not None, (name, key)
            assert m["load"]["mean"] is not None and rec.history, name
            assert all("epoch" in row for row in rec.history), name
        else:
            assert "transcribed from" in m["source_note"], name
            assert m.get("transcribed") or m.get("rows"), name


def test_the_figures_the_pages_show_exist():
    for path, base in ((R.PAGE, R.PAGE.parent), (R.README, R.ROOT)):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", path.read_text(encoding="utf-8")):
            assert (base / target).is_file(), f"{path.name} shows {target}, which does not exist"


# ---------------------------------------------------------------------- the rendering itself
def history(accs, per_class=False):
    rows = []
    for i, a in enumerate(accs, 1):
        row = {"epoch": i, "train_loss": 1.0 / i, "train_acc": a - 0.01, "test_loss": 0.5 + i / 100, "test_acc": a,
               "train_seconds": 10.0 + i, "seconds": 12.0 + i}
        if per_class:
            row.update(test_acc_neg=a + 0.02, test_acc_pos=a - 0.02)
        rows.append(row)
    return rows


def fake_run(root, name, accs, torch=False, seed=0):
    d = root / name
    (d / "out").mkdir(parents=True)
    cmd = ("python benchmarks/imdb_torch.py" if torch else "python examples/imdb_lstm.py") + f" --seed {seed}"
    meta = {"name": name, "command": cmd, "commit": "abc123", "dirty": False, "start": "2026-11-28T05:00:00Z",
            "end": "2026-11-28T05:10:00Z", "wall_seconds": 600.0, "host": "vm", "cpu": "AMD EPYC", "cores": 2,
            "python": "3.11.7", "env": {"OPENBLAS_NUM_THREADS": "1"}, "loadavg_start": [1, 1, 1],
            "loadavg_end": [2, 2, 2], "load1_mean": 3.5, "load1_max": 6.0, "returncode": 0}
    rows = history(accs, per_class=torch)
    best = max(rows, key=lambda r: r["test_acc"])
    summary = {"best_acc": best["test_acc"], "best_epoch": best["epoch"], "last_acc": rows[-1]["test_acc"],
               "last_epoch": rows[-1]["epoch"], "per_class_best": [0.9, 0.8], "per_class_last": [0.7, 0.6],
               "args": {"seed": seed}}
    if torch:
        summary["threads"] = 1
    (d / "meta.json").write_text(json.dumps(meta))
    (d / "out" / "history.json").write_text(json.dumps({"rows": rows} if torch else rows))
    (d / "out" / "summary.json").write_text(json.dumps(summary))
    return d


ACCS = [0.70, 0.80, 0.86, 0.85, 0.87, 0.84, 0.83, 0.82, 0.81, 0.845, 0.90, 0.88, 0.80, 0.79, 0.83]


def test_import_makes_a_complete_record(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    R.import_run(fake_run(runs, "D-lstm-s0", ACCS), root=res)
    R.import_run(fake_run(runs, "torch-D-lstm-s0", ACCS, torch=True), root=res)
    recs = R.load_records(res)
    m, t = recs["D-lstm-s0"].meta, recs["torch-D-lstm-s0"].meta
    assert m["library"] == "minidl" and t["library"] == "pytorch" and m["source"] == "queue"
    assert m["threads"] == "1" and t["threads"] == "1" and m["seed"] == 0 and m["commit"] == "abc123"
    assert m["load"] == {"start": [1, 1, 1], "end": [2, 2, 2], "mean": 3.5, "max": 6.0}
    assert len(recs["torch-D-lstm-s0"].history) == 15  # {"rows": [...]} unwrapped

    unfinished = runs / "unfinished"
    (unfinished / "out").mkdir(parents=True)
    with pytest.raises(SystemExit, match="not finished"):
        R.import_run(unfinished, root=res)
    failed = fake_run(runs, "failed", ACCS)
    meta = json.loads((failed / "meta.json").read_text())
    (failed / "meta.json").write_text(json.dumps(dict(meta, returncode=1)))
    with pytest.raises(SystemExit, match="failed"):
        R.import_run(failed, root=res)


def test_tables_show_the_records_numbers(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    R.import_run(fake_run(runs, "D-lstm-s0", ACCS), root=res)
    R.import_run(fake_run(runs, "torch-D-lstm-s0", [a - 0.01 for a in ACCS], torch=True), root=res)
    recs = R.load_records(res)

    b = R.imdb_table(recs, ["B-lstm"])  # report B reads the first 10 epochs of report D's run
    row = next(line for line in b.splitlines() if "`D-lstm-s0`" in line)
    best10 = max(range(10), key=lambda i: ACCS[i])
    assert f"{100 * ACCS[9]:.2f}% (10)" in row  # last of the 10 epochs
    assert f"{100 * ACCS[best10]:.2f}% ({best10 + 1})" in row  # best of the 10, not of the 15 (epoch 11)
    assert f"{100 * (ACCS[9] - 0.01):.2f}% (10)" in row

    d = R.d_table(recs)  # report D: the whole 15 epochs, per class
    minidl_last = next(line for line in d.splitlines() if "minidl, last epoch" in line and "D-lstm" in line)
    assert "70.00%" in minidl_last and "60.00%" in minidl_last and f"{100 * ACCS[-1]:.2f}%" in minidl_last
    twin_best = next(line for line in d.splitlines() if "PyTorch, best epoch" in line)
    assert f"{100 * (0.90 - 0.01 + 0.02):.2f}%" in twin_best and "| 11 |" in twin_best

    text = R.fill("{{value:D-lstm-s0:best.test_acc@10:pct}} at {{value:D-lstm-s0:best.epoch@10:int}}; "
                  "{{value:D-lstm-s0:last.test_acc:pct}}; {{value:missing:x:pct}}", recs, "", False)
    assert text == f"{100 * ACCS[best10]:.2f}% at {best10 + 1}; {100 * ACCS[-1]:.2f}%; (not yet recorded)"

    # a number below the report's is said so, with the best epoch and the twin's beside it
    short = R.shortfalls(recs, "B")
    assert f"- LSTM, seed 0: {100 * ACCS[9]:.2f}% at the last epoch (10) against the report's 86.00%" in short
    assert f"the PyTorch twin: {100 * (ACCS[9] - 0.01):.2f}%" in short
    assert R.shortfalls(recs, "A") == "*No minidl run of report A is recorded yet.*"

    # a changed history changes what is rendered
    before = R.imdb_table(recs, ["B-lstm"])
    recs["D-lstm-s0"].history[9]["test_acc"] = 0.5
    assert R.imdb_table(recs, ["B-lstm"]) != before and "50.00% (10)" in R.imdb_table(recs, ["B-lstm"])


def test_names_tables_show_the_summaries(tmp_path):
    res = tmp_path / "results"
    for name, lib in (("C-lstm-tutorial-s0", "minidl"), ("torch-C-lstm-tutorial-s0", "pytorch")):
        last = {"acc": 0.7391, "balanced_acc": 0.8082, "sampled_acc": 0.8025, "n": 20074}
        R.write_json(res / name / "record.json", {"name": name, "library": lib, "source": "queue",
                                                  "summary": {"last": last}})
        R.write_json(res / name / "history.json", [{"epoch": 1, "step": 1000, "train_loss": 2.0, "train_acc": 0.3}])
    table = R.c_tutorial_table(R.load_records(res))
    row = next(line for line in table.splitlines() if "`C-lstm-tutorial-s0`" in line)
    assert row.count("80.25%") == 2 and row.count("80.82%") == 2 and row.count("73.91%") == 2
