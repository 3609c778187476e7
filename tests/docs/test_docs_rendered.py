"""The browser check of the site (docs/tools/check_rendered.py) counts typeset formulas per
formula: none (raw TeX on screen) and two or more (typeset twice, read twice by a screen
reader) both fail. These tests feed it rendered DOMs directly, so they need no browser;
.ci/docs runs the real thing in headless Chromium when it is installed."""

import importlib.util
import pathlib
import sys

TOOLS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "tools"
_spec = importlib.util.spec_from_file_location("check_rendered", TOOLS / "check_rendered.py")
check_rendered = importlib.util.module_from_spec(_spec)
sys.modules["check_rendered"] = check_rendered
_spec.loader.exec_module(check_rendered)

ONCE = '<mjx-container class="MathJax" jax="CHTML"><mjx-math><mjx-mi>x</mjx-mi></mjx-math></mjx-container>'


def page(*formulas):
    return "<html><body><p>text " + " and ".join(formulas) + "</p><img src='a.svg'><br></body></html>"


def test_each_formula_typeset_once_passes():
    dom = page(f'<span class="arithmatex">{ONCE}</span>', f'<div class="arithmatex">{ONCE}</div>')
    assert check_rendered.typeset_counts(dom) == [1, 1]
    assert check_rendered.dom_problems("p", dom) == []


def test_formula_typeset_twice_fails():
    # what docs/javascripts/mathjax.js did before: MathJax's startup pass plus the page hook
    dom = page(f'<span class="arithmatex">{ONCE}{ONCE}</span>', f'<div class="arithmatex">{ONCE}</div>')
    assert check_rendered.typeset_counts(dom) == [2, 1]
    problems = check_rendered.dom_problems("p", dom)
    assert len(problems) == 1 and "1 of 2 formulas typeset more than once" in problems[0]


def test_untypeset_formula_fails():
    dom = page('<span class="arithmatex">\\(x^2\\)</span>', f'<span class="arithmatex">{ONCE}</span>')
    problems = check_rendered.dom_problems("p", dom)
    assert any("1 of 2 formulas not typeset" in p for p in problems)
    assert any("raw TeX" in p for p in problems)
