"""Mutants: testing the tests of the backward code.

A gradient check that cannot fail proves nothing (issue 20 found one: the whole-ResNet check
passed with the shortcut's gradient deleted). This tool plants one small bug at a time in
the **backward** code of ``minidl/functional/``, ``minidl/nn/`` and ``minidl/models/`` and
runs the tests that cover that file; a bug the tests do not notice (a *survivor*) is either
a hole in the tests or an *equivalent* mutant, one that changes nothing the maths can see.

The bugs (mutation operators), each at one place (a *site*):

* ``flip``: one arithmetic operator flipped: ``+`` ↔ ``-``, ``*`` → ``/``, ``/`` → ``*``
  (also in ``+=``, ``-=``, ``*=``, ``/=`` and the ufunc calls ``xp.add(a, b, out=c)``,
  ``xp.subtract``, ``xp.multiply``, ``xp.divide``);
* ``keep-left`` / ``keep-right``: one term of a sum dropped: ``a + b`` → ``a`` or ``b``,
  ``a - b`` → ``a``; ``drop``: an accumulation ``x += y`` (or ``x -= y``) removed;
* ``no-T``: one transpose ``.T`` removed (a square weight hides it from every shape check).

The code searched: every function whose name holds ``backward`` (``BasicBlock.backward``,
``lstm_backward``, ``step_backward`` ...), the helpers that only the backward calls
(:data:`BACKWARD_HELPERS`, e.g. the fused factor kernels), and the functions nested in
either. A mutant is applied to a **copy** of the ``minidl`` package in a temporary folder
(the working tree is never written), by replacing the source span of one expression; the
tests of :data:`TESTS` then run in a subprocess against the copy (``PYTHONPATH``), fast files
first, stopping at the first failure (``-x``). A mutant is *killed* when a test fails (or the
tests run past the timeout: a mutant that hangs is caught too); a test run that cannot start
(a collection error, no test found) is an *error*, never a kill.

A fixed-seed sample keeps CI short; the dropped shortcut of ``BasicBlock.backward`` is
always in it (:data:`FORCED`) and runs the whole-model gradient check **alone**, with
PyTorch hidden (a stand-in ``torch`` package that fails to import), so no parity test can
be the one that catches it.

    python tools/mutants.py              # the CI sample (exit 1 on a survivor not in EQUIVALENT)
    python tools/mutants.py --list       # every site, with its key
    python tools/mutants.py --all        # every site (long)
    python tools/mutants.py --only KEY   # one mutant, by its key (a substring is enough)
    python tools/mutants.py --jobs 1     # one at a time (default: one per core, each in its own copy)
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import queue
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("minidl/functional", "minidl/nn", "minidl/models")
SEED = 20
SAMPLE = 30
TIMEOUT_S = 300

# Helpers that only the backward pass calls but whose names do not say "backward".
BACKWARD_HELPERS = {
    "minidl/functional/lstm.py": {"_lstm_factors", "lstm_local_grads", "_lstm_step_back", "lstm_gates_backward"},
    "minidl/functional/lstm_loops.py": {"local_grads_loop", "step_back_loop", "lstm_local_grads"},
    "minidl/functional/gru.py": {"_gru_factors", "gru_local_grads", "_reset_grads", "_add_product",
                                 "_add_products", "_reverse_loop_after", "_reverse_loop_before"},
    "minidl/functional/rnn.py": {"_tanh_slope", "_relu_slope", "rnn_local_grad"},
    "minidl/functional/sequence.py": {"backward_through_time", "input_grads", "step_grads"},
    "minidl/functional/conv.py": {"add_patch_gradient", "_input_gradient"},
    "minidl/functional/conv_fast.py": {"_stride1_grads", "_row_group"},
    "minidl/functional/conv_rows.py": {"shifted_products", "kernel_row", "row_shifted_grads"},
    "minidl/functional/batchnorm.py": {"_param_grads", "batch_norm_dx"},
    "minidl/functional/gate_layout.py": {"sigmoid_slope"},
    "minidl/functional/subnormal.py": {"subnormal_floor", "subnormal_flush"},
    "minidl/functional/distinct_rows.py": {"sum_by_word", "input_side_grads", "add_row_grads"},
}

# The tests that cover each file, fastest first (-x stops at the first failure). A file of
# SOURCES with backward code and no row here is an error (tests/test_mutants.py checks it).
_RECURRENT = ["tests/functional/test_recurrent_steps.py", "tests/nn/test_recurrent_layers.py",
              "tests/nn/test_recurrent_torch.py", "tests/nn/test_recurrent_gradcheck.py"]
_MODELS = ["tests/models/test_models_gradcheck.py", "tests/models/test_reports_gradcheck.py",
           "tests/models/test_report_e_models.py", "tests/models/test_report_c_models.py",
           "tests/models/test_char_models.py"]
TESTS = {
    "minidl/functional/activations.py": ["tests/functional/test_activations.py", "tests/nn/test_activation.py"],
    "minidl/functional/batchnorm.py": ["tests/functional/test_batchnorm_functional.py",
                                       "tests/functional/test_batchnorm_fused.py", "tests/nn/test_batchnorm.py"],
    "minidl/functional/conv.py": ["tests/functional/test_conv_functional.py", "tests/nn/test_conv2d.py"],
    "minidl/functional/conv_rows.py": ["tests/functional/test_conv_fast.py"],
    "minidl/functional/distinct_rows.py": ["tests/functional/test_distinct_rows.py", *_RECURRENT],
    "minidl/functional/dropout.py": ["tests/functional/test_dropout.py", "tests/nn/test_dropout.py"],
    "minidl/functional/embedding.py": ["tests/functional/test_embedding.py", "tests/nn/test_embedding.py",
                                       "tests/nn/test_one_hot_embedding.py"],
    "minidl/functional/linear.py": ["tests/functional/test_linear.py", "tests/nn/test_linear.py"],
    "minidl/functional/losses.py": ["tests/functional/test_losses.py", "tests/nn/test_loss.py"],
    "minidl/functional/pool.py": ["tests/nn/test_pooling.py"],
    "minidl/functional/gate_layout.py": _RECURRENT,
    "minidl/functional/gru.py": _RECURRENT,
    # the loops' test first: it compares lstm.py's ufunc calls with the compiled loops bit for
    # bit, so a bug in either is caught even where the layer runs the other (numba installed)
    "minidl/functional/lstm.py": ["tests/functional/test_lstm_loops.py", *_RECURRENT],
    "minidl/functional/lstm_loops.py": ["tests/functional/test_lstm_loops.py", *_RECURRENT],
    "minidl/functional/rnn.py": _RECURRENT,
    "minidl/functional/sequence.py": ["tests/functional/test_subnormal.py", *_RECURRENT],
    "minidl/functional/subnormal.py": ["tests/functional/test_subnormal.py"],
    "minidl/functional/peephole_lstm.py": ["tests/nn/test_peephole_lstm.py"],
    "minidl/nn/activation.py": ["tests/nn/test_activation.py"],
    "minidl/nn/batchnorm.py": ["tests/nn/test_batchnorm.py"],
    "minidl/nn/cell_loop_lstm.py": ["tests/nn/test_cell_loop_lstm.py"],
    "minidl/nn/conv.py": ["tests/nn/test_conv2d.py"],
    "minidl/nn/dropout.py": ["tests/nn/test_dropout.py"],
    "minidl/nn/embedding.py": ["tests/nn/test_embedding.py", "tests/nn/test_one_hot_embedding.py"],
    "minidl/nn/flatten.py": ["tests/nn/test_flatten.py"],
    "minidl/nn/linear.py": ["tests/nn/test_linear.py"],
    "minidl/nn/loss.py": ["tests/nn/test_loss.py"],
    "minidl/nn/peephole_lstm.py": ["tests/nn/test_peephole_lstm.py"],
    "minidl/nn/pool.py": ["tests/nn/test_pooling.py"],
    "minidl/nn/recurrent.py": _RECURRENT,
    "minidl/nn/rnn_cells.py": _RECURRENT,
    "minidl/nn/residual.py": ["tests/nn/test_residual.py", "tests/models/test_resnet.py"],
    "minidl/nn/residual_stack_lstm.py": ["tests/nn/test_residual_stack_lstm.py"] + _MODELS,
    "minidl/models/char_lstm.py": ["tests/models/test_report_c_models.py", "tests/models/test_char_models.py"],
    "minidl/models/char_rnn.py": ["tests/models/test_report_c_models.py", "tests/models/test_char_models.py"],
    "minidl/models/imdb.py": _MODELS[:3],
    "minidl/models/resnet.py": ["tests/models/test_resnet.py"],
}

# Always in the sample: the mutant that once survived (issue 20), caught by the whole-model
# finite-difference check alone, with PyTorch hidden. key -> the test node ids to run.
SHORTCUT = "minidl/nn/residual.py::BasicBlock.backward::drop::d_main += d_skip#0"
FORCED = {SHORTCUT: ["tests/models/test_resnet.py::test_small_resnet_end_to_end_gradcheck"]}

# Mutants that change nothing the maths can see, each with the reason. A survivor listed
# here does not fail the run; one that is not listed does. Most survivors found so far were
# holes in the tests, and were fixed there (recurrent.py's ``T - T_run`` padding:
# tests/nn/test_recurrent_layers.py::test_backward_when_every_sequence_is_shorter_than_the_padding;
# the tuple a stack fed ``input_rows`` returns: ...::test_a_stack_fed_input_rows_returns_the_dense_gradients).
# The two below, from the full run (``--all``, 559 sites, 2026-12-07), cannot be told apart.
# An entry reads:  "minidl/...py::function::kind::source#0": "why no input can tell it apart",
EQUIVALENT: dict[str, str] = {
    "minidl/functional/sequence.py::backward_through_time::keep-left::T - 1#0":
        "range(T // n * n, ...) instead of range((T - 1) // n * n, ...): when n divides T the loop "
        "starts with the block [T, T), which has no steps (its factors are computed for zero steps); "
        "every step still runs once, in the same order",
    "minidl/models/char_rnn.py::CharRNN.backward::keep-right::(1 - active[t]) * dh + d_combined[:, self.input_size:]#0":
        "the dropped term carries ∂L/∂h through a step where the name has ended (active = 0: t ≥ L − 1); "
        "no loss term reads h after a name's last letter, so that carried gradient is exactly 0 at every "
        "such step, and where the name is still running the term is multiplied by 1 − active = 0",
}


@dataclass(frozen=True)
class Mutant:
    path: str          # the file, relative to the repository root
    qualname: str      # the function (Class.method, outer.inner)
    kind: str          # flip, keep-left, keep-right, drop, no-T
    original: str      # the source of the expression or statement mutated
    occurrence: int    # its index among same (qualname, kind, original)
    lineno: int
    start: int         # character offsets of the span replaced, in the file's text
    end: int
    replacement: str

    @property
    def key(self) -> str:
        """A name that does not move when lines above it change."""
        return f"{self.path}::{self.qualname}::{self.kind}::{self.original}#{self.occurrence}"

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end:]

    def diff(self, text: str) -> str:
        new = self.apply(text)
        return "".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                            f"a/{self.path}", f"b/{self.path}", n=0))


_OPS = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*")}
_UFUNCS = {"add": "subtract", "subtract": "add", "multiply": "divide", "divide": "multiply"}  # xp.add(a, b, out=)
_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)


class _Text:
    """A file's text with ast positions (line, UTF-8 byte column) turned into character offsets."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        for line in text.splitlines(True):
            self.starts.append(self.starts[-1] + len(line))
        self.lines = text.splitlines(True)

    def offset(self, lineno: int, col: int) -> int:
        return self.starts[lineno - 1] + len(self.lines[lineno - 1].encode()[:col].decode())

    def span(self, node) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def source(self, node) -> str:
        s, e = self.span(node)
        return self.text[s:e]


def _wrapped(src: _Text, node) -> str:
    text = src.source(node)
    return text if isinstance(node, _ATOMS) else f"({text})"


def _op_flip(src: _Text, before, after, symbol: str, new: str):
    """The one ``symbol`` between two nodes (their gap holds only brackets and spaces), flipped."""
    s, e = src.offset(before.end_lineno, before.end_col_offset), src.offset(after.lineno, after.col_offset)
    gap = src.text[s:e]
    if gap.count(symbol) != 1 or "#" in gap or (symbol in "*/" and gap.count(symbol * 2)):
        return None
    i = s + gap.index(symbol)
    return i, i + len(symbol), new


def _sites_of_node(src: _Text, node):
    """(kind, node, start, end, replacement) for each mutation of one ast node."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        old, new = _OPS[type(node.op)]
        sequences = isinstance(node.left, (ast.Tuple, ast.List)) or isinstance(node.right, (ast.Tuple, ast.List))
        flip = None if sequences else _op_flip(src, node.left, node.right, old, new)  # no tuple − tuple
        if flip:
            yield ("flip", node, *flip)
        s, e = src.span(node)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            yield ("keep-left", node, s, e, _wrapped(src, node.left))
        if isinstance(node.op, ast.Add):
            yield ("keep-right", node, s, e, _wrapped(src, node.right))
    elif isinstance(node, ast.AugAssign) and type(node.op) in _OPS:
        old, new = _OPS[type(node.op)]
        flip = _op_flip(src, node.target, node.value, old + "=", new + "=")
        if flip:
            yield ("flip", node, *flip)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            yield ("drop", node, *src.span(node), "pass")
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _UFUNCS:
        end = src.offset(node.func.end_lineno, node.func.end_col_offset)
        yield ("flip", node, end - len(node.func.attr), end, _UFUNCS[node.func.attr])
    elif isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load) \
            and not _is_record(node.value):
        yield ("no-T", node, *src.span(node), _wrapped(src, node.value))


def _is_record(node) -> bool:
    """``cache.T``, ``self.T``: a field named T (a length), not a transpose."""
    return isinstance(node, ast.Name) and (node.id == "self" or "cache" in node.id)


def _skipped(node) -> bool:
    """Messages are not maths: no mutant in an f-string or a raise statement."""
    return isinstance(node, (ast.JoinedStr, ast.Raise))


def _walk(node):
    for child in ast.iter_child_nodes(node):
        if _skipped(child):
            continue
        yield child
        yield from _walk(child)


def _backward_functions(tree, helpers):
    """(qualname, node) of the backward functions and helpers; a function nested in one is
    walked with it (its sites carry the outer function's name)."""
    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if "backward" in child.name or child.name in helpers:
                    yield prefix + child.name, child
    yield from visit(tree, "")


def sites_in(path: str, text: str | None = None) -> list[Mutant]:
    """Every mutant of the backward code of one file (``path`` relative to the root)."""
    text = (ROOT / path).read_text(encoding="utf-8") if text is None else text
    src, tree = _Text(text), ast.parse(text)
    out, seen = [], {}
    for qualname, func in _backward_functions(tree, BACKWARD_HELPERS.get(path, set())):
        body = [n for stmt in func.body for n in (stmt, *_walk(stmt))]
        for node in sorted(body, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
            for kind, n, start, end, replacement in _sites_of_node(src, node):
                original = " ".join(src.source(n).split())
                k = (qualname, kind, original)
                seen[k] = seen.get(k, -1) + 1
                out.append(Mutant(path, qualname, kind, original, seen[k], n.lineno, start, end, replacement))
    return out


def all_sites() -> list[Mutant]:
    files = sorted(p for d in SOURCES for p in (ROOT / d).glob("*.py"))
    return [m for p in files for m in sites_in(p.relative_to(ROOT).as_posix())]


def sample(sites: list[Mutant], n: int = SAMPLE, seed: int = SEED) -> list[Mutant]:
    """The forced mutants, then ``n`` others drawn with a fixed seed, in file order."""
    forced = [m for m in sites if m.key in FORCED]
    missing = set(FORCED) - {m.key for m in forced}
    if missing:
        raise SystemExit(f"error: forced mutant(s) not found among the sites: {sorted(missing)}")
    rest = [m for m in sites if m.key not in FORCED]
    drawn = random.Random(seed).sample(rest, min(n, len(rest)))
    return forced + sorted(drawn, key=lambda m: (m.path, m.start))


# A stand-in that makes ``import torch`` fail, so every PyTorch parity test skips.
_NO_TORCH = 'raise ModuleNotFoundError("torch is hidden by tools/mutants.py", name="torch")\n'


class Sandbox:
    """A copy of the ``minidl`` package (no bytecode) in which one mutant at a time is written."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="minidl-mutants-"))
        shutil.copytree(ROOT / "minidl", self.dir / "minidl", ignore=shutil.ignore_patterns("__pycache__"))
        (self.dir / "no_torch" / "torch").mkdir(parents=True)
        (self.dir / "no_torch" / "torch" / "__init__.py").write_text(_NO_TORCH)

    def run(self, mutant: Mutant | None, tests: list[str], *, hide_torch=False, timeout=TIMEOUT_S):
        """(status, detail): status ``killed``, ``survived`` or ``error`` (the tests could not run)."""
        target = self.dir / mutant.path if mutant else None
        original = target.read_text(encoding="utf-8") if mutant else None
        if mutant:
            target.write_text(mutant.apply(original), encoding="utf-8")
        try:
            return self._pytest(tests, hide_torch, timeout)
        finally:
            if mutant:
                target.write_text(original, encoding="utf-8")

    def env(self, hide_torch=False) -> dict:
        """The subprocess environment: the copy first on the path (and the torch stand-in before it)."""
        path = [str(self.dir / "no_torch")] if hide_torch else []
        return dict(os.environ, PYTHONPATH=os.pathsep.join([*path, str(self.dir)]), PYTHONDONTWRITEBYTECODE="1",
                    OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")

    def _pytest(self, tests, hide_torch, timeout):
        env = self.env(hide_torch)
        cmd = [sys.executable, "-P", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow",
               *tests]
        try:  # -P: the working directory (the tree's minidl) is not put before PYTHONPATH (the copy's)
            p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "killed", f"timeout after {timeout} s"
        failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", p.stdout, re.M)
        if p.returncode == 1 and failed:
            why = [ln for ln in p.stdout.splitlines() if ln.startswith("E ") and "<-- " in ln]
            return "killed", "\n    ".join([failed[0], *why[:6]])  # the test, and the gradcheck rows that failed
        if p.returncode == 0:
            return "survived", p.stdout.strip().splitlines()[-1]
        return "error", f"pytest exit {p.returncode}:\n{p.stdout[-2000:]}{p.stderr[-2000:]}"

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def tests_by_convention(path: str) -> list[str]:
    """A file without a row in :data:`TESTS` (a new layer, added as CONTRIBUTING says) is
    covered by its own test files: ``minidl/functional/x.py`` and ``minidl/nn/x.py`` by
    whichever of ``tests/functional/test_x.py`` and ``tests/nn/test_x.py`` exist."""
    name = Path(path).stem
    candidates = [f"tests/functional/test_{name}.py", f"tests/nn/test_{name}.py"]
    return [c for c in candidates if (ROOT / c).is_file()]


def tests_for(mutant: Mutant) -> list[str]:
    if mutant.key in FORCED:
        return FORCED[mutant.key]
    tests = TESTS.get(mutant.path) or tests_by_convention(mutant.path)
    if not tests:
        raise SystemExit(f"error: {mutant.path} has backward code but no row in TESTS (tools/mutants.py) and no "
                         "tests/{functional,nn}/test_<name>.py")
    return tests


def _check_forced(box: Sandbox) -> None:
    """The forced mutants' tests must pass unmutated (with torch hidden): a kill then means something."""
    for key, tests in FORCED.items():
        status, detail = box.run(None, tests, hide_torch=True)
        print(f"baseline {' '.join(tests)} (torch hidden, unmutated): "
              f"{'passes' if status == 'survived' else status}")
        if status != "survived":
            raise SystemExit(f"error: the tests of forced mutant {key} fail unmutated:\n{detail}")


def _judge(box: Sandbox, m: Mutant) -> tuple[str, str, float]:
    """Run one mutant's tests in ``box``: (status, detail, seconds), an equivalent survivor so named."""
    t = time.monotonic()
    status, detail = box.run(m, tests_for(m), hide_torch=m.key in FORCED)
    if status == "survived" and m.key in EQUIVALENT:
        status, detail = "equivalent", EQUIVALENT[m.key]
    return status, detail, time.monotonic() - t


def run(mutants: list[Mutant], jobs: int = 1) -> int:
    """Every mutant judged, ``jobs`` at a time, each job in a sandbox of its own (a mutant is
    written into its sandbox's copy, so two jobs never share one); printed in order."""
    boxes, t0 = [Sandbox() for _ in range(max(1, min(jobs, len(mutants))))], time.monotonic()
    free = queue.SimpleQueue()
    for box in boxes:
        free.put(box)

    def judge(m):
        box = free.get()
        try:
            return _judge(box, m)
        finally:
            free.put(box)

    counts, bad = {"killed": 0, "survived": 0, "equivalent": 0, "error": 0}, []
    try:
        _check_forced(boxes[0])
        with ThreadPoolExecutor(max_workers=len(boxes)) as pool:  # threads only wait on subprocesses
            for i, (m, (status, detail, seconds)) in enumerate(zip(mutants, pool.map(judge, mutants)), 1):
                text = (ROOT / m.path).read_text(encoding="utf-8")
                counts[status] += 1
                note = " [forced; whole-model gradcheck alone, torch hidden]" if m.key in FORCED else ""
                print(f"[{i}/{len(mutants)}] {status.upper()} {m.path}:{m.lineno} {m.kind}{note} "
                      f"({seconds:.0f} s)\n  key: {m.key}\n  by: {detail}", flush=True)
                print("  " + "\n  ".join(m.diff(text).splitlines()[2:]), flush=True)  # the hunk, without file names
                if status in ("survived", "error"):
                    bad.append(m)
    finally:
        for box in boxes:
            box.close()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"\n{len(mutants)} mutants: " + ", ".join(f"{v} {k}" for k, v in counts.items())
          + f" ({time.monotonic() - t0:.0f} s wall, {len(boxes)} at a time; "
          f"{cpu.ru_utime + cpu.ru_stime:.0f} s CPU in the test runs)")
    if bad:
        print("not killed (fix the tests, or list the mutant in EQUIVALENT with the reason):\n  "
              + "\n  ".join(m.key for m in bad))
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list every site and exit")
    ap.add_argument("--all", action="store_true", help="run every site, not the sample")
    ap.add_argument("--only", metavar="KEY", action="append", help="run the mutants whose key contains KEY")
    ap.add_argument("-n", type=int, default=SAMPLE, help=f"sample size besides the forced (default {SAMPLE})")
    ap.add_argument("--seed", type=int, default=SEED, help=f"sampling seed (default {SEED})")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="mutants judged at once, each in its own copy (default: the number of cores)")
    args = ap.parse_args(argv)
    if args.n < 0:
        ap.error(f"-n must be >= 0, got {args.n}")
    if args.jobs < 1:
        ap.error(f"--jobs must be >= 1, got {args.jobs}")
    sites = all_sites()
    if args.list:
        for m in sites:
            print(f"{m.path}:{m.lineno}  {m.key}  ->  {m.replacement}")
        print(f"{len(sites)} sites in {len({m.qualname for m in sites})} functions")
        return 0
    if args.only:
        chosen = [m for m in sites if any(k in m.key for k in args.only)]
        if not chosen:
            ap.error(f"--only: no site's key contains {args.only}")
    else:
        chosen = sites if args.all else sample(sites, args.n, args.seed)
    print(f"{len(sites)} sites; running {len(chosen)} mutants (seed {args.seed}), {args.jobs} at a time")
    return run(chosen, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
