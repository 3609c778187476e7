"""The course text's code runs, and prints what the text says it prints.

Every ```python block of a chapter runs, in page order, in one namespace per page (as a
reader would paste them into one Python session). Every ```text block is marked: an
``<!-- output -->`` block must equal what the python block before it prints now (numbers
to one unit in their last printed digit), a ``<!-- recorded: ... -->`` block is a
machine-dependent measurement (a timing) and is not compared. The conventions and the
comparison live in docs/tools/doc_outputs.py, which also rewrites stale output blocks
(``python docs/tools/doc_outputs.py --update PAGE.md``).
"""

import importlib.util
import pathlib
import sys

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
_spec = importlib.util.spec_from_file_location("doc_outputs", DOCS / "tools" / "doc_outputs.py")
doc_outputs = importlib.util.module_from_spec(_spec)
sys.modules["doc_outputs"] = doc_outputs  # dataclasses look their module up
_spec.loader.exec_module(doc_outputs)

ALL_PAGES = doc_outputs.pages()
PAGES = [p for p in ALL_PAGES if any(b.kind == "python" for b in doc_outputs.parse(p.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_chapter_code_runs_and_prints_what_the_text_shows(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    problems = doc_outputs.check(page)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: p.name)
def test_every_text_block_is_marked(page):
    blocks = doc_outputs.parse(page.read_text(encoding="utf-8"))
    unmarked = [b.start + 1 for b in blocks if b.kind == "text"]
    assert not unmarked, f"{page.name}: ```text blocks with no output/recorded marker at lines {unmarked}"


def test_every_page_with_code_is_collected():
    assert PAGES, "no runnable ```python block found in docs/*.md"


# The comparison itself must be able to fail.
@pytest.mark.parametrize(
    "shown,printed,ok",
    [
        # a last-digit rounding difference passes, a real change does not
        ("RNN s=0.5  0 -> 5.9e+00  59 -> 7.7e-18", "RNN s=0.5  0 -> 5.9e+00  59 -> 7.8e-18", True),
        ("RNN s=0.5  0 -> 5.9e+00  59 -> 7.7e-18", "RNN s=0.5  0 -> 5.9e+00  59 -> 9.1e-18", False),
        ("loss 0.71 -> 0.11", "loss 0.71 -> 0.13", False),
        ("1,500,000 steps, 66.9%", "1,500,000 steps, 66.9%", True),
        # an integer (a count, a size, an index) has no rounding slack
        ("1,500,000 steps, 66.9%", "1,500,001 steps, 66.9%", False),
        ("✗ linear_backward: 1 of 3 quantities right", "✗ linear_backward: 2 of 3 quantities right", False),
        ("the largest difference at index (2, 1)", "the largest difference at index (2, 2)", False),
        ("epoch 10 -> 0.51", "epoch 10 -> 0.52", True),
        ("1,500,000 steps, 66.9%", "1,500,100 steps, 66.9%", False),
        ("accuracy 1.00", "accuracy 1.00\nextra line", False),
        ("cell loop == fused layer", "cell loop != fused layer", False),
    ],
)
def test_output_comparison(shown, printed, ok):
    assert (doc_outputs.same_output(shown, printed) is None) is ok


# A block marked <!-- output: round-off -->: its numbers below 1 are round-off measurements
# (they move with the BLAS kernels a machine picks: relative errors, |a - n|, the share of the
# tolerance used): below 1e-4 all alike, above it compared by order of magnitude; the column
# spacing may change with them;
# a wrong backward's error (1e-2 and up, 1e7 times a right one's), a share of the tolerance
# above 1, and every larger number still fail as before.
@pytest.mark.parametrize(
    "shown,printed,ok",
    [
        ("Linear worst relative error 2.3e-10", "Linear worst relative error 4.1e-11", True),
        ("Linear worst relative error 2.3e-10", "Linear worst relative error 1.9e-08", True),
        ("Linear worst relative error 2.3e-10", "Linear worst relative error 3.1e-02", False),  # a bug
        # 3.1e-07 is still round-off (right backwards reach 2e-4 where a gradient vanishes): noise
        ("Linear worst relative error 2.3e-10", "Linear worst relative error 3.1e-07", True),
        ("Linear worst relative error 2.3e-10", "Linear worst relative error 3.1e-03", False),
        ("Linear worst relative error 2.3e-10", "Linear worst relative error -2.3e-10", False),
        ("input 0   1.34e-10   2.39e-10    0.0039", "input 0   9.1e-11   3.3e-10    0.0051", True),
        ("toy ResNet: 21 tensors, worst 1.1e-08", "toy ResNet: 25 tensors, worst 1.1e-08", False),  # not small
        ("S = 3.05e+00", "S = 3.15e+00", False),
        # another BLAS kernel (OPENBLAS_CORETYPE=Prescott): a share of 0.0074 became 0.01, the column narrower
        ("i2h.weight   9.42e-10   1.24e-09    0.0074", "i2h.weight   8.32e-10   1.60e-09      0.01", True),
        ("weight_hh_l0   1.49e-09   1.34e-10    0.0002", "weight_hh_l0   2.11e-09   1.89e-10   0.00028", True),
        ("bias_ih_l2             5.03e-13   7.57e-13     2e-07", "bias_ih_l2             7.33e-11   1.10e-10   2.9e-05",
         True),
        ("input 0   0.0042", "input 0   0.9", False),  # above the noise, 200 times larger
        ("↳ analytic = numeric / 3: a mean over an axis of size 3", "↳ analytic = numeric / 4: a mean over an axis of "
         "size 4", False),  # integers are exact in round-off blocks too
        ("input 0   9.81e-11   1.53e-10    0.0042", "input 0   3.1e-02   4.4e-04      120", False),  # a bug
    ],
)
def test_roundoff_output_comparison(shown, printed, ok):
    assert (doc_outputs.same_output(shown, printed, roundoff=True) is None) is ok
    if ok:  # the same pair in an ordinary output block: the round-off rule is what lets it pass
        assert doc_outputs.same_output(shown, printed) is not None or shown == printed


def test_the_roundoff_marker_is_parsed():
    blocks = doc_outputs.parse("```python\nprint(1e-10)\n```\n\n<!-- output: round-off -->\n\n```text\n1e-10\n```\n"
                               "\n<!-- output -->\n\n```text\n1\n```\n")
    assert [(b.kind, b.roundoff) for b in blocks] == [("python", False), ("output", True), ("output", False)]


def test_markers_are_parsed(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "# t\n\n```python\nprint('a')\n```\n\n<!-- output -->\n\n```text\nb\n```\n\n"
        "<!-- recorded: a timing -->\n\n```text\n12 ms\n```\n\n```text\nunmarked\n```\n",
        encoding="utf-8",
    )
    kinds = [b.kind for b in doc_outputs.parse(page.read_text())]
    assert kinds == ["python", "output", "recorded", "text"]
    problems = doc_outputs.check(page)
    assert any("differs" in p for p in problems) and any("no <!-- output -->" in p for p in problems)


def test_a_block_that_prints_must_show_its_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "p.md"
    page.write_text(
        "# t\n\n```python\nx = 2\n```\n\n```python\nprint(x * 21)\n```\nText right after.\n\n"
        "```python\nprint('timed')\n```\n\n<!-- recorded: a timing -->\n\n```text\n9 ms\n```\n",
        encoding="utf-8",
    )
    problems = doc_outputs.check(page)
    assert len(problems) == 1 and "p.md:7:" in problems[0] and "shows no <!-- output -->" in problems[0]
    assert doc_outputs.update(page) == 1  # --update inserts the missing block
    text = page.read_text(encoding="utf-8")
    assert "print(x * 21)\n```\n\n<!-- output -->\n\n```text\n42\n```\n\nText right after." in text
    assert doc_outputs.check(page) == []
