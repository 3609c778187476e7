"""The mutation tester itself (tools/mutants.py; CI runs it in .ci/mutants): it finds the sites
it must, each mutant is valid Python that changes exactly one function, the sample is fixed and
holds the forced mutant, and the sandbox really imports the mutated copy."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import mutants  # noqa: E402


@pytest.fixture(scope="module")
def sites():
    return mutants.all_sites()


def _functions(tree) -> dict:
    """Every top-level function and method by qualified name -> its node."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out.update({f"{node.name}.{f.name}": f for f in node.body if isinstance(f, ast.FunctionDef)})
        elif isinstance(node, ast.FunctionDef):
            out[node.name] = node
    return out


def _span(text: str, node) -> tuple[int, int]:
    """Character offsets of a function's lines, decorators included."""
    lines = text.splitlines(True)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return sum(map(len, lines[: first - 1])), sum(map(len, lines[: node.end_lineno]))


def test_finds_the_dropped_shortcut_of_basicblock(sites):
    (m,) = [m for m in sites if m.key == mutants.SHORTCUT]
    assert (m.path, m.qualname, m.kind, m.replacement) == ("minidl/nn/residual.py", "BasicBlock.backward",
                                                           "drop", "pass")
    assert "d_main += d_skip" not in m.apply((mutants.ROOT / m.path).read_text(encoding="utf-8"))
    assert "-        d_main += d_skip" in m.diff((mutants.ROOT / m.path).read_text(encoding="utf-8"))


def test_finds_every_kind_in_the_backward_code_only(sites):
    assert {m.kind for m in sites} == {"flip", "keep-left", "keep-right", "drop", "no-T"}
    assert all("backward" in m.qualname or m.qualname in mutants.BACKWARD_HELPERS.get(m.path, ())
               for m in sites)
    assert not any(m.qualname.endswith("forward") for m in sites)
    assert not any(m.original in ("cache.T", "self.T") for m in sites)  # fields named T (a length)
    assert len({m.key for m in sites}) == len(sites)  # keys are unique


def test_each_mutant_is_valid_python_and_changes_exactly_one_function(sites):
    texts = {p: (mutants.ROOT / p).read_text(encoding="utf-8") for p in {m.path for m in sites}}
    funcs = {p: _functions(ast.parse(t)) for p, t in texts.items()}
    originals = {}
    for m in sites:
        text, new = texts[m.path], m.apply(texts[m.path])
        func = funcs[m.path][m.qualname]
        start, end = _span(text, func)
        # the text outside the function is untouched, the function's code is changed
        assert new[:start] == text[:start] and new[len(new) - (len(text) - end):] == text[end:], m.key
        source = textwrap.dedent(new[start: len(new) - (len(text) - end)])
        (mutated,) = ast.parse(source).body  # the function alone; a SyntaxError is a broken mutant
        key = (m.path, func.name, start)
        if key not in originals:
            originals[key] = ast.dump(ast.parse(textwrap.dedent(text[start:end])).body[0])
        assert ast.dump(mutated) != originals[key], m.key


def test_every_file_with_sites_has_tests_that_exist(sites):
    for path in {m.path for m in sites}:
        assert mutants.TESTS.get(path) or mutants.tests_by_convention(path), \
            f"{path} has backward code but no row in mutants.TESTS and no tests/{{functional,nn}}/test_<name>.py"
    for tests in [*mutants.TESTS.values(), *mutants.FORCED.values()]:
        for t in tests:
            assert (ROOT / t.split("::")[0]).is_file(), t


def test_equivalent_mutants_are_real_sites_with_reasons(sites):
    keys = {m.key for m in sites}
    for key, reason in mutants.EQUIVALENT.items():
        assert key in keys, f"stale EQUIVALENT entry (no such site): {key}"
        assert len(reason) > 20, key


def test_the_sample_is_fixed_and_holds_the_forced_mutant(sites):
    a, b = mutants.sample(sites), mutants.sample(sites)
    assert [m.key for m in a] == [m.key for m in b]
    assert a[0].key == mutants.SHORTCUT and len(a) == len(mutants.FORCED) + mutants.SAMPLE
    assert [m.key for m in mutants.sample(sites, seed=1)] != [m.key for m in a]


def test_the_sandbox_imports_the_mutated_copy_and_can_hide_torch(sites):
    (m,) = [m for m in sites if m.key == mutants.SHORTCUT]
    box = mutants.Sandbox()
    try:
        target = box.dir / m.path
        target.write_text(m.apply(target.read_text(encoding="utf-8")), encoding="utf-8")
        probe = ("import inspect, minidl.nn.residual as r; print(r.__file__); "
                 "print('d_main += d_skip' in inspect.getsource(r.BasicBlock.backward))\n"
                 "try:\n import torch\nexcept ModuleNotFoundError as err:\n print('no torch:', err)")
        out = subprocess.run([sys.executable, "-P", "-c", probe], cwd=ROOT, env=box.env(hide_torch=True),
                             capture_output=True, text=True, check=True).stdout.splitlines()
        assert out[0].startswith(str(box.dir)) and out[1] == "False" and out[2].startswith("no torch:"), out
    finally:
        box.close()
    assert not box.dir.exists()
    assert "d_main += d_skip" in (ROOT / m.path).read_text(encoding="utf-8")  # the tree is untouched


def test_every_backward_helper_named_is_defined_where_it_is_listed():
    """A renamed helper would silently leave the mutation test (its sites no longer found)."""
    for path, names in mutants.BACKWARD_HELPERS.items():
        defined = {n.name for n in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8")))
                   if isinstance(n, ast.FunctionDef)}
        assert names <= defined, f"{path}: BACKWARD_HELPERS names {sorted(names - defined)}, not defined there"


def test_mutants_run_two_at_a_time_each_in_its_own_copy_and_are_reported_in_order(sites, monkeypatch, capsys):
    """``--jobs 2``: two sandboxes at once, each running only the mutant written into its own
    copy; the report keeps the sample's order and a survivor still fails the run."""
    import threading
    import time

    chosen = [m for m in mutants.sample(sites) if m.key not in mutants.FORCED][:4]
    running, seen, lock = set(), [], threading.Lock()

    def fake_pytest(box, tests, hide_torch, timeout):
        if not tests or tests == mutants.FORCED.get(mutants.SHORTCUT):  # the unmutated baseline
            return "survived", "1 passed"
        mutated = [m for m in chosen if (box.dir / m.path).read_text(encoding="utf-8")
                   == m.apply((ROOT / m.path).read_text(encoding="utf-8"))]
        with lock:
            assert box.dir not in running, "two mutants in one sandbox at once"
            running.add(box.dir)
            seen.append((box.dir, len(running)))
        time.sleep(0.2)  # long enough for the other job to start
        with lock:
            running.discard(box.dir)
        assert len(mutated) == 1, "the sandbox's copy holds exactly the mutant being judged"
        return ("survived", "passed") if mutated[0] is chosen[1] else ("killed", "test_x")

    monkeypatch.setattr(mutants.Sandbox, "_pytest", fake_pytest)
    monkeypatch.setattr(mutants, "tests_for", lambda m: ["tests/test_mutants.py"])
    assert mutants.run(chosen, jobs=2) == 1  # the survivor fails the run
    out = capsys.readouterr().out
    order = [line.split("] ")[1].split()[0] for line in out.splitlines() if line.startswith("[")]
    assert order == ["KILLED", "SURVIVED", "KILLED", "KILLED"], out
    assert len({d for d, _ in seen}) == 2 and max(n for _, n in seen) == 2, seen  # two copies, in parallel
    assert "4 mutants: 3 killed, 1 survived" in out and chosen[1].key in out.split("not killed")[1]
