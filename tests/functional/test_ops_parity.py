"""Compositions of ops run in strided and in PyTorch: values and gradients must agree."""

import zlib

import numpy as np
import pytest

import strided as st
from strided import functional as F

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.parity, pytest.mark.on_devices]
TF = torch.nn.functional


def _arange(*shape):
    return st.Tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))


def _prod_last(x):
    return (x[..., 0] * x[..., 1]).sum(1)


# (name, input shapes, strided fn, torch fn); each fn maps its inputs to one tensor
CASES = [
    (
        "matmul_relu_sum",
        [(4, 5), (5, 3)],
        lambda a, b: (a @ b).relu().sum(1),
        lambda a, b: (a @ b).relu().sum(1),
    ),
    (
        "batched_matmul",
        [(2, 3, 4), (4, 5)],
        lambda a, b: F.matmul(a, b).tanh(),
        lambda a, b: torch.matmul(a, b).tanh(),
    ),
    ("vec_matmul", [(4,), (3, 4, 2)], lambda a, b: a @ b, lambda a, b: a @ b),
    ("linear_bias", [(6, 4), (3, 4), (3,)], F.linear, TF.linear),
    (
        "linear_3d",
        [(2, 5, 4), (3, 4)],
        lambda x, w: F.linear(x, w).sigmoid(),
        lambda x, w: TF.linear(x, w).sigmoid(),
    ),
    (
        "log_softmax_nll",
        [(5, 7)],
        lambda x: -F.log_softmax(x, 1)[np.arange(5), [1, 0, 6, 6, 2]],
        lambda x: -TF.log_softmax(x, 1)[np.arange(5), [1, 0, 6, 6, 2]],
    ),
    (
        "softmax_dim0",
        [(4, 3)],
        lambda x: F.softmax(x * 3, dim=0),
        lambda x: torch.softmax(x * 3, 0),
    ),
    (
        "softmax_weighted",
        [(2, 3, 4), (4,)],
        lambda x, w: (F.softmax(x, -1) * w).sum(-1),
        lambda x, w: (torch.softmax(x, -1) * w).sum(-1),
    ),
    (
        "logsumexp",
        [(3, 4, 5)],
        lambda x: F.logsumexp(x, axis=(0, 2)),
        lambda x: torch.logsumexp(x, dim=(0, 2)),
    ),
    (
        "mean_var_std",
        [(4, 6)],
        lambda x: x.mean(1) + x.var(0).sum() + x.std(1, keepdim=True).T,
        lambda x: x.mean(1) + x.var(0).sum() + x.std(1, keepdim=True).T,
    ),
    (
        "var_biased",
        [(5, 3)],
        lambda x: x.var(dim=0, correction=0),
        lambda x: x.var(dim=0, correction=0),
    ),
    (
        "max_min",
        [(3, 5)],
        lambda x: x.amax(1) - x.amin(0).sum(),
        lambda x: x.amax(1) - x.amin(0).sum(),
    ),
    (
        "exp_log",
        [(3, 4)],
        lambda x: F.log(F.exp(x) + 1.0) * x.abs(),
        lambda x: torch.log(torch.exp(x) + 1.0) * x.abs(),
    ),
    (
        "sqrt_sin_cos",
        [(7,)],
        lambda x: F.sqrt(x * x + 1) * x.sin() + x.cos(),
        lambda x: torch.sqrt(x * x + 1) * x.sin() + x.cos(),
    ),
    (
        "clip_max_min",
        [(4, 4), (4,)],
        lambda a, b: F.clamp(a, -0.5, 0.5) + F.maximum(a, b) - F.minimum(a, b),
        lambda a, b: torch.clamp(a, -0.5, 0.5) + torch.maximum(a, b) - torch.minimum(a, b),
    ),
    (
        "where",
        [(3, 4), (4,)],
        lambda a, b: F.where(a > b, a * 2, b),
        lambda a, b: torch.where(a > b, a * 2, b),
    ),
    (
        "leaky_elu_gelu",
        [(3, 5)],
        lambda x: F.leaky_relu(x, 0.1) + F.elu(x, 0.7) + F.gelu(x),
        lambda x: TF.leaky_relu(x, 0.1) + TF.elu(x, 0.7) + TF.gelu(x),
    ),
    (
        "gelu_tanh_softplus",
        [(3, 5)],
        lambda x: F.gelu(x, approximate="tanh") * F.softplus(x, beta=2, threshold=1),
        lambda x: TF.gelu(x, approximate="tanh") * TF.softplus(x, beta=2, threshold=1),
    ),
    (
        "reshape_transpose",
        [(2, 3, 4)],
        lambda x: x.reshape(6, 4).T @ x.view(6, 4),
        lambda x: x.reshape(6, 4).T @ x.view(6, 4),
    ),
    (
        "permute_flatten",
        [(2, 3, 4, 5)],
        lambda x: x.permute(0, 2, 3, 1).flatten(1).tanh(),
        lambda x: x.permute(0, 2, 3, 1).flatten(1).tanh(),
    ),
    (
        "squeeze_unsqueeze_expand",
        [(3, 1, 4)],
        lambda x: x.squeeze(1).unsqueeze(0).expand(2, 3, 4) * _arange(2, 3, 4),
        lambda x: x.squeeze(1).unsqueeze(0).expand(2, 3, 4) * torch.arange(24.0).reshape(2, 3, 4),
    ),
    (
        "cat_stack",
        [(2, 3), (2, 5), (2, 3)],
        lambda a, b, c: F.cat([a, b, c], dim=1).sum(1) + _prod_last(F.stack([a, c], 2)),
        lambda a, b, c: (
            torch.cat([a, b, c], 1).sum(1)
            + (torch.stack([a, c], 2)[..., 0] * torch.stack([a, c], 2)[..., 1]).sum(1)
        ),
    ),
    (
        "split",
        [(7, 3)],
        lambda x: F.split(x, 3)[0].sum() * F.split(x, 3)[2].sum(),
        lambda x: torch.split(x, 3)[0].sum() * torch.split(x, 3)[2].sum(),
    ),
    (
        "getitem_basic",
        [(4, 5, 6)],
        lambda x: x[1:, ::2, -1] * x[0, None, 1:4, 2],
        lambda x: x[1:, ::2, -1] * x[0, None, 1:4, 2],
    ),
    (
        "getitem_repeat",
        [(5, 3)],
        lambda x: x[[0, 0, 4, 2, 0]] ** 2,
        lambda x: x[[0, 0, 4, 2, 0]] ** 2,
    ),
    ("getitem_mask", [(4, 4)], lambda x: x[x > 0].exp(), lambda x: x[x > 0].exp()),
    (
        "broadcast_div",
        [(3, 1), (1, 4)],
        lambda a, b: a / (b * b + 1) - a**3,
        lambda a, b: a / (b * b + 1) - a**3,
    ),
    (
        "mlp",
        [(8, 5), (6, 5), (6,), (3, 6), (3,)],
        lambda x, w1, b1, w2, b2: F.log_softmax(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), 1),
        lambda x, w1, b1, w2, b2: TF.log_softmax(
            TF.linear(TF.relu(TF.linear(x, w1, b1)), w2, b2), 1
        ),
    ),
    (
        "norm_by_hand",
        [(4, 6)],
        lambda x: (
            (x - x.mean(1, keepdims=True)) / F.sqrt(x.var(1, keepdims=True, correction=0) + 1e-5)
        ),
        lambda x: (
            (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, keepdim=True, correction=0) + 1e-5)
        ),
    ),
    (
        "chain_sum_all",
        [(3, 4)],
        lambda x: (x.sigmoid() * x.tanh()).sum(),
        lambda x: (x.sigmoid() * x.tanh()).sum(),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_parity(case):
    name, shapes, f_st, f_torch = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [st.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_s, out_t = f_st(*xs), f_torch(*ts)
    np.testing.assert_allclose(out_s.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(out_s.shape)
    out_s.backward(w)
    out_t.backward(torch.tensor(w))
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        np.testing.assert_allclose(
            x.grad.data,
            t.grad.numpy(),
            rtol=1e-9,
            atol=1e-12,
            err_msg=f"{name}: gradient of input {i}",
        )
