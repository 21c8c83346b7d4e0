"""matmul and linear: values against NumPy, gradients against central differences."""

import numpy as np
import pytest

import strided as st
from strided import functional as F
from strided.gradcheck import gradcheck

pytestmark = pytest.mark.on_devices


def t(*shape, seed=0, grad=True):
    rng = np.random.default_rng(seed)
    return st.Tensor(rng.standard_normal(shape), requires_grad=grad)


@pytest.mark.parametrize(
    "sa,sb",
    [
        ((3,), (3,)),  # dot product
        ((3,), (3, 5)),  # row vector · matrix
        ((4, 3), (3,)),  # matrix · column vector
        ((4, 3), (3, 5)),
        ((2, 4, 3), (3, 5)),  # batch · matrix (the linear-layer case)
        ((4, 3), (2, 3, 5)),  # matrix · batch
        ((2, 1, 4, 3), (3, 3, 5)),  # batch dims broadcast against each other
        ((3,), (2, 3, 5)),
        ((2, 4, 3), (3,)),
    ],
)
def test_matmul_values_and_gradients(sa, sb):
    a, b = t(*sa, seed=1), t(*sb, seed=2)
    out = F.matmul(a, b)
    np.testing.assert_allclose(out.data, np.matmul(a.data, b.data), rtol=1e-12)
    assert gradcheck(F.matmul, [a, b])


def test_matmul_operator_and_reflected_with_array(default_device):
    a = t(2, 3)
    arr = np.ones((3, 4))
    if default_device != "cpu":  # a NumPy array is host data: mixing it in is refused
        with pytest.raises(RuntimeError, match=rf"MatMul: .*two devices, {a.device} and cpu"):
            a @ arr
        a, arr = a.cpu(), np.ones((3, 4))
    np.testing.assert_allclose((a @ arr).data, a.data @ arr)
    np.testing.assert_allclose((np.ones((5, 2)) @ a).data, np.ones((5, 2)) @ a.data)
    assert (a @ arr).shape == (2, 4) and a.matmul(arr).shape == (2, 4)


def test_matmul_only_needed_gradients():
    a, b = t(2, 3), t(3, 4, grad=False)
    (a @ b).sum().backward()
    assert a.grad is not None and b.grad is None


@pytest.mark.parametrize(
    "sa,sb", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 2, 3), (3, 3, 4)), ((), (3,))]
)
def test_matmul_shape_errors_name_both_shapes(sa, sb):
    with pytest.raises(ValueError) as e:
        F.matmul(st.zeros(*sa), st.zeros(*sb))
    msg = str(e.value)
    assert "matmul" in msg and str(sa) in msg and str(sb) in msg


@pytest.mark.parametrize("xshape", [(5, 3), (2, 5, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(xshape, bias):
    x, w = t(*xshape, seed=3), t(4, 3, seed=4)
    b = t(4, seed=5) if bias else None
    out = F.linear(x, w, b)
    ref = x.data @ w.data.T + (b.data if bias else 0)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    args = [x, w] + ([b] if bias else [])
    assert gradcheck(lambda *a: F.linear(*a) if bias else F.linear(*a), args)


def test_linear_float32_stays_float32():
    x = st.randn(4, 3)
    w = st.randn(2, 3, requires_grad=True)
    b = st.zeros(2, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.dtype == np.float32
    y.sum().backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.data, [4, 4])


def test_linear_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(4, 3\)"):
        F.linear(st.zeros(5, 2), st.zeros(4, 3))
    with pytest.raises(ValueError, match="bias"):
        F.linear(st.zeros(5, 3), st.zeros(4, 3), st.zeros(3))
