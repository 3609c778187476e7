"""The size limits of CONTRIBUTING.md, executable, so that they hold by construction:

* no function in ``minidl/functional/`` longer than 50 lines of code, none elsewhere in
  ``minidl/`` longer than 70;
* no file in ``minidl/functional/`` longer than 330 lines (every line counts here);
* exactly one ``os.replace`` call in ``minidl/`` (``minidl.fileio``: one atomic writer).

**How a function's lines of code are counted.** The lines of its body, from the first line
after the ``def`` signature to its last line, that hold a token of code: a line that is
blank or holds only a comment does not count, and neither do the lines of the docstring
(the first statement of the body when it is a string). Every line a multi-line statement
spans counts, and so does every line of a non-docstring string literal. A nested function
or class is part of its enclosing function's body (and is also measured by itself); a
decorator and the signature are not part of the body. Tokens come from ``tokenize``, so a
``#`` inside a string is not taken for a comment.
"""

from __future__ import annotations

import ast
import io
import pathlib
import tokenize

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "minidl"
FUNCTIONAL_FUNCTION_LIMIT = 50
FUNCTION_LIMIT = 70
FUNCTIONAL_FILE_LIMIT = 330

_NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
             tokenize.ENDMARKER, tokenize.ENCODING}


def code_lines(source: str) -> set[int]:
    """The numbers (1-based) of the lines of ``source`` that hold a token of code."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in _NOT_CODE:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def _docstring_lines(fn) -> range:
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return range(first.lineno, first.end_lineno + 1)
    return range(0)


def function_lengths(source: str, filename: str = "<source>") -> list[tuple[str, int, int]]:
    """``(qualified name, line of the def, lines of code in its body)`` for every function."""
    code = code_lines(source)
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    body = range(child.body[0].lineno, child.end_lineno + 1)
                    doc = _docstring_lines(child)
                    out.append((name, child.lineno, sum(1 for i in body if i in code and i not in doc)))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source, filename=filename), "")
    return out


def _sources():
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))]


def _is_functional(path: pathlib.Path) -> bool:
    return path.relative_to(PACKAGE).parts[0] == "functional"


def test_functions_are_short():
    too_long = []
    for path, source in _sources():
        limit = FUNCTIONAL_FUNCTION_LIMIT if _is_functional(path) else FUNCTION_LIMIT
        for name, line, n in function_lengths(source, str(path)):
            if n > limit:
                too_long.append(f"{path.relative_to(PACKAGE.parent)}:{line} {name}: {n} lines of code > {limit}")
    assert not too_long, "split these into named pieces:\n" + "\n".join(too_long)


def test_functional_files_are_short():
    too_long = [f"{p.relative_to(PACKAGE.parent)}: {len(s.splitlines())} lines > {FUNCTIONAL_FILE_LIMIT}"
                for p, s in _sources() if _is_functional(p) and len(s.splitlines()) > FUNCTIONAL_FILE_LIMIT]
    assert not too_long, "one concept per file; split these:\n" + "\n".join(too_long)


def os_replace_calls(source: str) -> list[int]:
    """Lines of the calls ``os.replace(...)`` (or ``replace(...)`` imported from os) in ``source``."""
    tree = ast.parse(source)
    from_os = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "os"
               for a in n.names if a.name == "replace"}
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr == "replace" and isinstance(f.value, ast.Name)
                    and f.value.id == "os") or (isinstance(f, ast.Name) and f.id in from_os):
                calls.append(node.lineno)
    return calls


def test_one_atomic_rename():
    sites = [f"{p.relative_to(PACKAGE.parent)}:{line}" for p, s in _sources() for line in os_replace_calls(s)]
    assert len(sites) == 1, f"os.replace must be called in one place (minidl.fileio), found {sites}"
    assert sites[0].startswith("minidl/fileio.py:"), sites


# ------------------------------------------------------------------ the counters count what they say
def test_code_lines_skip_docstring_comments_and_blanks():
    source = '''def f(x):
    """A docstring
    of three lines, # not a comment
    """
    # a comment

    y = (x +
         1)  # a trailing comment: the line counts
    s = """a string
# inside it"""
    def g():
        return y
    return y, s, g


class C:
    def m(self):
        """One line."""
        return 1
'''
    assert function_lengths(source) == [("f", 1, 7), ("f.g", 11, 1), ("C.m", 17, 1)]


def test_a_function_without_docstring_counts_its_first_line():
    assert function_lengths("def f():\n    return 1\n") == [("f", 1, 1)]


@pytest.mark.parametrize("source,n", [
    ("import os\nos.replace('a', 'b')\n", 1),
    ("from os import replace\nreplace('a', 'b')\n", 1),
    ("from os import replace as mv\nmv('a', 'b')\n", 1),
    ("s = 'ab'.replace('a', 'b')\n", 0),
])
def test_os_replace_calls_are_found(source, n):
    assert len(os_replace_calls(source)) == n
