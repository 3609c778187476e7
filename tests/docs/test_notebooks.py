"""Every chapter with code is also a Jupyter notebook, and the notebook prints what the chapter shows.

docs/tools/notebooks.py generates the notebooks (the mkdocs hook docs/tools/notebook_hook.py
puts them in the built site). Here each one is generated into a temporary folder and executed
in a fresh Jupyter kernel (nbclient), and what each code cell prints is compared with the
chapter's ``<!-- output -->`` block after that block, by doc_outputs.py's comparison
(numbers to one unit in their last printed digit). Needs the docs extra (jupytext, nbformat,
nbclient, ipykernel); skipped, saying so, without them.
"""

import importlib.util
import json
import os
import pathlib
import sys

import pytest

for _module in ("jupytext", "nbformat", "nbclient", "ipykernel"):
    pytest.importorskip(_module, reason=f"{_module} is not installed (pip install -e '.[docs]'): notebooks not run")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ROOT / "docs" / "tools"


def _load(name):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


doc_outputs = _load("doc_outputs")
notebooks = _load("notebooks")
PAGES = [p for p in doc_outputs.pages() if notebooks.has_code(p)]


def _kernel_of_this_python(folder: pathlib.Path, monkeypatch) -> str:
    """A kernel spec that runs the Python running the tests (whatever "python3" means elsewhere)."""
    spec = folder / "kernels" / "minidl-tests"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "minidl tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(folder))  # searched before the user's and the system's kernels
    return "minidl-tests"


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


def test_every_chapter_with_code_gets_a_notebook():
    assert len(PAGES) >= 15, [p.name for p in PAGES]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_notebook_runs_and_prints_what_the_chapter_shows(page, tmp_path, monkeypatch):
    blocks = doc_outputs.parse(page.read_text(encoding="utf-8"))
    runnable = [k for k, b in enumerate(blocks) if b.kind == "python"]
    nb = notebooks.build(page)
    path = tmp_path / f"{page.stem}.ipynb"
    nbformat.write(nb, path)  # what the site serves, read back as a reader's Jupyter would
    nb = nbformat.read(path, as_version=4)

    # the title first, then the set-up cell, then exactly the chapter's runnable blocks
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "import minidl" in code[0].source
    assert [c.source for c in code[1:]] == [blocks[k].body.rstrip("\n") for k in runnable]

    # a fresh kernel, in an empty folder, importing this checkout's minidl
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    run = tmp_path / "run"
    run.mkdir()
    kernel = _kernel_of_this_python(tmp_path / "jupyter", monkeypatch)
    NotebookClient(nb, timeout=300, kernel_name=kernel, resources={"metadata": {"path": str(run)}}).execute()

    shown_nothing = [c.source.split("\n")[0] for c in code if any(o.output_type == "execute_result" for o in c.outputs)]
    assert not shown_nothing, f"{page.name}: cells end with an expression the chapter does not print: {shown_nothing}"
    assert _stdout(code[0]) == "", f"{page.name}: the set-up cell prints {_stdout(code[0])!r}"
    printed = {k: _stdout(cell) for k, cell in zip(runnable, code[1:])}
    problems = [f"{page.name}:{blocks[k].start + 1}: the notebook prints output the chapter does not show"
                for k in doc_outputs.unshown(blocks, printed)]
    for block, actual in doc_outputs.expected_outputs(blocks, printed):
        diff = doc_outputs.same_output(block.body, actual, block.roundoff)
        if diff:
            problems.append(f"{page.name}:{block.start + 1}: the notebook prints something else ({diff})")
    assert not problems, "\n".join(problems)


# The generator maps the chapter's conventions, and its checks can fail.
def test_conventions_are_mapped(tmp_path, monkeypatch):
    page = notebooks.DOCS / "zz-test-page.md"  # inside docs/ so that links and images resolve
    monkeypatch.setattr(notebooks.doc_outputs, "pages", lambda: [page])
    text = (
        "# A title\n\nSee [LSTM](lstm.md#the-maths) and [![d](assets/diagrams/lstm_cell.svg)]"
        "(assets/diagrams/lstm_cell.svg); `layers[0](x)` is code.\n\n```python\nprint(6 * 7)\n```\n\n"
        "<!-- output -->\n\n```text\n42\n```\n\n```bash\nls\n```\n\n```py\nnot_run()\n```\n\n"
        '??? success "Solution"\n\n    ```python\n    --8<-- "minidl/functional/lstm.py:lstm_gates"\n    ```\n\n'
        "    Text of the solution.\n\nAfter.\n\n"
        "<!-- recorded: a timing -->\n\n```text\n3 ms\n```\n"
    )
    try:
        page.write_text(text, encoding="utf-8")
        nb = notebooks.build(page)
    finally:
        page.unlink()
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[:3] == ["markdown", "code", "markdown"] and nb.cells[0].source.startswith("# A title\n")
    assert [c.source for c in nb.cells if c.cell_type == "code"][1:] == ["print(6 * 7)"]  # the one runnable block
    text_cells = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "](../lstm/#the-maths)" in text_cells and "(attachment:" in text_cells
    assert "](../assets/diagrams/lstm_cell.svg)" in text_cells and "`layers[0](x)`" in text_cells
    assert "42" not in text_cells and "<!-- output -->" not in text_cells  # the notebook prints it
    assert "```bash\nls\n```" in text_cells and "not_run()" in text_cells
    assert "def lstm_gates" in text_cells and "--8<--" not in text_cells  # library source shown as text
    # a collapsed solution stays collapsed, its included code unindented inside it
    assert "<details><summary>Solution</summary>\n\n```python\n@backend.fuse\ndef _cell_update(" in text_cells
    assert "Text of the solution.\n\n</details>\n\nAfter." in text_cells and "3 ms" in text_cells
    assert any("attachments" in c for c in nb.cells)


def test_the_mkdocs_hook_puts_each_notebook_in_the_site_and_links_it():
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (the docs extra)")
    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files

    config = load_config(str(ROOT / "mkdocs.yml"))
    hooks = [h for name, h in config["hooks"].items() if pathlib.Path(name).name == "notebook_hook.py"]
    assert hooks, "mkdocs.yml does not run docs/tools/notebook_hook.py"
    hook = hooks[0]
    files = config.plugins.on_files(get_files(config), config=config)  # as `mkdocs build` calls it
    made = sorted(f.src_uri for f in files if f.src_uri.startswith("notebooks/"))
    assert made == sorted(f"notebooks/{p.stem}.ipynb" for p in PAGES)
    nb = nbformat.reads(files.get_file_from_path("notebooks/lstm.ipynb").content_string, as_version=4)
    assert nb.cells[0].source.startswith("# LSTM")

    class Page:
        file = files.get_file_from_path("lstm.md")

    md = hook.on_page_markdown("# LSTM\n\nText.", Page, config, files)
    assert md.split("\n")[:4] == ["# LSTM", "", md.split("\n")[2], ""] and "](notebooks/lstm.ipynb)" in md
    Page.file = files.get_file_from_path("bibliography.md")  # no code: no notebook, no link
    assert hook.on_page_markdown("# Bibliography\n", Page, config, files) == "# Bibliography\n"
