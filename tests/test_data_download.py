"""Download (resume, checksum, atomic rename) with a stand-in for the network; safe extraction."""

import hashlib
import io
import tarfile

import pytest

from minidl.data import download as dl

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class FakeResponse:
    def __init__(self, data, status, fail_after=None):
        self._buf, self.status, self._fail_after, self._sent = io.BytesIO(data), status, fail_after, 0
        self.headers = {"Content-Length": str(len(data))}

    def read(self, n):
        if self._fail_after is not None and self._sent >= self._fail_after:
            raise ConnectionResetError("connection dropped (simulated)")
        chunk = self._buf.read(n)
        self._sent += len(chunk)
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_server(monkeypatch, honour_range=True, fail_first_after=None, data=PAYLOAD):
    calls = []

    def urlopen(request, timeout):
        rng = request.get_header("Range")
        calls.append(rng)
        fail = fail_first_after if len(calls) == 1 else None
        if rng and honour_range:
            start = int(rng.split("=")[1].rstrip("-"))
            return FakeResponse(data[start:], 206, fail)
        return FakeResponse(data, 200, fail)

    monkeypatch.setattr(dl, "_urlopen", urlopen)
    return calls


def test_download_resumes_an_interrupted_file_and_verifies(tmp_path, monkeypatch):
    calls = fake_server(monkeypatch, fail_first_after=4096)
    dest = tmp_path / "sub" / "a.tar.gz"
    with pytest.raises(ConnectionResetError):
        dl.download("https://example.org/a.tar.gz", dest, sha256=SHA, chunk_size=1024, progress=False)
    assert not dest.exists()  # never a half-written target
    part = dest.with_name("a.tar.gz.part")
    assert part.stat().st_size == 4096
    assert dl.download("https://example.org/a.tar.gz", dest, sha256=SHA, chunk_size=1024, progress=False) == dest
    assert calls == [None, "bytes=4096-"]
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    # Present and verified: no network at all.
    dl.download("https://example.org/a.tar.gz", dest, sha256=SHA, progress=False)
    assert len(calls) == 2


def test_download_restarts_when_ranges_are_not_supported(tmp_path, monkeypatch):
    fake_server(monkeypatch, honour_range=False)
    dest = tmp_path / "a.bin"
    dest.with_name("a.bin.part").write_bytes(b"stale bytes")
    dl.download("https://example.org/a.bin", dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_download_checksum_mismatch_deletes_the_part(tmp_path, monkeypatch):
    fake_server(monkeypatch, data=PAYLOAD[:-1] + b"X")
    dest = tmp_path / "a.bin"
    with pytest.raises(dl.ChecksumError, match="expected " + SHA):
        dl.download("https://example.org/a.bin", dest, sha256=SHA, progress=False)
    assert not dest.exists() and not dest.with_name("a.bin.part").exists()


def test_download_refuses_plain_http(tmp_path):
    with pytest.raises(ValueError, match="non-HTTPS"):
        dl.download("http://example.org/a.bin", tmp_path / "a.bin")


def make_tar(path, members):
    """members: list of (name, bytes) for files, or (name, ("sym"|"hard", target)) for links."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):
                info.type = tarfile.SYMTYPE if content[0] == "sym" else tarfile.LNKTYPE
                info.linkname = content[1]
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return path


def test_safe_extract_writes_a_good_archive(tmp_path):
    arc = make_tar(tmp_path / "ok.tar.gz", [("d/a.txt", b"A"), ("d/sub/b.txt", b"B"), ("d/link", ("sym", "a.txt"))])
    out = dl.safe_extract(arc, tmp_path / "out")
    assert (out / "d/a.txt").read_bytes() == b"A" and (out / "d/sub/b.txt").read_bytes() == b"B"


@pytest.mark.parametrize("members, why", [
    ([("d/a.txt", b"A"), ("d/../../evil.txt", b"E")], r"'\.\.'"),
    ([("/tmp/evil.txt", b"E")], "absolute"),
    ([("d/link", ("sym", "../../etc/passwd"))], "outside"),
    ([("d/link", ("sym", "/etc/passwd"))], "absolute"),
    ([("d/hard", ("hard", "../x"))], "outside"),
])
def test_safe_extract_refuses_escaping_members_before_writing(tmp_path, members, why):
    arc = make_tar(tmp_path / "bad.tar.gz", members)
    with pytest.raises(dl.UnsafeArchiveError, match=why):
        dl.safe_extract(arc, tmp_path / "out")
    assert not any((tmp_path / "out").rglob("*"))  # nothing written
    assert not (tmp_path / "evil.txt").exists()


def test_atomic_write_and_sha256sum(tmp_path):
    p = dl.atomic_write_bytes(tmp_path / "x" / "f.bin", PAYLOAD)
    assert dl.sha256sum(p) == SHA and [q.name for q in p.parent.iterdir()] == ["f.bin"]
