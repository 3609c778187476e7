"""CIFAR-10 loader: the binary layout from a folder and from an archive (made here, tiny),
refusal of malformed files and unsafe archives, augmentation and the batch loader."""

import io
import tarfile

import numpy as np
import pytest
from data_samples import flip_byte, truncate, write_cifar_release

from minidl.data import cifar10, sha256sum
from minidl.data.cifar10 import (
    CifarLoader,
    channel_stats,
    find_cifar10,
    horizontal_flip,
    load_cifar10,
    normalize,
    parse_records,
    random_crop,
)
from minidl.errors import DataError

_write_release = write_cifar_release


def test_record_layout_is_label_then_rgb_planes():
    img = np.zeros((3, 32, 32), np.uint8)
    img[0, 0, 1] = 10  # red, row 0, column 1
    img[2, 31, 31] = 20  # blue, last pixel
    buf = bytes([7]) + img.tobytes()
    images, labels = parse_records(buf)
    assert labels.tolist() == [7] and images.shape == (1, 3, 32, 32)
    assert images[0, 0, 0, 1] == 10 and images[0, 2, 31, 31] == 20 and images.sum() == 30
    assert buf[1 + 1] == 10 and buf[1 + 2 * 1024 + 31 * 32 + 31] == 20


def test_load_from_folder_and_from_archive(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "cifar-10-batches-bin"
    tr_im, tr_lb, te_im, te_lb = _write_release(folder)
    for path in (folder, folder.parent):
        d = load_cifar10(path)
        assert d.info["kind"] == "dir"
        np.testing.assert_array_equal(d.train.images, tr_im)
        np.testing.assert_array_equal(d.train.labels, tr_lb)
        np.testing.assert_array_equal(d.test.images, te_im)
        assert d.train.labels.dtype == np.int64 and d.classes == cifar10.CLASSES
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-bin")
    # the stand-in plays the official archive: its checksum is "the published one"
    monkeypatch.setattr(cifar10, "CIFAR10_SHA256", sha256sum(archive))
    for path in (archive, tmp_path):  # the archive itself, or the folder holding it
        d = load_cifar10(path)
        assert d.info["kind"] == "tar"
        np.testing.assert_array_equal(d.train.images, tr_im)
        np.testing.assert_array_equal(d.test.labels, te_lb)
    d = load_cifar10(folder, limit=4, seed=1)
    assert len(d.train) == 4 and len(d.test) == 3


def test_search_order_env_then_cache(tmp_path, monkeypatch):
    _write_release(tmp_path / "cache" / "cifar-10-batches-bin")
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    assert find_cifar10(cache_dir=tmp_path / "cache")[0] == "dir"
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path / "nothing-here"))
    with pytest.raises(FileNotFoundError, match="download=True"):
        find_cifar10(cache_dir=tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="neither a cifar-10-batches-bin/ folder"):
        find_cifar10(tmp_path / "nothing-here")


def test_download_uses_the_published_checksum(tmp_path, monkeypatch):
    seen = {}

    def fake_download(url, dest, sha256=None, **kw):
        seen.update(url=url, dest=dest, sha256=sha256)
        return dest

    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setattr(cifar10, "_download", fake_download)
    kind, path = find_cifar10(cache_dir=tmp_path, download=True)
    assert kind == "tar" and path == tmp_path / "cifar-10-binary.tar.gz"
    assert seen["url"].startswith("https://") and seen["sha256"] == cifar10.CIFAR10_SHA256


def test_malformed_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not a whole number of 3073-byte"):
        parse_records(b"\x00" * 3000, "x.bin")
    with pytest.raises(ValueError, match="label byte 12 outside"):
        parse_records(bytes([12]) + bytes(3072), "x.bin")
    bad = tmp_path / "evil.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo("../cifar-10-batches-bin/test_batch.bin")
        info.size = 3073
        tar.addfile(info, io.BytesIO(bytes(3073)))
    with pytest.raises(ValueError, match=r"\.\."):
        load_cifar10(bad)
    partial = tmp_path / "partial.tar.gz"
    with tarfile.open(partial, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
        info.size = 3073
        tar.addfile(info, io.BytesIO(bytes(3073)))
    with pytest.raises(ValueError, match="archive lacks cifar-10-batches-bin/data_batch_1.bin"):
        load_cifar10(partial)


def test_normalize_and_channel_stats():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 3, 8, 8)).astype(np.uint8)
    mean, std = channel_stats(images)
    x = normalize(images, mean, std)
    assert x.dtype == np.float32 and x.shape == images.shape
    np.testing.assert_allclose(x.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=(0, 2, 3)), 1, atol=1e-4)


def test_random_crop_cuts_windows_of_the_padded_image():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, size=(6, 3, 5, 5)).astype(np.uint8)
    np.testing.assert_array_equal(random_crop(images, 0, rng), images)
    out = random_crop(images, 2, np.random.default_rng(3))
    padded = np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = np.random.default_rng(3)
    dy, dx = offsets.integers(0, 5, size=6), offsets.integers(0, 5, size=6)
    for n in range(6):
        np.testing.assert_array_equal(out[n], padded[n, :, dy[n]:dy[n] + 5, dx[n]:dx[n] + 5])


def test_horizontal_flip_mirrors_about_half():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(200, 1, 2, 3)).astype(np.uint8)
    out = horizontal_flip(images, np.random.default_rng(1))
    flipped = np.array([np.array_equal(o, i[..., ::-1]) and not np.array_equal(o, i) for o, i in zip(out, images)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, images)])
    assert (flipped | kept).all() and 70 < flipped.sum() < 130


def test_loader_batches_are_normalised_augmented_and_resumable():
    rng = np.random.default_rng(0)
    split = cifar10.ImageSplit(rng.integers(0, 256, size=(10, 3, 6, 6)).astype(np.uint8),
                               rng.integers(0, 10, size=10))
    mean, std = channel_stats(split.images)
    make = lambda: CifarLoader(split, 4, mean=mean, std=std, seed=5, crop_padding=2, flip=True)  # noqa: E731
    a = make()
    assert len(a) == 3
    epochs = [[(b.x.copy(), b.y.copy()) for b in a] for _ in range(3)]
    x, y = epochs[0][0]
    assert x.shape == (4, 3, 6, 6) and x.dtype == np.float32 and y.dtype == np.int64
    b = make()
    b.load_state_dict({"seed": 5, "epoch": 2})  # resume before the third epoch
    for (x1, y1), batch in zip(epochs[2], b):
        np.testing.assert_array_equal(x1, batch.x)
        np.testing.assert_array_equal(y1, batch.y)
    plain = CifarLoader(split, 10, mean=mean, std=std, shuffle=False)
    np.testing.assert_allclose(next(iter(plain)).x, normalize(split.images, mean, std))
    with pytest.raises(TypeError, match="split.images must be uint8"):
        CifarLoader(cifar10.ImageSplit(split.images.astype(np.float32), split.labels), mean=mean, std=std)


# ------------------------------------------------------------------ integrity (issue 10)
def _archive(tmp_path, n=3, name="sample.tar.gz"):
    folder = tmp_path / "src" / "cifar-10-batches-bin"
    write_cifar_release(folder, n)
    archive = tmp_path / name
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-bin")
    return archive


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_archive_is_an_error_naming_it(tmp_path, damage):
    good = _archive(tmp_path)
    bad = tmp_path / "bad.tar.gz"
    flip_byte(good, bad, 0.9) if damage == "flip" else truncate(good, bad, 0.9)
    with pytest.raises(DataError, match="bad.tar.gz is damaged or truncated"):
        load_cifar10(bad)


def test_a_batch_file_cut_at_a_record_boundary_is_an_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar_release(folder, n=3)
    raw = (folder / "data_batch_4.bin").read_bytes()
    (folder / "data_batch_4.bin").write_bytes(raw[: 2 * cifar10.RECORD])
    with pytest.raises(DataError, match=r"every batch file should hold 3 records .*data_batch_4.bin: 2"):
        load_cifar10(folder)


def test_the_release_size_wins_over_the_majority(tmp_path, monkeypatch):
    """A release (10,000 records a file; 3 here) with several short files names them all."""
    monkeypatch.setattr(cifar10, "RELEASE_PER_FILE", 3)
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar_release(folder, n=3)
    for f in cifar10.TRAIN_FILES[:4]:
        (folder / f).write_bytes((folder / f).read_bytes()[: cifar10.RECORD])
    with pytest.raises(DataError, match="should hold 3 records .*data_batch_1.bin: 1, .*data_batch_4.bin: 1"):
        load_cifar10(folder)


def test_a_file_named_as_the_official_archive_must_have_its_checksum(tmp_path):
    fake = _archive(tmp_path, name="cifar-10-binary.tar.gz")
    with pytest.raises(DataError, match="cifar-10-binary.tar.gz carries the name of the official archive"):
        load_cifar10(fake)
