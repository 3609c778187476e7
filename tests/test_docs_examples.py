"""The course text's code runs: every ```python block of a chapter, in page order, in one
namespace per page (as a reader would paste them into one Python session).

Convention for the docs: a ```python block is run here; a ```py block is an illustration
that is not run (GPU-only code, fragments). Blocks that include library source by snippet
(``--8<--``) are the library itself and are skipped.
"""

import pathlib
import re
import textwrap

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^(?P<indent>[ ]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)


def runnable_blocks(page: pathlib.Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [textwrap.dedent(m["body"]) for m in FENCE.finditer(text) if "--8<--" not in m["body"]]


PAGES = [p for p in sorted(DOCS.glob("*.md")) if runnable_blocks(p)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_chapter_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(runnable_blocks(page)):
        code = compile(block, f"{page.name} [python block {i + 1}]", "exec")
        exec(code, namespace)  # an assert in a block fails the test with its page and block


def test_every_page_with_code_is_collected():
    assert PAGES, "no runnable ```python block found in docs/*.md"
