"""Data: loaders that turn the reports' data sets into NumPy arrays, and batching.

Host-only code (NumPy, no layers): ``data`` produces arrays and knows no model. A batch goes
to the device only when the training loop moves it (``minidl.to_device(batch.x, device)``).

* :mod:`~minidl.data.text`: tokenizer, vocabulary (pad = 0, unk = 1), padding/truncation;
* :mod:`~minidl.data.imdb`: the IMDB reviews (reports A, B, D, E);
* :mod:`~minidl.data.names`: surnames -> 18 languages, one-hot letters (report C);
* :mod:`~minidl.data.cifar10`: CIFAR-10 from the canonical binary layout (report E);
* :mod:`~minidl.data.batching`: shuffled, optionally length-bucketed mini-batches;
* :mod:`~minidl.data.download`: HTTPS download with a checksum, safe archive extraction.
"""

from . import (
    cifar10,
    download,  # the module (its function is download.download)
)
from .batching import Batch, BatchLoader
from .download import ChecksumError, UnsafeArchiveError, safe_extract, sha256sum
from .imdb import ImdbData, TextSplit, load_imdb
from .names import ALL_LETTERS, N_LETTERS, NamesData, encode_names, load_names, one_hot, unicode_to_ascii
from .text import PAD, UNK, Vocabulary, encode, pad_sequences, tokenize

__all__ = [
    "cifar10", "download", "ChecksumError", "UnsafeArchiveError", "safe_extract", "sha256sum",
    "Batch", "BatchLoader",
    "ImdbData", "TextSplit", "load_imdb",
    "ALL_LETTERS", "N_LETTERS", "NamesData", "encode_names", "load_names", "one_hot", "unicode_to_ascii",
    "PAD", "UNK", "Vocabulary", "encode", "pad_sequences", "tokenize",
]
