"""The appendix of the results page: every record's provenance (library, seed, date, wall time,
BLAS threads, load, commit) in one table per report, and its command in a code block, as a
user would type it from the repository root."""

from __future__ import annotations

from tools.results.fmt import fmt, mark, table

GROUPS = (("A", "Report A"), ("B", "Report B"), ("C", "Report C"), ("D", "Report D"), ("E", "Report E"),
          ("bench", "Speed benchmarks"))


def group_of(name: str) -> str:
    """The report a record belongs to, by its name: ``torch-B-...`` and ``B-...`` are report B's."""
    bare = name.removeprefix("torch-")
    return bare[0] if bare[:2] in ("A-", "B-", "C-", "D-", "E-") else "bench"


def threads(meta: dict) -> str:
    """BLAS threads, as ``ranks × threads`` for a run under mpiexec."""
    t = meta.get("threads") or "—"
    return f"{meta['ranks']} × {t}" if (meta.get("ranks") or 1) > 1 else t


def wall(meta: dict) -> str:
    """Wall time, and how much of it the run spent stopped (SIGSTOP for a quiet benchmark)."""
    text = fmt(meta.get("wall_seconds"), "s")
    paused = sum(p.get("seconds", 0) for p in meta.get("paused") or [])
    if meta.get("resumed"):  # one process per session it ran in, each continuing the last one's checkpoint
        after = meta["resumed"].get("after_epochs") or [meta["resumed"]["after_epoch"]]
        count = {2: "two", 3: "three", 4: "four", 5: "five"}.get(len(after) + 1, str(len(after) + 1))
        epochs = f"epoch{'s' if len(after) > 1 else ''} {' and '.join(map(str, after))}"
        text += f" ({count} processes: resumed after {epochs})"
    return f"{text} (of which {fmt(paused, 's')} stopped)" if paused else text


def _load(meta: dict) -> str:
    load = meta.get("load") or {}
    return f"{load['mean']:.1f} / {load['max']:.1f}" if load.get("mean") is not None else load.get("note", "—")


def runs_table(records: dict, group: str) -> str:
    """Provenance of every record of one report (or of the benchmarks), commands apart."""
    names = [n for n in records if group_of(n) == group]
    if not names:
        return "*No run of this report is recorded yet.*"
    rows = []
    for n in names:
        m = records[n].meta
        rows.append([mark(records[n]), m.get("library", "minidl"), str(m.get("seed", "—")),
                     (m.get("start") or "—").replace("T", " ").replace("Z", ""), wall(m), threads(m), _load(m),
                     (m.get("commit") or "—")[:10]])
    return table(["record", "library", "seed", "start (UTC)", "wall time", "BLAS threads", "load mean / max",
                  "commit"], rows, "llrrrrrl")


def commands(records: dict, group: str) -> str:
    """Every command of one report, each under its record's name, in one scrolling code block."""
    lines = []
    for n, rec in records.items():
        if group_of(n) == group:
            lines += [f"# {n}" + (" (transcribed)" if rec.transcribed else ""), rec.meta.get("command", "—")]
    return "```bash\n" + "\n".join(lines) + "\n```" if lines else ""


def machines(records: dict) -> str:
    """The machines the records ran on, each with the records that name it."""
    seen: dict = {}
    for n, rec in records.items():
        m = rec.meta.get("machine") or {}
        key = ", ".join(x for x in (m.get("cpu"), m.get("cores") and f"{m['cores']} cores", m.get("blas"),
                                    m.get("python") and f"Python {m['python']}",
                                    m.get("numpy") and f"numpy {m['numpy']}") if x)
        seen.setdefault(key, []).append(n)
    return "\n".join(f"- {key}: {len(names)} record(s)" for key, names in seen.items())


def appendix(records: dict) -> str:
    """The whole appendix: the machines, then per report the runs table and the commands."""
    parts = ["Machine" + ("s" if len({str(r.meta.get('machine')) for r in records.values()}) > 1 else "")
             + " (the torch version is in each twin's record):\n\n" + machines(records)]
    for group, title in GROUPS:
        if any(group_of(n) == group for n in records):
            parts.append(f"### {title}: runs\n\n{runs_table(records, group)}\n\n{commands(records, group)}")
    return "\n\n".join(parts)
