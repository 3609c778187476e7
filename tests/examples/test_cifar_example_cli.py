"""`examples/cifar10_resnet.py` on the command line without data: it downloads by default
(here the network is a fake that fails), says what to do offline in one line, and with
--no-download never touches the network. Training itself: tests/examples/test_cifar10_resnet_example.py."""

import os
import urllib.error
import urllib.request

import pytest
from script_loader import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_example():
    return load_script(("examples", "cifar10_resnet.py"), "cifar10_resnet")


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    requests = []

    def urlopen(request, timeout=None):
        requests.append(request.full_url)
        raise urllib.error.URLError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return requests


def _one_error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_downloads_by_default_and_says_what_to_do_offline(tmp_path, offline, capsys):
    ex = _load_example()
    assert ex.cli(["--model", "resnet20", "--epochs", "1", "--out", str(tmp_path / "o")]) == 1
    line = _one_error_line(capsys)
    assert offline == [ex.CIFAR10_URL]
    assert "Network is unreachable" in line and "cifar-10-binary.tar.gz" in line and "--data" in line


def test_no_download_never_touches_the_network(tmp_path, offline, capsys):
    ex = _load_example()
    assert ex.cli(["--model", "resnet20", "--epochs", "1", "--out", str(tmp_path / "o"), "--no-download"]) == 1
    assert offline == [] and "--no-download was given" in _one_error_line(capsys)
