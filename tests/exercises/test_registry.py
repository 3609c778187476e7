"""Every registered exercise, whoever wrote it: the worked solution passes the grader, at
least three typical wrong solutions fail it with the words they declare, every case is
non-trivial, and the stub, the solution and the cases agree on the signature."""

import inspect
import pathlib

import numpy as np
import pytest

from minidl.exercises import grade, registry
from minidl.exercises.grader import FAIL, NOT_IMPLEMENTED, prepare

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXERCISES = list(registry.exercises().values())
MUTANTS = [(ex, m) for ex in EXERCISES for m in ex.mutants]


def test_there_are_exercises():
    assert "linear_backward" in registry.exercises()


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_the_worked_solution_passes(ex):
    report = grade(ex, registry.solution(ex.name))
    assert report.ok, str(report)
    assert all(q.checked_by_fd for q in report.quantities if q.name in ex.grad_of)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_at_least_three_typical_mistakes_are_declared(ex):
    assert len(ex.mutants) >= 3, f"{ex.name} declares {len(ex.mutants)} mutants"


@pytest.mark.parametrize("ex,mutant", MUTANTS, ids=[f"{e.name}-{m.name}" for e, m in MUTANTS])
def test_a_typical_mistake_fails_with_its_diagnosis(ex, mutant):
    report = grade(ex, mutant.fn)
    text = str(report)
    assert report.status == FAIL, text
    missing = [w for w in mutant.expect if w.lower() not in text.lower()]
    assert not missing, f"{mutant.name}: the report lacks {missing}:\n{text}"


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_every_case_is_non_trivial(ex):
    """A quantity that is zero in a case would let an all-zero answer pass it: at least a
    tenth of every quantity's elements (and at least one) are non-zero in every case. (Not
    more: max pooling's dx is non-zero at each window's winner only, one pixel in six for
    3×2 windows at stride 2; ReLU's and dropout's are zero where their masks are, the
    others are dense.)"""
    prepared = prepare(ex)
    for i, ref in enumerate(prepared.references):
        for name, value in zip(ex.outputs, ref):
            value = np.asarray(value)
            assert np.count_nonzero(value) >= max(1, value.size / 10), f"{ex.name} case {i + 1}: {name} is ~0"


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_stub_solution_and_cases_agree_on_the_signature(ex):
    stub = registry.load_function(registry.STUBS, ex.name)
    solution = registry.solution(ex.name)
    params = list(inspect.signature(solution).parameters)
    assert list(inspect.signature(stub).parameters) == params
    assert set(prepare(ex).cases[0].args) == set(params)
    assert grade(ex, stub).status == NOT_IMPLEMENTED
    for m in ex.mutants:
        assert list(inspect.signature(m.fn).parameters) == params, m.name


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_exercise_is_in_the_course(ex):
    assert ex.chapter in registry.CHAPTERS and (ROOT / "docs" / ex.chapter).is_file()
    page = (ROOT / "docs" / ex.chapter).read_text(encoding="utf-8")
    assert f'--8<-- "minidl/exercises/solutions/{ex.name}.py"' in page, f"{ex.chapter} lacks {ex.name}'s solution"
    assert f"`{ex.name}`" in (ROOT / "docs" / "exercises.md").read_text(encoding="utf-8")


def test_chapters_follow_the_course_order():
    """registry.CHAPTERS (the order of ``list``) is the order of the course in mkdocs.yml."""
    yaml = pytest.importorskip("yaml")  # PyYAML comes with the docs extra (mkdocs)
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    course = next(entry["The course"] for entry in nav if isinstance(entry, dict) and "The course" in entry)
    pages = [next(iter(item.values())) for item in course]
    assert [p for p in pages if p in registry.CHAPTERS] == list(registry.CHAPTERS)


def test_files_and_registry_match():
    names = set(registry.exercises())
    stubs = {p.stem for p in registry.STUBS.glob("*.py")} - {"__init__"}
    solutions = {p.stem for p in (registry.STUBS.parent / "solutions").glob("*.py")} - {"__init__"}
    assert stubs == names and solutions == names


def _solved(text: str) -> bool:
    return "raise NotImplementedError" not in text


@pytest.mark.parametrize("file_name", sorted(registry.stub_files()))
def test_the_repository_stubs_equal_their_source(file_name):
    """exercises/ is written by `python -m minidl.exercises init exercises --force` from
    minidl/exercises/stubs/, the one source. A stub you have solved is yours: skipped."""
    source = registry.stub_files()[file_name]
    copy = ROOT / "exercises" / file_name
    assert copy.is_file(), f"exercises/{file_name} is missing: python -m minidl.exercises init exercises"
    text = copy.read_text(encoding="utf-8")
    if file_name.endswith(".py") and _solved(text):
        pytest.skip(f"exercises/{file_name} holds a solution (yours)")
    assert text == source, (f"exercises/{file_name} differs from minidl/exercises/stubs/{file_name}: edit the "
                            "latter, then python -m minidl.exercises init exercises --force")


def test_no_stray_files_in_the_exercises_folder():
    expected = set(registry.stub_files())
    present = {p.name for p in (ROOT / "exercises").iterdir() if p.suffix in (".py", ".md")}
    assert present == expected
