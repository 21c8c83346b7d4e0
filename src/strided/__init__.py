"""strided: convolutional neural networks from first principles, on NumPy."""

from . import cuda, data, functional, io, models, nn, optim, train
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import Generator, get_default_dtype, manual_seed, set_default_dtype
from .creation import (
    arange,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .device import Device, device, get_default_device, set_default_device

# the ops torch users reach for at top level (torch.cat, torch.where, torch.exp, ...)
from .functional import (
    abs,
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    broadcast_to,
    cat,
    chunk,
    clamp,
    clip,
    clone,
    concatenate,
    cos,
    eq,
    exp,
    flatten,
    ge,
    gt,
    le,
    log,
    log_softmax,
    logsumexp,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    ne,
    permute,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
    softmax,
    sort,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    topk,
    transpose,
    unsqueeze,
    var,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .io import load_torch_state_dict
from .kernels.compiled import kernels_in_use, use_kernels
from .kernels.threads import get_num_threads, set_num_threads
from .nn.summary import summary

__version__ = "0.1.0"
