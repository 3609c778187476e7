"""The IMDB loader on a tiny aclImdb/ layout made in the test: folder, tarball, cache, lookup."""

import io
import os
import shutil
import tarfile

import numpy as np
import pytest

from minidl.data import imdb
from minidl.data.download import UnsafeArchiveError
from minidl.data.imdb import load_imdb

REVIEWS = {
    ("train", "pos", 0, 9): "A great film.<br /><br />Great acting!",
    ("train", "pos", 1, 10): "Great great fun",
    ("train", "neg", 0, 1): "A bad film, bad acting.",
    ("train", "neg", 1, 3): "Boring",
    ("test", "pos", 0, 8): "Great fun, a great film",
    ("test", "neg", 0, 2): "Bad. Unseen words here",
    ("test", "neg", 1, 4): "bad bad bad bad bad bad bad bad film",
}


def make_folder(root):
    for (split, label, rid, rating), text in REVIEWS.items():
        d = root / "aclImdb" / split / label
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{rid}_{rating}.txt").write_text(text, encoding="utf-8")
    (root / "aclImdb" / "train" / "unsup").mkdir()
    (root / "aclImdb" / "train" / "unsup" / "0_0.txt").write_text("unlabelled, ignored")
    (root / "aclImdb" / "README").write_text("readme")
    return root


def make_tarball(path, folder, extra=None):
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder / "aclImdb", arcname="aclImdb")
        if extra:
            info = tarfile.TarInfo(extra)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    return path


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    src = make_folder(tmp_path / "src")
    return tmp_path, src


def test_folder_load_vocab_labels_and_encoding(env):
    tmp, src = env
    d = load_imdb(src, vocab_size=6, max_len=4, truncate="pre", pad="post")
    # train counts: great 4, a 2, film 2, bad 2, acting 2, "." 2, ... -> top 4 with ties alphabetical
    assert d.vocab.itos == ["<pad>", "<unk>", "great", ".", "a", "acting"]
    assert len(d.train) == 4 and len(d.test) == 3
    assert d.train.labels.tolist() == [0, 0, 1, 1]  # neg then pos, by review id
    assert d.train.ratings.tolist() == [1, 3, 9, 10]
    # "A bad film, bad acting." -> a bad film , bad acting . (7 tokens), last 4 kept: , bad acting .
    assert d.train.full_lengths.tolist() == [7, 1, 7, 3]
    assert d.train.ids[0].tolist() == [1, 1, 5, 3] and d.train.lengths[0] == 4
    assert d.train.ids[1].tolist() == [1, 0, 0, 0] and d.train.lengths[1] == 1  # "boring": unk
    assert d.train.ids.dtype == np.int32 and d.train.ids.shape == (4, 4)
    first = load_imdb(src, vocab_size=6, max_len=4, truncate="post", pad="pre")
    assert first.train.ids[0].tolist() == [4, 1, 1, 1]  # a bad film ,
    assert first.train.ids[1].tolist() == [0, 0, 0, 1]
    whole = load_imdb(src, vocab_size=6, max_len=None)
    assert whole.train.ids.shape == (4, 7) and whole.test.ids.shape[1] == 9
    assert not d.info["from_cache"] and first.info["from_cache"]
    assert "max_len=4" in repr(d)


def test_tarball_equals_folder_and_cache_is_keyed_by_settings(env):
    tmp, src = env
    arc = make_tarball(tmp / "aclImdb_v1.tar.gz", src)
    a = load_imdb(src, vocab_size=6, max_len=5)
    b = load_imdb(arc, vocab_size=6, max_len=5)
    assert b.info["kind"] == "tar" and not b.info["from_cache"]
    for split in ("train", "test"):
        for field in ("ids", "lengths", "labels", "full_lengths", "ratings"):
            np.testing.assert_array_equal(getattr(getattr(a, split), field), getattr(getattr(b, split), field))
    c = load_imdb(arc, vocab_size=6, max_len=3)  # another max_len: same cache file
    assert c.info["from_cache"] and c.info["cache_file"] == b.info["cache_file"]
    d = load_imdb(arc, vocab_size=7, max_len=3)  # another vocabulary: another file
    assert not d.info["from_cache"] and d.info["cache_file"] != b.info["cache_file"]
    assert len(d.vocab) == 7
    files = sorted(p.name for p in (tmp / "cache").iterdir())
    assert len(files) == 3 and all(f.startswith("imdb-") and f.endswith(".npz") for f in files)
    # The cache is plain arrays: it loads with pickling disabled.
    with np.load(tmp / "cache" / files[0], allow_pickle=False) as z:
        assert "train_flat" in z.files
    # A damaged cache is rebuilt with a warning.
    with open(b.info["cache_file"], "wb") as f:
        f.write(b"not a zip")
    with pytest.warns(UserWarning, match="unreadable cache"):
        e = load_imdb(arc, vocab_size=6, max_len=5)
    np.testing.assert_array_equal(e.train.ids, b.train.ids)


def test_tarball_with_parent_member_is_refused(env):
    tmp, src = env
    arc = make_tarball(tmp / "evil.tar.gz", src, extra="aclImdb/../../outside.txt")
    with pytest.raises(UnsafeArchiveError, match=r"\.\."):
        load_imdb(arc, use_cache=False)


def test_lookup_order_env_then_cache_and_offline_error(env, monkeypatch):
    tmp, src = env
    with pytest.raises(FileNotFoundError) as err:
        load_imdb()
    msg = str(err.value)
    assert "MINIDL_DATA" in msg and "download=True" in msg and str(tmp / "cache") in msg
    assert "aclImdb_v1.tar.gz" in msg
    with pytest.raises(FileNotFoundError, match="neither"):
        load_imdb(tmp / "nowhere")
    # $MINIDL_DATA pointing at a folder that holds an archive under one of the known names
    data = tmp / "data"
    data.mkdir()
    make_tarball(data / "aclImdb_labeled.tar.gz", src)
    monkeypatch.setenv("MINIDL_DATA", str(data))
    d = load_imdb(vocab_size=6, max_len=3)
    assert d.info["source"] == str(data / "aclImdb_labeled.tar.gz")
    # ... and the extracted folder in the cache is found when $MINIDL_DATA is unset
    monkeypatch.delenv("MINIDL_DATA")
    shutil.copytree(src / "aclImdb", tmp / "cache" / "aclImdb")
    e = load_imdb(vocab_size=6, max_len=3)
    assert e.info["kind"] == "dir" and e.info["source"] == str(tmp / "cache" / "aclImdb")


def test_download_only_when_asked(env, monkeypatch):
    tmp, src = env
    arc = make_tarball(tmp / "made.tar.gz", src)
    asked = []

    def fake_download(url, dest, sha256=None, **kw):
        asked.append((url, sha256))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(arc, dest)
        return dest

    monkeypatch.setattr(imdb, "_download", fake_download)
    with pytest.raises(FileNotFoundError):
        load_imdb()
    assert asked == []
    d = load_imdb(download=True, vocab_size=6, max_len=3)
    assert asked == [(imdb.IMDB_URL, imdb.IMDB_SHA256)]
    assert d.info["source"] == str(tmp / "cache" / "aclImdb_v1.tar.gz") and len(d.train) == 4


def test_limit_and_bad_arguments(env):
    tmp, src = env
    d = load_imdb(src, vocab_size=6, max_len=3, limit=2, seed=1)
    assert len(d.train) == 2 and len(d.test) == 2 and len(d.vocab) == 6
    again = load_imdb(src, vocab_size=6, max_len=3, limit=2, seed=1)
    np.testing.assert_array_equal(d.train.ratings, again.train.ratings)
    for kw, match in ((dict(vocab_size=1), "vocab_size"), (dict(max_len=0), "max_len"),
                      (dict(truncate="left"), "'pre' or 'post'")):
        with pytest.raises(ValueError, match=match):
            load_imdb(src, **kw)
