"""minidl.host_memory: after keep_freed_memory(), a freed array's pages stay with the process
(the next step's arrays reuse them); without it glibc hands a large block back at once. Each
case runs in a child process: the setting is the whole process's and cannot be undone."""

import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import minidl.host_memory as hm

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    if sys.argv[1] == "keep":
        print("taken", hm.keep_freed_memory())
    elif sys.argv[1] == "cli":
        from minidl.cli import run
        print("taken", run(lambda argv: None) == 0 and hm._kept)
    a = np.ones(16 << 20, np.float32)  # 64 MiB, every page written
    before = rss_mb()
    del a
    print("released", round(before - rss_mb()))
""")


def _child(mode, **env):
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, **env))
    assert out.returncode == 0, out.stderr
    return dict(line.split() for line in out.stdout.splitlines())


@pytest.fixture(scope="module")
def glibc():
    from minidl.host_memory import _glibc

    if _glibc() is None:
        pytest.skip("mallopt is glibc's: nothing to keep on this platform")


def test_default_malloc_hands_a_freed_block_back(glibc):
    # the premise: without the setting, freeing 64 MiB gives (nearly) all of it back
    assert int(_child("none")["released"]) >= 60


@pytest.mark.parametrize("mode", ["keep", "cli"])
def test_kept_memory_stays_with_the_process(glibc, mode):
    res = _child(mode)
    assert res["taken"] == "True"
    assert int(res["released"]) <= 1, res


def test_command_line_setting_can_be_declined(glibc):
    res = _child("cli", MINIDL_KEEP_FREED_MEMORY="0")
    assert res["taken"] == "False" and int(res["released"]) >= 60, res


def test_no_op_off_glibc(monkeypatch):
    import minidl.host_memory as hm

    monkeypatch.setattr(hm, "_glibc", lambda: None)
    monkeypatch.setattr(hm, "_kept", False)
    assert hm.keep_freed_memory() is False
