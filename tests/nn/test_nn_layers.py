"""Layers: gradcheck through every layer, train-vs-eval behaviour of BatchNorm/LayerNorm/
Dropout, running statistics like torch's, error messages naming layer and shapes."""

import numpy as np
import pytest

import strided.functional as F
import strided.nn as nn
from strided import Generator, Tensor, gradcheck, no_grad
from strided.device import to_numpy
from strided.functional import norm as FN

pytestmark = pytest.mark.on_devices

RNG = np.random.default_rng(0)


def t64(a, grad=True):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def params64(m):
    m.double()
    for p in m.parameters():  # non-trivial affine so that its gradient is exercised
        p.data[...] = Tensor(RNG.standard_normal(p.shape)).data  # on the test's device
    return list(m.parameters())


# ---------------------------------------------------------------------------------------
# gradcheck through the layers (input and parameters)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer,shape",
    [
        (lambda: nn.BatchNorm1d(3), (5, 3)),
        (lambda: nn.BatchNorm1d(3), (4, 3, 2)),
        (lambda: nn.BatchNorm2d(2), (3, 2, 2, 3)),
        (lambda: nn.LayerNorm((2, 3)), (4, 2, 3)),
        (lambda: nn.LayerNorm(5), (2, 3, 5)),
        (lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
        (lambda: nn.GroupNorm(3, 6), (2, 6, 2, 2)),
        (lambda: nn.GroupNorm(1, 2, affine=False), (3, 2, 2, 2)),
        (lambda: nn.LocalResponseNorm(3, alpha=0.3, beta=0.75, k=2.0), (2, 5, 2, 2)),
        (lambda: nn.LocalResponseNorm(4, alpha=0.5), (2, 6, 3)),
    ],
)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_norm_layers_gradcheck(layer, shape, mode):
    m = layer()
    ps = params64(m)
    if mode == "eval":
        with no_grad():  # move running stats away from (0, 1) first
            m(t64(RNG.standard_normal(shape) * 2 + 1, False))
        m.eval()
    x = t64(RNG.standard_normal(shape))
    before = {k: v.copy() for k, v in m.state_dict().items()}

    def f(x, *ps):
        return m(x)

    gradcheck(f, [x, *ps])
    if mode == "eval":  # eval never touches the running statistics
        for k, v in m.state_dict().items():
            np.testing.assert_array_equal(v, before[k])


def test_batchnorm_train_vs_eval_and_running_stats():
    bn = nn.BatchNorm2d(3, momentum=0.2)
    x = RNG.standard_normal((8, 3, 4, 4)).astype(np.float32) * 3 + 2
    y = bn(Tensor(x))
    # train: per-channel zero mean, unit (biased) variance
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.data.var(axis=(0, 2, 3)), 1, atol=1e-3)
    n = 8 * 16
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(bn.running_mean.data, 0.8 * 0 + 0.2 * mean, rtol=1e-5)
    np.testing.assert_allclose(
        bn.running_var.data, 0.8 * 1 + 0.2 * var * n / (n - 1), rtol=1e-5
    )  # unbiased, like torch
    assert bn.num_batches_tracked.data == 1 and bn.running_mean.dtype == np.float32
    bn.eval()
    y2 = bn(Tensor(x))
    running_mean, running_var = to_numpy(bn.running_mean.data), to_numpy(bn.running_var.data)
    expect = (x - running_mean[:, None, None]) / np.sqrt(running_var[:, None, None] + 1e-5)
    np.testing.assert_allclose(y2.data, expect, rtol=1e-5, atol=1e-5)
    assert bn.num_batches_tracked.data == 1
    # a single sample works in eval, not in training
    bn(Tensor(x[:1, :, :1, :1]))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn.train()(Tensor(x[:1, :, :1, :1]))


def test_batchnorm_cumulative_average_and_untracked():
    bn = nn.BatchNorm1d(2, momentum=None)
    xs = [RNG.standard_normal((6, 2)) for _ in range(3)]
    for x in xs:
        bn(Tensor(x.astype(np.float32)))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([x.mean(0) for x in xs], 0), rtol=1e-5)
    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert free.running_mean is None and list(free.parameters()) == []
    free.eval()
    y = free(Tensor(xs[0].astype(np.float32)))
    np.testing.assert_allclose(y.data.mean(0), 0, atol=1e-6)  # batch stats even in eval
    assert "running_mean" not in free.state_dict()


def test_layernorm_same_in_train_and_eval():
    ln = nn.LayerNorm(6)
    x = Tensor(RNG.standard_normal((3, 6)).astype(np.float32))
    a = ln(x).data
    b = ln.eval()(x).data
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.mean(-1), 0, atol=1e-6)
    np.testing.assert_allclose(a.std(-1), 1, atol=1e-3)


def test_lrn_matches_the_alexnet_formula():
    x = RNG.standard_normal((1, 7, 2, 2))
    n, alpha, beta, k = 5, 1e-2, 0.75, 2.0
    out = nn.LocalResponseNorm(n, alpha, beta, k)(t64(x, False)).data
    expect = np.empty_like(x)
    for c in range(7):
        lo, hi = max(0, c - n // 2), min(6, c + (n - 1) // 2)
        expect[:, c] = x[:, c] / (k + alpha / n * (x[:, lo : hi + 1] ** 2).sum(1)) ** beta
    np.testing.assert_allclose(out, expect, rtol=1e-12)


@pytest.mark.parametrize(
    "layer,shape,msg",
    [
        (
            nn.BatchNorm2d(16),
            (8, 3, 4, 4),
            r"BatchNorm2d\(16\): input has 3 channels, expected 16 "
            r"\(input shape \(8, 3, 4, 4\)\)",
        ),
        (nn.BatchNorm2d(3), (8, 3), r"BatchNorm2d\(3\): expected a 4-D input"),
        (nn.BatchNorm1d(3), (8, 4), "input has 4 channels, expected 3"),
        (nn.LayerNorm(5), (2, 4), r"does not end with \(5,\)"),
        (nn.GroupNorm(2, 4), (2, 6, 3), "input has 6 channels, expected 4"),
    ],
)
def test_layer_errors_name_layer_and_shapes(layer, shape, msg):
    with pytest.raises(ValueError, match=msg):
        layer(Tensor(np.zeros(shape, np.float32)))


def test_constructor_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=2.0)


@pytest.mark.parity
def test_norms_match_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((6, 4, 3, 3))
    bn, tbn = nn.BatchNorm2d(4).double(), torch.nn.BatchNorm2d(4).double()
    for step in range(3):
        xi = x * (step + 1) + step
        np.testing.assert_allclose(
            bn(t64(xi, False)).data, tbn(torch.tensor(xi)).detach().numpy(), atol=1e-10
        )
    for k in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(bn.state_dict()[k], tbn.state_dict()[k].numpy(), rtol=1e-12)
    bn.eval(), tbn.eval()
    np.testing.assert_allclose(
        bn(t64(x, False)).data, tbn(torch.tensor(x)).detach().numpy(), atol=1e-10
    )
    F = torch.nn.functional
    np.testing.assert_allclose(
        FN.group_norm(t64(x, False), 2).data, F.group_norm(torch.tensor(x), 2).numpy(), atol=1e-10
    )
    np.testing.assert_allclose(
        FN.layer_norm(t64(x, False), (3, 3)).data,
        F.layer_norm(torch.tensor(x), (3, 3)).numpy(),
        atol=1e-10,
    )
    for size in (1, 2, 3, 4, 5):
        np.testing.assert_allclose(
            FN.local_response_norm(t64(x, False), size, 0.1, 0.75, 2.0).data,
            F.local_response_norm(torch.tensor(x), size, 0.1, 0.75, 2.0).numpy(),
            rtol=1e-12,
        )


# ---------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------


def test_dropout_inverted_scaling_and_eval_identity():
    d = nn.Dropout(0.3, generator=Generator(0))
    x = Tensor(np.ones((200, 500), np.float32))
    y = d(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1) < 0.01 and y.dtype == np.float32
    assert d.eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert np.all(nn.Dropout(1.0)(x).data == 0)


def test_dropout_same_seed_same_mask_and_gradcheck():
    x = Tensor(np.ones((4, 6), np.float32))
    a = nn.Dropout(0.5, generator=Generator(3))(x).data
    b = nn.Dropout(0.5, generator=Generator(3))(x).data
    np.testing.assert_array_equal(a, b)
    g = Generator(5)
    state = g.get_state()
    xx = t64(RNG.standard_normal((3, 4)))

    def f(v):
        g.set_state(state)  # the same mask on every call of the numeric check
        return F.dropout(v, 0.4, generator=g)

    gradcheck(f, [xx])


def test_dropout2d_drops_whole_channels():
    d = nn.Dropout2d(0.5, generator=Generator(1))
    x = Tensor(np.ones((16, 8, 5, 5), np.float32))
    y = d(x).data
    per_channel = y.reshape(16, 8, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    assert d.eval()(x) is x
    assert nn.Dropout2d(0.5, generator=Generator(1))(
        Tensor(np.ones((8, 5, 5), np.float32))
    ).shape == (8, 5, 5)
    with pytest.raises(ValueError, match="dropout2d"):
        d.train()(Tensor(np.ones((4, 4), np.float32)))
    y1 = nn.Dropout1d(0.5, generator=Generator(1))(Tensor(np.ones((4, 6, 7), np.float32))).data
    assert np.all((y1 == 0).all(-1) | (y1 == 2).all(-1))


# ---------------------------------------------------------------------------------------
# Linear and the activation modules (need the elementwise/linalg families)
# ---------------------------------------------------------------------------------------


def test_linear_forward_gradcheck_and_errors():
    pytest.importorskip("strided.functional.linalg")
    lin = nn.Linear(4, 3)
    ps = params64(lin)
    x = t64(RNG.standard_normal((5, 4)))
    np.testing.assert_allclose(lin(x).data, x.data @ lin.weight.data.T + lin.bias.data)
    gradcheck(lambda x, w, b: lin(x), [x, *ps])
    assert lin(t64(RNG.standard_normal((2, 5, 4)), False)).shape == (2, 5, 3)
    assert repr(lin) == "Linear(in_features=4, out_features=3, bias=True)"
    nb = nn.Linear(4, 3, bias=False)
    assert nb.bias is None and [n for n, _ in nb.named_parameters()] == ["weight"]
    with pytest.raises(
        ValueError,
        match=r"Linear\(784→16\): input has 100 features, "
        r"expected 784 \(input shape \(8, 100\)\)",
    ):
        nn.Linear(784, 16)(Tensor(np.zeros((8, 100), np.float32)))


@pytest.mark.parametrize(
    "module,ref",
    [
        (nn.ReLU(), lambda x: np.maximum(x, 0)),
        (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
        (nn.Tanh(), np.tanh),
        (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
        (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
        (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
        (nn.LogSoftmax(dim=-1), lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
        (nn.GELU(), None),
        (nn.GELU("tanh"), None),
    ],
)
def test_activation_modules(module, ref):
    pytest.importorskip("strided.functional.activation")
    x = t64(RNG.standard_normal((3, 4)) + 0.05)
    if ref is not None:
        np.testing.assert_allclose(module(x).data, ref(x.data), rtol=1e-10, atol=1e-12)
    gradcheck(module, [x])
