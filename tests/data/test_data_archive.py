"""Safe extraction (every member and link resolved against the real destination, nothing
written before everything is checked) and archives read to their end (damage is an error)."""

import os
import tarfile

import numpy as np
import pytest
from data_samples import flip_byte, make_tar, truncate

from minidl.data import UnsafeArchiveError, safe_extract
from minidl.errors import DataError


def nothing_written(out):
    return not out.exists() or not any(out.rglob("*"))


def test_safe_extract_writes_a_good_archive(tmp_path):
    arc = make_tar(tmp_path / "ok.tar.gz", [("d", None), ("d/a.txt", b"A"), ("d/sub/b.txt", b"B"),
                                            ("d/link", ("sym", "a.txt")), ("d/sub/up", ("sym", "../a.txt")),
                                            ("d/chain", ("sym", "link")), ("d/hard", ("hard", "d/a.txt"))])
    out = safe_extract(arc, tmp_path / "out")
    assert (out / "d/a.txt").read_bytes() == b"A" and (out / "d/sub/b.txt").read_bytes() == b"B"
    assert (out / "d/chain").read_bytes() == b"A" and (out / "d/sub/up").read_bytes() == b"A"
    assert (out / "d/hard").read_bytes() == b"A"


@pytest.mark.parametrize("members, why", [
    ([("d/a.txt", b"A"), ("d/../../evil.txt", b"E")], r"'\.\.'"),
    ([("/tmp/evil.txt", b"E")], "absolute"),
    ([("d/link", ("sym", "../../etc/passwd"))], "outside"),
    ([("d/link", ("sym", "/etc/passwd"))], "absolute"),
    ([("d/hard", ("hard", "../x"))], r"'\.\.'"),
    # chains as in issue 10: each link stays inside on paper (d/.. is the root), together they
    # leave (d/e really is ./e, so its ".." is the destination's parent)
    ([("d", ("sym", ".")), ("d/e", ("sym", "..")), ("d/e/outside/evil", b"E")], "link member 'd'"),
    ([("d", ("sym", ".")), ("d/e", ("sym", "../..")), ("d/e/outside/evil", b"E")], "link member 'd'"),
    # a link to a link that leaves
    ([("a.txt", b"A"), ("up", ("sym", "..")), ("x", ("sym", "up/evil"))], "outside"),
    ([("loop1", ("sym", "loop2")), ("loop2", ("sym", "loop1")), ("via", ("sym", "loop1/x"))], "loop"),
    # a file written onto a link member would follow it
    ([("a.txt", b"A"), ("l", ("sym", "a.txt")), ("l", b"E")], "is the link member"),
])
def test_safe_extract_refuses_escaping_members_before_writing(tmp_path, members, why):
    arc = make_tar(tmp_path / "bad.tar.gz", [("first.txt", b"written first?")] + members)
    with pytest.raises(UnsafeArchiveError, match=why):
        safe_extract(arc, tmp_path / "box" / "out")
    assert nothing_written(tmp_path / "box" / "out")  # not even the harmless first member
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "box" / "outside").exists()


def test_symlink_chain_refused_without_the_data_filter(tmp_path, monkeypatch):
    """Python < 3.11.4 has no tarfile data filter: our own check must stop the chain."""
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    arc = make_tar(tmp_path / "chain.tar.gz", [("d", ("sym", ".")), ("d/e", ("sym", "..")),
                                               ("d/e/outside/evil", b"E")])
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(UnsafeArchiveError):
        safe_extract(arc, out)
    assert not list(tmp_path.rglob("evil"))


def test_links_already_in_the_destination_are_followed(tmp_path):
    """A member is resolved against the real destination: an existing link there that
    leaves the folder makes the member unsafe, though its name is harmless on paper."""
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(outside, out / "pre")
    arc = make_tar(tmp_path / "a.tar.gz", [("a.txt", b"A"), ("pre/evil.txt", b"E")])
    with pytest.raises(UnsafeArchiveError, match="outside the target folder"):
        safe_extract(arc, out)
    assert not (out / "a.txt").exists() and not (outside / "evil.txt").exists()


def test_destination_behind_a_link_is_resolved(tmp_path):
    """``dest`` reached through a link (``alias -> real``): links are resolved where the
    files really land, ``real/out``, as the operating system will follow them."""
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    # From real/out, "../../alias/out" comes back in: safe, though it starts with "..".
    ok = make_tar(tmp_path / "ok.tar.gz", [("a.txt", b"A"), ("l", ("sym", "../../alias/out/a.txt"))])
    safe_extract(ok, tmp_path / "alias" / "out")
    assert (tmp_path / "real" / "out" / "l").read_bytes() == b"A"
    # From real/out, "../alias" is real/alias, which does not exist: outside out/.
    bad = make_tar(tmp_path / "bad.tar.gz", [("m", ("sym", "../alias/out/a.txt"))])
    with pytest.raises(UnsafeArchiveError, match="outside"):
        safe_extract(bad, tmp_path / "alias" / "out")


@pytest.mark.parametrize("damage", ["flip50", "flip90", "trunc50", "trunc99"])
def test_damaged_archive_is_refused_naming_it_and_nothing_is_written(tmp_path, damage):
    members = [(f"d/{i}.txt", np.random.default_rng(i).bytes(300) + b"text " * 40) for i in range(60)]
    good = make_tar(tmp_path / "good.tar.gz", members)
    bad = tmp_path / "bad.tar.gz"
    if damage.startswith("flip"):
        flip_byte(good, bad, int(damage[4:]) / 100)
    else:
        truncate(good, bad, int(damage[5:]) / 100)
    with pytest.raises(DataError, match="bad.tar.gz is damaged or truncated.*download it again"):
        safe_extract(bad, tmp_path / "out")
    assert nothing_written(tmp_path / "out")
    safe_extract(good, tmp_path / "fine")
    assert len(list((tmp_path / "fine" / "d").iterdir())) == 60


def test_plain_tar_cut_at_a_header_or_with_junk_after_the_end_is_refused(tmp_path):
    good = make_tar(tmp_path / "good.tar", [("a.txt", b"A" * 600), ("b.txt", b"B")], compress=False)
    raw = good.read_bytes()
    (tmp_path / "cut.tar").write_bytes(raw[:1536])  # header + 2 data blocks of a.txt, then nothing
    (tmp_path / "junk.tar").write_bytes(raw + b"\x01" * 512)
    for name in ("cut.tar", "junk.tar"):
        with pytest.raises(DataError, match=f"{name} is damaged"):
            safe_extract(tmp_path / name, tmp_path / "out")
