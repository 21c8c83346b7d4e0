"""Differentiable operations, one module per family; `import strided.functional as F`."""
from . import methods as _methods  # noqa: F401  (attaches Tensor's operators)
from .activation import (elu, gelu, leaky_relu, log_softmax, logistic, relu, sigmoid,
                         softmax, softplus, tanh)
from .arithmetic import add, div, mul, neg, pow, sub
from .elementwise import (abs, clamp, clip, clone, cos, eq, exp, ge, gt, le, log, lt,
                          maximum, minimum, ne, sign, sin, sqrt, where)
from .linalg import linear, matmul
from .reduce import (all, amax, amin, any, argmax, argmin, logsumexp, max, mean, min, std,
                     sum, var)
from .shape import (broadcast_to, cat, chunk, concat, concatenate, expand, flatten, getitem,
                    permute, reshape, split, squeeze, stack, transpose, unsqueeze, view)
