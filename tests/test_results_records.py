"""A bad run record is refused before anything is rendered from it (issue 21 §7), naming the
file and the field, and the records stay repo-relative (issue 22 §1). Each case edits a copy
of a committed record in a temporary folder."""

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.results import importer, pages  # noqa: E402
from tools.results.load import load_records  # noqa: E402
from tools.results.records import RESULTS, RecordError  # noqa: E402

NAME = "D-lstm-s0"  # a queue run with a summary, per-epoch rows and per-class accuracies


@pytest.fixture
def copy(tmp_path):
    """``results/`` holding one copy of a committed record; edit it, then load it."""
    shutil.copytree(RESULTS / NAME, tmp_path / NAME)
    return tmp_path


def edit(root, file, change):
    path = root / NAME / file
    obj = json.loads(path.read_text(encoding="utf-8"))
    change(obj)
    path.write_text(json.dumps(obj), encoding="utf-8")


def refused(root, file, field):
    with pytest.raises(RecordError) as err:
        load_records(root)
    message = str(err.value)
    assert f"results/{NAME}/{file}" in message.replace("\\", "/") or f"{NAME}/{file}" in message, message
    assert field in message, message
    return message


def test_the_copy_itself_is_accepted(copy):
    assert list(load_records(copy)) == [NAME]


def test_an_accuracy_of_150_percent_is_refused(copy):
    edit(copy, "record.json", lambda r: r["summary"].update(best_acc=1.5))
    assert "[0, 1]" in refused(copy, "record.json", "summary.best_acc")


def test_an_accuracy_in_the_history_above_one_is_refused(copy):
    edit(copy, "history.json", lambda rows: rows[4].update(test_acc=150.0))
    refused(copy, "history.json", "[4].test_acc")


def test_nan_as_text_is_refused(copy):
    edit(copy, "history.json", lambda rows: rows[2].update(test_acc="nan"))
    refused(copy, "history.json", "[2].test_acc")


def test_nan_as_a_json_constant_is_refused(copy):
    path = copy / NAME / "history.json"
    path.write_text(re.sub(r'"test_acc": [0-9.]+', '"test_acc": NaN', path.read_text(encoding="utf-8"), count=1),
                    encoding="utf-8")
    assert "NaN" in refused(copy, "history.json", "not valid JSON")


def test_negative_seconds_are_refused(copy):
    edit(copy, "history.json", lambda rows: rows[0].update(train_seconds=-3.0))
    assert ">= 0" in refused(copy, "history.json", "[0].train_seconds")
    shutil.rmtree(copy / NAME)
    shutil.copytree(RESULTS / NAME, copy / NAME)
    edit(copy, "record.json", lambda r: r.update(wall_seconds=-1))
    refused(copy, "record.json", "wall_seconds")


def test_a_missing_epoch_is_refused(copy):
    edit(copy, "history.json", lambda rows: rows.pop(6))  # epochs 1..6, 8..15
    assert "row 7 says 8" in refused(copy, "history.json", "[6].epoch")


def test_epochs_out_of_order_are_refused(copy):
    def swap(rows):
        rows[3], rows[4] = rows[4], rows[3]
    edit(copy, "history.json", swap)
    refused(copy, "history.json", "[3].epoch")


def test_a_summary_epoch_outside_the_history_is_refused(copy):
    edit(copy, "record.json", lambda r: r["summary"].update(best_epoch=16))
    refused(copy, "record.json", "summary.best_epoch")


def test_the_wrong_epochs_accuracy_is_refused(copy):
    def shift(r):
        r["summary"]["last_acc"] = r["summary"]["best_acc"]  # the best epoch's accuracy, called the last's
    edit(copy, "record.json", shift)
    assert "not the test accuracy of epoch 15" in refused(copy, "record.json", "summary.last_acc")


def test_an_unknown_field_is_refused(copy):
    edit(copy, "record.json", lambda r: r.update(test_accuracy=0.9))
    refused(copy, "record.json", "test_accuracy")
    shutil.rmtree(copy / NAME)
    shutil.copytree(RESULTS / NAME, copy / NAME)
    edit(copy, "history.json", lambda rows: rows[1].update(tset_acc=0.9))
    refused(copy, "history.json", "[1].tset_acc")


def test_a_missing_required_field_is_refused(copy):
    edit(copy, "record.json", lambda r: r.pop("commit"))
    assert "required" in refused(copy, "record.json", "commit")


def test_broken_json_is_refused_by_file(copy):
    path = copy / NAME / "record.json"
    path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    refused(copy, "record.json", "not valid JSON")


def test_an_absolute_path_is_refused(copy):
    edit(copy, "record.json", lambda r: r.update(command="/home/me/venv/bin/python examples/imdb_lstm.py"))
    assert "outside the repository" in refused(copy, "record.json", "command")
    shutil.rmtree(copy / NAME)
    shutil.copytree(RESULTS / NAME, copy / NAME)
    edit(copy, "record.json", lambda r: r["env"].update(MINIDL_DATA="../shared/data"))
    refused(copy, "record.json", "env.MINIDL_DATA")


def test_the_committed_records_hold_no_path_outside_the_repository():
    for path in sorted(RESULTS.glob("*/*.json")):
        text = path.read_text(encoding="utf-8")
        for bad in ("/work/", "/tmp/", "/root/", "/home/", "../", ".venv"):
            assert bad not in text, f"{path.relative_to(ROOT)} holds {bad!r}"


def test_import_writes_repo_relative_records(tmp_path):
    run = tmp_path / "runs" / "B-lstm-s3"
    (run / "out").mkdir(parents=True)
    meta = {"command": f"/opt/venv/bin/python examples/imdb_lstm.py --seed 3 --out {run}/out", "commit": "abc",
            "start": "2026-12-01T00:00:00Z", "end": "2026-12-01T00:10:00Z", "wall_seconds": 600.0, "cpu": "X",
            "cores": 4, "python": "3.11.7", "env": {"OPENBLAS_NUM_THREADS": "1", "MINIDL_DATA": "/data/imdb"},
            "loadavg_start": [1, 1, 1], "loadavg_end": [1, 1, 1], "load1_mean": 1.0, "load1_max": 1.0,
            "returncode": 0}
    rows = [{"epoch": 1, "train_loss": 0.5, "train_acc": 0.7, "test_loss": 0.4, "test_acc": 0.8}]
    (run / "meta.json").write_text(json.dumps(meta))
    (run / "out" / "history.json").write_text(json.dumps(rows))
    (run / "out" / "summary.json").write_text(json.dumps({"best_acc": 0.8, "best_epoch": 1, "last_acc": 0.8,
                                                         "last_epoch": 1, "args": {"seed": 3, "out": f"{run}/out"}}))
    rec = importer.import_run(run, root=tmp_path / "results").meta
    assert rec["command"] == ("MINIDL_DATA=path/to/data python examples/imdb_lstm.py --seed 3 "
                              "--out runs/B-lstm-s3/out")
    assert rec["env"]["MINIDL_DATA"] == "path/to/data" and rec["summary"]["args"]["out"] == "runs/B-lstm-s3/out"
    assert rec["machine"]["cpu"] == "X" and rec["machine"]["cores"] == 4 and "host" not in rec
    assert str(tmp_path) not in (tmp_path / "results" / "B-lstm-s3" / "record.json").read_text()
    # a bad run is refused before anything is written
    (run / "out" / "history.json").write_text(json.dumps([dict(rows[0], test_acc=1.5)]))
    with pytest.raises(RecordError, match="test_acc"):
        importer.import_run(run, name="B-lstm-s4", root=tmp_path / "results")
    assert not (tmp_path / "results" / "B-lstm-s4").exists()


def test_a_template_naming_an_unknown_field_is_refused():
    records = load_records()
    with pytest.raises(RecordError, match="no field 'summary.best_accuracy'"):
        pages.fill("{{value:D-lstm-s0:summary.best_accuracy:pct}}", records, "", False, "a template")
    with pytest.raises(RecordError, match="no table named 'D-typo'"):
        pages.fill("{{table:D-typo}}", records, "", False, "a template")
    with pytest.raises(RecordError, match="FMT"):
        pages.fill("{{value:D-lstm-s0:summary.best_acc:percent}}", records, "", False, "a template")
    assert pages.fill("{{value:not-yet-run:summary.best_acc:pct}}", records, "", False) == pages.NOT_YET


def test_the_generator_keeps_the_function_limit():
    """CONTRIBUTING's 70-line limit (tests/test_code_limits.py measures minidl/) for tools/results too."""
    from test_code_limits import FUNCTION_LIMIT, function_lengths

    for path in sorted((ROOT / "tools" / "results").glob("*.py")):
        for name, line, n in function_lengths(path.read_text(encoding="utf-8"), str(path)):
            assert n <= FUNCTION_LIMIT, f"{path.relative_to(ROOT)}:{line} {name} has {n} lines of code"
