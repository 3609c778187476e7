"""Download (resume, 416, checksum, atomic rename) with a stand-in for the network."""

import email.message
import hashlib
import io
import urllib.error

import pytest

from minidl.data import download as dl
from minidl.errors import DataError

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


def test_sha256sum_reads_in_chunks(tmp_path):
    (tmp_path / "f.bin").write_bytes(PAYLOAD)
    assert dl.sha256sum(tmp_path / "f.bin", chunk_size=1000) == SHA


def range_416(monkeypatch, data=PAYLOAD, content_range=True):
    """A server that answers 416 to a range starting at or past the end, as real ones do."""
    calls = []

    def urlopen(request, timeout):
        rng = request.get_header("Range")
        calls.append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng else 0
        if start >= len(data):
            headers = email.message.Message()
            if content_range:
                headers["Content-Range"] = f"bytes */{len(data)}"
            raise urllib.error.HTTPError(request.full_url, 416, "Range Not Satisfiable", headers, None)
        return FakeResponse(data[start:], 206 if rng else 200)

    monkeypatch.setattr(dl, "_urlopen", urlopen)
    return calls


@pytest.mark.parametrize("sha", [SHA, None])
def test_download_finishes_a_complete_part_when_the_server_answers_416(tmp_path, monkeypatch, sha):
    calls = range_416(monkeypatch)
    dest = tmp_path / "a.bin"
    dest.with_name("a.bin.part").write_bytes(PAYLOAD)  # killed after the last byte, before the rename
    assert dl.download("https://example.org/a.bin", dest, sha256=sha, progress=False) == dest
    assert dest.read_bytes() == PAYLOAD and not dest.with_name("a.bin.part").exists()
    assert calls == [f"bytes={len(PAYLOAD)}-"]


@pytest.mark.parametrize("part", [PAYLOAD[:-1] + b"X", PAYLOAD + b"more"], ids=["wrong", "too-long"])
def test_download_restarts_a_bad_part_when_the_server_answers_416(tmp_path, monkeypatch, part):
    calls = range_416(monkeypatch, content_range=False)
    dest = tmp_path / "a.bin"
    dest.with_name("a.bin.part").write_bytes(part)
    dl.download("https://example.org/a.bin", dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD and calls == [f"bytes={len(part)}-", None]


def test_download_416_without_a_part_or_other_http_errors_propagate(tmp_path, monkeypatch):
    def urlopen(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", email.message.Message(), None)

    monkeypatch.setattr(dl, "_urlopen", urlopen)
    with pytest.raises(urllib.error.HTTPError, match="404"):
        dl.download("https://example.org/a.bin", tmp_path / "a.bin", sha256=SHA, progress=False)


def test_checksum_error_is_a_data_error_naming_the_part(tmp_path, monkeypatch):
    fake_server(monkeypatch, data=b"other")
    with pytest.raises(DataError, match=r"a\.bin\.part was deleted"):
        dl.download("https://example.org/a.bin", tmp_path / "a.bin", sha256=SHA, progress=False)
