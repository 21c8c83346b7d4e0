"""Normalisation layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm,
LocalResponseNorm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from ..autograd import Tensor
from ..backend import get_default_dtype
from ..functional import norm as FN
from ..functional.batching import layouts
from .module import Module, Parameter


class _BatchNorm(Module):
    """Shared body of BatchNorm1d/2d/3d (they differ only in the input rank they accept).

    In training: normalise with the batch's mean and biased variance, and update
        running_mean ← (1 − momentum)·running_mean + momentum·mean
        running_var  ← (1 − momentum)·running_var  + momentum·var·n/(n−1)   (unbiased)
    (`momentum=None`: a cumulative average, momentum = 1/num_batches_tracked).
    In eval: normalise with the running statistics. `track_running_stats=False` always
    uses the batch's statistics.

    Parameters
    ----------
    num_features : int
        C: the channels of the expected input (N, C, ...).
    eps : float
        Added to the variance for numerical stability (default 1e-5).
    affine : bool
        Learn a per-channel scale (weight) and shift (bias).
    dtype : dtype or None
        dtype of the parameters and running statistics (the default dtype when None).
    """

    _ranks: tuple = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features <= 0:
            raise ValueError(
                f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}"
            )
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(
                f"{type(self).__name__}: momentum must be in [0, 1] or None, got {momentum}"
            )
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps must be positive, got {eps}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = np.dtype(dtype or get_default_dtype())
        C = self.num_features
        if affine:
            self.weight = Parameter(np.ones(C, dtype))
            self.bias = Parameter(np.zeros(C, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(C, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(C, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data.fill(0)
            self.running_var.data.fill(1)
            self.num_batches_tracked.data.fill(0)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight.data.fill(1)
            self.bias.data.fill(0)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self._ranks:
            raise ValueError(
                f"{name}({self.num_features}): expected a {' or '.join(map(str, self._ranks))}"
                f"-D input, got shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}): input has {x.shape[1]} channels, expected "
                f"{self.num_features} (input shape {tuple(x.shape)})"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch = self.training or not self.track_running_stats
        # running stats are None when not tracked; batch_norm then uses the batch's
        return FN.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=factor,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs (Ioffe & Szegedy 2015)."""

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel over (N, H, W)."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs."""

    _ranks = (5,)


class _InstanceNorm(_BatchNorm):
    """Shared body of InstanceNorm1d/2d/3d: each sample's channel standardised over its own
    spatial positions (Ulyanov et al. 2016). PyTorch's defaults: no affine map and no
    running statistics; with `track_running_stats` they are kept (means over the batch of
    the instance statistics) and used in eval. Takes unbatched inputs as well.

    Parameters
    ----------
    num_features : int
        C: the channels of the expected input (N, C, ...).
    eps : float
        Added to the variance for numerical stability (default 1e-5).
    momentum : float
        Weight of the new statistics in the running averages (with track_running_stats).
    dtype : dtype or None
        dtype of the parameters and running statistics (the default dtype when None).
    """

    nd = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, x: Tensor) -> Tensor:
        name = f"{type(self).__name__}({self.num_features})"
        if x.ndim not in (self.nd + 1, self.nd + 2):
            raise ValueError(
                f"{name}: expected a {self.nd + 2}-D or {self.nd + 1}-D input "
                f"{layouts(self.nd + 2)}, got shape {tuple(x.shape)}"
            )
        if x.ndim == self.nd + 1:
            return self.forward(x.reshape((1,) + tuple(x.shape))).reshape(tuple(x.shape))
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: input has {x.shape[1]} channels, expected "
                f"{self.num_features} (input shape {tuple(x.shape)})"
            )
        use_input = self.training or not self.track_running_stats
        return FN.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats=use_input,
            momentum=self.momentum if self.momentum is not None else 0.1,
            eps=self.eps,
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) inputs."""

    nd = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) inputs."""

    nd = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W) inputs."""

    nd = 3


class LayerNorm(Module):
    """Normalise each sample over its trailing `normalized_shape` dimensions, with an
    elementwise affine γ, β of that shape (Ba et al. 2016). Same in training and eval.

    Parameters
    ----------
    eps : float
        Added to the variance for numerical stability (default 1e-5).
    elementwise_affine : bool
        Learn a per-element scale (weight) and, with bias, a shift.
    bias : bool
        Learn the additive shift (only with elementwise_affine).
    dtype : dtype or None
        NumPy dtype of the data (the default dtype when None).
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__()
        shape = (
            (normalized_shape,)
            if isinstance(normalized_shape, (int, np.integer))
            else normalized_shape
        )
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = np.dtype(dtype or get_default_dtype())
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype))
            self.register_parameter(
                "bias", Parameter(np.zeros(self.normalized_shape, dtype)) if bias else None
            )
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - k :]) != self.normalized_shape or x.ndim < k:
            raise ValueError(
                f"LayerNorm({self.normalized_shape}): input shape {tuple(x.shape)} does not "
                f"end with {self.normalized_shape}"
            )
        return FN.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Normalise each sample over groups of `num_channels / num_groups` channels
    (Wu & He 2018), with a per-channel affine. Independent of the batch size.

    Parameters
    ----------
    eps : float
        Added to the variance for numerical stability (default 1e-5).
    dtype : dtype or None
        NumPy dtype of the data (the default dtype when None).
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels={num_channels} must be divisible by "
                f"num_groups={num_groups}"
            )
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        dtype = np.dtype(dtype or get_default_dtype())
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype))
            self.bias = Parameter(np.zeros(num_channels, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm({self.num_groups}, {self.num_channels}): input has "
                f"{x.shape[1] if x.ndim > 1 else 'no'} channels, expected {self.num_channels} "
                f"(input shape {tuple(x.shape)})"
            )
        return FN.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class LocalResponseNorm(Module):
    """AlexNet's "norm" layer: b_c = a_c / (k + α/n·Σ_{neighbours} a²)^β across channels.
    AlexNet used size=5, alpha=1e-4, beta=0.75, k=2."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"LocalResponseNorm: size must be positive, got {size}")
        self.size, self.alpha, self.beta, self.k = int(size), alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return FN.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
