"""The names-by-language set: ASCII normalisation, 57 symbols, one-hot, seeded stratified split."""

import numpy as np
import pytest

from minidl.data import names as nm


def test_unicode_to_ascii_and_the_57_symbols():
    assert nm.N_LETTERS == 57 and nm.ALL_LETTERS.endswith(" .,;'")
    assert nm.unicode_to_ascii("Ślusàrski") == "Slusarski"
    assert nm.unicode_to_ascii("Müller-Lüdenscheidt") == "MullerLudenscheidt"  # "-" is not a symbol
    assert nm.unicode_to_ascii("O'Néàl, Jr.") == "O'Neal, Jr."
    assert nm.letter_to_index("a") == 0 and nm.letter_to_index("A") == 26 and nm.letter_to_index("'") == 56
    with pytest.raises(ValueError, match="57 symbols"):
        nm.letter_to_index("-")


def test_one_hot_and_encoding():
    x = nm.name_to_onehot("Ab")
    assert x.shape == (2, 1, 57) and x.dtype == np.float32
    assert x[0, 0, 26] == 1 and x[1, 0, 1] == 1 and x.sum() == 2
    ids, lengths = nm.encode_names(["Ab", "c"])
    assert ids.tolist() == [[26, 1], [2, 0]] and lengths.tolist() == [2, 1]
    oh = nm.one_hot(ids, lengths=lengths)
    assert oh.shape == (2, 2, 57) and oh[1, 1].sum() == 0 and oh[1, 0, 2] == 1  # padding is all zeros
    ids_pre, _ = nm.encode_names(["Ab", "c"], pad="pre")
    assert ids_pre.tolist() == [[26, 1], [0, 2]]
    assert nm.one_hot(ids_pre, lengths=lengths, pad="pre")[1, 0].sum() == 0
    with pytest.raises(ValueError, match=r"\[0, 57\)"):
        nm.one_hot(np.array([57]))
    with pytest.raises(TypeError, match="integer"):
        nm.one_hot(np.array([1.0]))


def write_names(folder):
    folder.mkdir(parents=True)
    (folder / "Czech.txt").write_text("Novák\nDvořák\nSvoboda\nČerný\nKučera\n", encoding="utf-8")
    (folder / "Arabic.txt").write_text("Khoury\nNahas\n\nDaher\n", encoding="utf-8")
    (folder / "Greek.txt").write_text("Pappas\nPappas\nPapadopoulos\n", encoding="utf-8")
    return folder


def test_load_names_split_is_stratified_seeded_and_complete(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    write_names(tmp_path / "data" / "names")
    d = nm.load_names(tmp_path / "data", test_fraction=0.4, seed=0)
    assert d.languages == ("Arabic", "Czech", "Greek")
    assert len(d.train) + len(d.test) == 11
    assert sorted(d.train.names + d.test.names) == sorted(
        ["Khoury", "Nahas", "Daher", "Novak", "Dvorak", "Svoboda", "Cerny", "Kucera", "Pappas", "Pappas",
         "Papadopoulos"])
    assert np.bincount(d.test.labels).tolist() == [1, 2, 1]  # round(0.4*3), round(0.4*5), round(0.4*3)
    u = nm.load_names(tmp_path / "data", test_fraction=0.4, seed=0, unique=True)
    assert sorted(u.train.names + u.test.names).count("Pappas") == 1 and len(u.train) + len(u.test) == 10
    for s in (d.train, d.test):
        assert s.ids.shape == (len(s), max(len(n) for n in s.names))
        assert [nm.name_to_indices(n).tolist() for n in s.names] == [
            row[:L].tolist() for row, L in zip(s.ids, s.lengths)]
    again = nm.load_names(tmp_path / "data", test_fraction=0.4, seed=0)
    assert again.test.names == d.test.names
    other = [nm.load_names(tmp_path / "data", test_fraction=0.4, seed=s).test.names for s in range(1, 6)]
    assert any(o != d.test.names for o in other)
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path / "data"))
    assert nm.load_names(cache_dir=tmp_path / "nocache").source == str(tmp_path / "data" / "names")


def test_missing_names_error_says_where(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    with pytest.raises(FileNotFoundError) as err:
        nm.load_names(cache_dir=tmp_path / "c")
    assert str(tmp_path / "c" / "names") in str(err.value) and "download=True" in str(err.value)
