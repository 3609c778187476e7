"""The names-by-language set: ASCII normalisation, 57 symbols, one-hot, seeded stratified split."""

import hashlib
import io
import zipfile

import numpy as np
import pytest
from data_samples import write_names

from minidl.data import names as nm
from minidl.errors import DataError


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


def test_load_names_split_is_stratified_seeded_and_complete(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    write_names(tmp_path / "data" / "names")
    d = nm.load_names(tmp_path / "data", test_fraction=0.4, seed=0)
    assert d.languages == ("Arabian", "Cechian", "Hellenic")
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


# ------------------------------------------------------------------ integrity (issue 10)
def test_an_empty_names_file_is_an_error_naming_it(tmp_path):
    folder = write_names(tmp_path / "names")
    (folder / "Elvish.txt").write_text("")  # today: silently a language with no names
    with pytest.raises(DataError, match="Elvish.txt holds no names"):
        nm.load_names(folder)
    (folder / "Elvish.txt").write_text("\n - \n\n")  # lines, but no letter in any
    with pytest.raises(DataError, match="Elvish.txt holds no names"):
        nm.load_names(folder)


def test_every_file_of_a_folder_empty_is_an_error(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "Nothing.txt").write_text("")  # today: NamesData(train=0, test=0)
    with pytest.raises(DataError, match="Nothing.txt holds no names"):
        nm.load_names(folder)


def fake_release(folder, edit=None):
    """The 18 file names of the release with made-up content, and NAMES_FILES set to match."""
    folder.mkdir(parents=True)
    table = {}
    for i, lang in enumerate(nm.NAMES_FILES):
        data = f"Name{chr(97 + i)}\nOther{chr(97 + i)}\n".encode()
        table[lang] = hashlib.sha256(data).hexdigest()
        (folder / f"{lang}.txt").write_bytes(data if lang != edit else data + b"Extra\n")
    return table


def test_release_files_are_checked_against_their_checksums(tmp_path, monkeypatch):
    table = fake_release(tmp_path / "ok")
    monkeypatch.setattr(nm, "NAMES_FILES", table)
    monkeypatch.setattr(nm, "NAMES_TOTAL", 36)
    d = nm.load_names(tmp_path / "ok", test_fraction=0.0)  # 2 names each: too few to hold out
    assert len(d.languages) == 18 and len(d.train) + len(d.test) == 36
    fake_release(tmp_path / "edited", edit="Korean")
    with pytest.raises(DataError, match=r"edited/Korean.txt differs from the release file \(SHA-256"):
        nm.load_names(tmp_path / "edited")
    (tmp_path / "ok" / "Scottish.txt").unlink()
    with pytest.raises(DataError, match=r"has the 18 files .*missing \['Scottish'\]"):
        nm.load_names(tmp_path / "ok")


def test_real_file_names_with_other_content_are_refused(tmp_path):
    """The canonical checksums themselves (no patching): a small Czech.txt is not the release's."""
    folder = tmp_path / "names"
    folder.mkdir()
    for lang in nm.NAMES_FILES:
        (folder / f"{lang}.txt").write_text("Novak\n")
    with pytest.raises(DataError, match="Arabic.txt differs from the release file"):
        nm.load_names(folder)


def make_zip(path, files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data/eng-fra.txt", "go.\tva !\n")
        for name, data in files.items():
            z.writestr(f"data/names/{name}", data)
    path.write_bytes(buf.getvalue())
    return path


def test_download_checks_the_zip_and_each_extracted_file(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    table = fake_release(tmp_path / "src")
    monkeypatch.setattr(nm, "NAMES_FILES", table)
    monkeypatch.setattr(nm, "NAMES_TOTAL", 36)
    files = {p.name: p.read_bytes() for p in (tmp_path / "src").iterdir()}
    asked = []

    def fake_download(url, dest, sha256=None, **kw):
        asked.append((url, sha256))
        return make_zip(dest, served)

    monkeypatch.setattr(nm, "_download", fake_download)
    served = dict(files, **{"Korean.txt": b"Kim\nDamaged\n"})
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(DataError, match="Korean.txt differs from the release file"):
        nm.load_names(cache_dir=cache, download=True)
    assert not (cache / "names").exists()  # nothing unpacked from a bad archive
    assert asked == [(nm.NAMES_URL, nm.NAMES_ZIP_SHA256)]
    served = files
    d = nm.load_names(cache_dir=cache, download=True, test_fraction=0.0)
    assert d.source == str(cache / "names") and len(d.languages) == 18
    assert sorted(p.name for p in (cache / "names").iterdir()) == sorted(files)
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]
