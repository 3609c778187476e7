"""``Embedding``: a trainable lookup table (maths in :mod:`minidl.functional.embedding`)."""

from __future__ import annotations

from ..functional.embedding import check_ids, embedding_backward, embedding_forward
from ..module import Module, Parameter
from . import init

__all__ = ["Embedding"]


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None)``, as ``torch.nn.Embedding``.

    Shapes: ids (any shape S, integers in [0, num_embeddings)) -> vectors S + (embedding_dim,).
    Parameter ``weight`` (num_embeddings, embedding_dim) ~ N(0, 1); the ``padding_idx`` row
    starts at zero and never receives gradient. Ids outside the table raise ``IndexError``
    naming the id and the vocabulary size (NumPy would silently wrap negative ids).
    The backward returns ``None`` for the ids: they are not differentiable.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx must lie in [-{num_embeddings}, {num_embeddings}), got {padding_idx}")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        w = init.normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            w[padding_idx] = 0
        self.weight = Parameter(w)

    def forward(self, ids):
        check_ids(ids, self.num_embeddings)
        self.save_for_backward(ids)
        return embedding_forward(ids, self.weight.data)

    def backward(self, dy):
        ids = self.saved()
        self.weight.grad += embedding_backward(dy, ids, self.num_embeddings, self.padding_idx)
        return None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
