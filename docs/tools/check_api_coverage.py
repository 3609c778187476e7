"""List the minidl modules that no API page documents (a warning; exit status 0).

A module is covered when some ``::: NAME`` directive in docs/api/*.md names it, or names
a package above it with ``show_submodules: true``. Private modules (``_name``) are skipped.
Usage: python docs/tools/check_api_coverage.py
"""

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
