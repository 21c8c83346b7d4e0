"""Losses: gradcheck for every loss × reduction, stability, bad input, module forms, and
values against PyTorch when it is installed."""

import numpy as np
import pytest

import strided.nn as nn
from strided import Tensor, gradcheck
from strided.functional import loss as L

pytestmark = pytest.mark.on_devices

RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 4))
Y = np.array([0, 3, -100, 2, 1])
W = RNG.random(4) + 0.2
P = RNG.random((5, 4)) * 0.9 + 0.05
T = RNG.random((5, 4))
SOFT = T / T.sum(1, keepdims=True)
X4 = RNG.standard_normal((2, 3, 2, 3))
Y4 = RNG.integers(0, 3, (2, 2, 3))
REDS = ["none", "mean", "sum"]


def t64(a, grad=True):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=grad)


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_gradcheck(red, smoothing, weighted):
    w = W if weighted else None
    gradcheck(
        lambda a: L.cross_entropy(a, Y, weight=w, reduction=red, label_smoothing=smoothing),
        [t64(X)],
    )
    gradcheck(
        lambda a: L.cross_entropy(
            a, Y4, weight=None if w is None else w[:3], reduction=red, label_smoothing=smoothing
        ),
        [t64(X4)],
    )


@pytest.mark.parametrize("red", REDS)
def test_cross_entropy_soft_targets_gradcheck(red):
    gradcheck(
        lambda a, b: L.cross_entropy(a, b, weight=W, reduction=red, label_smoothing=0.1),
        [t64(X), t64(SOFT)],
    )


def test_cross_entropy_matches_formula_and_soft_onehot():
    logp = X - X.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    y = np.array([0, 3, 1, 2, 1])
    expect = -logp[np.arange(5), y].mean()
    assert L.cross_entropy(t64(X), y).item() == pytest.approx(expect, rel=1e-12)
    onehot = np.eye(4)[y]
    assert L.cross_entropy(t64(X), t64(onehot, False)).item() == pytest.approx(expect)
    # ignore_index drops the sample from numerator and denominator
    y2 = y.copy()
    y2[1] = -100
    keep = np.array([0, 2, 3, 4])
    assert L.cross_entropy(t64(X), y2).item() == pytest.approx(
        -logp[keep, y[keep]].mean(), rel=1e-12
    )
    # log_softmax + nll is cross-entropy
    assert L.nll_loss(t64(logp), y).item() == pytest.approx(expect, rel=1e-12)


def test_cross_entropy_stable_for_huge_logits():
    big = t64([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 5.0], [3e4, 3e4, -3e4]])
    out = L.cross_entropy(big, np.array([1, 0, 2]))
    out.backward()
    assert np.isfinite(out.item()) and out.item() == pytest.approx(
        (2000 + 2000 + 6e4 + np.log(2)) / 3, rel=1e-12
    )
    assert np.all(np.isfinite(big.grad.data))
    z = t64([[800.0, -900.0], [-700.0, 650.0]])
    b = L.binary_cross_entropy_with_logits(z, t64([[0.0, 1.0], [1.0, 0.0]], False))
    b.backward()
    assert b.item() == pytest.approx((800 + 900 + 700 + 650) / 4)
    assert np.all(np.isfinite(z.grad.data))


def test_cross_entropy_float32_stays_float32():
    x = Tensor(X.astype(np.float32), requires_grad=True)
    out = L.cross_entropy(x, np.array([0, 1, 2, 3, 0]), label_smoothing=0.1)
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("red", REDS)
def test_nll_gradcheck(red):
    gradcheck(lambda a: L.nll_loss(a, Y, weight=W, reduction=red), [t64(X)])


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("fn", [L.mse_loss, L.l1_loss, L.smooth_l1_loss, L.huber_loss])
def test_regression_losses_gradcheck(fn, red):
    gradcheck(lambda a, b: fn(a, b, reduction=red), [t64(X), t64(T)])


@pytest.mark.parametrize("red", REDS)
def test_bce_gradcheck(red):
    gradcheck(lambda a, b: L.binary_cross_entropy(a, b, weight=W, reduction=red), [t64(P), t64(T)])
    gradcheck(
        lambda a, b: L.binary_cross_entropy_with_logits(
            a, b, weight=W, pos_weight=W + 0.5, reduction=red
        ),
        [t64(X), t64(T)],
    )
    gradcheck(
        lambda a, b: L.binary_cross_entropy_with_logits(a, b, reduction=red), [t64(X), t64(T)]
    )


@pytest.mark.parametrize("red", REDS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_gradcheck(red, log_target):
    tgt = np.log(SOFT) if log_target else SOFT
    gradcheck(lambda a, b: L.kl_div(a, b, reduction=red, log_target=log_target), [t64(X), t64(tgt)])


def test_kl_div_batchmean_is_kl():
    logq = np.log(SOFT[::-1].copy())
    expect = np.sum(SOFT * (np.log(SOFT) - logq)) / 5
    assert L.kl_div(t64(logq), t64(SOFT), reduction="batchmean").item() == pytest.approx(expect)
    # zero targets contribute 0 (0·log 0 = 0), not NaN
    tz = SOFT.copy()
    tz[0] = [1, 0, 0, 0]
    assert np.isfinite(L.kl_div(t64(logq), t64(tz), reduction="sum").item())


@pytest.mark.parametrize("red", REDS)
def test_squared_error_loss_of_the_notes(red):
    y = np.array([0, 3, 1, 2, 1])
    gradcheck(lambda a: L.squared_error_loss(a, y, reduction=red), [t64(X)])
    onehot = np.eye(4)[y]
    per_sample = ((X - onehot) ** 2).sum(1)
    expect = {"none": per_sample, "mean": per_sample.mean(), "sum": per_sample.sum()}[red]
    np.testing.assert_allclose(L.squared_error_loss(t64(X), y, reduction=red).data, expect)
    np.testing.assert_allclose(
        L.squared_error_loss(t64(X), t64(onehot, False), reduction=red).data, expect
    )


def test_bad_input_messages(default_device):
    with pytest.raises(ValueError, match="reduction"):
        L.mse_loss(t64(X), t64(T), reduction="avg")
    with pytest.raises(ValueError, match=r"target shape \(4, 4\).*input shape \(5, 4\)"):
        L.mse_loss(t64(X), t64(T[:4]))
    if default_device == "cpu":
        with pytest.raises(ValueError, match="out of bounds for 4 classes"):
            L.cross_entropy(t64(X), np.array([0, 1, 2, 3, 4]))
        with pytest.raises(ValueError, match="probabilities in"):
            L.binary_cross_entropy(t64(X), t64(T))
    else:  # a device is not waited for to check values: the loss says NaN instead
        for loss in (L.cross_entropy, L.nll_loss, L.squared_error_loss):
            x = t64(X)
            out = loss(x, np.array([0, 1, 2, 3, 4]), reduction="none")
            assert np.isnan(out.data[4]) and not np.isnan(out.data[:4]).any()
            loss(x, np.array([0, 1, 2, 3, 4])).backward()
            assert np.isnan(x.grad.data).any()
        assert np.isnan(L.binary_cross_entropy(t64(X), t64(T)).item())
    with pytest.raises(ValueError, match="target shape"):
        L.cross_entropy(t64(X), np.array([0, 1]))
    with pytest.raises(ValueError, match="weight must have shape"):
        L.cross_entropy(t64(X), Y, weight=np.ones(3))
    with pytest.raises(ValueError, match="label_smoothing"):
        L.cross_entropy(t64(X), Y, label_smoothing=1.5)


def test_loss_modules():
    y = np.array([0, 3, 1, 2, 1])
    crit = nn.CrossEntropyLoss(weight=W, label_smoothing=0.1, reduction="sum")
    assert crit(t64(X), y).item() == pytest.approx(
        L.cross_entropy(t64(X), y, weight=W, label_smoothing=0.1, reduction="sum").item()
    )
    assert "weight" in crit.state_dict()
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    for mod, fn in [
        (nn.MSELoss(), L.mse_loss),
        (nn.L1Loss(), L.l1_loss),
        (nn.SmoothL1Loss(), L.smooth_l1_loss),
        (nn.HuberLoss(), L.huber_loss),
        (nn.KLDivLoss(), L.kl_div),
    ]:
        assert mod(t64(X), t64(T)).item() == fn(t64(X), t64(T)).item()
    assert nn.BCELoss()(t64(P), t64(T)).item() == L.binary_cross_entropy(t64(P), t64(T)).item()
    assert (
        nn.BCEWithLogitsLoss(pos_weight=W)(t64(X), t64(T)).item()
        == L.binary_cross_entropy_with_logits(t64(X), t64(T), pos_weight=W).item()
    )
    assert nn.NLLLoss()(t64(X), y).item() == L.nll_loss(t64(X), y).item()
    assert nn.SquaredErrorLoss()(t64(X), y).item() == L.squared_error_loss(t64(X), y).item()
    with pytest.raises(ValueError, match="reduction"):
        nn.L1Loss(reduction="batchmean")
    nn.KLDivLoss(reduction="batchmean")


# ---------------------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------------------


@pytest.mark.parity
@pytest.mark.parametrize("red", REDS)
@pytest.mark.filterwarnings("ignore:reduction")
def test_values_and_grads_match_torch(red):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def both(ours, theirs, *arrays, grad_idx=(0,)):
        mine = [
            t64(a, i in grad_idx) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for i, a in enumerate(arrays)
        ]
        tt = [torch.tensor(a, requires_grad=(i in grad_idx)) for i, a in enumerate(arrays)]
        o, t = ours(*mine), theirs(*tt)
        np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = RNG.standard_normal(o.shape)
        o.backward(g)
        t.backward(torch.tensor(g))
        for i in grad_idx:
            np.testing.assert_allclose(mine[i].grad.data, tt[i].grad.numpy(), rtol=1e-9, atol=1e-12)

    w = torch.tensor(W)
    for ls in (0.0, 0.3):
        both(
            lambda a, y: L.cross_entropy(a, y, weight=W, reduction=red, label_smoothing=ls),
            lambda a, y: F.cross_entropy(a, y, weight=w, reduction=red, label_smoothing=ls),
            X,
            Y,
        )
        both(
            lambda a, y: L.cross_entropy(a, y, reduction=red, label_smoothing=ls),
            lambda a, y: F.cross_entropy(a, y, reduction=red, label_smoothing=ls),
            X4,
            Y4,
        )
        both(
            lambda a, y: L.cross_entropy(a, y, weight=W, reduction=red, label_smoothing=ls),
            lambda a, y: F.cross_entropy(a, y, weight=w, reduction=red, label_smoothing=ls),
            X,
            SOFT,
            grad_idx=(0, 1),
        )
    both(
        lambda a, y: L.nll_loss(a, y, weight=W, reduction=red),
        lambda a, y: F.nll_loss(a, y, weight=w, reduction=red),
        X,
        Y,
    )
    for ours, theirs in [
        (L.mse_loss, F.mse_loss),
        (L.l1_loss, F.l1_loss),
        (L.smooth_l1_loss, F.smooth_l1_loss),
        (L.huber_loss, F.huber_loss),
    ]:
        both(
            lambda a, b: ours(a, b, reduction=red),
            lambda a, b: theirs(a, b, reduction=red),
            X,
            T,
            grad_idx=(0, 1),
        )
    both(
        lambda a, b: L.binary_cross_entropy(a, b, weight=W, reduction=red),
        lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=red),
        P,
        T,
        grad_idx=(0, 1),
    )
    both(
        lambda a, b: L.binary_cross_entropy_with_logits(
            a, b, weight=W, pos_weight=W + 1, reduction=red
        ),
        lambda a, b: F.binary_cross_entropy_with_logits(
            a, b, weight=w, pos_weight=w + 1, reduction=red
        ),
        X,
        T,
        grad_idx=(0, 1),
    )
    both(
        lambda a, b: L.kl_div(a, b, reduction=red),
        lambda a, b: F.kl_div(a, b, reduction=red),
        X,
        SOFT,
        grad_idx=(0, 1),
    )


def test_unbatched_input():
    x = t64(X[0])
    out = L.cross_entropy(x, np.array(2), reduction="none")
    assert out.shape == ()
    assert out.item() == pytest.approx(L.cross_entropy(t64(X[:1]), np.array([2])).item())
    gradcheck(lambda a: L.cross_entropy(a, np.array(2), label_smoothing=0.1), [x])
    gradcheck(lambda a, b: L.cross_entropy(a, b), [x, t64(SOFT[0])])
    gradcheck(lambda a: L.nll_loss(a, np.array(1), reduction="none"), [x])
