"""Training: ``Trainer``/``fit``, metrics, ``History``, callbacks and checkpoints.

>>> from strided.train import Trainer, EarlyStopping, Checkpoint, LearningCurves
>>> trainer = Trainer(model, optimizer, callbacks=[EarlyStopping(patience=3),
...                   Checkpoint("runs/lenet"), LearningCurves("runs/lenet")])  # doctest: +SKIP
>>> history = trainer.fit(train_loader, val_loader, epochs=10)                   # doctest: +SKIP
>>> trainer.fit(train_loader, val_loader, epochs=10,
...             resume="runs/lenet/checkpoint.safetensors")                      # doctest: +SKIP
"""

from .callbacks import Callback, Checkpoint, EarlyStopping, LambdaCallback, LearningCurves
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .gradient_stats import GradientStats, GradientWarning
from .history import History
from .metrics import (
    RunningMetrics,
    accuracy,
    confusion_matrix,
    format_confusion,
    per_class_accuracy,
    top_k_accuracy,
    top_k_correct,
)
from .tensorboard import SummaryWriter, TensorBoard
from .trainer import Trainer, fit

__all__ = [
    "Trainer",
    "fit",
    "History",
    "Callback",
    "EarlyStopping",
    "Checkpoint",
    "LearningCurves",
    "LambdaCallback",
    "TensorBoard",
    "SummaryWriter",
    "GradientStats",
    "GradientWarning",
    "save_checkpoint",
    "load_checkpoint",
    "rng_state",
    "set_rng_state",
    "RunningMetrics",
    "accuracy",
    "top_k_accuracy",
    "top_k_correct",
    "confusion_matrix",
    "per_class_accuracy",
    "format_confusion",
]
