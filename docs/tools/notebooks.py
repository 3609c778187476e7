"""Make a Jupyter notebook of every chapter that has runnable code: its text as markdown
cells, its runnable ```` ```python ```` blocks as code cells, in page order.

The notebooks are generated, never kept: the mkdocs hook docs/tools/notebook_hook.py writes
them into the built site (``site/notebooks/lstm.ipynb``) and links each chapter to its own;
tests/docs/test_notebooks.py executes them and compares what they print with the output
blocks of the chapter. To write them by hand:

    python docs/tools/notebooks.py [OUTDIR [lstm.md ...]]   # default: build/notebooks, every chapter

A small pre-step maps the chapter's conventions (doc_outputs.py) to jupytext's Markdown
format, and jupytext turns that into the notebook:

* the runnable python blocks (the ones doc_outputs.py runs, indented ones included) become
  code cells, and nothing else does: ```` ```py ```` illustrations, shell blocks and the
  library source included by ``--8<--`` stay text;
* an ``<!-- output -->`` block is dropped: the notebook prints it when run;
* a ``<!-- recorded: WHY -->`` block stays, as text, labelled with its WHY;
* ``--8<--`` includes are expanded with pymdownx.snippets and mkdocs.yml's settings, as the
  site shows them;
* admonitions become quotes (``!!!``) or ``<details>`` (``???``, collapsed as on the site);
* the diagrams are embedded as cell attachments (the notebook shows them on its own), and
  links to other pages point at the site, relative to ``notebooks/``.

The notebook starts with the chapter's title, a note on what it needs, and a set-up cell.
"""

from __future__ import annotations

import base64
import mimetypes
import pathlib
import re
import sys

import markdown
import yaml

TOOLS = pathlib.Path(__file__).resolve().parent
DOCS = TOOLS.parent
ROOT = DOCS.parent
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))
import doc_outputs  # noqa: E402  (a sibling script, not a package)

_ADMONITION = re.compile(r'^(?P<indent>[ ]*)(?P<kind>!!!|\?\?\?\+?)[ ]+(?P<type>[\w-]+)'
                         r'(?:[ ]+"(?P<title>[^"]*)")?[ ]*$')
_TARGET = r"\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)"
_IMAGE = re.compile(r"(?P<bang>!)\[(?P<text>[^\]]*)\]" + _TARGET)
# a link's text may hold an image (a diagram that opens at full size when clicked)
_LINK = re.compile(r"(?P<bang>)(?<!!)\[(?P<text>(?:[^\[\]]|!\[[^\]]*\]\([^)]*\))*)\]" + _TARGET)
_FENCED = re.compile(r"^[ ]*(`{3,})[^\n]*\n.*?^[ ]*\1[ ]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"(`+).+?\1")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def has_code(page: pathlib.Path) -> bool:
    """True if the chapter has a runnable python block (and so gets a notebook)."""
    return any(b.kind == "python" for b in doc_outputs.parse(page.read_text(encoding="utf-8")))


def _snippets():
    """The pymdownx.snippets preprocessor with mkdocs.yml's settings, paths from the repo root."""
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for ext in cfg.get("markdown_extensions", []):
        if isinstance(ext, dict) and "pymdownx.snippets" in ext:
            options = dict(ext["pymdownx.snippets"] or {})
            break
    else:
        options = {}
    base = options.get("base_path", ["."])
    options["base_path"] = [str(ROOT / b) for b in ([base] if isinstance(base, str) else base)]
    md = markdown.Markdown(extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": options})
    return md.preprocessors["snippet"]


def _admonitions(lines: list[str]) -> list[str]:
    """``!!! type "Title"`` + indented body -> a quote; ``??? ...`` -> a collapsed <details>."""
    out, i = [], 0
    while i < len(lines):
        m = _ADMONITION.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, body_indent = m["indent"], m["indent"] + "    "
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith(body_indent)):
            j += 1
        while j > i + 1 and not lines[j - 1].strip():
            j -= 1
        k = i + 1
        while k < j and not lines[k].strip():
            k += 1
        body = _admonitions([ln[len(body_indent):] for ln in lines[k:j]])
        title = m["title"] if m["title"] is not None else m["type"].capitalize()
        if m["kind"] == "!!!":
            out += [f"{indent}> **{title}**" if title else f"{indent}>", f"{indent}>"]
            out += [f"{indent}> {ln}".rstrip() for ln in body]
        else:
            open_ = " open" if m["kind"] == "???+" else ""
            out += [f"{indent}<details{open_}><summary>{title}</summary>", ""]
            out += [indent + ln if ln else "" for ln in body] + ["", f"{indent}</details>"]
        i = j
    return out


def _relink(text: str, page: pathlib.Path, attachments: dict) -> str:
    """Images of the docs become attachments; relative links point at the built site."""

    def sub(m):
        target = m["target"]
        if _SCHEME.match(target) or target.startswith("#"):
            return m[0]
        path, _, frag = target.partition("#")
        file = (page.parent / path).resolve()
        rel = file.relative_to(DOCS).as_posix() if file.is_relative_to(DOCS) else path
        if m["bang"] and file.is_file():
            name = rel.replace("/", "_")
            mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            attachments[name] = {mime: base64.b64encode(file.read_bytes()).decode("ascii")}
            return f"![{m['text']}](attachment:{name}{m['title'] or ''})"
        if rel.endswith(".md"):  # a page: its directory URL on the site
            rel = rel[: -len("index.md")] if rel == "index.md" or rel.endswith("/index.md") else rel[:-3] + "/"
        return f"{m['bang']}[{m['text']}](../{rel}{'#' + frag if frag else ''}{m['title'] or ''})"

    def links(part):
        return _LINK.sub(sub, _IMAGE.sub(sub, part))

    return _code_masked(text, links)


def _code_masked(text: str, fn) -> str:
    """``fn`` applied to ``text`` with its code, fenced or `inline`, masked: `layers[0](x)` is no link."""
    saved: list[str] = []

    def keep(m):
        saved.append(m[0])
        return f"\0{len(saved) - 1}\0"

    out = fn(_INLINE_CODE.sub(keep, _FENCED.sub(keep, text)))
    while "\0" in out:
        out = re.sub(r"\0(\d+)\0", lambda m: saved[int(m[1])], out)
    return out


def _setup_cell(page: pathlib.Path, code: list[str]) -> str:
    lines = [
        f"# Generated from the minidl course chapter docs/{page.name} when the site was built:",
        "# edit the chapter, not this notebook. It needs the minidl package importable: in a clone",
        "# of the repository, `pip install -e .` once (no network needed after that).",
    ]
    if any(re.search(r"matplotlib|minidl\.plot|from minidl import plot", c) for c in code):
        lines.append("%matplotlib inline")
    lines += [
        "import minidl",
        "",
        "minidl.manual_seed(0)  # the generators of a fresh session: the outputs are the chapter's",
    ]
    return "\n".join(lines)


def _title(segments: list[tuple[str, list[str]]], page: pathlib.Path) -> str:
    """Remove the chapter's '# Title' line from its first text segment and return the title."""
    kind, lines = segments[0]
    for k, ln in enumerate(lines):
        if ln.startswith("# "):
            del lines[k]
            return ln[2:].strip()
        if ln.strip():
            break
    return page.stem.replace("-", " ").capitalize()


def segments(page: pathlib.Path) -> list[tuple[str, list[str]]]:
    """The page as ("markdown", lines) and ("code", [source]) segments, outputs dropped."""
    lines = page.read_text(encoding="utf-8").split("\n")
    out: list[tuple[str, list[str]]] = []
    text: list[str] = []
    cursor = 0

    def drop_marker(chunk):  # the marker line just before an output/recorded block
        k = len(chunk) - 1
        while k >= 0 and not chunk[k].strip():
            k -= 1
        marker = doc_outputs._MARKER.match(chunk[k]) if k >= 0 else None
        return (chunk[:k], marker) if marker else (chunk, None)

    for block in doc_outputs.parse("\n".join(lines)):
        chunk = lines[cursor : block.start]
        if block.kind == "python":
            out += [("markdown", text + chunk), ("code", [block.body.rstrip("\n")])]
            text = []
        elif block.kind == "output":
            text += drop_marker(chunk)[0]
        elif block.kind == "recorded":
            kept, marker = drop_marker(chunk)
            why = marker["rest"].strip(" :")
            note = f"{block.indent}*Recorded output, not reproduced when this notebook runs ({why}):*"
            text += kept + ["", note, ""] + lines[block.start : block.end + 1]
        else:
            text += chunk + lines[block.start : block.end + 1]
        cursor = block.end + 1
    out.append(("markdown", text + lines[cursor:]))
    return out


def build(page: pathlib.Path):
    """The chapter as an nbformat notebook (not executed)."""
    import jupytext
    import nbformat

    segs = segments(page)
    title = _title(segs, page)
    snippets = _snippets()
    code = [src[0] for kind, src in segs if kind == "code"]
    intro = (
        f"# {title}\n\nThis notebook is the chapter [{title}]({page.name}) of the minidl course, generated "
        "from its text. Run the cells in order: each prints what the chapter shows after it. The library "
        "source the chapter includes is shown as text (it is the `minidl` package itself)."
    )
    parts = [("markdown", [intro]), ("code", [_setup_cell(page, code)])] + segs
    attachments_of = []
    doc = []
    for kind, body in parts:
        if kind == "code":
            doc.append("```python\n" + body[0] + "\n```")
            continue
        body = _admonitions(snippets.run(list(body)))
        md = "\n".join(body).strip("\n")
        if not md.strip():
            continue
        att: dict = {}
        md = _relink(md, page, att)
        attachments_of.append(att)
        doc.append("<!-- #region -->\n" + md + "\n<!-- #endregion -->")
    nb = jupytext.reads("\n\n".join(doc) + "\n", fmt="md")
    md_cells = [c for c in nb.cells if c.cell_type == "markdown"]
    assert len(md_cells) == len(attachments_of), f"{page.name}: jupytext split a text cell"
    for cell, att in zip(md_cells, attachments_of):
        if att:
            cell["attachments"] = att
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "minidl": {"chapter": f"docs/{page.name}"},
    }
    nb = nbformat.v4.upgrade(nb) if nb.nbformat < 4 else nb
    nbformat.validate(nb)
    return nb


def write_all(outdir: pathlib.Path, chosen: list[pathlib.Path] | None = None) -> list[pathlib.Path]:
    import nbformat

    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for page in chosen or [p for p in doc_outputs.pages() if has_code(p)]:
        target = outdir / (page.stem + ".ipynb")
        nbformat.write(build(page), target)
        written.append(target)
    return written


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        args = [str(ROOT / "build" / "notebooks")]  # gitignored
    chosen = [DOCS / p if not pathlib.Path(p).exists() else pathlib.Path(p) for p in args[1:]]
    for path in write_all(pathlib.Path(args[0]), chosen or None):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
