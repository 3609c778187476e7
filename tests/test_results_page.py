"""The results page, the reports page and the README's results section are generated from
the run records under results/ (python -m tools.results): they must match what the records
render now, every record must say where it came from, and the rendered numbers must be the
records'. tests/test_results_records.py: a bad record is refused."""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.results import experiments, figures, importer, load, pages, provenance, tables  # noqa: E402
from tools.results import records as store  # noqa: E402
from tools.results.__main__ import main  # noqa: E402


@pytest.fixture(scope="module")
def records():
    return load.load_records()


def test_page_and_readme_are_what_the_records_render(records):
    """Fails when a number on the page (or in the README) disagrees with its record, i.e. when
    someone edits a number by hand or a record changes without `python -m tools.results render`."""
    assert pages.stale(records) == [], "run: python -m tools.results render"


def test_a_hand_edited_number_is_caught(records, tmp_path):
    page = tmp_path / "results.md"
    readme = tmp_path / "README.md"
    text = pages.PAGE.read_text(encoding="utf-8")
    first = re.search(r"\d+\.\d\d%", text)
    assert first, "the page shows no percentage at all"
    edited = text[: first.start()] + "99.99%" + text[first.end():]
    page.write_text(edited, encoding="utf-8")
    readme.write_text(pages.README.read_text(encoding="utf-8"), encoding="utf-8")
    reports = tmp_path / "reports.md"
    reports.write_text(pages.REPORTS.read_text(encoding="utf-8"), encoding="utf-8")
    assert pages.stale(records, page, readme, reports) == ["results.md"]
    reports.write_text(reports.read_text(encoding="utf-8").replace("reproduced", "differs", 1), encoding="utf-8")
    assert pages.stale(records, page, readme, reports) == ["results.md", "reports.md"]


def test_every_record_says_where_it_came_from(records):
    assert records, "no records under results/"
    for name, rec in records.items():
        m = rec.meta
        assert m["name"] == name and m["command"] and m["start"] and m["threads"], name
        assert m["source"] in ("queue", "transcribed") and m["library"], name
        if m["source"] == "queue":
            for key in ("commit", "wall_seconds", "seed", "summary"):
                assert m.get(key) is not None, (name, key)
            assert m["machine"]["cpu"] and m["machine"]["cores"] and m["machine"]["blas"], name
            # a process killed when a session ended leaves no load samples: then a note says so
            assert (m["load"]["mean"] is not None or m["load"].get("note")) and rec.history, name
            assert all("epoch" in row for row in rec.history), name
        else:
            assert "transcribed from" in m["source_note"], name
            assert m.get("transcribed") or m.get("rows"), name


def test_the_figures_the_pages_show_exist():
    for path, base in ((pages.PAGE, pages.PAGE.parent), (pages.README, store.ROOT)):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", path.read_text(encoding="utf-8")):
            assert (base / target).is_file(), f"{path.name} shows {target}, which does not exist"


# ---------------------------------------------------------------------- the rendering itself
def record(name, **fields):
    """A complete record.json (a queue run unless ``source`` says otherwise), ``fields`` on top."""
    rec = {"name": name, "kind": "train", "library": "minidl", "source": "queue", "source_note": "a test",
           "command": "python examples/names_rnn.py --seed 0", "commit": "abc123", "seed": 0,
           "start": "2026-11-28T05:00:00Z", "wall_seconds": 10.0, "threads": "1",
           "machine": {"cpu": "AMD EPYC", "cores": 2, "blas": "OpenBLAS 0.3.31", "python": "3.11.7"},
           "load": {"mean": 1.0, "max": 1.0}, "summary": {}}
    rec.update(fields)
    return rec


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
    importer.import_run(fake_run(runs, "D-lstm-s0", ACCS), root=res)
    importer.import_run(fake_run(runs, "torch-D-lstm-s0", ACCS, torch=True), root=res)
    recs = load.load_records(res)
    m, t = recs["D-lstm-s0"].meta, recs["torch-D-lstm-s0"].meta
    assert m["library"] == "minidl" and t["library"] == "pytorch" and m["source"] == "queue"
    assert m["threads"] == "1" and t["threads"] == "1" and m["seed"] == 0 and m["commit"] == "abc123"
    assert m["load"] == {"start": [1, 1, 1], "end": [2, 2, 2], "mean": 3.5, "max": 6.0}
    assert len(recs["torch-D-lstm-s0"].history) == 15  # {"rows": [...]} unwrapped

    paused = fake_run(runs, "paused", ACCS)
    meta = json.loads((paused / "meta.json").read_text())
    stop = [{"from": "2026-11-28T05:39:28Z", "to": "2026-11-28T06:04:52Z", "seconds": 1524}]
    (paused / "meta.json").write_text(json.dumps(dict(meta, paused=stop)))
    importer.import_run(paused, root=res)
    assert "(of which 1,524 s stopped)" in provenance.wall(load.load_records(res)["paused"].meta)

    resumed = queue_run(runs, "resumed", history(ACCS), "python examples/imdb_lstm.py --seed 0 --resume")
    meta = json.loads((resumed / "meta.json").read_text())  # its summary.json has no wall time
    (resumed / "out" / "summary.json").write_text(json.dumps({"wall_seconds": 600.0, "best_acc": 0.8}))
    (resumed / "meta.json").write_text(json.dumps(dict(meta, wall_seconds=5000.0, resumed={"after_epoch": 10})))
    importer.import_run(resumed, root=res)
    rec = load.load_records(res)["resumed"].meta  # both processes' time, not the second one's
    assert rec["wall_seconds"] == 5000.0 and "resumed after epoch 10" in provenance.wall(rec)

    unfinished = runs / "unfinished"
    (unfinished / "out").mkdir(parents=True)
    with pytest.raises(SystemExit, match="not finished"):
        importer.import_run(unfinished, root=res)
    failed = fake_run(runs, "failed", ACCS)
    meta = json.loads((failed / "meta.json").read_text())
    (failed / "meta.json").write_text(json.dumps(dict(meta, returncode=1)))
    with pytest.raises(SystemExit, match="failed"):
        importer.import_run(failed, root=res)


def test_tables_show_the_records_numbers(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    importer.import_run(fake_run(runs, "D-lstm-s0", ACCS), root=res)
    importer.import_run(fake_run(runs, "torch-D-lstm-s0", [a - 0.01 for a in ACCS], torch=True), root=res)
    recs = load.load_records(res)

    b = tables.imdb_table(recs, ["B-lstm"])  # report B reads the first 10 epochs of report D's run
    row = next(line for line in b.splitlines() if "`D-lstm-s0`" in line)
    best10 = max(range(10), key=lambda i: ACCS[i])
    assert f"{100 * ACCS[9]:.2f}% (10)" in row  # last of the 10 epochs
    assert f"{100 * ACCS[best10]:.2f}% ({best10 + 1})" in row  # best of the 10, not of the 15 (epoch 11)
    assert f"{100 * (ACCS[9] - 0.01):.2f}% (10)" in row

    d = tables.d_table(recs)  # report D: the whole 15 epochs, per class
    minidl_last = next(line for line in d.splitlines() if "minidl, last epoch" in line and "D-lstm" in line)
    assert "70.00%" in minidl_last and "60.00%" in minidl_last and f"{100 * ACCS[-1]:.2f}%" in minidl_last
    twin_best = next(line for line in d.splitlines() if "PyTorch, best epoch" in line)
    assert f"{100 * (0.90 - 0.01 + 0.02):.2f}%" in twin_best and "| 11 |" in twin_best

    text = pages.fill("{{value:D-lstm-s0:best.test_acc@10:pct}} at {{value:D-lstm-s0:best.epoch@10:int}}; "
                  "{{value:D-lstm-s0:last.test_acc:pct}}; {{value:missing:x:pct}}", recs, "", False)
    assert text == f"{100 * ACCS[best10]:.2f}% at {best10 + 1}; {100 * ACCS[-1]:.2f}%; (not yet recorded)"

    # a number below the report's is said so, with the best epoch and the twin's beside it
    short = tables.shortfalls(recs, "B")
    assert f"- LSTM, seed 0: {100 * ACCS[9]:.2f}% at the last epoch (10) against the report's 86.00%" in short
    assert f"the PyTorch twin: {100 * (ACCS[9] - 0.01):.2f}%" in short
    assert tables.shortfalls(recs, "A") == "*No minidl run of report A is recorded yet.*"

    # a changed history changes what is rendered
    before = tables.imdb_table(recs, ["B-lstm"])
    recs["D-lstm-s0"].history[9]["test_acc"] = 0.5
    assert tables.imdb_table(recs, ["B-lstm"]) != before and "50.00% (10)" in tables.imdb_table(recs, ["B-lstm"])


def test_names_tables_show_the_summaries(tmp_path):
    res = tmp_path / "results"
    for name, lib in (("C-lstm-tutorial-s0", "minidl"), ("torch-C-lstm-tutorial-s0", "pytorch")):
        last = {"acc": 0.7391, "balanced_acc": 0.8082, "sampled_acc": 0.8025, "n": 20074}
        store.write_json(res / name / "record.json", record(name, library=lib, summary={"last": last}))
        store.write_json(res / name / "history.json", [{"epoch": 1, "step": 1000, "train_loss": 2.0, "train_acc": 0.3}])
    table = tables.c_tutorial_table(load.load_records(res))
    row = next(line for line in table.splitlines() if "`C-lstm-tutorial-s0`" in line)
    assert row.count("80.25%") == 2 and row.count("80.82%") == 2 and row.count("73.91%") == 2


# ---------------------------------------------------------------------- issue 12 item 5 (cont.): report B's
# seed 1 from report D's runs, report E's sections, the MPI run
def queue_run(root, name, rows, command, summary=True, grad_norms=None, torch=False):
    """A finished queue run as the queue writes it: meta.json, out/history.json and, where the
    example writes them, out/summary.json and out/grad_norms.json."""
    d = root / name
    (d / "out").mkdir(parents=True)
    meta = {"name": name, "command": command, "commit": "def456", "dirty": False, "start": "2026-11-28T06:00:00Z",
            "end": "2026-11-28T07:00:00Z", "wall_seconds": 3600.0, "host": "vm", "cpu": "AMD EPYC", "cores": 2,
            "python": "3.11.7", "env": {"OPENBLAS_NUM_THREADS": "1"}, "loadavg_start": [2, 2, 2],
            "loadavg_end": [3, 3, 3], "load1_mean": 4.25, "load1_max": 7.0, "returncode": 0}
    (d / "meta.json").write_text(json.dumps(meta))
    (d / "out" / "history.json").write_text(json.dumps({"rows": rows} if torch else rows))
    if summary:
        best = max(rows, key=lambda r: r["test_acc"])
        s = {"best_acc": best["test_acc"], "best_epoch": best["epoch"], "last_acc": rows[-1]["test_acc"],
             "last_epoch": rows[-1]["epoch"], "args": {"seed": int(command.split("--seed ")[1].split()[0])}}
        if torch:
            s["threads"] = 1
        (d / "out" / "summary.json").write_text(json.dumps(s))
    if grad_norms is not None:
        (d / "out" / "grad_norms.json").write_text(json.dumps(grad_norms))
    return d


def grad_rows(layers, bottom_over_top, steps=5, every=20):
    """Per-layer norms falling geometrically from the top layer (1.0) to the bottom one."""
    decay = bottom_over_top ** (1 / max(layers - 1, 1))
    return {"every": every, "rows": [{"step": s * every, "norms": [decay ** (layers - 1 - i) for i in range(layers)]}
                                     for s in range(steps)]}


DEEP = "python examples/imdb_deep_lstm.py --model {} --hidden-size 64 --epochs 10 --seed 0"


def e_text_records(res, runs, lstm8_accs):
    """The four report E text runs: three train to ~0.85, LSTM-8 follows ``lstm8_accs``. BiLSTM-2
    under its experiment's second name (the 4-epoch run's), which the tables fall back to."""
    trained = [0.70, 0.80, 0.84, 0.86, 0.85]
    for model, layers, accs, ratio, name in (
            ("bilstm2", 2, trained, 0.5, "E-bilstm2-h64-s0"),
            ("lstm4", 4, [a - 0.01 for a in trained], 0.1, "E-lstm4-h64-e10-s0"),
            ("lstm8", 8, lstm8_accs, 1e-4, "E-lstm8-h64-e10-s0"),
            ("reslstm8", 8, trained, 0.8, "E-reslstm8-h64-e10-s0")):
        importer.import_run(queue_run(runs, name, history(accs), DEEP.format(model),
                               grad_norms=grad_rows(layers, ratio)), root=res)
    return load.load_records(res)


def test_import_of_cifar_deep_and_mpi_runs(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    # the CIFAR example writes no summary.json: it is read from the history, the seed from the command
    cifar = importer.import_run(queue_run(runs, "E-resnet20-s0", history([0.4, 0.6, 0.55]),
                                   "python examples/cifar10_resnet.py --model resnet20 --epochs 3 --seed 7",
                                   summary=False), root=res)
    s = cifar.meta["summary"]
    assert (s["best_acc"], s["best_epoch"], s["last_acc"], s["last_epoch"]) == (0.6, 2, 0.55, 3)
    assert "derived" in s and cifar.meta["seed"] == 7 and cifar.meta["ranks"] == 1
    # report E's text runs bring their per-layer gradient norms along
    importer.import_run(queue_run(runs, "E-lstm8-h64-s0", history([0.5, 0.5]), DEEP.format("lstm8"),
                           grad_norms=grad_rows(8, 1e-3)), root=res)
    # mpiexec: two ranks, one BLAS thread each
    importer.import_run(queue_run(runs, "B-lstm-mpi2-s0", history(ACCS[:10]),
                           "mpiexec -n 2 python examples/imdb_lstm.py --seed 0 --progress off"), root=res)
    recs = load.load_records(res)
    gn = recs["E-lstm8-h64-s0"].grad_norms
    assert gn["every"] == 20 and len(gn["rows"]) == 5 and len(gn["rows"][0]["norms"]) == 8
    assert recs["E-resnet20-s0"].grad_norms is None
    mpi = recs["B-lstm-mpi2-s0"].meta
    assert mpi["ranks"] == 2 and mpi["threads"] == "1" and mpi["library"] == "minidl"
    assert provenance.threads(mpi) == "2 × 1"


def test_report_b_seed_1_reads_report_d_runs_and_d_shows_both_seeds(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    store.write_json(res / "B-lstm-s1-2026-11-26" / "record.json", record(
        "B-lstm-s1-2026-11-26", source="transcribed", source_note="transcribed from a test",
        transcribed={"best_acc": 0.863, "best_epoch": 10, "last_acc": 0.863, "last_epoch": 10}))
    recs = load.load_records(res)
    row = next(line for line in tables.imdb_table(recs, ["B-lstm"]).splitlines() if "B-lstm-s1-2026-11-26" in line)
    assert "86.30% (10)" in row and "†" in row  # until D's seed 1 is recorded: the transcribed run

    accs1 = [a - 0.005 for a in ACCS]
    importer.import_run(queue_run(runs, "D-lstm-s1", history(accs1, per_class=True),
                           "python examples/imdb_lstm.py --epochs 15 --seed 1"), root=res)
    importer.import_run(queue_run(runs, "torch-D-lstm-s1", history(ACCS, per_class=True),
                           "python benchmarks/imdb_torch.py --epochs 15 --seed 1", torch=True), root=res)
    recs = load.load_records(res)
    assert [r.name for _, r in experiments.EXP["B-lstm"].pick(recs, "minidl")[1:]] == ["D-lstm-s1"]
    row = next(line for line in tables.imdb_table(recs, ["B-lstm"]).splitlines() if "`D-lstm-s1`" in line)
    best10 = max(range(10), key=lambda i: accs1[i])
    assert f"{100 * accs1[9]:.2f}% (10)" in row and f"{100 * accs1[best10]:.2f}% ({best10 + 1})" in row
    assert "`torch-D-lstm-s1`" in row and f"{100 * ACCS[9]:.2f}% (10)" in row and "2026-11-26" not in row

    d = tables.d_table(recs).splitlines()  # report D's table shows every recorded seed, seed 1 too
    assert any("minidl, last epoch | 1 |" in line and "`D-lstm-s1`" in line for line in d)
    assert any("minidl, last epoch | 0 | not run" in line for line in d)  # seed 0 not recorded here
    importer.import_run(queue_run(runs, "D-lstm-s0", history(ACCS, per_class=True),
                           "python examples/imdb_lstm.py --epochs 15 --seed 0"), root=res)
    d = tables.d_table(load.load_records(res)).splitlines()
    seed0_last = next(line for line in d if "minidl, last epoch | 0 |" in line)
    assert f"{100 * ACCS[-1]:.2f}%" in seed0_last and "| 15 |" in seed0_last and "`D-lstm-s0`" in seed0_last


def test_report_e_text_section(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    recs = e_text_records(res, runs, [0.50, 0.51, 0.50, 0.52, 0.50])
    table = tables.e_text_table(recs).splitlines()
    lstm8 = next(line for line in table if line.startswith("| LSTM-8 "))
    assert "does not train" in lstm8 and "52.00% (4)" in lstm8 and "50.00% (5)" in lstm8 and "**no**" in lstm8
    assert "| 0.0001 |" in lstm8  # the bottom/top gradient-norm ratio, from grad_norms.json
    assert "`E-bilstm2-h64-s0`" in next(line for line in table if line.startswith("| BiLSTM-2 "))  # the fallback
    lstm4 = next(line for line in table if line.startswith("| LSTM-4 "))
    assert "≈ 88%" in lstm4 and "85.00% (4)" in lstm4 and "| yes |" in lstm4 and "| 0.1 |" in lstm4
    verdict = tables.e_text_verdict(recs)
    assert "LSTM-8 does not train (best 52.00% (4))" in verdict and "is reproduced" in verdict
    short = tables.shortfalls(recs, "E")  # 85% at the last epoch is below report E's ≈ 88%; LSTM-8 has no number
    assert "- BiLSTM-2, seed 0: 85.00% at the last epoch (5) against the report's ≈ 88%" in short
    assert "LSTM-8, seed 0" not in short.replace("residual LSTM-8, seed 0", "")
    readme = tables.readme_table(recs)
    assert "| E | LSTM-8 (hidden 64, CPU scale) | does not train | 50.00% (5) / 52.00% (4) | — |" in readme

    # a different outcome is said as it is: LSTM-8 past 60% in its last epoch only is a delay
    recs["E-lstm8-h64-e10-s0"].history[-1]["test_acc"] = 0.83
    verdict = tables.e_text_verdict(recs)
    assert "LSTM-8 trains (best 83.00% (5); ≥ 60% from epoch 5)" in verdict, verdict
    assert "shows here as a delay, not a failure: the plain 8-layer stack stays below 60% for 4 epochs" in verdict
    assert "the 4-layer one passes 60% in epoch 1" in verdict
    assert "The gradient says why: the median ratio of its bottom layer's gradient norm to its top layer's is " \
        "0.0001 over those 4 epochs" in verdict, verdict
    recs["E-lstm8-h64-e10-s0"].history[0]["test_acc"] = 0.61  # from epoch 1, as the others: not even a delay
    assert "is **not** reproduced" in tables.e_text_verdict(recs)
    del recs["E-reslstm8-h64-e10-s0"]
    assert "Not run: residual LSTM-8." in tables.e_text_verdict(recs)
    assert "| residual LSTM-8 | ≈ 88% | 0 | not run |" in tables.e_text_table(recs)


def test_report_e_figures_are_drawn_from_the_records_there_are(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    recs = e_text_records(res, runs, [0.5, 0.5, 0.5, 0.5, 0.5])
    del recs["E-bilstm2-h64-s0"]
    for name in ("E-gradnorms", "E-text-acc"):
        file, caption, needs, draw, mode = figures.FIGURES[name]
        out = draw(recs, tmp_path / file)
        assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        md = figures.figure(recs, name, "figures/results/", draw=False)
        assert md.startswith(f"![{caption}](figures/results/{file})") and "`E-bilstm2-h64-e10-s0`" in md
    assert figures.figure({}, "E-gradnorms", "", draw=False).startswith("*(The figure")
    importer.import_run(queue_run(runs, "E-plain20-s0", history([0.3, 0.4]),
                                  "python examples/cifar10_resnet.py --seed 0",
                           summary=False), root=res)
    recs = load.load_records(res)
    out = figures.FIGURES["E-cifar50k"][3](recs, tmp_path / "cifar.png")
    assert out.stat().st_size > 10_000


def test_report_e_cifar_tables(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    cmd = "python examples/cifar10_resnet.py --model {} --epochs 3 --seed 0"
    importer.import_run(queue_run(runs, "E-resnet20-s0", history([0.45, 0.62, 0.68]), cmd.format("resnet20"),
                           summary=False), root=res)
    recs = load.load_records(res)
    table = tables.cifar_table(recs, "E-resnet20-s0", "E-plain20-s0", digits=2)
    assert "| 2 | 0.500 | 62.00% | not run | not run |" in table and "`E-plain20-s0` (not run)" in table
    assert "once both" in tables.cifar_verdict(recs, "E-resnet20-s0", "E-plain20-s0")
    importer.import_run(queue_run(runs, "E-plain20-s0", history([0.35, 0.63, 0.55]), cmd.format("plain20"),
                           summary=False), root=res)
    recs = load.load_records(res)
    verdict = tables.cifar_verdict(recs, "E-resnet20-s0", "E-plain20-s0")
    assert verdict.startswith("ResNet-20 is ahead of Plain-20 at 2 of 3 epochs")
    assert "at epoch 3 the gap is +13.0 points (68.0% against 55.0%)" in verdict
    assert "training loss is lower at 0 of 3 epochs (epoch 3: 0.333 against 0.333)" in verdict  # equal losses
    readme = tables.readme_table(recs)
    assert "Plain-20 (50,000 images" not in readme  # the 5-epoch rows left the summary for the 34-layer ones
    assert "| E | Plain-34, width 16 (20 epochs) | converges very slowly | not run; not run | — |" in readme  # 2 seeds
    importer.import_run(queue_run(runs, "E-plain34-w16-s0", history([0.35, 0.63, 0.55]),
                                  "python examples/cifar10_resnet.py --depth 34 --width 16 --plain --epochs 3 --seed 0",
                                  summary=False), root=res)
    readme = tables.readme_table(load.load_records(res))
    row = "| E | Plain-34, width 16 (20 epochs) | converges very slowly | 55.00% (3) / 63.00% (2); not run | — |"
    assert row in readme


def test_mpi_row_beside_one_process(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    importer.import_run(fake_run(runs, "D-lstm-s0", ACCS), root=res)
    recs = load.load_records(res)
    assert "| 2 MPI ranks | — | not run | not run |" in tables.mpi_table(recs)
    mpi_accs = [a + 0.004 for a in ACCS[:10]]
    importer.import_run(queue_run(runs, "B-lstm-mpi2-s0", history(mpi_accs),
                           "mpiexec -n 2 python examples/imdb_lstm.py --seed 0"), root=res)
    table = tables.mpi_table(load.load_records(res))
    one = next(line for line in table.splitlines() if line.startswith("| one process"))
    two = next(line for line in table.splitlines() if line.startswith("| 2 MPI ranks"))
    assert f"{100 * ACCS[9]:.2f}% (10)" in one and "| 1 × 1 |" in one
    assert sum(12.0 + i for i in range(1, 11)) == 175 and "| 175 s |" in one  # 10 epochs, not 15
    assert f"{100 * mpi_accs[9]:.2f}% (10)" in two and "| 2 × 1 |" in two and "| 4.2 |" in two
    assert "the two ranks are +0.40 points from the one process" in table


def test_import_skip_unfinished_imports_the_finished_and_names_the_rest(tmp_path, monkeypatch, capsys):
    runs, res = tmp_path / "runs", tmp_path / "results"
    monkeypatch.setattr(importer, "RESULTS", res)
    done = queue_run(runs, "E-resnet20-s0", history([0.4, 0.5]), "python examples/cifar10_resnet.py --seed 0",
                     summary=False)
    running = runs / "E-plain20-s0"
    (running / "out").mkdir(parents=True)
    with pytest.raises(SystemExit, match="not finished"):  # without the flag an unfinished run stops the import
        main(["import", str(running), str(done)])
    assert not res.exists()
    assert main(["import", "--skip-unfinished", str(running), str(done)]) == 0
    out = capsys.readouterr().out
    assert f"skipped {running}: no meta.json" in out and "1 run(s) skipped" in out
    assert list(load.load_records(res)) == ["E-resnet20-s0"]


def test_recorded_rerun_of_report_b_lstm_repeats_report_d_run():
    """The page says B-lstm-s0 repeats D-lstm-s0's first 10 epochs exactly (one thread is
    deterministic): hold the committed records to it."""
    recs = load.load_records(store.RESULTS)
    again, first = recs["B-lstm-s0"].rows(), recs["D-lstm-s0"].rows(10)
    assert [r["test_acc"] for r in again] == [r["test_acc"] for r in first]
    assert [r["train_loss"] for r in again] == [r["train_loss"] for r in first]


# ---------------------------------------------------------------------- issue 22 §8: the summary tables
def test_summary_says_reproduced_or_why_it_differs(tmp_path):
    from tools.results import summary

    runs, res = tmp_path / "runs", tmp_path / "results"
    importer.import_run(fake_run(runs, "D-lstm-s0", ACCS), root=res)
    recs = load.load_records(res)
    row = next(line for line in summary.summary_table(recs, "D").splitlines() if line.startswith("| LSTM "))
    # one cell per seed of results/experiments.toml (report D: seeds 0 and 1), the missing one "not run"
    assert f"| 82.62% | {100 * ACCS[-1]:.2f}%; not run | not run; not run | reproduced (within one point) |" in row
    recs["D-lstm-s0"].history[-1]["test_acc"] = 0.70
    row = next(line for line in summary.summary_table(recs, "D").splitlines() if line.startswith("| LSTM "))
    assert "differs because of a reason not yet found (-12.6 points)" in row
    e = experiments.EXP["B-rnn"]  # a reason written in results/experiments.toml is said
    importer.import_run(fake_run(runs, "B-rnn-s0", [0.6] * 10), root=res)
    assert summary.outcome(e, load.load_records(res)).startswith(f"differs because {e.why}")


def test_report_e_lstm8_outcome_follows_trains(tmp_path):
    from tools.results import summary

    recs = e_text_records(tmp_path / "results", tmp_path / "runs", [0.50, 0.51, 0.50, 0.52, 0.50])
    assert summary.outcome(experiments.EXP["E-lstm8"], recs).startswith("reproduced: it does not train")
    recs["E-lstm8-h64-e10-s0"].history[-1]["test_acc"] = 0.83
    assert summary.outcome(experiments.EXP["E-lstm8"], recs).startswith("differs because")


def test_report_a_finding_in_words(tmp_path):
    from tools.results import summary

    runs, res = tmp_path / "runs", tmp_path / "results"
    cmd = "python examples/imdb_lstm.py --seed 0"
    importer.import_run(queue_run(runs, "A-lstm-s0", history(ACCS), cmd), root=res)
    importer.import_run(queue_run(runs, "A-reslstm-s0", history([a - 0.02 for a in ACCS]), cmd), root=res)
    recs = load.load_records(res)
    assert "minidl's runs agree" in summary.report_a_finding(recs)
    recs["A-reslstm-s0"].history[-1]["test_acc"] = ACCS[-1] + 0.03
    assert "minidl's runs do **not** agree" in summary.report_a_finding(recs)


def test_the_committed_pages_give_every_headline_outcome(records):
    page, reports = pages.PAGE.read_text(encoding="utf-8"), pages.REPORTS.read_text(encoding="utf-8")
    assert page.index("## Summary") < page.index("## Report A")  # the page opens with the summary
    assert "reason not yet found" not in page and "reason not yet found" not in reports
    for key in experiments.HEADLINE:
        e = experiments.EXP[key]
        assert f"| {e.label} |" in page, key
    assert "## Appendix: every run" in page and "```bash\nMINIDL_DATA=path/to/data python" in page
    for line in page.splitlines():  # commands live in code blocks, never in a table cell
        assert not (line.startswith("|") and "python examples/" in line), line


def test_report_d_efficiency_table(tmp_path):
    """LSTM against GRU: the parameter counts are the library's own, the time to 85% counts
    every epoch's seconds up to the first epoch at or above 85%, a missing run says so."""
    from minidl.history import time_to
    from minidl.models import ImdbClassifier
    from tools.results import efficiency

    for cell in ("LSTM", "GRU"):
        model = ImdbClassifier(20001, 64, 64, cell=cell.lower(), num_layers=1, fc_dim=64, num_classes=2)
        assert efficiency.model_parameters(cell) == sum(p.data.size for p in model.parameters())
    assert efficiency.recurrent_parameters("GRU") * 4 == efficiency.recurrent_parameters("LSTM") * 3
    runs, res = tmp_path / "runs", tmp_path / "results"
    importer.import_run(queue_run(runs, "D-lstm-s1", history(ACCS, per_class=True),
                                  "python examples/imdb_lstm.py --epochs 15 --seed 1"), root=res)
    recs = load.load_records(res)
    first = next(i for i, a in enumerate(ACCS) if a >= 0.85)
    row, seconds = time_to(recs["D-lstm-s1"].rows(), 0.85)  # the helper the table uses
    epoch = row["epoch"]
    assert epoch == first + 1
    assert seconds == pytest.approx(sum(r["seconds"] for r in recs["D-lstm-s1"].rows()[: first + 1]))
    lines = tables.TABLES["D-efficiency"](recs).splitlines()
    lstm = next(line for line in lines if "`D-lstm-s1`" in line)
    assert "33,280" in lstm and f"{seconds:.0f} s (epoch {epoch})" in lstm
    assert any("| GRU |" in line and "not run" in line for line in lines)
    words = tables.TABLES["D-efficiency-verdict"](recs)
    assert words.startswith("The GRU has 25% fewer recurrent parameters") and "minidl" not in words  # no GRU run yet
    importer.import_run(queue_run(runs, "D-gru-s1", history([0.80, 0.86] + ACCS[2:], per_class=True),
                                  "python examples/imdb_lstm.py --cell gru --epochs 15 --seed 1"), root=res)
    words = tables.TABLES["D-efficiency-verdict"](load.load_records(res))
    assert f"the GRU reaches 85% at epoch 2 after 27 s, the LSTM at epoch {epoch} after {seconds:.0f} s" in words


def test_report_e_cnn34_tables(tmp_path):
    """ResNet-34 against Plain-34 with their twins, and the degradation check, from whatever
    records there are; the numbers are the records'."""
    runs, res = tmp_path / "runs", tmp_path / "results"
    cmd = "python examples/cifar10_resnet.py --depth {} --width 16{} --epochs 3 --seed 0"
    assert "not run" in tables.TABLES["E-cnn34"]({}) and "once the runs" in tables.TABLES["E-cnn34-verdict"]({})
    importer.import_run(queue_run(runs, "E-resnet34-w16-s0", history([0.45, 0.62, 0.68]), cmd.format(34, ""),
                                  summary=False), root=res)
    plain = history([0.30, 0.35, 0.40])
    for row in plain:
        row["train_loss"] *= 3  # 3.000, 1.500, 1.000: where ResNet-34 was after its first epoch
    importer.import_run(queue_run(runs, "E-plain34-w16-s0", plain, cmd.format(34, " --plain"), summary=False),
                        root=res)
    twin = history([0.46, 0.60])
    for row in twin:
        row["train_loss"] *= 1.02  # 2% above minidl's at every epoch
    importer.import_run(queue_run(runs, "torch-E-resnet34-w16-s0", twin,
                                  "python benchmarks/cifar_torch.py --depth 34 --width 16 --epochs 2 --seed 0",
                                  summary=False, torch=True), root=res)
    recs = load.load_records(res)
    t = tables.TABLES["E-cnn34"](recs)
    assert "| 2 | 0.500 | 62.0% | 0.510 | 60.0% | 1.500 | 35.0% | not run | not run |" in t
    assert "| 3 | 0.333 | 68.0% | — | — | 1.000 | 40.0% | not run | not run |" in t
    verdict = tables.TABLES["E-cnn34-verdict"](recs)
    assert verdict.startswith("After 3 epochs ResNet-34 reaches 68.0% test accuracy (best 68.0% at epoch 3) "
                              "and Plain-34 40.0%") and "ahead at 3 of 3 epochs" in verdict
    assert "The training loss Plain-34 reaches after 3 epochs, ResNet-34 had reached after 1." in verdict
    assert "ResNet-34: over the 2 epochs both libraries ran, minidl's training loss is within 2.0%" in verdict
    deg = tables.TABLES["E-degradation"](recs)
    assert "| plain nets | Plain-20 | not run |" in deg and "| residual nets | ResNet-34 | 33.0% | 33.0% | 3 |" in deg
    importer.import_run(queue_run(runs, "E-plain20-w16-s0", history([0.40, 0.50, 0.60]),
                                  cmd.replace("34", "20").format(20, " --plain"), summary=False), root=res)
    deg = tables.TABLES["E-degradation"](load.load_records(res))
    assert "plain nets: Plain-34 ends at 61.0% training error against Plain-20's 41.0% (the deeper net trains worse)" \
        in deg


def test_report_e_text_twins_table(tmp_path):
    runs, res = tmp_path / "runs", tmp_path / "results"
    t = tables.TABLES["E-text-twins"]({})
    assert "`E-lstm4-h64-e10-s0`, `torch-E-lstm4-h64-e10-s0` not run" in t
    importer.import_run(queue_run(runs, "E-lstm4-h64-e10-s0", history([0.6, 0.8]),
                                  "python examples/imdb_deep_lstm.py --model lstm4 --epochs 2 --seed 0"), root=res)
    twin = history([0.62, 0.79, 0.85])
    twin[1]["train_loss"] = 0.5 / 1.05  # minidl's 0.5 is 5% above
    importer.import_run(queue_run(runs, "torch-E-lstm4-h64-e10-s0", twin,
                                  "python benchmarks/imdb_deep_torch.py --model lstm4 --epochs 3 --seed 0",
                                  torch=True), root=res)
    t = tables.TABLES["E-text-twins"](load.load_records(res))
    assert "|  | 2 | 0.5000 | 0.4762 | +5.0% | 80.00% | 79.00% |  |" in t
    assert "| 3 |" not in t  # only the epochs both ran


def test_the_wall_time_says_how_many_processes_a_resumed_run_took():
    assert provenance.wall({"wall_seconds": 100.0}) == "100 s"
    two = {"wall_seconds": 100.0, "resumed": {"after_epoch": 9}}  # records written before "after_epochs"
    assert provenance.wall(two) == "100 s (two processes: resumed after epoch 9)"
    three = {"wall_seconds": 17890.0, "resumed": {"after_epoch": 10, "after_epochs": [2, 10]},
             "paused": [{"seconds": 60.0}]}
    assert provenance.wall(three) == "17,890 s (three processes: resumed after epochs 2 and 10) (of which 60 s stopped)"
