"""The command line: ``python -m minidl.exercises {list, check, init}``.

    python -m minidl.exercises list                     # the exercises, chapter by chapter
    python -m minidl.exercises check linear_backward    # grade exercises/linear_backward.py
    python -m minidl.exercises check all                # grade every exercise
    python -m minidl.exercises check all --dir my/copy  # the stubs in another folder
    python -m minidl.exercises init my/copy             # write fresh stubs there

``check`` exits with 0 only when every exercise it checked passes (an untouched stub is
"not implemented yet" and does not pass).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from ..errors import RangeError
from . import registry
from .grader import NOT_IMPLEMENTED, PASS, grade

__all__ = ["main"]

DEFAULT_DIR = "exercises"


def _list(_args) -> int:
    chapter = None
    for name, ex in registry.exercises().items():
        if ex.chapter != chapter:
            chapter = ex.chapter
            print(f"\ndocs/{chapter}")
        print(f"  {name:<32} {ex.title}")
    print("\ncheck one with: python -m minidl.exercises check NAME")
    return 0


def _check_one(name: str, directory: pathlib.Path, seed: int) -> tuple[str, str]:
    """Grade one exercise: ``(status, report text)``."""
    try:
        fn = registry.load_function(directory, name)
    except Exception as exc:  # noqa: BLE001 — anything the student's file raises on import is reported
        return "error", f"✗ {name}: cannot load {directory / (name + '.py')}: {type(exc).__name__}: {exc}"
    report = grade(registry.get(name), fn, seed=seed)
    return report.status, str(report)


def _check(args) -> int:
    names = list(registry.exercises()) if args.names == ["all"] else args.names
    try:
        for name in names:
            registry.get(name)
    except RangeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    statuses, previous_long = [], False
    for name in names:
        status, text = _check_one(name, pathlib.Path(args.dir), args.seed)
        long = "\n" in text
        if statuses and (long or previous_long):
            print()  # a report of several lines stands apart
        print(text)
        statuses.append(status)
        previous_long = long
    if len(names) > 1 or args.names == ["all"]:
        passed, todo = statuses.count(PASS), statuses.count(NOT_IMPLEMENTED)
        print(f"\n{passed} of {len(names)} exercises pass; {todo} not implemented yet; "
              f"{len(names) - passed - todo} wrong")
    return 0 if all(s == PASS for s in statuses) else 1


def _init(args) -> int:
    directory = pathlib.Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for file_name, text in registry.stub_files().items():
        path = directory / file_name
        if path.exists() and not args.force:
            kept.append(file_name)
            continue
        path.write_text(text, encoding="utf-8")
        written.append(file_name)
    print(f"wrote {len(written)} files to {directory}" + (f"; kept {len(kept)} existing (use --force to overwrite)"
                                                          if kept else ""))
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser (``list``, ``check NAME... | all``, ``init DIR``)."""
    p = argparse.ArgumentParser(prog="python -m minidl.exercises",
                                description="Graded exercises: write a backward pass, get told where it is wrong.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the exercises").set_defaults(run=_list)
    check = sub.add_parser("check", help="grade one exercise, several, or all")
    check.add_argument("names", nargs="+", metavar="NAME", help="exercise names, or all")
    check.add_argument("--dir", default=DEFAULT_DIR, help=f"the folder of your solutions (default: {DEFAULT_DIR})")
    check.add_argument("--seed", type=int, default=0, help="the random cases' seed (default 0)")
    check.set_defaults(run=_check)
    init = sub.add_parser("init", help="write fresh stubs into a folder")
    init.add_argument("dir", help="the folder to write (created if needed)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(run=_init)
    return p


def main(argv=None) -> int:
    """Run the command line; return the exit code."""
    args = parser().parse_args(argv)
    return args.run(args)
