"""Run records and the pages generated from them (``python -m tools.results``).

Every recorded run is a folder ``results/<run-name>/`` holding

* ``record.json``: what ran and where: the command as a user types it from the repository root
  (``MINIDL_DATA=path/to/data python examples/imdb_lstm.py ...``), the commit (and whether the
  tree was dirty), the seed, the machine (``machine``: CPU model, cores, BLAS, Python, numpy,
  and torch for a PyTorch twin), the BLAS thread count, the date (start and end, UTC), the wall
  time, the load average (at start and end, mean and max), which library ran it (minidl or its
  PyTorch twin), and the run's ``summary.json``;
* ``history.json``: the per-epoch (or per-1,000-step) rows the run wrote.

A record whose numbers were copied from an older log (the runs of 2026-11-26, made before
records existed) says so: ``"source": "transcribed"``, a ``source_note`` naming the log, its
numbers under ``"transcribed"``, and usually no per-epoch history.

The experiments (which report, which number, which records measure it) are data:
``results/experiments.toml``. ``docs/results.md``, ``docs/reports.md``, the README's results
section (between ``<!-- results:start -->`` and ``<!-- results:end -->``) and the figures under
``docs/figures/results/`` are rendered from the records and the templates in
``tools/results/templates/``: the prose lives in the templates, every number comes from a record
through a placeholder (see :mod:`tools.results.pages`). ``tests/test_results_page.py`` fails when
a committed page differs from what the records render.

The package, one concern per module: ``records`` (reading), ``validate`` (checking: a bad record
is refused, naming the file and the field), ``experiments`` (the TOML list), ``importer``
(queue runs in, repo-relative), ``tables``, ``summary`` and ``provenance`` (rendering),
``figures`` (drawing), ``pages`` (templates), ``__main__`` (the command line).

Usage, from the repository root::

    python -m tools.results import RUN_DIR [RUN_DIR ...]        # a finished run folder: meta.json + out/
    python -m tools.results import --as NAME RUN_DIR             # under another record name
    python -m tools.results import --skip-unfinished RUNS/*      # every finished run, the rest named
    python -m tools.results render            # the pages, the README section and the figures
    python -m tools.results render --no-figures
    python -m tools.results check             # exit status 1 if a page or the README is stale
    python -m tools.results validate          # check every record, say which is refused and why
    python -m tools.results list              # every record and the experiment it serves
    python -m tools.results normalise         # rewrite records repo-relative (idempotent)

``import`` reads ``RUN_DIR/meta.json`` (written by the run queue: command, commit, start, end,
wall time, host CPU and cores, Python, environment, load, return code) and ``RUN_DIR/out/``
(``history.json``, ``summary.json``, ``grad_norms.json``), rewrites the command and the folders
repo-relative, takes numpy, BLAS and torch versions from ``meta.json`` or else from the Python
that imports, checks the record, and writes ``results/<name>/``. Then add the record to an
experiment in ``results/experiments.toml`` (or cite it with a ``{{value:...}}`` placeholder)
and ``render``.
"""
