"""Devices: naming them, moving tensors between them, and the errors a user meets."""

import sys

import numpy as np
import pytest

import strided as st
import strided.device

devices = sys.modules["strided.device"]  # `strided.device` the attribute is the function


def test_device_names_parse_and_compare():
    assert str(st.device("cpu")) == "cpu"
    assert st.device("cuda") == st.device("cuda:0") == st.device("cuda", 0)
    assert st.device("cuda:1") != st.device("cuda:0")
    assert st.device("CUDA:1").index == 1
    assert st.device(st.device("cpu")) == "cpu"
    assert repr(st.device("cuda:2")) == "device(type='cuda', index=2)"
    assert len({st.device("cuda"), st.device("cuda:0"), st.device("cpu")}) == 2


@pytest.mark.parametrize(
    "spec, message",
    [
        ("tpu", "unknown device type 'tpu'"),
        ("cuda:x", "invalid device string"),
        ("cpu:1", "one CPU device"),
    ],
)
def test_bad_device_names_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        st.device(spec)


def test_device_rejects_non_strings_and_double_index():
    with pytest.raises(TypeError, match="expected a string"):
        st.device(3)
    with pytest.raises(ValueError, match="already names an index"):
        st.device("cuda:1", 2)


def test_cpu_moves_are_copy_free():
    x = st.tensor([1.0, 2.0])
    assert x.device == "cpu" and not x.is_cuda
    assert x.to("cpu") is x and x.cpu() is x and x.to(st.device("cpu")) is x
    assert x.numpy() is x.data
    assert x.to("cpu", np.float64).dtype == np.float64


def test_to_keeps_accepting_dtypes_and_tensors():
    x = st.tensor([1.0, 2.0])
    assert x.to(np.float64).dtype == np.float64
    assert x.to(dtype=np.float64).dtype == np.float64
    assert x.to(st.tensor([1], dtype=np.float64)).dtype == np.float64
    assert x.to("cpu", copy=True) is not x
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.to("cpu", memory_format=None)


def test_cuda_without_cupy_or_gpu_says_what_to_install(monkeypatch):
    if st.cuda.is_available():
        pytest.skip("a GPU is present here")
    assert st.cuda.device_count() == 0
    backend = devices._backends["cuda"]
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", None)  # import fails
    with pytest.raises(RuntimeError, match=r"pip install 'strided\[cuda\]'"):
        st.tensor([1.0]).cuda()
    with pytest.raises(RuntimeError, match="needs CuPy"):
        st.zeros(2, device="cuda")
    assert st.cuda.is_available() is False


def test_tensors_on_the_simulated_gpu_report_it():
    x = st.tensor([1.0, 2.0], device="sim")
    assert x.device == "sim:0" and x.device.type == "sim"
    assert "device='sim:0'" in repr(x)
    assert x.to("sim") is x
    back = x.cpu()
    assert back.device == "cpu" and isinstance(back.data, np.ndarray)
    np.testing.assert_array_equal(back.numpy(), [1.0, 2.0])


def test_numpy_of_a_device_tensor_raises_as_pytorch_does():
    x = st.tensor([1.0, 2.0], device="sim")
    with pytest.raises(TypeError, match=r"use Tensor.cpu\(\)"):
        x.numpy()
    with pytest.raises(TypeError, match=r"use Tensor.cpu\(\)"):
        np.asarray(x)


def test_an_op_mixing_devices_names_both_and_the_op():
    a = st.tensor([1.0, 2.0], device="sim")
    b = st.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Add: .*sim:0 and cpu"):
        a + b
    with pytest.raises(RuntimeError, match=r"Mul: .*cpu and sim:0"):
        b * a


def test_python_scalars_go_with_the_tensor():
    a = st.tensor([1.0, 2.0], device="sim")
    for out in (a * 2, 2 - a, a + np.float32(1), a / 4.0):
        assert out.device == "sim:0" and out.dtype == np.float32


def test_moving_is_differentiable_both_ways():
    x = st.tensor([1.0, -2.0, 3.0], dtype=np.float64, requires_grad=True)
    y = (x.to("sim") * st.tensor([2.0, 3.0, 4.0], dtype=np.float64, device="sim")).cpu()
    y.sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0, 4.0])
    assert st.gradcheck(lambda t: (t.to("sim") * 3).cpu(), [x])


def test_backward_on_the_device_leaves_grads_there():
    x = st.tensor([[1.0, 2.0], [3.0, 4.0]], device="sim", requires_grad=True)
    ((x * x).sum()).backward()
    assert x.grad.device == "sim:0"
    np.testing.assert_array_equal(x.grad.data, [[2.0, 4.0], [6.0, 8.0]])


def test_creation_functions_take_device():
    for t in (
        st.zeros(2, 3, device="sim"),
        st.ones((2,), device="sim"),
        st.full((2, 2), 7.0, device="sim"),
        st.arange(5, device="sim"),
        st.randn(3, device="sim"),
        st.rand(3, device="sim"),
        st.tensor([1, 2], device="sim"),
    ):
        assert t.device == "sim:0"
    base = st.zeros(2, device="sim")
    for t in (st.zeros_like(base), st.ones_like(base), st.full_like(base, 2.0)):
        assert t.device == "sim:0"
    assert st.randn_like(base).device == "sim:0" and st.rand_like(base).device == "sim:0"
    assert st.zeros_like(base, device="cpu").device == "cpu"
    np.testing.assert_array_equal(st.arange(5, device="sim").data, np.arange(5))


def test_seeded_random_tensors_are_the_same_on_every_device():
    st.manual_seed(3)
    a = st.randn(4, device="sim")
    st.manual_seed(3)
    b = st.randn(4)
    np.testing.assert_array_equal(a.cpu().numpy(), b.numpy())


def test_default_device_places_new_tensors():
    assert st.get_default_device() == "cpu"
    st.set_default_device("sim")
    try:
        assert st.tensor([1.0]).device == "sim:0"
        assert st.Tensor(np.zeros(2)).device == "sim:0"
        assert st.zeros(2).device == "sim:0"
    finally:
        st.set_default_device(None)
    assert st.zeros(2).device == "cpu"


def test_backends_can_be_added_and_removed_but_not_the_built_in_ones():
    with pytest.raises(ValueError, match="built in"):
        devices.unregister_backend("cpu")
    bad = devices.Backend()
    bad.name = "a:b"
    with pytest.raises(ValueError, match="invalid device type"):
        devices.register_backend(bad)


def test_array_module_and_common_device():
    import simulated_gpu

    host = np.zeros(2)
    sim = devices.move(host, "sim")
    assert devices.array_module(host) is np
    assert devices.array_module(host, sim) is simulated_gpu.SIM_MODULE
    assert devices.common_device([host, 1.0, None], "op") == "cpu"
    with pytest.raises(RuntimeError, match="op: expected all tensors on the same device"):
        devices.common_device([host, sim], "op")
    assert devices.move(sim, "sim") is sim
    np.testing.assert_array_equal(devices.to_numpy(sim), host)


def test_user_facing_readers_take_device_tensors():
    from strided.nn import Embedding
    from strided.train.metrics import accuracy

    scores = st.tensor([[0.1, 0.9], [0.8, 0.2]], device="sim")
    assert accuracy(scores, st.tensor([1, 1], device="sim")) == 0.5
    table = st.tensor([[1.0, 2.0], [3.0, 4.0]], device="sim")
    emb = Embedding.from_pretrained(table)
    np.testing.assert_array_equal(emb.weight.numpy(), [[1.0, 2.0], [3.0, 4.0]])
