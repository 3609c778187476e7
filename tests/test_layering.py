"""The layering rules of CONTRIBUTING.md, executable: read every ``import`` in minidl/ (with
``ast``, so nothing is imported or run) and fail on an arrow the table forbids.

    layer        modules                                        may import (inside minidl)
    base         backend, errors, checks, fileio, host_memory   base
    functional   functional/                                    base, functional
    nn           module, nn/                                    base, functional, nn
    upper        optim, gradcheck, models/                      base, functional, nn, upper
    host         train, checkpoint, history, runfolder,         all but distributed and cli
                 metrics, plot, serialization, exercises/
    data         data/                                          base, data
    distributed  distributed, sharded_optim                     all but cli
    cli          cli (the examples' front end: it ends a job)   all
    package      minidl/__init__.py                             all

Outside minidl: torch never; numpy by name only in backend.py and the host-side modules
(data/, metrics, plot, serialization, distributed, exercises/); cupy only in backend and distributed;
mpi4py only in distributed; numba only in backend. ``backend.numpy`` (the attribute, or ``from .backend import
numpy``) is no way round that rule: outside backend.py it is refused everywhere (layer code
asks the backend for what it needs: ``host_full``, ``host_rng``, ``new_host_rng``; host-side
modules import numpy by name). A new module must be given a layer here (the test says so).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "minidl"

LAYER_OF_PREFIX = [  # first match wins; dotted names relative to the package
    ("backend", "base"), ("errors", "base"), ("checks", "base"), ("fileio", "base"), ("host_memory", "base"),
    ("functional", "functional"),
    ("module", "nn"), ("nn", "nn"),
    ("optim", "upper"), ("gradcheck", "upper"), ("models", "upper"),
    ("train", "host"), ("checkpoint", "host"), ("history", "host"), ("runfolder", "host"),
    ("metrics", "host"), ("plot", "host"), ("serialization", "host"), ("cli", "cli"),
    ("exercises", "host"),
    ("data", "data"),
    ("distributed", "distributed"), ("sharded_optim", "distributed"),
    ("", "package"),  # minidl/__init__.py itself
]
ALL_LAYERS = {"base", "functional", "nn", "upper", "host", "data", "distributed", "cli", "package"}
MAY_IMPORT = {
    "base": {"base"},
    "functional": {"base", "functional"},
    "nn": {"base", "functional", "nn"},
    "upper": {"base", "functional", "nn", "upper"},
    "host": ALL_LAYERS - {"distributed", "cli"},
    "data": {"base", "data"},
    "distributed": ALL_LAYERS - {"cli"},
    "cli": ALL_LAYERS,
    "package": ALL_LAYERS,
}
EXTERNAL_ONLY_IN = {  # third-party package -> the modules allowed to import it by name
    "torch": (),
    "numpy": ("backend", "data", "metrics", "plot", "serialization", "distributed", "exercises"),
    "cupy": ("backend", "distributed"),
    "cupyx": ("backend", "distributed"),
    "mpi4py": ("distributed",),
    "numba": ("backend",),
}


def layer_of(name: str) -> str | None:
    """The layer of a module given by its dotted name inside the package ("nn.linear")."""
    for prefix, layer in LAYER_OF_PREFIX:
        if name == prefix or (prefix and name.startswith(prefix + ".")):
            return layer
    return None


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_name(path: pathlib.Path, package: pathlib.Path) -> str:
    parts = list(path.relative_to(package).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: pathlib.Path, package: pathlib.Path):
    """``(line, target, internal)`` for every import in the file: ``target`` is a dotted name
    inside the package (internal) or a top-level third-party/stdlib name."""
    name = module_name(path, package)
    is_package = path.name == "__init__.py"
    here = name.split(".") if name else []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                if top == package.name:
                    yield node.lineno, rest, True
                else:
                    yield node.lineno, top, False
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                top, _, rest = (node.module or "").partition(".")
                if top == package.name:
                    base = rest
                else:
                    yield node.lineno, top, False
                    continue
            else:  # relative: strip (level) parts from this module's package
                pkg = here if is_package else here[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                base = ".".join(pkg + ([node.module] if node.module else []))
            for alias in node.names:
                if node.module:  # `from ..nn.linear import Linear`: the module is nn.linear
                    yield node.lineno, base, True
                else:  # `from .. import nn`: the name is itself a module
                    yield node.lineno, f"{base}.{alias.name}".strip("."), True


def backend_numpy_uses(path: pathlib.Path, package: pathlib.Path):
    """Lines that reach NumPy through the backend: ``backend.numpy`` (``backend`` however it
    was imported or renamed) or ``from ..backend import numpy``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases = set()  # local names bound to the backend module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if alias.name == "backend" and (node.level or module == package.name):
                    aliases.add(alias.asname or alias.name)
                if alias.name == "numpy" and (module == "backend" or module.endswith(".backend")):
                    yield node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == f"{package.name}.backend" and alias.asname:
                    aliases.add(alias.asname)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "numpy":
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in aliases:
                yield node.lineno
            elif isinstance(owner, ast.Attribute) and owner.attr == "backend":  # minidl.backend.numpy
                yield node.lineno


def violations(package: pathlib.Path = PACKAGE) -> list[str]:
    """Every forbidden arrow in ``package``, as readable lines (empty when the rules hold)."""
    out = []
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        layer = layer_of(name)
        where = path.relative_to(package.parent)
        if layer is None:
            out.append(f"{where}: module {name!r} has no layer: add it to tests/test_layering.py")
            continue
        for line, target, internal in imports_of(path, package):
            if internal:
                target_layer = layer_of(target)
                if target_layer not in MAY_IMPORT[layer]:
                    out.append(f"{where}:{line}: {layer} module {name!r} imports {target_layer} module {target!r}")
            elif target in EXTERNAL_ONLY_IN and not _within(name, EXTERNAL_ONLY_IN[target]):
                allowed = EXTERNAL_ONLY_IN[target]
                rule = f"only {', '.join(allowed)} may import it" if allowed else "the library never imports it"
                out.append(f"{where}:{line}: {name!r} imports {target}: {rule}")
        if name != "backend":
            out.extend(f"{where}:{line}: {name!r} uses backend.numpy: ask the backend for a helper "
                       "(host_full, host_rng, new_host_rng) or, in a host-side module, import numpy"
                       for line in backend_numpy_uses(path, package))
    return out


def test_minidl_keeps_its_layers():
    found = violations()
    assert not found, "forbidden imports:\n" + "\n".join(found)


def test_every_module_has_a_layer():
    names = [module_name(p, PACKAGE) for p in PACKAGE.rglob("*.py")]
    assert names and all(layer_of(n) for n in names)


# ------------------------------------------------------------------ the checker catches arrows
@pytest.mark.parametrize("file,source,expected", [
    ("functional/bad.py", "from ..nn import Linear\n", "functional module 'functional.bad' imports nn module 'nn'"),
    ("functional/bad.py", "from .. import module\n", "imports nn module 'module'"),
    ("nn/bad.py", "def f():\n    from ..train import fit\n", "nn module 'nn.bad' imports host module 'train'"),
    ("nn/bad.py", "from ..optim import SGD\n", "imports upper module 'optim'"),
    ("nn/bad.py", "import minidl.data.imdb\n", "imports data module 'data.imdb'"),
    ("data/bad.py", "from ..functional.linear import linear_forward\n", "imports functional module"),
    ("optim.py", "from .train import fit\n", "upper module 'optim' imports host module 'train'"),
    ("gradcheck.py", "import torch\n", "imports torch"),
    ("nn/bad.py", "import numpy as np\n", "imports numpy"),
    ("functional/bad.py", "from numpy import zeros\n", "imports numpy"),
    ("nn/bad.py", "import cupy\n", "imports cupy"),
    ("nn/bad.py", "from .. import backend\nz = backend.numpy.zeros(3)\n", "'nn.bad' uses backend.numpy"),
    ("nn/bad.py", "from .. import backend as B\nrng = B.numpy.random.default_rng(0)\n", "uses backend.numpy"),
    ("functional/bad.py", "from ..backend import numpy as np\n", "uses backend.numpy"),
    ("gradcheck.py", "import minidl.backend\nz = minidl.backend.numpy.ones(2)\n", "uses backend.numpy"),
    ("data/bad.py", "from .. import backend\nnp = backend.numpy\n", "uses backend.numpy"),
    ("newthing.py", "x = 1\n", "has no layer"),
])
def test_the_checker_catches_a_forbidden_import(tmp_path, file, source, expected):
    package = tmp_path / "minidl"
    for sub in ("functional", "nn", "data"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from . import nn\n")
    (package / "nn" / "linear.py").write_text("from ..functional import linear\nfrom .. import backend\n")
    assert violations(package) == []  # allowed arrows pass
    (package / file).write_text(source)
    found = violations(package)
    assert any(expected in v for v in found), found
