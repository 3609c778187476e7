"""``Embedding``: a trainable lookup table (maths in :mod:`minidl.functional.embedding`)."""

from __future__ import annotations

from .. import backend
from ..checks import check_number, check_upstream, require_array
from ..errors import RangeError, ShapeError
from ..functional.embedding import RowGrad, check_ids, embedding_backward, embedding_forward
from ..module import Module, Parameter
from . import init

__all__ = ["Embedding"]


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None)``, as ``torch.nn.Embedding``.

    Shapes: ids (any shape S, integers in [0, num_embeddings)) -> vectors S + (embedding_dim,).
    Parameter ``weight`` (num_embeddings, embedding_dim) ~ N(0, 1); the ``padding_idx`` row
    starts at zero and never receives gradient. Ids outside the table raise
    :class:`~minidl.errors.IndexRangeError` (an ``IndexError``) naming the id and the
    vocabulary size (NumPy would silently wrap negative ids); ids that are not an integer
    array raise :class:`~minidl.errors.DTypeError`.
    The backward takes ∂L/∂output (S + (embedding_dim,)), or the table's gradient already
    summed per id, a :class:`~minidl.functional.embedding.RowGrad` (what a recurrent layer
    fed ``input_rows`` returns), and returns ``None`` for the ids: they are not differentiable.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings = check_number(num_embeddings, "num_embeddings", "Embedding", low=1, integer=True)
        self.embedding_dim = check_number(embedding_dim, "embedding_dim", "Embedding", low=0, integer=True)
        if padding_idx is not None:
            padding_idx = check_number(padding_idx, "padding_idx", "Embedding", low=-num_embeddings,
                                       high=num_embeddings - 1, integer=True) % num_embeddings
        self.padding_idx = padding_idx
        w = init.normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            w[padding_idx] = 0
        self.weight = Parameter(w)

    def forward(self, ids):
        require_array(ids, "ids", "Embedding")
        check_ids(ids, self.num_embeddings)
        y, cache = embedding_forward(ids, self.weight.data, padding_idx=self.padding_idx)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        cache = self.saved()
        if isinstance(dy, RowGrad):
            self._check_row_grad(dy)
        else:
            check_upstream(dy, tuple(cache.ids.shape) + (self.embedding_dim,), "dy", "Embedding")
        self.accumulate_grads(embedding_backward(dy, cache))
        return None

    def _check_row_grad(self, g: RowGrad):
        """Rows (U, embedding_dim) of a floating dtype for U distinct integer row numbers in the
        table (a repeated one would keep one of its rows: ``dW[index] = rows`` is buffered)."""
        require_array(g.rows, "dy.rows", "Embedding")
        check_upstream(g.rows, (g.rows.shape[0], self.embedding_dim), "dy.rows", "Embedding")
        require_array(g.index, "dy.index", "Embedding")
        if tuple(g.index.shape) != (g.rows.shape[0],):
            raise ShapeError(f"Embedding.backward: dy.index must hold one row number per row of dy.rows "
                             f"({g.rows.shape[0]},), got shape {tuple(g.index.shape)}")
        check_ids(g.index, self.num_embeddings, "Embedding.backward: dy.index")
        if backend.device_of(g.index) == "cpu" and g.index.size > 1:  # on a GPU: a read back, unpaid
            ordered = backend.get_array_module(g.index).sort(g.index)
            twice = ordered[1:][ordered[1:] == ordered[:-1]]
            if twice.size:
                raise RangeError(f"Embedding.backward: dy.index must hold distinct row numbers, got row "
                                 f"{int(twice[0])} more than once")

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
