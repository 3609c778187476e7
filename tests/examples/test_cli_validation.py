"""Every flag of every example is checked while argparse parses, before any data is read:
a bad value exits with code 2 and exactly one ``error:`` line, never a traceback. The
hypothesis fuzzing of the four parsers, the shared validators of :mod:`minidl.cli`, its
one-line errors, ``--device cuda`` without a GPU, and the ``--no-download`` advice of
names_rnn.py and imdb_deep_lstm.py."""

import argparse
import io
import os
import sys
from contextlib import redirect_stderr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from script_loader import load_script

from minidl import backend, cli
from minidl.errors import CheckpointError, DataError, RangeError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = ["imdb_lstm", "cifar10_resnet", "imdb_deep_lstm", "names_rnn"]

_MODULES = {}


def example(name):
    if name not in _MODULES:
        _MODULES[name] = load_script(("examples", f"{name}.py"), name)
    return _MODULES[name]


# the numeric flags of each example and the kind of value each takes
INT_FLAGS = {
    "imdb_lstm": ["--embed-dim", "--hidden-size", "--fc-dim", "--layers", "--epochs", "--batch-size", "--vocab-size",
                  "--max-len", "--limit"],
    "cifar10_resnet": ["--epochs", "--batch-size", "--limit", "--test-limit", "--width"],
    "imdb_deep_lstm": ["--embed-dim", "--hidden-size", "--epochs", "--batch-size", "--vocab-size", "--max-len",
                       "--limit", "--grad-every"],
    "names_rnn": ["--steps", "--epochs", "--batch-size", "--log-every", "--confusion-samples", "--limit"],
}
FLOAT_FLAGS = {
    "imdb_lstm": ["--lr", "--clip"],
    "cifar10_resnet": ["--lr"],
    "imdb_deep_lstm": ["--lr"],
    "names_rnn": ["--lr", "--clip"],
}
PROBABILITY_FLAGS = {"imdb_lstm": ["--dropout"], "imdb_deep_lstm": ["--dropout"]}
SEED_FLAGS = {"imdb_lstm": ["--seed"], "cifar10_resnet": ["--seed"], "imdb_deep_lstm": ["--seed"],
              "names_rnn": ["--seed", "--split-seed"]}
CHOICE_FLAGS = {"imdb_lstm": ["--cell", "--loss", "--truncate", "--progress", "--device"],
                "cifar10_resnet": ["--model", "--depth", "--progress", "--device"],
                "imdb_deep_lstm": ["--model", "--progress", "--device"],
                "names_rnn": ["--model", "--protocol", "--progress", "--device"]}

BAD_INT = ["0", "-1", "nan", "inf", "", "abc", "1.5", "1e3", str(10**20)]
BAD_FLOAT = ["0", "-1", "nan", "inf", "-inf", "", "abc", "1e999"]
BAD_PROBABILITY = ["1", "-0.1", "nan", "inf", "", "x", "1e999"]
BAD_SEED = ["-1", str(2**70), "nan", "", "abc", "0.5"]
BAD_CHOICE = ["", "nonsense", "0", "-1"]


def _cases():
    for name in EXAMPLES:
        for table, values in ((INT_FLAGS, BAD_INT), (FLOAT_FLAGS, BAD_FLOAT), (PROBABILITY_FLAGS, BAD_PROBABILITY),
                              (SEED_FLAGS, BAD_SEED), (CHOICE_FLAGS, BAD_CHOICE)):
            for flag in table.get(name, []):
                for value in values:
                    yield name, flag, value


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No data anywhere and no network: a run that got past the flags would fail with exit 1."""
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))

    def no_network(*a, **k):
        raise AssertionError("the network was used")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    return tmp_path


def _exit_of(name, argv):
    """(exit code, stderr) of the example's command line called in-process."""
    err = io.StringIO()
    with redirect_stderr(err):
        try:
            code = cli.run(example(name).main, argv)  # what each __main__ block does
        except SystemExit as e:
            code = e.code
    return code, err.getvalue()


def _assert_one_error_line(stderr):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert sum(line.startswith("error:") or ": error:" in line for line in lines) == 1, stderr


@pytest.mark.parametrize("name,flag,value", list(_cases()))
def test_every_bad_flag_value_exits_2_with_one_line_before_any_work(no_data, name, flag, value):
    code, stderr = _exit_of(name, ["--no-download", "--out", str(no_data / "out"), flag, value])
    assert code == 2, (code, stderr)
    _assert_one_error_line(stderr)
    assert flag in stderr
    assert not (no_data / "out").exists()  # refused before the run folder, before the data


def test_the_validators_name_the_range():
    assert cli.positive_int("3") == 3 and cli.seed(str(backend.MAX_SEED)) == backend.MAX_SEED
    assert cli.positive_float("1e-3") == 1e-3 and cli.probability("0") == 0.0
    for parse, text, match in ((cli.positive_int, "0", r"\[1, "), (cli.seed, str(2**70), r"\[0, "),
                               (cli.positive_float, "nan", "finite"), (cli.positive_float, "0", "> 0"),
                               (cli.probability, "1", r"\[0, 1\)"), (cli.positive_int, "x", "integer")):
        with pytest.raises(argparse.ArgumentTypeError, match=match):
            parse(text)


def test_clip_zero_is_refused_not_a_silent_lr_zero_run(no_data):
    code, stderr = _exit_of("imdb_lstm", ["--clip", "0", "--out", str(no_data / "out")])
    assert code == 2 and "--clip" in stderr and "> 0" in stderr


@pytest.mark.skipif(backend.cuda_available(), reason="a GPU answers here")
@pytest.mark.parametrize("name", EXAMPLES)
def test_device_cuda_without_a_gpu_says_so_before_the_data(no_data, name):
    code, stderr = _exit_of(name, ["--device", "cuda", "--out", str(no_data / "out")])
    assert code == 2 and "no usable GPU" in stderr
    _assert_one_error_line(stderr)


# ------------------------------------------------------------------ hypothesis over the parsers
_NONSENSE = st.sampled_from(["0", "-1", "nan", "inf", "-inf", "", "abc", "1e999", str(2**70), "1.5", "0.5",
                             "1", "2", "64", "1e-3", "cpu", "cuda", "lstm", "--", "-", " "])


def _argv(name):
    """Up to five (flag, value) pairs: the example's flags, values mostly nonsense."""
    extra = ["--data", "--out", "--resume", "--overwrite", "--no-download", "--allow-config-change"]
    flags = sorted({f for t in (INT_FLAGS, FLOAT_FLAGS, PROBABILITY_FLAGS, SEED_FLAGS, CHOICE_FLAGS)
                    for f in t.get(name, [])} | set(extra))
    value = _NONSENSE | st.integers(-2**70, 2**70).map(str) | st.floats().map(repr)
    return st.lists(st.tuples(st.sampled_from(flags), value), max_size=5).map(lambda ps: [x for p in ps for x in p])


@pytest.mark.parametrize("name", EXAMPLES)
def test_fuzzed_argument_vectors_parse_or_exit_2_with_one_line(name):
    parse = example(name).parse_args

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_argv(name))
    def check(argv):
        err = io.StringIO()
        with redirect_stderr(err):
            try:
                args = parse(argv)
            except SystemExit as e:
                assert e.code == 2, (argv, e.code)
                _assert_one_error_line(err.getvalue())
                return
        # it parsed: then every numeric setting is in its range
        for key in ("epochs", "batch_size", "limit", "hidden_size", "embed_dim", "max_len", "steps"):
            v = getattr(args, key, None)
            assert v is None or v >= 1, (argv, key, v)
        assert 0 < args.lr < float("inf")
        assert getattr(args, "clip", None) is None or args.clip > 0
        assert 0 <= getattr(args, "dropout", 0.0) < 1
        assert 0 <= args.seed <= backend.MAX_SEED

    check()


# ------------------------------------------------------------------ minidl.cli.run
@pytest.mark.parametrize("error", [DataError("no data here\n  do this"), CheckpointError("bad checkpoint"),
                                   RangeError("a bad setting"), FileNotFoundError(2, "No such file", "x.npz"),
                                   OSError(28, "No space left on device", "last.npz"), MemoryError()])
def test_run_turns_every_user_error_into_one_line(error, capsys):
    def main(argv):
        raise error

    assert cli.run(main, []) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in captured.err


def test_run_keeps_the_traceback_of_a_bug():
    def main(argv):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        cli.run(main, [])


def test_quiet_other_ranks_closes_the_null_device():
    class Rank1:
        is_root, world_size = False, 2

    stdout = sys.stdout
    try:
        cli.quiet_other_ranks(Rank1())
        devnull = sys.stdout
        assert devnull is not stdout and not devnull.closed
        cli._restore_stdout()  # what runs at exit
        assert devnull.closed and sys.stdout is sys.__stdout__
    finally:
        sys.stdout = stdout


# ------------------------------------------------------------------ --no-download advice
@pytest.mark.parametrize("name", ["names_rnn", "imdb_deep_lstm"])
def test_no_download_advice_is_shown(no_data, name, capsys):
    (no_data / "nowhere").mkdir()
    code, stderr = _exit_of(name, ["--no-download", "--out", str(no_data / "out")])
    assert code == 1, stderr
    _assert_one_error_line(stderr)
    assert "--no-download was given" in stderr


def test_imdb_deep_lstm_takes_resume_overwrite_and_no_download():
    args = example("imdb_deep_lstm").parse_args(["--resume", "--no-download", "--allow-config-change"])
    assert args.resume and not args.download and args.allow_config_change
    assert example("imdb_deep_lstm").parse_args(["--overwrite"]).overwrite


# ------------------------------------------------------------------ accepted extremes run, or stop in one line
@pytest.mark.parametrize("extreme", [["--lr", "1e30", "--clip", "1e-300"], ["--dropout", "0", "--max-len", "1000000000",
                                                                             "--batch-size", "1000000000"],
                                     ["--seed", str(backend.MAX_SEED), "--layers", "2", "--limit", "1000000000"]])
def test_accepted_extreme_values_run_one_epoch_or_stop_in_one_line(tmp_path, monkeypatch, extreme):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from fake_imdb import make_aclimdb

    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data", n_per_class=8)
    argv = ["--data", data, "--epochs", "1", "--vocab-size", "32", "--embed-dim", "3", "--hidden-size", "3",
            "--fc-dim", "3", "--batch-size", "8", "--progress", "off", "--no-download", "--out", str(tmp_path / "o"),
            *extreme]
    code, stderr = _exit_of("imdb_lstm", argv)
    assert code in (0, 1), stderr
    if code == 1:
        _assert_one_error_line(stderr)
