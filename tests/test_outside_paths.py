"""No tracked text file points outside the repository.

A fresh clone has none of its development machine's folders, so a command, link or record that
names one (`/home/...`, `/tmp/...`, `MINIDL_DATA=../shared/data`) works for nobody else. This test
reads every file `git ls-files` lists that decodes as UTF-8 and fails on

* an absolute path: a token that starts with `/` (or `~/`, or a drive letter `C:\\`) and names a
  folder, not a URL's tail nor a repo-relative path like `minidl/data/`;
* a relative path that leaves the repository: a token starting with `../`, resolved from the file's
  own folder when it is a link target (Markdown `](...)`, `src=`/`href=`) and from the repository
  root otherwise (commands are typed there, as the README's are).

What must stay is in `ALLOWED` below, each entry with its reason.
"""

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Vendored third-party files, rewritten by a script, not written by this project.
SKIPPED_PREFIXES = ("docs/assets/",)
# In a .gitignore a leading `/` anchors a pattern at the repository root: no absolute path.
SKIPPED_NAMES = (".gitignore",)
# This file: its matcher's own tests name outside paths on purpose.
SKIPPED_FILES = ("tests/test_outside_paths.py",)

# Paths that are no machine's own folder, allowed anywhere.
GLOBAL_ALLOWED = (
    "/usr/bin/env",        # the shebang of every script
    "/dev/null",           # the empty file of every POSIX system
    "/proc/cpuinfo",       # a system file every Linux machine has (the CPU model is read there)
    "/proc/self/statm",    # the running process's own memory counts, on every Linux machine
    "/path/to/",           # the placeholder a command writes for the user's own folder
    "~/.cache/minidl",     # minidl's documented default data cache, in the user's home
)

# (file, reference) -> why this file must name it.
ALLOWED = {
    # The archive extractor's docstrings describe the hostile member names it refuses.
    ("minidl/data/archive.py", "../../.bashrc"): "a hostile member name the extractor refuses",
    ("minidl/data/archive.py", "/etc/passwd"): "a hostile member name the extractor refuses",
    ("minidl/data/archive.py", "C:\\\\x"): "a hostile member name the extractor refuses",
    ("minidl/data/archive.py", "../.."): "a hostile link chain the extractor refuses",
    # The results validator's tests feed it records with outside paths on purpose.
    ("tests/test_results_records.py", "/home/me/venv/bin/python"): "a record command the validator must refuse",
    ("tests/test_results_records.py", "../shared/data"): "a record setting the validator must refuse",
    ("tests/test_results_records.py", "/work/"): "a folder the committed records must not name (the test's list)",
    ("tests/test_results_records.py", "/tmp/"): "a folder the committed records must not name (the test's list)",
    ("tests/test_results_records.py", "/root/"): "a folder the committed records must not name (the test's list)",
    ("tests/test_results_records.py", "/home/"): "a folder the committed records must not name (the test's list)",
    ("tests/test_results_records.py", "/opt/venv/bin/python"): "a queue command that import must make repo-relative",
    ("tests/test_results_records.py", "/data/imdb"): "a data folder that import must replace by path/to/data",
    # The archive tests build tarballs with hostile member names on purpose.
    ("tests/data/test_data_archive.py", "../a.txt"): "a link member inside the folder (allowed)",
    ("tests/data/test_data_archive.py", "../../etc/passwd"): "a hostile link target",
    ("tests/data/test_data_archive.py", "/tmp/evil.txt"): "a hostile absolute member name",
    ("tests/data/test_data_archive.py", "/etc/passwd"): "a hostile absolute link target",
    ("tests/data/test_data_archive.py", "../x"): "a hostile hard-link target",
    ("tests/data/test_data_archive.py", "../.."): "a hostile link chain",
    ("tests/data/test_data_archive.py", "../../alias/out"): "a link that comes back in (safe)",
    ("tests/data/test_data_archive.py", "../../alias/out/a.txt"): "a link that comes back in (safe)",
    ("tests/data/test_data_archive.py", "../alias"): "a link that leaves the folder",
    ("tests/data/test_data_archive.py", "../alias/out/a.txt"): "a link that leaves the folder",
    ("tests/data/test_data_cifar10.py", "../cifar-10-batches-bin/test_batch.bin"): "a hostile member name",
    ("tests/test_errors.py", "../escape.txt"): "a hostile member name",
}

# A path starts a token: at the line's start or after a space, a quote, a backtick, `=`, `(`,
# `[` or `,`. That leaves out URL tails (https://x.org/a/b), repo-relative paths (minidl/data/)
# and the slashes of maths and closing tags.
_BOUNDARY = r"(?:^|(?<=[\s\"'`=(\[,]))"
# The top folders of a file system (Linux, macOS, clusters): a path under one of them is an
# absolute path; a URL's path ("/__overflow__/") or a member-name pattern ("/names/") is not.
_ROOTS = ("home|work|tmp|mnt|media|root|Users|Volumes|private|srv|scratch|data|var|opt|run|nfs|net"
          "|lustre|gpfs|usr|etc|dev|proc|sys|lib|bin|sbin|boot")
# An absolute path (/home/me, /tmp/x/), a home-relative one (~/...), or a drive's (C:\...).
ABSOLUTE = re.compile(_BOUNDARY + rf"(/(?:{_ROOTS})(?![\w.+-])[\w.+*/-]*|~/[\w.+/-]+|[A-Za-z]:\\\\?[\w.\\-]+)")
# A path that starts by going up: ../x, ../../x/y (a bare "../" in prose names no path).
UP = re.compile(_BOUNDARY + r"((?:\.\./)+[\w.+*-]+(?:/[\w.+*-]*)*)")
LINK_BEFORE = re.compile(r"(\]\(|(?:src|href)=[\"']?)$")


def tracked_text_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an unpacked sdist): nothing lists the tracked files")
    for name in out.decode().split("\0"):
        if (not name or name.startswith(SKIPPED_PREFIXES) or name in SKIPPED_FILES
                or PurePosixPath(name).name in SKIPPED_NAMES):
            continue
        data = (ROOT / name).read_bytes() if (ROOT / name).is_file() else b""
        if b"\0" in data:
            continue
        try:
            yield name, data.decode("utf-8")
        except UnicodeDecodeError:
            continue


def leaves_repository(ref, start):
    """Whether `ref` (a POSIX relative path) resolved from `start` (repo-relative) leaves the root."""
    depth = len(PurePosixPath(start).parts)
    for part in PurePosixPath(ref).parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return True
    return False


def offenders_in(name, text):
    found = []
    folder = str(PurePosixPath(name).parent)
    folder = "" if folder == "." else folder
    for number, line in enumerate(text.splitlines(), 1):
        for match in ABSOLUTE.finditer(line):
            found.append((number, match.group(1)))
        for match in UP.finditer(line):
            ref = match.group(1)
            is_link = LINK_BEFORE.search(line[: match.start(1)]) is not None
            if leaves_repository(ref, folder if is_link else ""):
                found.append((number, ref))
    return [
        f"{name}:{number}: {ref}" for number, ref in found
        if not ref.startswith(GLOBAL_ALLOWED) and (name, ref) not in ALLOWED
    ]


def test_no_tracked_file_points_outside_the_repository():
    offenders = [hit for name, text in tracked_text_files() for hit in offenders_in(name, text)]
    assert not offenders, (
        f"{len(offenders)} references outside the repository (write MINIDL_DATA=path/to/data, "
        "a repo-relative path, or a placeholder such as path/to/folder):\n" + "\n".join(offenders[:60])
    )


def test_the_allow_list_is_still_needed():
    """An allow-list entry whose file no longer names its path is stale: remove it."""
    texts = dict(tracked_text_files())
    stale = [key for key in ALLOWED if key[0] not in texts or key[1] not in texts[key[0]]]
    assert not stale, f"stale entries in ALLOWED: {stale}"


@pytest.mark.parametrize("line, expected", [
    ("MINIDL_DATA=../shared/data python examples/imdb_lstm.py", ["../shared/data"]),
    ("python x.py --out /tmp/runs/a", ["/tmp/runs/a"]),
    ('"command": "/home/me/.venv/bin/python run.py"', ["/home/me/.venv/bin/python"]),
    ("see [the page](../../outside.md)", ["../../outside.md"]),
    ("see [the page](../docs/results.md) and https://x.org/a/b", []),
    ("minidl/data/text.py and MINIDL_DATA=path/to/data, a ratio 1/2, </div>", []),
    ("cache in ~/.cache/minidl", []),
])
def test_the_matcher(line, expected):
    """The matcher itself: it must catch each outside reference and nothing repo-relative."""
    hits = [hit.split(": ", 1)[1] for hit in offenders_in("examples/README.md", line)]
    assert hits == expected
