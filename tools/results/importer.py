"""Importing finished runs as records, and keeping records repo-relative.

A queue run is a folder ``RUN/`` holding ``meta.json`` (what the run queue saw: the command,
commit, machine, environment, load, wall time, return code) and ``out/`` (what the example
wrote: ``history.json``, ``summary.json`` and, for report E's text runs, ``grad_norms.json``).
:func:`import_run` turns it into ``results/<name>/``; :func:`normalise` rewrites whatever the
development machine's folders put into a record (the virtual environment's Python, the data
and run folders) as a user would type it from the repository root, and describes the machine
by CPU, cores, BLAS and Python instead."""

from __future__ import annotations

import json
import platform
import re
from importlib import metadata
from pathlib import Path

from tools.results.records import RESULTS, Record, RecordError, read_json, write_json

DATA = "path/to/data"
CIFAR_DATA = "path/to/cifar-10-batches-bin"


def _flag(command: str, names: tuple, cast=int):
    """The value after the first of ``names`` in ``command`` (``--seed 3`` -> 3), or None."""
    words = (command or "").split()
    for i, w in enumerate(words[:-1]):
        if w in names:
            try:
                return cast(words[i + 1])
            except ValueError:
                return None
    return None


def summary_from_history(rows: list) -> dict:
    """What a run's ``summary.json`` says, for a run that writes none (examples/cifar10_resnet.py)."""
    best = max((r for r in rows if r.get("test_acc") is not None), key=lambda r: r["test_acc"], default=None)
    last = rows[-1] if rows else {}
    return {"best_acc": best and best["test_acc"], "best_epoch": best and best["epoch"],
            "last_acc": last.get("test_acc"), "last_epoch": last.get("epoch"),
            "derived": "the run writes no summary.json: best and last read from its history.json"}


def _outside(word: str) -> bool:
    return word.startswith(("/", "~", "../"))


EXECUTABLES = {"python", "python3", "mpiexec", "mpirun"}


def repo_command(command: str, name: str, env: dict | None = None) -> str:
    """``command`` as a user types it from the repository root: the virtual environment's
    ``.../bin/python`` as ``python``, ``MINIDL_DATA=path/to/data`` for any data folder (put
    in front when the run read its data from the environment), ``--out runs/NAME/out``."""
    words, out = command.split(), []
    for i, w in enumerate(words):
        prev = words[i - 1] if i else ""
        if w.startswith("MINIDL_DATA="):
            w = f"MINIDL_DATA={DATA}"
        elif prev == "--out" and _outside(w):
            w = f"runs/{name}/out"
        elif prev == "--data" and _outside(w):
            w = CIFAR_DATA if "cifar" in command else DATA
        elif _outside(w) and Path(w).name in EXECUTABLES:
            w = Path(w).name
        elif _outside(w):
            raise RecordError(f"{name}: field 'command': {w!r} is a path outside the repository; "
                              "write the command repo-relative before importing it")
        out.append(w)
    if (env or {}).get("MINIDL_DATA") and "--data" not in words and not out[0].startswith("MINIDL_DATA="):
        out.insert(0, f"MINIDL_DATA={DATA}")
    return " ".join(out)


def _blas_here() -> str | None:
    try:
        import numpy

        cfg = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # an older numpy without mode="dicts", or none: the record says unknown
        return None
    version = str(cfg.get("version") or "")
    return f"{'OpenBLAS' if 'openblas' in str(cfg.get('name', '')).lower() else cfg.get('name')} " \
        f"{'.'.join(version.split('.')[:3])}".strip()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_here() -> dict:
    """This interpreter's Python, numpy, BLAS and torch, for a run whose meta.json does not say."""
    return {"python": platform.python_version(), "numpy": _version("numpy"), "blas": _blas_here(),
            "torch": (_version("torch") or "").split("+")[0] or None}


def machine_block(meta: dict, library: str, defaults: dict) -> dict:
    """The machine of a record: CPU model, cores, BLAS, Python, numpy (and torch for a twin),
    from ``meta`` (a queue run's meta.json or an older record), else from ``defaults``."""
    old = meta.get("machine") or {}
    summary_torch = (meta.get("summary") or {}).get("torch")
    out = {}
    for key in ("cpu", "cores", "blas", "python", "numpy"):
        value = next((v for v in (old.get(key), meta.get(key), defaults.get(key)) if v is not None), None)
        if value is not None:
            out[key] = value
    if "pytorch" in library:
        torch = old.get("torch") or summary_torch or defaults.get("torch")
        if torch:
            out["torch"] = str(torch).split("+")[0]
    return out


def normalise(record: dict, defaults: dict | None = None) -> dict:
    """``record`` without the development machine's folders (see :func:`repo_command`) and with
    a ``machine`` block instead of ``host``/``cpu``/``cores``/``python``. Idempotent."""
    name, rec = record["name"], dict(record)
    env = dict(rec.get("env") or {})
    if env.get("MINIDL_DATA"):
        env["MINIDL_DATA"] = DATA
    if "env" in rec:
        rec["env"] = env
    rec["command"] = repo_command(rec.get("command") or "", name, env)
    rec["machine"] = machine_block(rec, rec.get("library", "minidl"), defaults or {})
    for key in ("host", "cpu", "cores", "python", "blas", "numpy"):
        rec.pop(key, None)
    note = rec.get("source_note") or ""
    rec["source_note"] = re.sub(r"(?<![\w.])(?:/[\w.-]+)+/([\w.-]+)", r"runs/\1", note)
    args = (rec.get("summary") or {}).get("args")
    if isinstance(args, dict):
        args = dict(args)
        if isinstance(args.get("out"), str) and _outside(args["out"]):
            args["out"] = f"runs/{name}/out"
        if isinstance(args.get("data"), str) and _outside(args["data"]):
            args["data"] = CIFAR_DATA if "cifar" in rec["command"] else DATA
        rec["summary"] = dict(rec["summary"], args=args)
    order = list(record) + ["machine"]  # keep the record's field order, machine where cpu was
    return {k: rec[k] for k in sorted(rec, key=lambda k: order.index("cpu") if k == "machine" and "cpu" in order
                                       else order.index(k) if k in order else len(order))}


def _read_run(run_dir: Path) -> tuple:
    """``(meta, rows, summary, grad_norms)`` of a finished queue run; refuses an unfinished or failed one."""
    meta_path = run_dir / "meta.json"
    if not meta_path.is_file():
        raise SystemExit(f"{run_dir}: no meta.json (the run has not finished)")
    meta = read_json(meta_path)
    if meta.get("returncode") != 0:
        raise SystemExit(f"{run_dir}: the run failed (return code {meta.get('returncode')}); not imported")
    out = run_dir / "out"
    hist = read_json(out / "history.json")
    rows = hist["rows"] if isinstance(hist, dict) else hist
    summary = read_json(out / "summary.json") if (out / "summary.json").is_file() else summary_from_history(rows)
    grad_norms = read_json(out / "grad_norms.json") if (out / "grad_norms.json").is_file() else None
    return meta, rows, summary, grad_norms


def import_run(run_dir: Path, name: str | None = None, root: Path | None = None) -> Record:
    """Copy a finished queue run (``meta.json``, ``out/history.json``, ``out/summary.json``
    and, where the run wrote one, ``out/grad_norms.json``) into ``root/<name>/`` as a record,
    repo-relative (:func:`normalise`) and checked (:mod:`tools.results.validate`) before it is
    written. Refuses a run that has not finished or that failed.

    A run without ``summary.json`` (the CIFAR example writes none) gets one derived from its
    history, said so in the summary; the seed then comes from the command's ``--seed``. A run
    under ``mpiexec -n N`` records ``ranks: N`` (each rank with the BLAS threads in ``threads``)."""
    from tools.results.validate import check_record

    run_dir = Path(run_dir)
    root = RESULTS if root is None else Path(root)
    name = name or run_dir.name
    meta, rows, summary, grad_norms = _read_run(run_dir)
    command = meta.get("command") or ""
    torch_run = "_torch.py" in command
    env = meta.get("env") or {}
    seed = (summary.get("args") or {}).get("seed")
    record = {
        "name": name, "kind": "train", "library": "pytorch" if torch_run else "minidl", "source": "queue",
        "source_note": f"queue run runs/{run_dir.name}", "command": command, "commit": meta.get("commit"),
        "dirty": meta.get("dirty"), "seed": seed if seed is not None else _flag(command, ("--seed",)),
        "ranks": _flag(command, ("-n", "-np")) if "mpiexec" in command or "mpirun" in command else 1,
        "start": meta.get("start"), "end": meta.get("end"),
        # the script's own wall time where it wrote one (the queue samples its process every 30 s);
        # a resumed run: the queue's, the sum of its epochs' seconds over both processes (see "resumed")
        "wall_seconds": meta.get("wall_seconds") if meta.get("resumed")
        else summary.get("wall_seconds") or meta.get("wall_seconds"),
        "queue_wall_seconds": meta.get("wall_seconds"),
        "cpu": meta.get("cpu"), "cores": meta.get("cores"), "python": meta.get("python"),
        "blas": meta.get("blas"), "numpy": meta.get("numpy"),
        "threads": str(summary["threads"]) if torch_run and summary.get("threads") else env.get("OPENBLAS_NUM_THREADS"),
        "env": env,
        "load": {"start": meta.get("loadavg_start"), "end": meta.get("loadavg_end"), "mean": meta.get("load1_mean"),
                 "max": meta.get("load1_max"), **({"note": meta["load_note"]} if meta.get("load_note") else {})},
        "summary": summary,
    }
    for key in ("paused", "resumed"):  # stopped for a quiet-machine benchmark / continued with --resume
        if meta.get(key):
            record[key] = meta[key]
    record = normalise(record, machine_here())
    rec = Record(name, record, rows, grad_norms)
    check_record(rec, root / name)
    if grad_norms is not None:
        write_json(root / name / "grad_norms.json", grad_norms)
    write_json(root / name / "record.json", record)
    write_json(root / name / "history.json", rows)
    return rec


def normalise_all(root: Path | None = None, defaults: dict | None = None) -> list:
    """Rewrite every record under ``root`` with :func:`normalise`; the names of those that changed."""
    root = RESULTS if root is None else Path(root)
    changed = []
    for path in sorted(root.glob("*/record.json")):
        old = json.loads(path.read_text(encoding="utf-8"))
        new = normalise(old, defaults)
        if new != old:
            write_json(path, new)
            changed.append(old["name"])
    return changed
