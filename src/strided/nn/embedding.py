"""Embedding: a trainable lookup table of vectors, as torch.nn.Embedding."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from ..autograd import Tensor, host_array
from ..backend import Generator, get_default_dtype
from ..functional.embedding import embedding
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """A table of `num_embeddings` vectors of size `embedding_dim`; `forward(indices)`
    returns `indices.shape + (embedding_dim,)`.

    Parameters
    ----------
    num_embeddings, embedding_dim : int
        Rows and width of the table (initialised N(0, 1), as PyTorch).
    padding_idx : int, optional
        A row initialised to zero whose gradient stays zero.
    max_norm, norm_type, scale_grad_by_freq, sparse
        As `strided.functional.embedding`.
    _weight : Tensor or array or None
        Initial weight (num_embeddings, embedding_dim) instead of N(0, 1) draws.
    _freeze : bool
        Do not train the weight (requires_grad False).
    dtype : dtype or None
        dtype of the parameters (the default dtype when None).
    generator : Generator or None
        Random stream of the N(0, 1) initial weights (the global one when None).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | np.ndarray | None = None,
        _freeze: bool = False,
        dtype: DTypeLike | None = None,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        for arg, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Embedding: {arg} must be a positive int, got {v!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be within num_embeddings "
                    f"[-{num_embeddings}, {num_embeddings}), got {padding_idx}"
                )
            padding_idx = int(padding_idx) % num_embeddings
        if sparse:
            raise ValueError("Embedding: sparse=True is not supported (gradients are dense)")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        dtype = np.dtype(dtype or get_default_dtype())
        if _weight is None:
            self.weight = Parameter(np.zeros((num_embeddings, embedding_dim), dtype))
            self.reset_parameters(generator)
        else:
            w = host_array(_weight)
            if w.shape != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight has shape {w.shape}, expected "
                    f"{(num_embeddings, embedding_dim)}"
                )
            self.weight = Parameter(w.copy())
        self.weight.requires_grad = not _freeze

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """N(0, 1) rows, the padding row zero."""
        init.normal_(self.weight, 0.0, 1.0, generator)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding holding a copy of the 2-D `embeddings`; frozen unless `freeze=False`."""
        w = host_array(embeddings)
        if w.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained: embeddings must be 2-D, got shape {w.shape}"
            )
        return cls(
            w.shape[0],
            w.shape[1],
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=w,
            _freeze=freeze,
            dtype=w.dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        return embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s


__all__ = ["Embedding"]
