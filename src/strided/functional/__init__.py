"""Differentiable operations, one module per family; `import strided.functional as F`."""
from . import methods as _methods  # noqa: F401  (attaches Tensor's operators)
from .arithmetic import add, div, mul, neg, pow, sub
