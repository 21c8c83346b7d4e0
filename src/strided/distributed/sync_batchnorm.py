"""Batch normalisation whose statistics are those of the global batch, over all ranks.

Forward, with sums over the samples of every rank (one allreduce of 2C + 1 numbers):
    μ = Σx / n,   σ² = Σx² / n − μ²,   x̂ = (x − μ)/√(σ² + ε),   y = γ·x̂ + β
Backward (one allreduce of 2C numbers), as PyTorch's SyncBatchNorm:
    dx = γ/√(σ² + ε) · (dy − Σdy / n − x̂ · Σ(dy·x̂) / n)
with the global sums of every rank's dy; γ and β get the local sums, which
DistributedDataParallel then averages like any other gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, Tensor
from ..nn.module import Module
from ..nn.norm import _BatchNorm
from . import comm


class _SyncBatchNorm(Function):
    """params: eps."""

    def forward(self, x: np.ndarray, weight: Any, bias: Any) -> np.ndarray:
        C = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        sums = np.empty(2 * C + 1, dtype=np.float64)
        sums[:C] = x.sum(axis=axes, dtype=np.float64)
        sums[C : 2 * C] = np.square(x, dtype=np.float64).sum(axis=axes)
        sums[2 * C] = x.size // C
        comm.allreduce_(sums, "the SyncBatchNorm statistics")
        n = sums[2 * C]
        mean = sums[:C] / n
        var = np.maximum(sums[C : 2 * C] / n - mean * mean, 0.0)
        self.n, self.batch_mean, self.batch_var = n, mean, var
        shape = (1, C) + (1,) * (x.ndim - 2)
        self.invstd = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype).reshape(shape)
        self.xhat = (x - mean.astype(x.dtype).reshape(shape)) * self.invstd
        self.weight = None if weight is None else weight.reshape(shape)
        y = self.xhat if weight is None else self.xhat * self.weight
        return y if bias is None else y + bias.reshape(shape)

    def backward(self, gy: np.ndarray) -> tuple:
        C = gy.shape[1]
        axes = (0,) + tuple(range(2, gy.ndim))
        shape = (1, C) + (1,) * (gy.ndim - 2)
        local = np.empty(2 * C, dtype=np.float64)
        local[:C] = gy.sum(axis=axes, dtype=np.float64)
        local[C:] = (gy * self.xhat).sum(axis=axes, dtype=np.float64)
        dbias, dweight = local[:C].astype(gy.dtype), local[C:].astype(gy.dtype)
        total = comm.allreduce_(local.copy(), "the SyncBatchNorm gradient")
        mean_dy = (total[:C] / self.n).astype(gy.dtype).reshape(shape)
        mean_dyx = (total[C:] / self.n).astype(gy.dtype).reshape(shape)
        scale = self.invstd if self.weight is None else self.invstd * self.weight
        dx = scale * (gy - mean_dy - self.xhat * mean_dyx)
        need = self.needs_input_grad
        return (
            dx if need[0] else None,
            dweight if need[1] else None,
            dbias if len(need) > 2 and need[2] else None,
        )


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, ...) inputs of any rank with the statistics of the global batch
    in training (every rank's samples); in eval, the running statistics as usual. With one
    process it equals BatchNorm. Convert a model's BatchNorm layers with
    `SyncBatchNorm.convert_sync_batchnorm(model)`."""

    _ranks = (2, 3, 4, 5)

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training or not self.track_running_stats):
            return super().forward(x)
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"SyncBatchNorm({self.num_features}): expected (N, "
                f"{self.num_features}, ...) input, got shape {tuple(x.shape)}"
            )
        out = _SyncBatchNorm.apply(x, self.weight, self.bias, eps=self.eps)
        if self.training and self.track_running_stats:
            fn = out._ctx
            if fn is None:  # under no_grad: the statistics again (cheap next to the conv)
                fn = _SyncBatchNorm(eps=self.eps)
                fn.forward(x.data, None, None)
            self.num_batches_tracked.data += 1
            m = (
                1.0 / float(self.num_batches_tracked.data)
                if self.momentum is None
                else self.momentum
            )
            unbiased = fn.batch_var * fn.n / max(fn.n - 1.0, 1.0)
            rm, rv = self.running_mean.data, self.running_var.data
            rm[...] = ((1 - m) * rm + m * fn.batch_mean).astype(rm.dtype)
            rv[...] = ((1 - m) * rv + m * unbiased).astype(rv.dtype)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """`module` with every BatchNorm1d/2d/3d replaced by a SyncBatchNorm holding the
        same parameters and statistics (in place; returns the module, or the new layer when
        `module` itself is a BatchNorm)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, cls):
            reference = module.weight if module.weight is not None else module.running_mean
            sync = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                dtype=None if reference is None else reference.dtype,
            )
            sync.load_state_dict(module.state_dict())
            sync.train(module.training)
            return sync
        for name, child in list(module.named_children()):
            new = cls.convert_sync_batchnorm(child)
            if new is not child:
                setattr(module, name, new)
        return module
