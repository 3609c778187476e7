"""A tiny synthetic aclImdb/ layout (folder or .tar.gz) for tests: the sentiment words
decide the label, so a model can learn it in a few epochs."""

import os
import tarfile

import numpy as np

POS = ["great", "wonderful", "loved", "excellent", "moving", "superb"]
NEG = ["awful", "boring", "hated", "terrible", "dull", "worst"]
FILLER = ["the", "movie", "plot", "actor", "scene", "film", "story", "and", "a", "was"]


def make_aclimdb(root, n_per_class=120, seed=0):
    """A tiny aclImdb/ layout whose sentiment words make the labels learnable."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for label, words, ratings in (("pos", POS, (7, 10)), ("neg", NEG, (1, 4))):
            folder = os.path.join(root, "aclImdb", split, label)
            os.makedirs(folder)
            for i in range(n_per_class):
                n = int(rng.integers(5, 40))
                toks = list(rng.choice(FILLER, n)) + list(rng.choice(words, 3))
                rng.shuffle(toks)
                text = " ".join(toks[: n // 2]) + ". <br /><br />" + " ".join(toks[n // 2:]) + "!"
                rating = int(rng.integers(ratings[0], ratings[1] + 1))
                with open(os.path.join(folder, f"{i}_{rating}.txt"), "w") as f:
                    f.write(text)
    return os.path.join(root, "aclImdb")


def make_aclimdb_archive(path, n_per_class=60, seed=0):
    """The same layout packed as a .tar.gz at ``path`` (like aclImdb_v1.tar.gz)."""
    root = os.path.join(os.path.dirname(os.path.abspath(path)), ".aclimdb-src")
    folder = make_aclimdb(root, n_per_class, seed)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="aclImdb")
    return path
