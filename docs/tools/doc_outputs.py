"""Run a chapter's code and compare (or rewrite) the printed output shown in the text.

Conventions of the course text (docs/*.md):

* A fenced ```` ```python ```` block is run, in page order, in one namespace per page (as a
  reader pastes them into one Python session). A ```` ```py ```` block is an illustration
  that is not run (GPU-only code, fragments). A block that includes library source by
  snippet (``--8<--``) is the library itself and is not run either.
* Every ```` ```text ```` block is preceded (blank lines allowed) by one marker:

  ``<!-- output -->``
      the block is what the previous runnable python block prints; a test runs the page
      and compares them, so the text cannot drift from the code;
  ``<!-- output: round-off -->``
      the same, for a block whose small numbers measure float64 round-off (a gradient
      check's relative errors, |a − n|, the share of the tolerance used): those depend on
      the BLAS kernels a machine picks. In such a block two numbers below 1 of the same sign
      match when both are below 1e-4 (round-off noise: a right backward's relative errors
      reach 2e-4 only where its gradient has all but vanished, and a single element's
      error can be a hundred times below its neighbours' by cancellation) or when they lie
      within a factor of 100 of each other; a wrong backward's relative error (1e-2 or
      worse, against 1e-11 to 1e-8 shown) and a share of the tolerance above 1 still fail.
      Runs of spaces count as one (a table's columns widen and narrow with its numbers).
      Numbers from 1 up are compared as in any output block. (With exact spacing and a
      factor of 100 below 1e-2 only, another BLAS kernel, ``OPENBLAS_CORETYPE=Prescott``,
      failed three pages: a share of 0.0074 became 0.01, and a relative error of 5e-13
      became 7e-11.);
  ``<!-- recorded: WHY -->``
      a measurement that depends on the machine (a timing, a training run) and cannot be
      reproduced by a test; WHY says what it is and where it was recorded.

A python block that prints must show it: the next ```` ```text ```` block after it (before
the next python block) must be its ``<!-- output -->`` or a ``<!-- recorded: ... -->``
block, or the check fails (``--update`` inserts the missing output blocks).

Numbers are compared with a slack of one unit in their last printed digit (so that a
different BLAS rounding ``7.7e-18`` vs ``7.8e-18`` passes, and ``7.7e-18`` vs ``9.1e-18``
fails), except integers, written without a decimal point or an exponent: a count, a size,
an index, a shape must be exactly the one printed (``3 of 7 right`` is not ``4 of 7``);
everything else must match exactly (trailing spaces ignored).

The same blocks are the chapter's Jupyter notebook (docs/tools/notebooks.py), and
tests/docs/test_notebooks.py compares what the notebook prints with them, by same_output().

    python docs/tools/doc_outputs.py --check            # what the test does, all pages
    python docs/tools/doc_outputs.py --update lstm.md   # rewrite the output blocks of a page
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pathlib
import re
import sys
import textwrap
from dataclasses import dataclass

DOCS = pathlib.Path(__file__).resolve().parents[1]

_FENCE_OPEN = re.compile(r"^(?P<indent>[ ]*)(?P<fence>`{3,})(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>output|recorded)\b(?P<rest>.*?)-->\s*$")


@dataclass
class Block:
    kind: str  # "python" (runnable), "output", "recorded", "text" (unmarked: an error)
    body: str  # dedented source or text
    start: int  # 0-based line index of the opening fence
    end: int  # 0-based line index of the closing fence
    indent: str
    roundoff: bool = False  # an output block marked ``<!-- output: round-off -->``


def parse(text: str) -> list[Block]:
    """The runnable python blocks and the text blocks of a page, in order."""
    lines = text.split("\n")
    blocks: list[Block] = []
    marker, roundoff = None, False  # the last marker seen, until a non-blank line that is not a fence
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            mk = _MARKER.match(lines[i])
            if mk:
                marker, roundoff = mk["kind"], mk["rest"].strip() == ": round-off"
            elif lines[i].strip():
                marker = None
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != indent + fence:
            j += 1
        raw = lines[i + 1 : j]
        lang = info.split()[0] if info else ""
        if lang == "python" and "--8<--" not in "\n".join(raw):
            blocks.append(Block("python", textwrap.dedent("\n".join(raw)) + "\n", i, j, indent))
        elif lang == "text":
            # strip the fence's own indent only: leading spaces of the output are part of it
            body = "\n".join(ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in raw)
            blocks.append(Block(marker or "text", body, i, j, indent, roundoff=marker == "output" and roundoff))
        marker = None
        i = j + 1
    return blocks


def run_page(page: pathlib.Path, blocks: list[Block]) -> dict[int, str]:
    """Run the page's python blocks in one namespace; {block index: what it printed}.

    Runs in the current working directory (the test gives it a temporary one). minidl's
    generators are reset first, to the state of a fresh Python session (seed 0), so that a
    page prints the same whichever pages ran before it in the same process."""
    import minidl

    minidl.manual_seed(0)
    namespace = {"__name__": f"docs_{page.stem}"}
    printed = {}
    for k, block in enumerate(blocks):
        if block.kind != "python":
            continue
        code = compile(block.body, f"{page.name} [python block at line {block.start + 1}]", "exec")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(code, namespace)  # an assert in a block fails with its page and line
        printed[k] = buf.getvalue()
    return printed


def expected_outputs(blocks: list[Block], printed: dict[int, str]) -> list[tuple[Block, str]]:
    """(output block, what the python block before it printed) for every marked output."""
    pairs = []
    last = None
    for k, block in enumerate(blocks):
        if block.kind == "python":
            last = k
        elif block.kind == "output":
            if last is None:
                raise AssertionError(f"output block at line {block.start + 1} follows no python block")
            pairs.append((block, printed[last]))
    return pairs


def unshown(blocks: list[Block], printed: dict[int, str]) -> list[int]:
    """Indices of the python blocks that print something but show no output block after them."""
    return [k for k, out in printed.items()
            if out.strip() and (k + 1 == len(blocks) or blocks[k + 1].kind not in ("output", "recorded"))]


_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _unit(token: str) -> float:
    """One unit in the last printed digit of a number as written ("7.7e-18" -> 1e-19)."""
    mant, _, exp = token.replace(",", "").lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 10.0 ** (-decimals + (int(exp) if exp else 0))


ROUNDOFF_BELOW, ROUNDOFF_NOISE, ROUNDOFF_FACTOR = 1.0, 1e-4, 100.0


def _is_integer(token: str) -> bool:
    return not any(c in token for c in ".eE")


def _same_number(x: str, y: str, roundoff: bool) -> bool:
    if _is_integer(x) and _is_integer(y):  # a count, a size, an index: no rounding slack
        return int(x.replace(",", "")) == int(y.replace(",", ""))
    fx, fy = float(x.replace(",", "")), float(y.replace(",", ""))
    if roundoff and max(abs(fx), abs(fy)) < ROUNDOFF_BELOW and fx * fy >= 0:  # a round-off measurement
        lo, hi = sorted((abs(fx), abs(fy)))
        if hi < ROUNDOFF_NOISE:
            return True
        if lo > 0 and hi <= lo * ROUNDOFF_FACTOR:
            return True
    return abs(fx - fy) <= 1.5 * _unit(x)


def same_output(shown: str, actual: str, roundoff: bool = False) -> str | None:
    """None if ``actual`` matches the block ``shown``; else a line saying where they differ.
    ``roundoff``: the block is marked ``<!-- output: round-off -->`` (see the module docstring)."""
    a_lines = [ln.rstrip() for ln in shown.strip("\n").split("\n")]
    b_lines = [ln.rstrip() for ln in actual.strip("\n").split("\n")]
    if len(a_lines) != len(b_lines):
        return f"{len(a_lines)} lines shown, {len(b_lines)} printed"
    for n, (a, b) in enumerate(zip(a_lines, b_lines), 1):
        skeleton_a, skeleton_b = _NUMBER.sub("#", a), _NUMBER.sub("#", b)
        if roundoff:  # column widths follow the numbers' widths
            skeleton_a, skeleton_b = " ".join(skeleton_a.split()), " ".join(skeleton_b.split())
        if skeleton_a != skeleton_b:
            return f"line {n}: shown {a!r}, printed {b!r}"
        for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
            if not _same_number(x, y, roundoff):
                return f"line {n}: shown {x} where the code prints {y}\n  shown:   {a}\n  printed: {b}"
    return None


def pages() -> list[pathlib.Path]:
    return sorted(DOCS.glob("*.md"))


def check(page: pathlib.Path) -> list[str]:
    blocks = parse(page.read_text(encoding="utf-8"))
    problems = [f"{page.name}:{b.start + 1}: a ```text block with no <!-- output --> or <!-- recorded: ... --> "
                f"marker before it" for b in blocks if b.kind == "text"]
    if any(b.kind == "python" for b in blocks):
        printed = run_page(page, blocks)
        for k in unshown(blocks, printed):
            first = printed[k].strip("\n").split("\n")[0]
            problems.append(f"{page.name}:{blocks[k].start + 1}: the block prints ({first[:60]!r}...) but shows no "
                            f"<!-- output --> (or <!-- recorded: ... -->) block after it; "
                            f"`python docs/tools/doc_outputs.py --update {page.name}` adds it")
        for block, actual in expected_outputs(blocks, printed):
            diff = same_output(block.body, actual, block.roundoff)
            if diff:
                problems.append(f"{page.name}:{block.start + 1}: the output shown differs from what the code "
                                f"prints now ({diff}); rerun `python docs/tools/doc_outputs.py --update {page.name}`")
    return problems


def update(page: pathlib.Path) -> int:
    """Rewrite every <!-- output --> block of a page with what its code prints now, and
    insert one after every block that prints but shows nothing."""
    text = page.read_text(encoding="utf-8")
    blocks = parse(text)
    printed = run_page(page, blocks)
    lines = text.split("\n")
    changed = 0
    edits = [(block.start + 1, block.end, block.indent, actual, False)
             for block, actual in expected_outputs(blocks, printed)]
    edits += [(blocks[k].end + 1, blocks[k].end + 1, blocks[k].indent, printed[k], True)
              for k in unshown(blocks, printed)]
    for lo, hi, indent, actual, insert in sorted(edits, reverse=True):
        new = [indent + ln if ln else "" for ln in actual.rstrip("\n").split("\n")]
        if insert:  # after the python block's closing fence: marker, then the text block
            tail = [""] if hi < len(lines) and lines[hi].strip() else []
            new = ["", indent + "<!-- output -->", "", indent + "```text", *new, indent + "```", *tail]
        if lines[lo:hi] != new:
            lines[lo:hi] = new
            changed += 1
    if changed:
        page.write_text("\n".join(lines), encoding="utf-8")
    return changed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="*", help="chapter files (default: all docs/*.md)")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", action="store_true")
    group.add_argument("--update", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    chosen = [DOCS / p if not pathlib.Path(p).exists() else pathlib.Path(p) for p in args.pages] or pages()
    failures = []
    for page in chosen:
        if args.update:
            print(f"{page.name}: {update(page)} output block(s) rewritten or added")
        else:
            failures += check(page)
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
