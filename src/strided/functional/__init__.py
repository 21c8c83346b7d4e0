"""Differentiable operations, one module per family; `import strided.functional as F`."""

from . import methods as _methods  # noqa: F401  (attaches Tensor's operators)
from .activation import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    logistic,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from .arithmetic import add, div, mul, neg, pow, sub
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, convolve2d, fold, unfold
from .conv3d import conv3d
from .dropout import dropout, dropout1d, dropout2d
from .elementwise import (
    abs,
    clamp,
    clip,
    clone,
    cos,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    maximum,
    minimum,
    ne,
    sign,
    sin,
    sqrt,
    where,
)
from .embedding import embedding
from .linalg import linear, matmul
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
    squared_error_loss,
)
from .norm import batch_norm, group_norm, instance_norm, layer_norm, local_response_norm
from .padding import pad
from .pixel_shuffle import pixel_shuffle, pixel_unshuffle
from .pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from .pool3d import avg_pool3d, max_pool3d
from .reduce import all, amax, amin, any, argmax, argmin, logsumexp, max, mean, min, std, sum, var
from .shape import (
    broadcast_to,
    cat,
    chunk,
    concat,
    concatenate,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
    view,
)
from .sorting import argsort, sort, topk
from .upsample import interpolate, upsample_nearest, upsample_zeros
