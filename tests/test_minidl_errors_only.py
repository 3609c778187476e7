"""minidl raises its own errors (minidl.errors), never a plain ValueError or TypeError: the
README and the errors page promise that every refusal is one of those classes (each also the
built-in error a user would catch), and the examples print exactly those as one line."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "minidl"
PLAIN = {"ValueError", "TypeError", "IndexError", "FloatingPointError"}
# a call with the wrong number of arguments is Python's own TypeError, as for any function
ALLOWED = {("minidl/nn/recurrent.py", "TypeError")}


def test_no_plain_builtin_error_is_raised_in_minidl():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                where = str(path.relative_to(PACKAGE.parent)).replace("\\", "/")
                if isinstance(func, ast.Name) and func.id in PLAIN and (where, func.id) not in ALLOWED:
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} raises {func.id}")
    assert not found, "raise a minidl.errors class instead:\n" + "\n".join(found)
