"""Every code snippet the chapters include exists: ``--8<-- "FILE:SECTION"`` needs FILE and
a ``# --8<-- [start:SECTION]`` / ``[end:SECTION]`` pair in it. (``mkdocs build --strict``
checks the same; this test says it without MkDocs, next to the code it guards.)"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r'^\s*-{1,2}8<-{1,2}\s+"(?P<path>[^":]+)(?::(?P<section>[\w.-]+))?"', re.M)


def includes():
    out = []
    for page in sorted((ROOT / "docs").glob("**/*.md")):
        if "node_modules" in page.parts:
            continue
        for m in INCLUDE.finditer(page.read_text(encoding="utf-8")):
            out.append((page.relative_to(ROOT).as_posix(), m["path"], m["section"]))
    return out


INCLUDES = includes()


@pytest.mark.parametrize("page,path,section", INCLUDES, ids=[f"{p}->{f}:{s}" for p, f, s in INCLUDES])
def test_snippet_exists(page, path, section):
    f = ROOT / path
    assert f.is_file(), f"{page} includes {path}, which does not exist"
    if section:
        text = f.read_text(encoding="utf-8")
        for kind in ("start", "end"):
            marker = f"--8<-- [{kind}:{section}]"
            assert text.count(marker) == 1, f"{page} includes {path}:{section}; expected one '{marker}' in it"
