"""List the minidl modules that no API page documents, and the public functions, classes
and methods that have no docstring (warnings; exit status 0).

A module is covered when some ``::: NAME`` directive in docs/api/*.md names it, or names
a package above it with ``show_submodules: true``. Private modules (``_name``) are skipped.
Usage: python docs/tools/check_api_coverage.py
"""

import importlib
import inspect
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def directives():
    out = {}
    for page in sorted((ROOT / "docs" / "api").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r"^::: ([\w.]+)\n((?:[ ]{4}.*\n)*)", text + "\n", re.M):
            out[m[1]] = "show_submodules: true" in m[2]
    return out


def modules():
    for path in sorted((ROOT / "minidl").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue
        yield ".".join(parts)


def undocumented(module_names):
    """Public functions, classes and their public methods (defined in that module) without a
    docstring; forward/backward/extra_repr of a documented layer class are not required."""
    sys.path.insert(0, str(ROOT))
    out = []
    for name in module_names:
        mod = importlib.import_module(name)
        public = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for n in public:
            obj = getattr(mod, n, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or obj.__module__ != name:
                continue
            if not (obj.__doc__ or "").strip():
                out.append(f"{name}.{n}")
            if inspect.isclass(obj):
                for m, f in vars(obj).items():
                    if m.startswith("_") or not inspect.isfunction(f) or m in ("forward", "backward", "extra_repr"):
                        continue
                    if not (f.__doc__ or "").strip():
                        out.append(f"{name}.{n}.{m}")
    return out


def main() -> int:
    found = directives()
    missing = []
    for mod in modules():
        if mod == "minidl" or mod in found:
            continue
        parents = [mod.rsplit(".", k)[0] for k in range(1, mod.count(".") + 1)]
        if not any(found.get(p) for p in parents if p != "minidl"):
            missing.append(mod)
    if missing:
        print("API coverage: no page documents " + ", ".join(missing)
              + " (add a '::: NAME' directive to a page in docs/api/)", file=sys.stderr)
    else:
        print(f"API coverage: every public minidl module is documented ({len(found)} directives)")
    bare = undocumented(["minidl"] + list(modules()))
    if bare:
        print(f"API coverage: {len(bare)} public objects have no docstring: " + ", ".join(bare), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
