"""Shape ops and indexing: values against NumPy, gradients, error messages."""

import numpy as np
import pytest

import strided as st
from strided import functional as F
from strided.device import to_numpy
from strided.gradcheck import gradcheck

pytestmark = pytest.mark.on_devices


def t(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return st.Tensor(rng.standard_normal(shape), requires_grad=True)


def check(f, x, ref):
    np.testing.assert_array_equal(f(x).data, ref(to_numpy(x.data)))
    assert gradcheck(f, [x])


def test_reshape_view_flatten():
    x = t(2, 3, 5)
    check(lambda x: x.reshape(5, -1), x, lambda a: a.reshape(5, -1))
    check(lambda x: x.view((3, 10)), x, lambda a: a.reshape(3, 10))
    check(lambda x: F.flatten(x, 1), x, lambda a: a.reshape(2, 15))
    check(lambda x: x.flatten(), x, lambda a: a.reshape(-1))
    check(lambda x: x.flatten(0, 1), x, lambda a: a.reshape(6, 5))
    assert x.reshape(2, 3, 5) is x
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3, 5\).*\(4, 4\)"):
        x.reshape(4, 4)
    with pytest.raises(ValueError, match="flatten"):
        F.flatten(x, 2, 1)


def test_transpose_permute_T():
    x = t(2, 3, 5)
    check(lambda x: x.transpose(0, 2), x, lambda a: a.swapaxes(0, 2))
    check(lambda x: x.permute(2, 0, 1), x, lambda a: a.transpose(2, 0, 1))
    check(lambda x: x.T, x, lambda a: a.T)
    check(lambda x: x.mT, x, lambda a: a.swapaxes(-1, -2))
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0, 1)


def test_squeeze_unsqueeze():
    x = t(3, 1, 4, 1)
    check(lambda x: x.squeeze(), x, np.squeeze)
    check(lambda x: x.squeeze(1), x, lambda a: a.squeeze(1))
    assert x.squeeze(0).shape == (3, 1, 4, 1)  # size ≠ 1: left alone, as torch
    check(lambda x: x.unsqueeze(0), x, lambda a: a[None])
    check(lambda x: F.unsqueeze(x, dim=-1), x, lambda a: a[..., None])


def test_expand_broadcast_to():
    x = t(3, 1)
    check(lambda x: x.expand(2, 3, 4), x, lambda a: np.broadcast_to(a, (2, 3, 4)))
    check(lambda x: x.expand(-1, 5), x, lambda a: np.broadcast_to(a, (3, 5)))
    check(lambda x: F.broadcast_to(x, (2, 3, 2)), x, lambda a: np.broadcast_to(a, (2, 3, 2)))
    with pytest.raises(ValueError, match=r"\(3, 1\).*\(4, 2\)"):
        x.expand(4, 2)


def test_cat_stack_split():
    a, b, c = t(2, 3, seed=1), t(2, 1, seed=2), t(2, 4, seed=3)
    out = F.cat([a, b, c], dim=1)
    np.testing.assert_array_equal(out.data, np.concatenate([a.data, b.data, c.data], 1))
    assert gradcheck(lambda *xs: F.cat(xs, axis=-1), [a, b, c])
    assert F.concatenate is F.cat
    d = t(2, 3, seed=4)
    np.testing.assert_array_equal(F.stack([a, d], 1).data, np.stack([a.data, d.data], 1))
    assert gradcheck(lambda a, d: F.stack([a, d], axis=2), [a, d])
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 1\).*\(3, 3\)"):
        F.cat([t(3, 3), b])
    with pytest.raises(ValueError, match=r"stack: tensor 1 has shape \(2, 1\).*\(2, 3\)"):
        F.stack([a, b])


def test_split_and_chunk():
    x = t(7, 2)
    parts = F.split(x, 3)
    assert isinstance(parts, tuple) and [p.shape[0] for p in parts] == [3, 3, 1]
    parts = x.split([2, 5], dim=0)
    np.testing.assert_array_equal(parts[1].data, x.data[2:])
    assert gradcheck(lambda x: F.split(x, [1, 4, 2])[1] * 2 + F.split(x, [1, 4, 2])[2].sum(), [x])
    assert [p.shape for p in x.chunk(2, 1)] == [(7, 1), (7, 1)]
    with pytest.raises(ValueError, match=r"split: sections \[2, 2\] do not add up to 7"):
        F.split(x, [2, 2])


INDICES = [
    (1,),
    (slice(1, None, 2),),
    (Ellipsis, 0),
    (None, slice(None), 2),
    (np.array([0, 2, 0, 0]),),  # repeated rows accumulate
    (np.array([[1, 1], [0, 2]]), slice(None, 3)),
    (np.array([0, 1, 1]), np.array([3, 3, 0])),  # pairs (as in losses)
    (slice(None), np.array([4, 4, 4])),
    (np.array([True, False, True]),),
    (np.array([[True, False, True, False, True]] * 3),),
]


@pytest.mark.parametrize("index", INDICES, ids=range(len(INDICES)))
def test_getitem(index):
    x = t(3, 5, seed=5)
    check(lambda x: x[index], x, lambda a: a[index])


def test_getitem_repeated_index_accumulates_and_tensor_index():
    x = st.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[st.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3, 0, 1])
    assert x.grad.dtype == np.float32
    with pytest.raises(IndexError, match=r"getitem.*\(3,\)"):
        x[5]


def test_getitem_list_index():
    x = t(4, 2)
    np.testing.assert_array_equal(x[[3, 1]].data, x.data[[3, 1]])
