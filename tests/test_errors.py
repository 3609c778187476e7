"""Bad input to everything that is not a layer: models, optimizers, loaders, checkpoints and
training, one row each (``Case`` of tests/bad_inputs.py: the call, the minidl.errors class it
must raise, and a regex the message must match). Each layer's rows live beside its tests
(``BAD_INPUTS`` in tests/nn/test_<layer>.py); the coverage test at the end reads them all and
fails for a public layer or entry point without rows.
"""

from __future__ import annotations

import io
import tarfile
import zipfile

import numpy as np
from bad_inputs import Case, bad_input_test, declared, f64, zeros
from data_samples import imdb_members, make_imdb_folder, make_tar, random_reviews, write_cifar_release

import minidl
from minidl import nn, optim, train
from minidl.checks import check_state_value
from minidl.data import BatchLoader, Vocabulary, cifar10, download, encode, names, pad_sequences, safe_extract
from minidl.data.imdb import load_imdb
from minidl.errors import (
    CheckpointError,
    DataError,
    DTypeError,
    RangeError,
    ShapeError,
    TrainingDiverged,
)
from minidl.models.imdb import ImdbClassifier
from minidl.models.resnet import ResNet


def _sgd_with_state(**kw):
    p = minidl.Parameter(np.zeros(3))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad[:] = 1.0
    opt.step()
    sd = opt.state_dict()
    sd.update(kw)
    return sd


def _adam_state():
    p = minidl.Parameter(np.zeros(3))
    opt = optim.Adam([p], lr=0.1)
    p.grad[:] = 1.0
    opt.step()
    return opt.state_dict()


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


def _sgd_loads(sd):
    return lambda: optim.SGD([minidl.Parameter(np.zeros(3))], lr=0.5, momentum=0.9).load_state_dict(sd)


# ===================================================================== models
MODELS = [
    Case("models.ResNet", "resnet-float64",
         lambda: ResNet([1], [2], in_channels=1)(zeros(2, 1, 4, 4, dtype=np.float64)),
         DTypeError, "Conv2d: input must have dtype float32"),
    Case("models.ResNet", "resnet-shapes",
         lambda: ResNet([1, 1], [2]),
         RangeError, "num_blocks .* and widths .* must have the same length"),
    Case("models.ImdbClassifier", "an unknown fc_activation (it used to mean none)",
         lambda: ImdbClassifier(50, 4, 4, fc_activation="tanh"),
         RangeError, r"ImdbClassifier: fc_activation must be one of \('relu', None\), got 'tanh'"),
    Case("models.ImdbClassifier", "an unknown cell",
         lambda: ImdbClassifier(50, 4, 4, cell="lstmm"),
         RangeError, r"ImdbClassifier: cell must be one of .*'lstm'.*got 'lstmm'"),
    Case("models.ImdbClassifier", "residual on a GRU",
         lambda: ImdbClassifier(50, 4, 4, cell="gru", residual=True),
         RangeError, r"ImdbClassifier: residual=True is defined for cell='lstm' only .*got cell='gru'"),
]

# ===================================================================== optimizers
OPTIMIZERS = [
    Case("optim.SGD", "no parameters", lambda: optim.SGD([], lr=0.1), RangeError,
         r"SGD: params must hold at least one Parameter, got an empty list"),
    Case("optim.SGD", "one Parameter, not a list", lambda: optim.SGD(minidl.Parameter(f64(2)), lr=0.1), DTypeError,
         r"SGD: params must be an iterable of Parameters"),
    Case("optim.Adam", "arrays instead of Parameters", lambda: optim.Adam([f64(2)]), DTypeError,
         r"Adam: params must hold Parameters, got ndarray at position 0"),
    Case("optim.Adam", "lr NaN", lambda: optim.Adam([minidl.Parameter(f64(2))], lr=float("nan")), RangeError,
         r"Adam: lr must be a finite number in \[0.0, inf\), got nan"),
    Case("optim.SGD", "a negative lr", lambda: optim.SGD([minidl.Parameter(f64(2))], lr=-0.1), RangeError,
         r"SGD: lr must be a finite number in \[0.0, inf\), got -0.1"),
    Case("optim.SGD", "lr a string", lambda: optim.SGD([minidl.Parameter(f64(2))], lr="0.1"), DTypeError,
         r"SGD: lr must be a real number, got str"),
    Case("optim.SGD", "a negative momentum", lambda: optim.SGD([minidl.Parameter(f64(2))], 0.1, momentum=-0.5),
         RangeError, r"SGD: momentum must be a finite number in \[0.0, inf\), got -0.5"),
    Case("optim.SGD", "Nesterov without momentum", lambda: optim.SGD([minidl.Parameter(f64(2))], 0.1, nesterov=True),
         RangeError, r"SGD: nesterov=True needs momentum > 0"),
    Case("optim.Adam", "beta1 = 1", lambda: optim.Adam([minidl.Parameter(f64(2))], betas=(1.0, 0.999)), RangeError,
         r"Adam: betas\[0\] must be a finite number in \[0.0, 1.0\), got 1.0"),
    Case("optim.Adam", "betas not a pair", lambda: optim.Adam([minidl.Parameter(f64(2))], betas=0.9), RangeError,
         r"Adam: betas must be a pair \(beta1, beta2\), got 0.9"),
    Case("optim.Adam", "a negative eps", lambda: optim.Adam([minidl.Parameter(f64(2))], eps=-1e-8), RangeError,
         r"Adam: eps must be a finite number in \[0.0, inf\), got -1e-08"),
    Case("optim.Adam", "an infinite weight decay",
         lambda: optim.Adam([minidl.Parameter(f64(2))], weight_decay=float("inf")), RangeError,
         r"Adam: weight_decay must be a finite number in \[0.0, inf\), got inf"),
    Case("optim.clip_grad_norm_", "max_norm NaN", lambda: optim.clip_grad_norm_([minidl.Parameter(f64(2))], np.nan),
         RangeError, r"clip_grad_norm_: max_norm must be a finite number in \[0.0, inf\), got nan"),
    Case("optim.SGD.load_state_dict", "Adam's state (lr would change silently)", lambda: _sgd_loads(_adam_state())(),
         CheckpointError, r"SGD\.load_state_dict: the state must come from SGD, got the state of Adam"),
    Case("optim.SGD.load_state_dict", "no lr", lambda: _sgd_loads(_without(_sgd_with_state(), "lr"))(),
         CheckpointError, r"SGD\.load_state_dict: the state has no 'lr' entry"),
    Case("optim.SGD.load_state_dict", "lr NaN", lambda: _sgd_loads(_sgd_with_state(lr=float("nan")))(),
         CheckpointError, r"SGD\.load_state_dict: lr must be a finite number .*got nan"),
    Case("optim.SGD.load_state_dict", "a state of the wrong shape",
         lambda: _sgd_loads(_sgd_with_state(**{"state.0.momentum_buffer": f64(4)}))(), CheckpointError,
         r"'state\.0\.momentum_buffer' must have the parameter's shape \(3,\), got \(4,\)"),
    Case("optim.SGD.load_state_dict", "a complex state",
         lambda: _sgd_loads(_sgd_with_state(**{"state.0.momentum_buffer": np.ones(3, complex)}))(), CheckpointError,
         r"SGD\.load_state_dict: 'state\.0\.momentum_buffer' must be a floating array \(the parameter is float64\), "
         r"got dtype complex128"),
    Case("optim.SGD.load_state_dict", "a state for a parameter it does not have",
         lambda: _sgd_loads(_sgd_with_state(**{"state.5.momentum_buffer": f64(3)}))(), CheckpointError,
         r"'state\.5\.momentum_buffer' is the state of parameter 5, but this optimizer has 1 parameters"),
]

# ===================================================================== loaders
def _imdb(tmp):
    return make_imdb_folder(tmp / "imdb")


def _cifar(tmp):
    write_cifar_release(tmp / "c" / "cifar-10-batches-bin", n=2)
    return tmp / "c"


def _names_zip(tmp):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data/names/Elvish.txt", "Elrond\n" * 50)
    raw = buf.getvalue()
    (tmp / "data.zip").write_bytes(raw[: len(raw) // 2])
    return tmp / "data.zip"


def _names_nonutf8(tmp):
    (tmp / "n").mkdir()
    (tmp / "n" / "Elvish.txt").write_bytes(b"\xff\xfe\x00bad")
    return tmp / "n"


def _tar_with(tmp, members, name="x.tar.gz"):
    return make_tar(tmp / name, members)


def _ck(tmp, content: bytes):
    (tmp / "ck.npz").write_bytes(content)
    return tmp / "ck.npz"


def _bad_member_tar(tmp):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    (tmp / "esc.tar").write_bytes(buf.getvalue())
    return tmp / "esc.tar"


LOADERS = [
    Case("data.encode", "one string instead of a list of texts (was read letter by letter)",
         lambda: encode("a fine film", Vocabulary.build([["a", "fine"]], 4), 3), DTypeError,
         r"encode: texts must be a list of texts \(or of token lists\), got one str 'a fine film'"),
    Case("data.encode", "a vocab that is not a Vocabulary", lambda: encode(["a b"], {"a": 2}, 3), DTypeError,
         r"encode: vocab must be a Vocabulary, got dict"),
    Case("data.load_imdb", "imdb-vocab_size",
         lambda t: load_imdb(_imdb(t), vocab_size=1),
         RangeError, "vocab_size .* >= 2, got 1"),
    Case("data.load_imdb", "imdb-max_len",
         lambda t: load_imdb(_imdb(t), max_len=0),
         RangeError, "max_len must be a positive"),
    Case("data.load_imdb", "imdb-truncate",
         lambda t: load_imdb(_imdb(t), truncate="left"),
         RangeError, "truncate and pad"),
    Case("data.load_imdb", "imdb-limit",
         lambda t: load_imdb(_imdb(t), limit=0),
         RangeError, "limit must be a positive"),
    Case("data.load_imdb", "imdb-not-found", lambda t: load_imdb(), DataError, "(?s)IMDB .* not found.*download=True"),
    Case("data.load_imdb", "imdb-path-not-data", lambda t: load_imdb(t / "nowhere"), DataError, "nowhere.*is neither"),
    Case("data.load_imdb", "imdb-not-a-tar",
         lambda t: load_imdb(_ck(t, b"hello").rename(t / "x.tar.gz")),
         DataError, "x.tar.gz is damaged or truncated"),
    Case("data.load_imdb", "imdb-empty-class",
         lambda t: load_imdb(_tar_with(t, imdb_members(
             {k: v for k, v in random_reviews(2).items() if k[:2] != ("train", "neg")}))),
         DataError, "no train/neg reviews found"),
    Case("data.load_imdb", "imdb-unsafe-member",
         lambda t: load_imdb(_tar_with(t, imdb_members() + [("aclImdb/../x", b"e")])),
         DataError, r"climbs out"),
    Case("data.load_names", "names-test_fraction",
         lambda t: names.load_names(t, test_fraction=1.0),
         RangeError, r"test_fraction .*\[0, 1\)"),
    Case("data.load_names", "names-empty-file",
         lambda t: (t / "n").mkdir() or (t / "n" / "Elvish.txt").write_text("")
             or names.load_names(t / "n"),
         DataError, "Elvish.txt holds no names"),
    Case("data.load_names", "names-not-utf8",
         lambda t: names.load_names(_names_nonutf8(t)),
         DataError, "Elvish.txt is not UTF-8"),
    Case("data.load_names", "names-damaged-zip",
         lambda t: names._extract_names_zip(_names_zip(t), t),
         DataError, "data.zip is damaged or truncated"),
    Case("data.load_names", "names-not-found",
         lambda t: names.load_names(cache_dir=t / "c"),
         DataError, "names data set .* not found"),
    Case("data.names.letter_to_index", "names-letter",
         lambda t: names.letter_to_index("-"),
         RangeError, "letter must be one of the 57"),
    Case("data.encode_names", "names-pad", lambda t: names.encode_names(["Ab"], pad="left"), RangeError, "pad must be"),
    Case("data.one_hot", "names-one_hot-dtype",
         lambda t: names.one_hot(np.array([1.0])),
         DTypeError, "ids must be integers"),
    Case("data.one_hot", "names-one_hot-range", lambda t: names.one_hot(np.array([57])), RangeError, r"\[0, 57\)"),
    Case("data.load_cifar10", "cifar-limit",
         lambda t: cifar10.load_cifar10(_cifar(t), limit=0),
         RangeError, "limit must be a positive"),
    Case("data.load_cifar10", "cifar-not-found",
         lambda t: cifar10.load_cifar10(cache_dir=t / "c"),
         DataError, "CIFAR-10 .* not found"),
    Case("data.cifar10.parse_records", "cifar-records",
         lambda t: cifar10.parse_records(b"\0" * 3000, "x.bin"),
         DataError, "x.bin: 3000 bytes"),
    Case("data.cifar10.parse_records", "cifar-label",
         lambda t: cifar10.parse_records(bytes([12]) + bytes(3072), "x.bin"),
         DataError, "label byte 12"),
    Case("data.load_cifar10", "cifar-missing-member",
         lambda t: cifar10.load_cifar10(_tar_with(t, [
             ("cifar-10-batches-bin/test_batch.bin", bytes(3073))])),
         DataError, "lacks cifar-10-batches-bin/data_batch_1"),
    Case("data.cifar10.CifarLoader", "cifar-loader-dtype",
         lambda t: cifar10.CifarLoader(cifar10.ImageSplit(np.zeros((2, 3, 4, 4)), np.zeros(2)),
             mean=0, std=1),
         DTypeError, "split.images must be uint8"),
    Case("data.cifar10.CifarLoader", "cifar-loader-shape",
         lambda t: cifar10.CifarLoader(cifar10.ImageSplit(np.zeros((2, 4), np.uint8),
             np.zeros(2)), mean=0, std=1),
         ShapeError, r"shape \(N, C, H, W\)"),
    Case("data.BatchLoader", "batch-empty-x",
         lambda t: BatchLoader(np.zeros((0, 3)), None),
         ShapeError, "x must be a non-empty"),
    Case("data.BatchLoader", "batch-y-rows",
         lambda t: BatchLoader(np.zeros((4, 3)), np.zeros(3)),
         ShapeError, "y must have N = 4"),
    Case("data.BatchLoader", "batch-size",
         lambda t: BatchLoader(np.zeros((4, 3)), None, batch_size=0),
         RangeError, "batch_size"),
    Case("data.BatchLoader", "batch-lengths",
         lambda t: BatchLoader(np.zeros((4, 3)), None, lengths=np.array([1, 2, 3, 9])),
         RangeError, r"lengths must lie in \[0, T = 3\]"),
    Case("data.Vocabulary", "vocab-size", lambda t: Vocabulary.build([["a"]], 1), RangeError, "size must be >= 2"),
    Case("data.Vocabulary", "vocab-decode",
         lambda t: Vocabulary.build([["a"]], 3).decode([7]),
         RangeError, "token id 7 outside"),
    Case("data.pad_sequences", "pad-max_len", lambda t: pad_sequences([[1]], 0), RangeError, "max_len must be >= 1"),
    Case("data.download.download", "download-http",
         lambda t: download.download("http://example.org/a", t / "a"),
         RangeError, "url must be HTTPS.*non-HTTPS"),
    Case("data.download.check_official_copy", "official-copy",
         lambda t: download.check_official_copy(_ck(t, b"x"), "0" * 64, "https://e.org/a"),
         DataError, "ck.npz carries the name of the official archive"),
    Case("data.safe_extract", "extract-escape",
         lambda t: safe_extract(_bad_member_tar(t), t / "out"),
         DataError, r"climbs out"),
    Case("data.safe_extract", "extract-damaged",
         lambda t: safe_extract(_ck(t, b"\x1f\x8b" + b"junk" * 40), t / "out"),
         DataError, "ck.npz is damaged or truncated"),

    Case("data.pad_sequences", "a fractional max_len (was silently cut to 2)",
         lambda: pad_sequences([[1, 2, 3]], 2.5), RangeError,
         r"pad_sequences: max_len must be >= 1 \(an integer\), got 2.5"),
]

# ===================================================================== checkpoints
CHECKPOINTS = [
    Case("minidl.load", "ck-empty", lambda t: minidl.load(_ck(t, b"")), CheckpointError, "ck.npz is empty"),
    Case("minidl.load", "ck-text",
         lambda t: minidl.load(_ck(t, b"loss 0.5\n")),
         CheckpointError, "ck.npz is not an .npz"),
    Case("minidl.load", "ck-npy",
         lambda t: minidl.load(_ck(t, b"\x93NUMPY\x01\x00")),
         CheckpointError, "single .npy array"),
    Case("minidl.load", "ck-truncated",
         lambda t: minidl.load(_ck(t, b"PK\x03\x04" + b"\0" * 40)),
         CheckpointError, "ck.npz is truncated or damaged"),
    Case("minidl.save", "ck-key-slash",
         lambda t: minidl.save({"a/b": 1}, t / "s.npz"),
         RangeError, "may not contain '/'"),
    Case("minidl.save", "ck-object-value",
         lambda t: minidl.save({"a": object()}, t / "s.npz"),
         DTypeError, "not an array"),
    Case("checks.check_state_value", "ck-complex-into-float",
         lambda t: check_state_value("w", np.ones(2, complex), np.ones(2, np.float32)),
         CheckpointError, "'w' must be a floating array .*got dtype complex128"),
    Case("Module.load_state_dict", "a complex array", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": np.ones((2, 3), complex), "bias": f64(2)}), CheckpointError,
        r"load_state_dict: 'weight' must be a floating array \(the parameter is float32\), got dtype complex128"),
    Case("Module.load_state_dict", "an integer array for a float parameter", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": np.ones((2, 3), int), "bias": f64(2)}), CheckpointError,
        r"'weight' must be a floating array .*got dtype int64"),
    Case("Module.load_state_dict", "a list", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": [[1.0] * 3] * 2, "bias": f64(2)}), CheckpointError, r"'weight' must be an array, got list"),
    Case("Module.load_state_dict", "a transposed weight", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": f64(3, 2), "bias": f64(2)}), CheckpointError,
        r"load_state_dict: 'weight' expected shape \(2, 3\), got \(3, 2\)"),
]

# ===================================================================== training
def _run_parts():
    """A tiny run: Linear(2, 2) + cross-entropy + SGD, one batch of four (x, y) rows."""
    model = nn.Linear(2, 2)
    loader = [(np.ones((4, 2), np.float32), np.array([0, 1, 0, 1]))]
    return model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader


def _fit(**kw):
    model, loss, opt, loader = _run_parts()
    return lambda: train.fit(model, loss, opt, kw.pop("train_loader", loader), **{"epochs": 1, "log": None, **kw})


def _resume_after_fit(tmp, **config):
    model, loss, opt, loader = _run_parts()
    train.fit(model, loss, opt, loader, epochs=1, checkpoint_dir=str(tmp), log=None, config={"hidden": 2})
    model, loss, opt, loader = _run_parts()
    return train.fit(model, loss, opt, loader, epochs=2, checkpoint_dir=str(tmp), resume=True, log=None,
                     config=config)


def _resume_foreign(tmp):
    path = minidl.save({"a": 1}, tmp / "last.npz")
    model, _, opt, loader = _run_parts()
    return train.resume_run(str(path), model, opt, loader, config={})


def _nan_model():
    model = nn.Linear(2, 2)
    model.weight.data[0, 0] = np.nan
    return model


TRAINING = [
    Case("train.fit", "a config that is not JSON", lambda: _fit(config={"f": object()})(), DTypeError,
         r"fit: config must hold JSON values"),
    Case("train.fit", "resume without a checkpoint_dir", lambda: _fit(resume=True)(), RangeError,
         r"fit: resume=True needs checkpoint_dir, got checkpoint_dir=None"),
    Case("train.fit", "epochs a string", lambda: _fit(epochs="3")(), DTypeError,
         r"fit: epochs must be an integer, got str"),
    Case("train.fit", "a negative clip_grad", lambda: _fit(clip_grad=-1.0)(), RangeError,
         r"fit: clip_grad must be a finite number in \[0.0, inf\), got -1.0"),
    Case("train.fit", "a loader without batches", lambda: _fit(train_loader=[])(), ShapeError,
         r"fit: train_loader yielded no samples in epoch 1"),
    Case("train.evaluate", "a loader without batches",
         lambda: train.evaluate(nn.Linear(2, 2), nn.CrossEntropyLoss(), []), ShapeError,
         r"evaluate: the loader yielded no samples"),
    Case("train.fit", "resume with another hyper-parameter", lambda t: _resume_after_fit(t, hidden=3), CheckpointError,
         r"other hyper-parameters than this run asks for \(hidden 2 -> 3\)"),
    Case("train.resume_run", "a checkpoint not written by fit", _resume_foreign, CheckpointError,
         r"last.npz lacks .*not written by minidl.train.fit"),
    Case("train.check_diverged", "NaN in the parameters", lambda: train.check_diverged(_nan_model(), {}, 1),
         TrainingDiverged, r"after epoch 1 the parameters .*weight.* hold NaN or inf"),
]

HERE = MODELS + OPTIMIZERS + LOADERS + CHECKPOINTS + TRAINING
test_bad_input = bad_input_test(HERE)


def all_rows():
    """This file's rows and every test module's ``BAD_INPUTS``."""
    return HERE + [case for cases in declared("BAD_INPUTS").values() for case in cases]


def test_rows_are_distinct():
    ids = [c.id for c in all_rows()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def _public_layers() -> set[str]:
    """Every layer and loss minidl.nn exports (a Module subclass), as "nn.Name"."""
    return {f"nn.{name}" for name in nn.__all__
            if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module) and name != "Module"}


REQUIRED = _public_layers() | {
    # optimizers
    "optim.SGD", "optim.Adam", "optim.clip_grad_norm_",
    # loaders and data helpers
    "data.load_imdb", "data.load_names", "data.load_cifar10", "data.cifar10.CifarLoader", "data.BatchLoader",
    "data.pad_sequences", "data.encode", "data.Vocabulary", "data.encode_names", "data.one_hot", "data.safe_extract",
    "data.download.download",
    # checkpoints
    "minidl.save", "minidl.load", "Module.load_state_dict", "optim.SGD.load_state_dict", "train.resume_run",
    # training
    "train.fit", "train.evaluate",
}


def test_every_public_entry_point_has_rows():
    covered = {c.who for c in all_rows()}
    assert not REQUIRED - covered, f"no bad-input rows for {sorted(REQUIRED - covered)}"


def test_layer_rows_live_beside_the_layer_tests():
    """A layer's rows are declared in a test module of tests/nn/ (its own), not in a central table."""
    central = sorted({c.who for c in HERE if c.who.startswith("nn.")})
    assert not central, f"rows of {central} belong in their layer's test module (BAD_INPUTS)"
