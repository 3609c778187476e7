"""The course text keeps the shape the home page promises.

* the home page's reading order links every page of the nav's "The course" section;
* every chapter opens, right under its title, with a "Before and after" box (what it needs,
  what the reader will be able to do);
* every chapter has a "What to try" section (the home page says so);
* every glossary entry links to the place in the course where its term is used.

The reference pages of the section (results, bibliography, glossary, exercises) are not
chapters: they are linked from the home page but need no box and no exercises.
"""

import pathlib
import re

import pytest

# mkdocs.yml is read with PyYAML, which the docs extra brings (pip install -e '.[docs]')
yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install -e '.[docs]'): mkdocs.yml not read")

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REFERENCE_PAGES = {"results.md", "reports.md", "bibliography.md", "glossary.md", "exercises.md"}


def _course_pages() -> list[str]:
    # mkdocs.yml has no custom tags, so the safe loader reads it
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    for section in nav:
        if isinstance(section, dict) and "The course" in section:
            return [next(iter(entry.values())) for entry in section["The course"]]
    raise AssertionError("mkdocs.yml has no 'The course' section in its nav")


COURSE = _course_pages()
CHAPTERS = [p for p in COURSE if p not in REFERENCE_PAGES]


def test_the_course_section_is_found():
    assert "lstm.md" in CHAPTERS and "maths.md" in CHAPTERS and len(CHAPTERS) >= 20


def test_home_page_links_every_course_page():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    section = index[index.index("## The chapters"):index.index("## How to read a chapter")]
    linked = set(re.findall(r"\]\(([\w-]+\.md)[)#]", section))
    missing = [p for p in COURSE if p not in linked]
    assert not missing, f"docs/index.md's reading order does not link {missing}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_opens_with_before_and_after(page):
    lines = (DOCS / page).read_text(encoding="utf-8").split("\n")
    assert lines[0].startswith("# "), f"{page}: the first line is not the title"
    head = "\n".join(lines[1:12])
    assert '!!! info "Before and after"' in head, f"{page}: no 'Before and after' box under the title"
    assert "**You need:**" in head and "**You will be able to:**" in head, f"{page}: the box lacks a part"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_has_what_to_try(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    assert re.search(r"^## What to try$", text, re.M), f"{page}: no '## What to try' section"


def test_every_glossary_entry_links_to_the_course():
    text = (DOCS / "glossary.md").read_text(encoding="utf-8")
    entries = re.split(r"\n\n(?=\S[^\n]*\n:   )", text)[1:]
    assert len(entries) >= 30
    for entry in entries:
        term = entry.split("\n")[0]
        assert re.search(r"\]\([\w-]+\.md[)#]", entry), f"glossary: '{term}' links to no chapter"
