"""No control characters in the Markdown the project publishes. A LaTeX command written into a
Python string without doubling its backslash lands there as one: ``"\\tilde"`` typed as
``"\tilde"`` becomes a tab and "ilde", ``"\\bar"`` a backspace and "ar"; MkDocs and the
formula check render both without complaint, as text."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all but newline (and the tab, checked below)


def _markdown_files():
    skip = {".venv", "site", "node_modules", ".git"}
    return [p for p in ROOT.rglob("*.md") if not skip & set(p.relative_to(ROOT).parts)]


def test_the_markdown_has_no_control_characters():
    found = []
    for path in _markdown_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CONTROL.search(line) or ("\t" in line and "$" in line):  # a tab inside a formula
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()[:80]!r}")
    assert not found, "control characters (a backslash that Python read as an escape?):\n" + "\n".join(found)


def test_the_check_sees_a_swallowed_backslash():
    assert CONTROL.search("$\\tilde{x}$ and $" + "\bar{x}$")  # the backspace of "\b"
    line = "with $" + "\tilde{x}$ one image"
    assert "\t" in line and "$" in line
