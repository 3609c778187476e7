"""The course text's diagrams are generated, not drawn by hand, and cannot go stale.

docs/tools/make_diagrams.py draws every SVG in docs/assets/diagrams/ (and computes every
number on them). These tests regenerate them all into a temporary folder and require the
committed files to be byte-for-byte what the script draws now; every diagram must be used
by a chapter, and every chapter (the results page, the home page and the bibliography
aside) must show at least one figure (the exercises page, an index, is no chapter either)."""

import importlib.util
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
COMMITTED = DOCS / "assets" / "diagrams"
_spec = importlib.util.spec_from_file_location("make_diagrams", DOCS / "tools" / "make_diagrams.py")
make_diagrams = importlib.util.module_from_spec(_spec)
sys.modules["make_diagrams"] = make_diagrams
_spec.loader.exec_module(make_diagrams)

NOT_CHAPTERS = {"index.md", "results.md", "reports.md", "bibliography.md", "glossary.md",
                "exercises.md"}  # exercises.md: an index of exercises
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<src>[^)\s]+)")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagrams")
    assert make_diagrams.main(["--out", str(out)]) == 0
    return out


def test_committed_diagrams_are_what_the_script_draws(fresh):
    made = {p.name: p.read_bytes() for p in fresh.glob("*.svg")}
    committed = {p.name: p.read_bytes() for p in COMMITTED.glob("*.svg")}
    assert sorted(made) == sorted(committed), "run: python docs/tools/make_diagrams.py (and git add the SVGs)"
    stale = [name for name in made if made[name] != committed[name]]
    assert not stale, f"stale diagrams {stale}: run python docs/tools/make_diagrams.py"


def chapter_images():
    return {p.name: [m["src"] for m in IMAGE.finditer(p.read_text(encoding="utf-8"))] for p in DOCS.glob("*.md")}


def test_every_diagram_is_used_by_a_chapter():
    used = {pathlib.PurePosixPath(src).name for srcs in chapter_images().values() for src in srcs}
    unused = sorted(p.name for p in COMMITTED.glob("*.svg") if p.name not in used)
    assert not unused, f"diagrams no chapter shows: {unused}"


def test_every_chapter_has_a_figure():
    bare = sorted(name for name, srcs in chapter_images().items() if not srcs and name not in NOT_CHAPTERS)
    assert not bare, f"chapters without a figure or diagram: {bare}"


def test_worked_example_numbers_come_from_the_same_inputs():
    # the layer-contract chapter computes the worked example in code; its inputs must be the diagram's
    text = (DOCS / "layer-contract.md").read_text(encoding="utf-8")
    names = list(make_diagrams.WORKED)
    m = re.search(rf"^{', '.join(names)} = (?P<values>[-0-9., ]+)$", text, re.M)
    assert m, f"layer-contract.md has no line '{', '.join(names)} = ...'"
    values = [float(v) for v in m["values"].split(",")]
    assert values == list(make_diagrams.WORKED.values())


def test_make_figures_still_runs(tmp_path, monkeypatch):
    # docs/tools/make_figures.py draws the PNG plots from small runs of minidl itself: it must
    # keep working when the library's interfaces change (it is not run by the build)
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "tools" / "make_figures.py")
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    make_figures.vanishing(tmp_path / "vanishing.png")
    assert (tmp_path / "vanishing.png").stat().st_size > 10_000


def test_every_label_is_legible_in_a_1280_px_window(fresh):
    # the site never shows a diagram wider than the text column (688 px in a 1280-px window with
    # both sidebars, svgdraw.COLUMN_PX), so a wider SVG is scaled down: every font size, sub- and
    # superscripts included, must still come out at 12 px or more
    column, minimum = make_diagrams.COLUMN_PX, make_diagrams.MIN_TEXT_PX
    small = []
    for path in sorted(fresh.glob("*.svg")):
        svg = path.read_text(encoding="utf-8")
        width = float(re.search(r'<svg[^>]* width="([\d.]+)"', svg)[1])
        scale = min(1.0, column / width)
        sizes = [float(v) for v in re.findall(r'font-size="([\d.]+)"', svg)]
        assert sizes, f"{path.name}: no text found"
        if min(sizes) * scale < minimum - 1e-9:
            small.append(f"{path.name}: {min(sizes) * scale:.1f} px")
    assert not small, f"labels below {minimum} px at a 1280-px page width: {small}"
