"""The generated pages: a template's placeholders replaced by tables, figures and single numbers
from the records, and the check that the committed pages are what the records render.

Placeholders (the templates are in ``tools/results/templates/``)::

    {{table:NAME}}            a generated table or sentence (tables.TABLES)
    {{figure:NAME}}           a generated figure (figures.FIGURES) and its markdown image
    {{value:RUN:FIELD:FMT}}   one number of one record, e.g. {{value:D-lstm-s0:best.test_acc@10:pct}}
    {{ratio:RUN:FIELD:RUN:FIELD}} and {{pts:...}}   two records' numbers divided / subtracted
    {{bench:RUN}}             a benchmark record's table
    {{shortfalls:REPORT}}     the report's numbers minidl stays below
    {{outcome:KEY}}           an experiment's "reproduced" / "differs because ..." (the reports page)
    {{appendix:runs}}         every record's provenance and command

A placeholder that names an unknown table, figure, format or record field is refused, naming
the template and the placeholder (a record that is not there yet renders "(not yet recorded)").
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.results.experiments import EXP
from tools.results.figures import FIGURES, figure
from tools.results.fmt import FORMATS, fmt
from tools.results.provenance import appendix
from tools.results.records import ROOT, RecordError, rel
from tools.results.summary import outcome
from tools.results.tables import TABLES, bench_table, shortfalls

PAGE = ROOT / "docs" / "results.md"
REPORTS = ROOT / "docs" / "reports.md"
README = ROOT / "README.md"
TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE_PAGE = TEMPLATES / "results_page.md"
TEMPLATE_README = TEMPLATES / "results_readme.md"
TEMPLATE_REPORTS = TEMPLATES / "reports_page.md"
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
PLACEHOLDER = re.compile(r"\{\{(\w+):([^}]*)\}\}")
NOT_YET = "(not yet recorded)"


def _refuse(where: str, m: re.Match, why: str):
    raise RecordError(f"{where}: placeholder {m[0]!r}: {why}")


def _value(records: dict, spec: str, where: str, m: re.Match) -> str:
    parts = spec.split(":")
    if len(parts) != 3 or not FORMATS.match(parts[2]):
        _refuse(where, m, "expected {{value:RUN:FIELD:FMT}} with FMT one of pct, pct1, s, int, f1..f9, str")
    name, path, how = parts
    rec = records.get(name)
    if rec is None:
        return NOT_YET
    value = rec.field(path)
    if value is None:
        _refuse(where, m, f"record {name!r} has no field {path!r}")
    return fmt(value, how)


def _two(records: dict, spec: str, where: str, m: re.Match):
    parts = spec.split(":")
    if len(parts) != 4:
        _refuse(where, m, "expected RUN:FIELD:RUN:FIELD")
    a, pa, b, pb = parts
    if a not in records or b not in records:
        return None
    pair = records[a].field(pa), records[b].field(pb)
    if None in pair:
        _refuse(where, m, f"no field {pa!r} in {a!r} or {pb!r} in {b!r}")
    return pair


def _one(m: re.Match, records: dict, prefix: str, draw: bool, where: str) -> str:
    kind, spec = m[1], m[2]
    known = {"table": TABLES, "figure": FIGURES, "outcome": EXP}
    if kind in known:
        if spec not in known[kind]:
            _refuse(where, m, f"no {kind} named {spec!r}")
        return (TABLES[spec](records) if kind == "table" else figure(records, spec, prefix, draw)
                if kind == "figure" else outcome(EXP[spec], records))
    if kind == "bench":
        return bench_table(records, spec)
    if kind == "shortfalls":
        return shortfalls(records, spec)
    if kind == "appendix":
        return appendix(records)
    if kind == "value":
        return _value(records, spec, where, m)
    if kind not in ("ratio", "pts"):
        _refuse(where, m, "unknown kind (table, figure, value, ratio, pts, bench, shortfalls, outcome, appendix)")
    pair = _two(records, spec, where, m)
    if pair is None:
        return NOT_YET
    return f"{pair[0] / pair[1]:.2f}×" if kind == "ratio" else f"{100 * (pair[0] - pair[1]):+.2f}"


def fill(template: str, records: dict, prefix: str, draw: bool, where: str = "template") -> str:
    """Replace every placeholder of ``template`` (see the module docstring)."""
    return PLACEHOLDER.sub(lambda m: _one(m, records, prefix, draw, where), template)


def _render(template: Path, records: dict, prefix: str, draw: bool) -> str:
    return fill(template.read_text(encoding="utf-8"), records, prefix, draw, rel(template))


def render_page(records: dict, draw: bool = False) -> str:
    return _render(TEMPLATE_PAGE, records, "figures/results/", draw)


def render_reports(records: dict) -> str:
    return _render(TEMPLATE_REPORTS, records, "figures/results/", False)


def render_readme(records: dict, readme_text: str, draw: bool = False) -> str:
    """``readme_text`` with the block between the results markers rendered anew."""
    start, end = readme_text.find(README_START), readme_text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md lacks the markers {README_START} ... {README_END}")
    body = _render(TEMPLATE_README, records, "docs/figures/results/", draw)
    return readme_text[: start + len(README_START)] + "\n" + body.strip() + "\n" + readme_text[end:]


def stale(records: dict, page: Path = PAGE, readme: Path = README, reports: Path = REPORTS) -> list:
    """The generated files that differ from what the records render now."""
    out = [path.name for path, text in ((page, render_page(records)), (reports, render_reports(records)))
           if not path.is_file() or path.read_text(encoding="utf-8") != text]
    text = readme.read_text(encoding="utf-8")
    if text != render_readme(records, text):
        out.append(readme.name)
    return out
