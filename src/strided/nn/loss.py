"""Losses as modules: `criterion = nn.CrossEntropyLoss(); loss = criterion(logits, y)`.

Each holds its options and calls the function of the same name in
`strided.functional.loss`; see there for the formulas.
"""

from __future__ import annotations

from ..autograd import Tensor
from ..functional import loss as FL
from .module import Module


class _Loss(Module):
    """Shared body of the loss modules: checks and stores ``reduction``."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        allowed = ("none", "mean", "sum") + (("batchmean",) if isinstance(self, KLDivLoss) else ())
        if reduction not in allowed:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {allowed}, got {reduction!r}"
            )
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class CrossEntropyLoss(_Loss):
    """Cross-entropy from logits, with class `weight`, `ignore_index`, `label_smoothing`
    and index or probability targets (see `functional.loss.cross_entropy`).

    Parameters
    ----------
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}"
            )
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (pair with LogSoftmax).

    Parameters
    ----------
    weight : Tensor or None
        Weight of each class (C,), for unbalanced classes.
    ignore_index : int
        Target value that is ignored and does not contribute to the gradient (default -100).
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """

    def __init__(
        self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.mse_loss(input, target, self.reduction)


class SquaredErrorLoss(_Loss):
    """The notes' Σ_j (f_j(x) − y_j)² per sample against one-hot (or index) targets,
    averaged over samples with reduction="mean"."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.squared_error_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below `beta`, linear above.

    Parameters
    ----------
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """½d² below `delta`, δ(|d| − ½δ) above.

    Parameters
    ----------
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (prefer BCEWithLogitsLoss).

    Parameters
    ----------
    weight : Tensor or None
        Rescaling weight of each element's loss (broadcast against the input).
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy from logits, stable; `pos_weight` weighs positives per class.

    Parameters
    ----------
    weight : Tensor or None
        Rescaling weight of each element's loss (broadcast against the input).
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )


class KLDivLoss(_Loss):
    """KL(target ‖ exp(input)) with `input` as log-probabilities; use reduction="batchmean"
    for the mathematical KL divergence per sample.

    Parameters
    ----------
    log_target : bool
        The target is given as log-probabilities (default False).
    """

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.kl_div(input, target, self.reduction, self.log_target)
