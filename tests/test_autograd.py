"""The autograd engine: graph walk, accumulation, broadcasting, grad modes, memory,
dtypes and in-place safety."""

import gc
import weakref

import numpy as np
import pytest

import strided as st
from strided import functional as F

pytestmark = pytest.mark.on_devices


def test_long_chain_is_iterative():
    x = st.tensor(1.0, dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001**10_000, rtol=1e-9)


def test_reused_tensor_accumulates():
    x = st.tensor([2.0, -3.0], requires_grad=True)
    y = x * x + x  # d/dx = 2x + 1, x reached by three paths
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [5, -5])
    z = x * 3
    (z + z).sum().backward()  # grads accumulate across calls into .grad
    np.testing.assert_allclose(x.grad.data, [11, 1])


def test_broadcast_gradients_summed_back():
    a = st.ones(3, 1, requires_grad=True)
    b = st.ones(4, requires_grad=True)
    c = st.tensor(2.0, requires_grad=True)
    ((a + b) * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    np.testing.assert_allclose(a.grad.data, 8)
    np.testing.assert_allclose(b.grad.data, 6)
    np.testing.assert_allclose(c.grad.data, 24)


def test_retain_graph_and_second_backward_error():
    x = st.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, [4, 8])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_non_scalar_backward_needs_grad():
    x = st.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\)"):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 3)))
    np.testing.assert_allclose(x.grad.data, 2)


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        st.ones(2).sum().backward()


def test_integer_requires_grad_is_type_error():
    with pytest.raises(TypeError, match="int64"):
        st.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError):
        st.arange(3).requires_grad_()


def test_no_grad_records_nothing():
    x = st.ones(2, requires_grad=True)
    with st.no_grad():
        y = x * 2
        assert not st.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert st.is_grad_enabled()


def test_no_grad_decorator_and_enable_grad_nesting():
    x = st.ones(2, requires_grad=True)

    @st.no_grad()
    def f():
        return x * 2

    assert not f().requires_grad
    with st.no_grad():
        with st.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad


def test_set_grad_enabled():
    x = st.ones(2, requires_grad=True)
    with st.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    assert (x + 1).requires_grad
    st.set_grad_enabled(False)
    try:
        assert not st.is_grad_enabled()
    finally:
        st.set_grad_enabled(True)
    assert st.is_grad_enabled()


def test_graph_memory_released_after_backward():
    x = st.randn(50, requires_grad=True)
    mid = x * 2
    ref = weakref.ref(mid)
    loss = F.exp(mid).sum()
    del mid
    gc.collect()
    assert ref() is not None  # held by the graph (exp saved it) until backward
    loss.backward()
    gc.collect()
    assert ref() is None
    assert loss.grad_fn.inputs is None  # saved arrays dropped


def test_float32_with_python_float_stays_float32():
    x = st.randn(3, requires_grad=True)
    for y in (
        x * 0.5,
        0.5 * x,
        x + 1.5,
        x / 3.0,
        2.0 - x,
        x**2.0,
        F.maximum(x, 0.1),
        x @ st.ones(3),
        F.where(x > 0, x, 0.0),
    ):
        assert y.dtype == np.float32, y
    (x * 0.5).sum().backward()
    assert x.grad.dtype == np.float32
    assert (st.randn(2, dtype=np.float64) * 2.0).dtype == np.float64


def test_numpy_scalar_results_keep_dtype():
    x = st.randn(3, 4, dtype=np.float64)
    assert F.sum(x).dtype == np.float64 and st.Tensor(np.float64(1.5)).dtype == np.float64


def test_inplace_on_tensor_requiring_grad_is_refused():
    w = st.ones(3, requires_grad=True)
    for op in (
        lambda: w.__iadd__(1.0),
        lambda: w.mul_(2.0),
        lambda: w.zero_(),
        lambda: w.fill_(3.0),
        lambda: w.copy_(np.zeros(3)),
        lambda: w.__setitem__(0, 5.0),
    ):
        with pytest.raises(RuntimeError, match="out-of-place"):
            op()
    np.testing.assert_array_equal(w.data, 1)
    with st.no_grad():  # a parameter update
        w -= 0.5
        w[0] = 2.0
    np.testing.assert_array_equal(w.data, [2, 0.5, 0.5])
    assert w._version == 2


def test_inplace_write_of_a_grad_tensor_into_a_plain_one_is_refused():
    buf = st.zeros(3)
    x = st.ones(3, requires_grad=True)
    for op in (lambda: buf.__setitem__(slice(None), x), lambda: buf.add_(x), lambda: buf.copy_(x)):
        with pytest.raises(RuntimeError, match="drop its gradient"):
            op()
    with st.no_grad():
        buf.copy_(x)
    np.testing.assert_array_equal(buf.data, 1)


def test_inplace_after_use_is_caught_by_version_check():
    x = st.ones(3, requires_grad=True)
    c = st.tensor([1.0, 2.0, 3.0])  # no grad: in-place allowed
    y = (x * c).sum()  # Mul saved c
    c += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


@pytest.mark.parametrize(
    "view",
    [lambda c: c.reshape(1, 9)[:, :3], lambda c: c[1:], lambda c: c.T, lambda c: c.detach()],
    ids=["reshape", "slice", "T", "detach"],
)
@pytest.mark.parametrize("through_view", [False, True])
def test_inplace_write_through_a_view_is_caught(view, through_view):
    """A view shares its base's version counter: writing through either one after the
    other was saved for backward is refused, not silently differentiated."""
    w = st.ones(3, 3, requires_grad=True)
    c = st.tensor(np.arange(9.0).reshape(3, 3))  # no grad: in-place allowed
    v = view(c)
    loss = (w[: v.shape[0], : v.shape[1]] * v).sum()  # Mul saved the view
    if through_view:
        loss = (w * c).sum()  # Mul saved the base; write through the view
        v += 1
    else:
        c += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_a_copy_does_not_share_the_version_counter():
    w = st.ones(3, requires_grad=True)
    c = st.tensor([1.0, 2.0, 3.0])
    d = c * 2  # a new array
    loss = (w * d).sum()
    c += 1
    loss.backward()
    np.testing.assert_allclose(w.grad.data, [2, 4, 6])


def test_inplace_ops_values_and_dtype():
    a = st.tensor([1.0, 2.0])
    a += 1
    a *= st.tensor([2.0, 3.0])
    a -= st.tensor([1.0, 1.0])
    a /= 2
    np.testing.assert_allclose(a.data, [1.5, 4])
    assert a.dtype == np.float32 and a._version == 4
    a.add_(1).sub_(0.5).mul_(2).div_(2)
    np.testing.assert_allclose(a.data, [2, 4.5])
    a.copy_(st.tensor([7, 8]))
    a[a > 7.5] = 0.0
    np.testing.assert_allclose(a.data, [7, 0])
    with pytest.raises(ValueError, match=r"add_.*\(3,\).*\(2,\)"):
        a.add_(st.ones(3))


def test_differentiable_cast():
    x = st.randn(3, requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and y.requires_grad
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, 2)
    assert x.to(x.device) is x and x.float() is x
    assert x.to("cpu").device == st.device("cpu")
    assert x.to(np.float64).dtype == np.float64
    assert x.long().dtype == np.int64 and not x.long().requires_grad


def test_retain_grad_and_grad_of_leaf_only():
    x = st.ones(2, requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = x * 4
    (y * z).sum().backward()
    np.testing.assert_allclose(y.grad.data, 4)
    assert z.grad is None


def test_leaf_grads_never_alias_each_other_or_the_seed():
    """Leaf grads are stored without a copy when fresh; ones that could be shared (the same
    array for two leaves, the caller's seed) are copied, so in-place edits stay local."""
    a, b = st.ones(3, requires_grad=True), st.ones(3, requires_grad=True)
    seed = st.ones(3).data
    (a + b).backward(seed)  # Add hands the same array to both leaves
    assert not np.shares_memory(a.grad.data, b.grad.data)
    assert not np.shares_memory(a.grad.data, seed) and not np.shares_memory(b.grad.data, seed)
    a.grad.data *= 5
    np.testing.assert_array_equal(b.grad.data, 1)
    np.testing.assert_array_equal(seed, 1)
    w = st.ones(2, 3, requires_grad=True)
    (w * 2).sum().backward()
    (w * 2).sum().backward()  # the second accumulation adds, out of place
    np.testing.assert_array_equal(w.grad.data, 4)


class _SortWithOrder(st.Function):
    """Sorted values (differentiable) and the order that sorted them (not)."""

    def forward(self, x):
        self.order = np.argsort(x, kind="stable")
        self.n = x.shape[0]
        self.mark_non_differentiable(self.order)
        return x[self.order], self.order

    def backward(self, g):
        gx = np.zeros_like(g)  # made where g lives
        gx[self.order] = g
        return gx


def test_functions_may_return_non_differentiable_outputs():
    x = st.Tensor(np.array([3.0, 1.0, 2.0]), requires_grad=True)
    values, order = _SortWithOrder.apply_multi(x)
    assert values.requires_grad and not order.requires_grad and order._ctx is None
    assert order.data.tolist() == [1, 2, 0] and values.data.tolist() == [1.0, 2.0, 3.0]
    (values * st.Tensor(np.array([10.0, 20.0, 30.0]))).sum().backward()
    assert x.grad.tolist() == [30.0, 10.0, 20.0]
    with st.no_grad():
        values, order = _SortWithOrder.apply_multi(x)
    assert not values.requires_grad and order.data.tolist() == [1, 2, 0]
    with pytest.raises(TypeError, match="apply_multi"):
        _SortWithOrder.apply(x)


def test_every_extra_output_must_be_marked():
    class Unmarked(st.Function):
        def forward(self, x):
            return x * 2, x * 3

    with pytest.raises(
        TypeError,
        match="Unmarked.forward returned 2 outputs; all but one "
        "must be marked non-differentiable, 2 are not",
    ):
        Unmarked.apply(st.Tensor(np.ones(2), requires_grad=True))
