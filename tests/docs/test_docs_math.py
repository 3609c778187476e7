"""The formula checker run by .ci/docs fails on a broken formula, with FILE:LINE, and passes
good ones. Needs node and docs/tools/node_modules (.ci/docs installs them with npm ci)."""

import pathlib
import shutil
import subprocess

import pytest

TOOLS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "tools"
CHECKER = TOOLS / "check_math.cjs"

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (TOOLS / "node_modules" / "mathjax-full").is_dir(),
    reason="node or docs/tools/node_modules missing (cd docs/tools && npm ci)",
)


def run_checker(*args):
    return subprocess.run(["node", str(CHECKER), *map(str, args)], capture_output=True, text=True, timeout=60)


@needs_node
def test_good_formulas_pass(tmp_path):
    (tmp_path / "good.md").write_text(
        "# ok\n\nInline $h_t = o_t \\odot \\tanh(c_t)$ and \\(\\bar{x} = \\bar{y} W\\), `$code$`, \\$5.\n\n"
        "$$\n\\frac{\\partial L}{\\partial W} = \\bar{y}^\\top x\n$$\n\n"
        "\\begin{aligned}\na &= b \\\\\nc &= d\n\\end{aligned}\n\n"
        "```python\ns = '$$ \\\\frac{'\n```\n",
        encoding="utf-8",
    )
    r = run_checker(tmp_path)
    assert r.returncode == 0, r.stderr
    assert "4 formulas" in r.stdout and "0 broken" in r.stdout


@needs_node
@pytest.mark.parametrize(
    "line,needle",
    [
        ("Inline $\\frac{a}{$ here.", "Missing close brace"),
        ("Inline $\\boldsymbol{x}$ needs an extension we do not load.", "Undefined control sequence"),
        ("$$\\left( x$$", "Extra \\left"),
        ("A space after the dollar: $ x$ shows raw TeX.", "unmatched math delimiter"),
        ("An eaten backslash: $64 \times 64$ (a tab, then 'imes').", "control character"),
    ],
)
def test_broken_formula_fails_with_file_and_line(tmp_path, line, needle):
    (tmp_path / "bad.md").write_text(f"# t\n\nfine $x$\n\n{line}\n", encoding="utf-8")
    r = run_checker(tmp_path)
    assert r.returncode == 1
    assert "bad.md:5: " in r.stderr and needle in r.stderr, r.stderr


@needs_node
def test_broken_formula_in_built_html_fails(tmp_path):
    # what mkdocstrings renders from a docstring reaches the site as an arithmatex element
    (tmp_path / "page.html").write_text(
        '<p>ok <span class="arithmatex">\\(x^2\\)</span> bad <span class="arithmatex">\\(x^{2\\)</span></p>',
        encoding="utf-8",
    )
    r = run_checker("--site", tmp_path)
    assert r.returncode == 1 and "page.html" in r.stderr and "brace" in r.stderr, r.stderr
