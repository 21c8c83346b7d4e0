"""Optimisers and learning-rate schedules; `import strided.optim as optim`."""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .proximal import ProximalSGD, prox_l1_
from .registry import create, list_optimizers
from .rmsprop import RMSprop
from .sgd import SGD
