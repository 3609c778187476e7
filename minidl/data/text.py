"""Text to integer ids: a tokenizer, a vocabulary, and padding/truncation to a fixed length.

The pipeline a review goes through before it reaches ``nn.Embedding``::

    "Great film!<br /><br />Loved it."            raw text
    -> ["great", "film", "!", "loved", "it", "."]   tokenize()
    -> [ 87,      22,    37,   440,     10,   3 ]    Vocabulary.lookup()   (unk = 1 for unseen words)
    -> [ 87, 22, 37, 440, 10, 3, 0, 0, 0, 0 ]       encode(..., max_len=10, pad="post")   (pad = 0)
       length = 6

Everything here runs on the host (plain Python and NumPy): token ids are made once, cached,
and moved to the device one batch at a time.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from ..errors import RangeError, ShapeError

__all__ = ["PAD", "UNK", "PAD_TOKEN", "UNK_TOKEN", "tokenize", "Vocabulary", "encode", "pad_sequences"]

PAD = 0  #: id of the padding token: the rows a batch is padded with
UNK = 1  #: id of the unknown token: every word outside the vocabulary
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"

# The IMDB reviews carry HTML line breaks, written "<br />", "<br/>" or "<br>".
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
# A token is a word (letters/digits, with inner apostrophes kept: "don't", "o'brien")
# or one punctuation character ("!", ".", "(" ...). Whitespace separates and is dropped.
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


# --8<-- [start:tokenize]
def tokenize(text: str) -> list[str]:
    """Split a text into lower-case word and punctuation tokens.

    Rules, in order:

    1. lower-case the whole text;
    2. replace HTML line breaks (``<br />``, ``<br/>``, ``<br>``) by a space;
    3. a *word* is a run of letters, digits or ``_`` (any script: "café" is one word), and
       an apostrophe between two such runs stays inside the word ("don't", "o'brien");
    4. every other non-space character is a token of its own ("!!" -> "!", "!").

    >>> tokenize("Great film!<br /><br />I don't regret it... 10/10")
    ['great', 'film', '!', 'i', "don't", 'regret', 'it', '.', '.', '.', '10', '/', '10']
    """
    return _TOKEN.findall(_BR.sub(" ", text.lower()))
# --8<-- [end:tokenize]


class Vocabulary:
    """A mapping word <-> id, with ``<pad>`` = 0 and ``<unk>`` = 1.

    ``Vocabulary.build(token_lists, size)`` keeps the ``size - 2`` most frequent training
    words, so that ``len(vocab) == size`` counts *every* id, the two specials included: it is
    exactly the ``num_embeddings`` of the ``nn.Embedding`` that reads the ids. Report B's
    ``Embedding(20001, 64)`` is therefore ``Vocabulary.build(train_tokens, 20001)``:
    19,999 words + pad + unk = 20,001 ids.

    Ties in frequency are broken alphabetically (by Unicode code point), so the vocabulary is
    the same on every machine and in every run, whatever the order the files were read in.
    Word ids follow the ranking: id 2 is the most frequent word, id 3 the next, and so on.

    Attributes:
        itos: list of str, id -> word (``itos[0] == "<pad>"``, ``itos[1] == "<unk>"``).
        stoi: dict str -> int, word -> id (words not in it map to ``UNK``).
        counts: list of int, training frequency of each id (0 for the specials).
    """

    def __init__(self, words: Sequence[str], counts: Sequence[int] | None = None):
        words = list(words)
        if words[:2] != [PAD_TOKEN, UNK_TOKEN]:
            words = [PAD_TOKEN, UNK_TOKEN] + [w for w in words if w not in (PAD_TOKEN, UNK_TOKEN)]
        if len(set(words)) != len(words):
            raise RangeError("Vocabulary: words must be unique")
        self.itos: list[str] = words
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(words)}
        if counts is None:
            counts = [0] * len(words)
        counts = list(counts)
        if len(counts) == len(words) - 2:
            counts = [0, 0] + counts
        if len(counts) != len(words):
            raise ShapeError(f"Vocabulary: counts has {len(counts)} entries for {len(words)} words")
        self.counts: list[int] = [int(c) for c in counts]

    # --8<-- [start:vocab_build]
    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], size: int, min_freq: int = 1) -> Vocabulary:
        """The ``size - 2`` most frequent tokens of ``token_lists``, plus ``<pad>`` and ``<unk>``.

        Args:
            token_lists: iterable of token lists (the *training* texts only: building the
                vocabulary from the test set would leak test information into the model).
            size: total number of ids, specials included (>= 2). Fewer words are kept when
                the texts have fewer distinct tokens than ``size - 2``.
            min_freq: drop tokens seen fewer times than this.
        """
        if int(size) < 2:
            raise RangeError(f"Vocabulary.build: size must be >= 2 (pad and unk), got {size}")
        counter: Counter[str] = Counter()
        for tokens in token_lists:
            counter.update(tokens)
        for special in (PAD_TOKEN, UNK_TOKEN):
            counter.pop(special, None)
        # Sort by (-count, word): most frequent first, ties alphabetical -> deterministic.
        kept = (item for item in counter.items() if item[1] >= min_freq)
        ranked = sorted(kept, key=lambda kv: (-kv[1], kv[0]))
        ranked = ranked[: int(size) - 2]
        return cls([PAD_TOKEN, UNK_TOKEN] + [w for w, _ in ranked], [0, 0] + [c for _, c in ranked])
    # --8<-- [end:vocab_build]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __getitem__(self, word: str) -> int:
        return self.stoi.get(word, UNK)

    def __repr__(self) -> str:
        head = ", ".join(self.itos[2:7])
        return f"Vocabulary(size={len(self)}, pad={PAD}, unk={UNK}, most frequent: {head}, ...)"

    def lookup(self, tokens: Sequence[str]) -> list[int]:
        """Token list -> id list; unknown tokens become ``UNK`` (1)."""
        get = self.stoi.get
        return [get(t, UNK) for t in tokens]

    def decode(self, ids: Iterable[int], skip_pad: bool = True) -> list[str]:
        """Id list -> token list (``<pad>`` dropped unless ``skip_pad=False``)."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise RangeError(f"Vocabulary.decode: token id {i} outside the vocabulary [0, {len(self.itos)})")
            if skip_pad and i == PAD:
                continue
            out.append(self.itos[i])
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The vocabulary as plain NumPy arrays (a unicode array and int64 counts), for ``.npz``."""
        return {
            "vocab_words": np.array(self.itos, dtype=str),
            "vocab_counts": np.array(self.counts, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, words: np.ndarray, counts: np.ndarray | None = None) -> Vocabulary:
        return cls([str(w) for w in words], None if counts is None else [int(c) for c in counts])


def _check_side(name: str, value: str) -> None:
    if value not in ("pre", "post"):
        raise RangeError(f"pad_sequences: {name} must be 'pre' or 'post', got {value!r}")


# --8<-- [start:pad_sequences]
def pad_sequences(
    sequences: Sequence[Sequence[int]] | tuple[np.ndarray, np.ndarray],
    max_len: int,
    truncate: str = "pre",
    pad: str = "post",
    dtype=np.int32,
    pad_value: int = PAD,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut or pad id sequences to one length ``max_len``; return ``(ids, lengths)``.

    Args:
        sequences: N id lists, or a ragged pair ``(flat, offsets)`` with sequence ``i`` =
            ``flat[offsets[i]:offsets[i + 1]]`` (offsets: (N + 1,)), the form the IMDB cache uses.
        max_len: the length T of every output row (>= 1).
        truncate: which tokens of a sequence longer than ``max_len`` are *dropped* (the
            Keras ``pad_sequences`` convention): ``"pre"`` drops the beginning and keeps the
            **last** ``max_len`` tokens (a review's verdict is often at its end); ``"post"``
            drops the end and keeps the **first** ``max_len`` tokens.
        pad: where the padding goes in a shorter sequence: ``"post"`` after the tokens
            (real tokens at positions ``[0, length)``), ``"pre"`` before them (real tokens at
            ``[T - length, T)``).
        dtype: integer dtype of ``ids`` (int32 halves the memory of int64; ``nn.Embedding``
            takes either).

    Returns:
        ids: (N, max_len) ``dtype``, padded with ``pad_value``.
        lengths: (N,) int64, the number of real tokens kept, ``min(len(seq), max_len)``.
    """
    _check_side("truncate", truncate)
    _check_side("pad", pad)
    if int(max_len) < 1:
        raise RangeError(f"pad_sequences: max_len must be >= 1, got {max_len}")
    T = int(max_len)
    if isinstance(sequences, tuple) and len(sequences) == 2 and isinstance(sequences[0], np.ndarray):
        flat, offsets = np.asarray(sequences[0]), np.asarray(sequences[1], dtype=np.int64)
    else:
        lists = [np.asarray(s, dtype=np.int64).reshape(-1) for s in sequences]
        offsets = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in lists], out=offsets[1:])
        flat = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    full = np.diff(offsets)  # (N,) untruncated lengths
    lengths = np.minimum(full, T)
    N = len(full)

    # Vectorised gather instead of a Python loop over 25,000 reviews: position j of row i
    # reads flat[src_start[i] + j - dst_start[i]] when j falls inside the row's real tokens.
    src_start = offsets[:-1] + (full - lengths if truncate == "pre" else 0)
    dst_start = T - lengths if pad == "pre" else np.zeros(N, dtype=np.int64)
    cols = np.arange(T)
    real = (cols >= dst_start[:, None]) & (cols < (dst_start + lengths)[:, None])  # (N, T)
    ids = np.full((N, T), pad_value, dtype=dtype)
    src = (src_start - dst_start)[:, None] + cols  # (N, T), valid only where `real`
    ids[real] = flat[src[real]]
    return ids, lengths.astype(np.int64)
# --8<-- [end:pad_sequences]


def encode(
    texts: Iterable[str] | Iterable[Sequence[str]],
    vocab: Vocabulary,
    max_len: int,
    truncate: str = "pre",
    pad: str = "post",
    dtype=np.int32,
) -> tuple[np.ndarray, np.ndarray]:
    """Texts (or token lists) -> ``(ids (N, max_len), lengths (N,))``.

    Strings are tokenized with :func:`tokenize`; lists of tokens are used as they are.
    Unknown words become ``UNK``; see :func:`pad_sequences` for ``truncate`` and ``pad``.
    """
    seqs = [vocab.lookup(tokenize(t) if isinstance(t, str) else t) for t in texts]
    return pad_sequences(seqs, max_len, truncate=truncate, pad=pad, dtype=dtype)
