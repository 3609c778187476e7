"""The figures of report E's CNN pair at its layout (issue 20): drawn from the records there
are, the missing ones named under the figure, nothing drawn when none is recorded."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.results import figures  # noqa: E402
from tools.results.records import Record  # noqa: E402


def _record(name, losses, accs, library="minidl"):
    rows = [{"epoch": e, "train_loss": loss, "train_acc": acc, "test_loss": loss, "test_acc": acc - 0.05}
            for e, (loss, acc) in enumerate(zip(losses, accs), 1)]
    return Record(name, {"name": name, "library": library}, rows)


def _png(path):
    return path.stat().st_size > 10_000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cnn34_figures_draw_what_is_recorded_and_name_the_rest(tmp_path):
    recs = {n: _record(n, [2.0, 1.5, 1.2], [0.3, 0.45, 0.55]) for n in
            ("E-resnet34-w16-s0", "E-plain34-w16-s0", "E-plain20-w16-s0")}
    recs["torch-E-resnet34-w16-s0"] = _record("torch-E-resnet34-w16-s0", [2.0, 1.4, 1.1], [0.3, 0.5, 0.6], "pytorch")
    for name in ("E-cnn34", "E-degradation"):
        file, caption, needs, draw, mode = figures.FIGURES[name]
        assert mode == "any" and set(needs) & set(recs)
        assert _png(draw(recs, tmp_path / file)), name
        md = figures.figure(recs, name, "figures/results/", draw=False)
        assert md.startswith(f"![{caption}](figures/results/{file})"), md
    assert "`torch-E-plain34-w16-s0`" in figures.figure(recs, "E-cnn34", "", draw=False)
    assert "`E-resnet20-w16-s0`" in figures.figure(recs, "E-degradation", "", draw=False)
    for name in ("E-cnn34", "E-degradation"):
        assert figures.figure({}, name, "", draw=False).startswith("*(The figure"), name
    only_plain = {n: recs[n] for n in ("E-plain20-w16-s0", "E-plain34-w16-s0")}
    assert _png(figures.FIGURES["E-degradation"][3](only_plain, tmp_path / "plain_only.png"))


def test_the_caption_states_the_width():
    for name in ("E-cnn34", "E-degradation"):
        assert "width 16" in figures.FIGURES[name][1]


def test_further_seeds_of_the_degradation_check_join_the_table_and_figure_when_recorded(tmp_path):
    from tools.results.cnn34 import degradation_table

    recs = {n: _record(n, [2.0, 1.5, 1.2], [0.3, 0.45, acc]) for n, acc in
            (("E-plain20-w16-s0", 0.92), ("E-plain34-w16-s0", 0.84), ("E-resnet20-w16-s0", 0.96),
             ("E-resnet34-w16-s0", 0.977))}
    without = degradation_table(recs)
    assert "seed 1" not in without and "E-plain20-w16-s1" not in without  # never asked for
    recs["E-plain20-w16-s1"] = _record("E-plain20-w16-s1", [2.0, 1.6, 1.3], [0.3, 0.44, 0.925])
    with_seed1 = degradation_table(recs)
    row = next(line for line in with_seed1.splitlines() if "`E-plain20-w16-s1`" in line)
    assert "Plain-20, seed 1" in row and "7.5%" in row and "| 3 |" in row
    assert "seed 1: Plain-20 at 7.5%" in with_seed1 and "ResNet-20, seed 1" not in with_seed1
    file, _, _, draw, _ = figures.FIGURES["E-degradation"]
    assert _png(draw(recs, tmp_path / file))
