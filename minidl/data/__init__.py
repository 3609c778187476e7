"""Data: loaders that turn the reports' data sets into NumPy arrays, and batching.

Host-only code (NumPy, no layers): ``data`` produces arrays and knows no model. A batch goes
to the device only when the training loop moves it (``minidl.to_device(batch.x, device)``).

* :mod:`~minidl.data.text`: tokenizer, vocabulary (pad = 0, unk = 1), padding/truncation;
* :mod:`~minidl.data.imdb`: the IMDB reviews (reports A, B, D, E);
* :mod:`~minidl.data.names`: surnames -> 18 languages, one-hot letters (report C);
* :mod:`~minidl.data.cifar10`: CIFAR-10 from the canonical binary layout (report E);
* :mod:`~minidl.data.batching`: shuffled, optionally length-bucketed mini-batches;
* :mod:`~minidl.data.download`: HTTPS download with a checksum (resumable);
* :mod:`~minidl.data.archive`: archives read to their end, checked, extracted safely;
* :mod:`~minidl.data.locate`: the cache folder and the search order every loader shares.

Every problem with the data themselves (missing, damaged, incomplete, unsafe) raises a
:class:`~minidl.errors.DataError` naming the file and what to do.
"""

from . import (
    archive,
    cifar10,
    download,  # the module (its function is download.download)
    locate,  # the module (its function is locate.locate)
)
from .archive import UnsafeArchiveError, safe_extract
from .batching import Batch, BatchLoader
from .download import ChecksumError, sha256sum
from .imdb import ImdbData, TextSplit, load_imdb
from .locate import DataNotFoundError, default_cache_dir
from .names import ALL_LETTERS, N_LETTERS, NamesData, encode_names, load_names, one_hot, unicode_to_ascii
from .text import PAD, UNK, Vocabulary, encode, pad_sequences, tokenize

__all__ = [
    "archive", "cifar10", "download", "locate", "ChecksumError", "UnsafeArchiveError", "safe_extract", "sha256sum",
    "DataNotFoundError", "default_cache_dir",
    "Batch", "BatchLoader",
    "ImdbData", "TextSplit", "load_imdb",
    "ALL_LETTERS", "N_LETTERS", "NamesData", "encode_names", "load_names", "one_hot", "unicode_to_ascii",
    "PAD", "UNK", "Vocabulary", "encode", "pad_sequences", "tokenize",
]
