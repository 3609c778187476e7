"""The command line of :mod:`tools.results` (its docstring lists the commands)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.results import experiments, importer, pages
from tools.results.load import load_records
from tools.results.records import ROOT, RecordError, write_text


def _import(args, parser) -> int:
    if args.as_name and len(args.runs) > 1:
        parser.error("--as names one run")
    skipped = 0
    for run in args.runs:
        try:
            rec = importer.import_run(run, args.as_name)
        except SystemExit as e:
            if not args.skip_unfinished or not isinstance(e.code, str) or isinstance(e, RecordError):
                raise
            skipped += 1
            print(f"skipped {e.code}")
            continue
        print(f"imported {run} -> results/{rec.name}/")
    if skipped:
        print(f"{skipped} run(s) skipped; run the same command again once they have finished")
    return 0


def _render(records: dict, draw: bool) -> int:
    write_text(pages.PAGE, pages.render_page(records, draw=draw))
    write_text(pages.REPORTS, pages.render_reports(records))
    write_text(pages.README, pages.render_readme(records, pages.README.read_text(encoding="utf-8"), draw=draw))
    print(f"rendered {pages.PAGE.relative_to(ROOT)}, {pages.REPORTS.relative_to(ROOT)} and the README's "
          f"results from {len(records)} records")
    return 0


def _list(records: dict) -> int:
    for name, rec in records.items():
        uses = [f"{e.key} ({lib})" for e in experiments.EXPERIMENTS for lib in ("minidl", "twin")
                for _, r in e.pick(records, lib) if r is rec]
        print(f"{name:40s} {rec.library:8s} {'transcribed' if rec.transcribed else 'queue':12s} {', '.join(uses)}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.results", description="run records and the results pages")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="copy finished queue runs into results/")
    imp.add_argument("runs", nargs="+", type=Path)
    imp.add_argument("--as", dest="as_name", default=None, help="record name (one run only)")
    imp.add_argument("--skip-unfinished", action="store_true",
                     help="pass over runs that have not finished or that failed (say which) and import the rest")
    ren = sub.add_parser("render", help="write docs/results.md, docs/reports.md, the README section, the figures")
    ren.add_argument("--no-figures", action="store_true")
    sub.add_parser("check", help="exit 1 if a page or the README is stale")
    sub.add_parser("validate", help="check every record; exit 1 naming the first refused one")
    sub.add_parser("list", help="every record and the experiments it serves")
    norm = sub.add_parser("normalise", help="rewrite every record repo-relative, with a machine block")
    norm.add_argument("--blas", help="BLAS of records that do not say, e.g. 'OpenBLAS 0.3.31'")
    norm.add_argument("--numpy", help="numpy version of records that do not say")
    norm.add_argument("--torch", help="torch version of PyTorch records that do not say")
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.cmd == "import":
        return _import(args, p)
    if args.cmd == "normalise":
        defaults = {k: v for k, v in (("blas", args.blas), ("numpy", args.numpy), ("torch", args.torch)) if v}
        changed = importer.normalise_all(defaults=defaults)
        print(f"rewrote {len(changed)} record(s)" + (f": {', '.join(changed)}" if changed else ""))
        return 0
    records = load_records()
    if args.cmd == "validate":
        print(f"{len(records)} records checked: every one is valid")
        return 0
    if args.cmd == "render":
        return _render(records, draw=not args.no_figures)
    if args.cmd == "check":
        bad = pages.stale(records)
        for f in bad:
            print(f"{f} is stale: run python -m tools.results render")
        return 1 if bad else 0
    return _list(records)


if __name__ == "__main__":
    sys.exit(main())
