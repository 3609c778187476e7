"""Tokenizer, vocabulary and padding/truncation rules."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.data.text import PAD, UNK, Vocabulary, encode, pad_sequences, tokenize


def test_tokenize_lowercases_drops_br_and_splits_punctuation():
    text = "Great FILM!<br /><br />I don't regret it...<br/>10/10<BR>Wow"
    assert tokenize(text) == [
        "great", "film", "!", "i", "don't", "regret", "it", ".", ".", ".", "10", "/", "10", "wow",
    ]
    assert tokenize("") == []
    assert tokenize("Café, naïve") == ["café", ",", "naïve"]
    assert "<" not in tokenize("a <br /> b") and "br" not in tokenize("a <br /> b")


def test_vocabulary_top_k_with_specials_and_alphabetical_ties():
    docs = [["b", "a", "c", "a"], ["c", "d", "b", "e"], ["a"]]
    # counts: a 3, b 2, c 2, d 1, e 1 -> ranking a, b, c (tie b/c alphabetical), d, e
    v = Vocabulary.build(docs, size=5)
    assert v.itos == ["<pad>", "<unk>", "a", "b", "c"]
    assert len(v) == 5 and v.stoi["a"] == 2 and v["zzz"] == UNK and v["<pad>"] == PAD
    assert v.counts == [0, 0, 3, 2, 2]
    # Order of the documents does not matter.
    assert Vocabulary.build(docs[::-1], size=5).itos == v.itos
    assert Vocabulary.build([["e", "d"]], size=4).itos == ["<pad>", "<unk>", "d", "e"]
    # Fewer distinct words than asked: all kept.
    assert len(Vocabulary.build(docs, size=100)) == 7
    assert Vocabulary.build(docs, size=100, min_freq=2).itos[2:] == ["a", "b", "c"]
    assert v.lookup(["a", "x", "c"]) == [2, UNK, 4]
    assert v.decode([2, 4, 0, 0]) == ["a", "c"]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        v.decode([5])
    with pytest.raises(ValueError, match=">= 2"):
        Vocabulary.build(docs, size=1)
    w = Vocabulary.from_arrays(**{k.replace("vocab_", ""): a for k, a in v.to_arrays().items()})
    assert w.itos == v.itos and w.counts == v.counts


def test_pad_sequences_truncate_and_pad_sides():
    seqs = [[5, 6, 7, 8, 9], [2, 3], []]
    ids, lengths = pad_sequences(seqs, 3, truncate="pre", pad="post")
    assert ids.tolist() == [[7, 8, 9], [2, 3, 0], [0, 0, 0]] and lengths.tolist() == [3, 2, 0]
    ids, _ = pad_sequences(seqs, 3, truncate="post", pad="post")
    assert ids.tolist() == [[5, 6, 7], [2, 3, 0], [0, 0, 0]]
    ids, _ = pad_sequences(seqs, 3, truncate="pre", pad="pre")
    assert ids.tolist() == [[7, 8, 9], [0, 2, 3], [0, 0, 0]]
    ids, _ = pad_sequences(seqs, 3, truncate="post", pad="pre")
    assert ids.tolist() == [[5, 6, 7], [0, 2, 3], [0, 0, 0]]
    assert ids.dtype == np.int32 and lengths.dtype == np.int64
    assert pad_sequences(seqs, 3, dtype=np.int64)[0].dtype == np.int64
    for bad in (dict(truncate="start"), dict(pad="left")):
        with pytest.raises(ValueError, match="'pre' or 'post'"):
            pad_sequences(seqs, 3, **bad)
    with pytest.raises(ValueError, match="max_len"):
        pad_sequences(seqs, 0)


@given(
    st.lists(st.lists(st.integers(2, 50), max_size=8), min_size=1, max_size=6),
    st.integers(1, 6), st.sampled_from(["pre", "post"]), st.sampled_from(["pre", "post"]),
)
def test_pad_sequences_matches_a_plain_loop(seqs, T, truncate, pad):
    ids, lengths = pad_sequences(seqs, T, truncate=truncate, pad=pad)
    ragged = (np.array([t for s in seqs for t in s], dtype=np.int32),
              np.cumsum([0] + [len(s) for s in seqs]))
    ids2, lengths2 = pad_sequences(ragged, T, truncate=truncate, pad=pad)
    for i, s in enumerate(seqs):
        kept = (s[-T:] if truncate == "pre" else s[:T]) if len(s) > T else s
        row = kept + [0] * (T - len(kept)) if pad == "post" else [0] * (T - len(kept)) + kept
        assert ids[i].tolist() == row and ids2[i].tolist() == row
        assert lengths[i] == lengths2[i] == len(kept)


def test_encode_texts_with_unknown_words():
    v = Vocabulary.build([tokenize("the film the end")], size=4)  # the, end|film tie -> end
    ids, lengths = encode(["The film!", "THE END the"], v, max_len=4)
    assert v.itos == ["<pad>", "<unk>", "the", "end"]
    assert ids.tolist() == [[2, UNK, UNK, 0], [2, 3, 2, 0]] and lengths.tolist() == [3, 3]
