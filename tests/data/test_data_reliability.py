"""Data that changed is re-read, damaged or foreign data is named, and memory follows the
data, not the flags (issue 21, parts 5 and 6)."""

import os

import numpy as np
import pytest
from data_samples import make_imdb_folder, make_tar, write_names

from minidl.data import imdb, names
from minidl.data.imdb import load_imdb
from minidl.errors import DataError, RangeError


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    return tmp_path, make_imdb_folder(tmp_path / "src") / "aclImdb"


def test_a_review_rewritten_in_place_is_read_again(env):
    _, src = env
    first = load_imdb(src, vocab_size=50, max_len=20)
    review = src / "test" / "pos" / "0_8.txt"
    stat = review.stat()
    review.write_text("Awful awful film, awful", encoding="utf-8")  # same folder, same file count
    os.utime(review, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = load_imdb(src, vocab_size=50, max_len=20)
    assert again.info["cache_file"] != first.info["cache_file"] and not again.info["from_cache"]
    assert not np.array_equal(again.test.ids, first.test.ids)
    assert load_imdb(src, vocab_size=50, max_len=20).info["from_cache"]  # unchanged data: the cache again


def test_an_empty_review_is_refused_naming_it(env):
    _, src = env
    (src / "train" / "neg" / "1_3.txt").write_text("  \n")
    with pytest.raises(DataError, match=r"the review .*train/neg/1_3.txt is empty"):
        load_imdb(src)


def test_an_empty_review_in_an_archive_is_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    members = [("aclImdb/train/pos/0_9.txt", b"good"), ("aclImdb/train/neg/0_1.txt", b""),
               ("aclImdb/test/pos/0_9.txt", b"good"), ("aclImdb/test/neg/0_1.txt", b"bad")]
    archive = make_tar(tmp_path / "a.tar.gz", members)
    with pytest.raises(DataError, match=r"a.tar.gz:aclImdb/train/neg/0_1.txt is empty"):
        load_imdb(archive)


def test_another_data_sets_archive_is_not_called_a_damaged_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    archive = make_tar(tmp_path / "cifar-10-binary.tar.gz", [("cifar-10-batches-bin/data_batch_1.bin", b"\0" * 64)])
    with pytest.raises(DataError, match="holds no IMDB review at all") as e:
        load_imdb(archive)
    assert "Delete" not in str(e.value)


def test_limit_comes_before_padding_and_padding_follows_the_data(env):
    _, src = env
    d = load_imdb(src, vocab_size=50, max_len=100_000, limit=2)
    longest = max(int(d.train.full_lengths.max()), int(d.test.full_lengths.max()))
    assert d.train.ids.shape == (2, int(d.train.full_lengths.max())) and d.train.ids.shape[1] <= longest
    assert d.settings["max_len"] == d.train.ids.shape[1]
    same = load_imdb(src, vocab_size=50, max_len=3, limit=2)  # the same reviews, cut shorter
    assert np.array_equal(same.train.labels, d.train.labels) and same.train.ids.shape == (2, 3)


def test_a_request_that_cannot_fit_is_refused_with_its_size(env, monkeypatch):
    _, src = env
    monkeypatch.setattr(imdb, "_available_memory", lambda: 100)
    with pytest.raises(RangeError, match=r"need \d+\.\d GiB .*0\.0 GiB of memory are available"):
        load_imdb(src, vocab_size=50)


# ------------------------------------------------------------------ names
def test_hidden_files_are_not_languages(tmp_path):
    folder = write_names(tmp_path / "names")
    (folder / ".Cechian.txt").write_text("junk\n")  # an editor's backup
    d = names.load_names(folder, test_fraction=0.0)
    assert d.languages == ("Arabian", "Cechian", "Hellenic")


def test_one_language_is_refused(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "Solo.txt").write_text("Smith\nJones\n")
    with pytest.raises(DataError, match=r"holds 1 language file \(Solo.txt\): .*at least 2 languages"):
        names.load_names(folder)


def test_too_few_names_for_the_held_out_split_are_refused(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "A.txt").write_text("Ab\nAc\n")
    (folder / "B.txt").write_text("Ba\n")
    with pytest.raises(DataError, match=r"too few names for a held-out split of 20%.*A 2, B 1"):
        names.load_names(folder, test_fraction=0.2)
    with pytest.raises(DataError, match=r"A.txt holds 2 name\(s\): too few for a held-out split of 90%"):
        names.load_names(folder, test_fraction=0.9)
