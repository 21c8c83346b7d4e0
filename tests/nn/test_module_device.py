"""Modules and optimisers across devices: `Module.to/.cuda/.cpu` move parameters, their
gradients and buffers in place; optimiser state follows the parameters; state dicts load
onto whatever device the model is on; gradient clipping stays on the device."""

import numpy as np
import pytest

import simulated_gpu
import strided
import strided.nn as nn
import strided.optim as optim
from strided import Tensor
from strided.device import device_of, to_numpy
from strided.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def small_model(seed=0):
    strided.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model[1].register_buffer("scratch", np.zeros(2, np.float32), persistent=False)
    return model


def host(t):
    return to_numpy(t.data if isinstance(t, Tensor) else t)


def fake_grads(model, scale=1.0):
    rng = np.random.default_rng(1)
    for p in model.parameters():
        p.grad = Tensor(scale * rng.standard_normal(p.shape).astype(p.dtype), device=p.device)


def test_to_moves_parameters_grads_and_buffers_in_place(device):
    model = small_model()
    fake_grads(model)
    params = list(model.parameters())
    before = {k: v.copy() for k, v in model.state_dict().items()}
    grads = [p.grad.data.copy() for p in params]
    assert model.to(device) is model
    assert model.device == strided.device(device)
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    for t in (*model.parameters(), *model.buffers()):
        assert t.device == strided.device(device)
    assert model[1].scratch.device == strided.device(device)  # non-persistent too
    for p, g in zip(params, grads, strict=True):
        assert p.grad.device == strided.device(device)
        np.testing.assert_array_equal(host(p.grad), g)
    for k, v in model.state_dict().items():
        assert device_of(v) == strided.device(device)
        np.testing.assert_array_equal(host(v), before[k])
    assert model.cpu() is model and model.device == strided.device("cpu")
    for k, v in model.state_dict().items():
        assert type(v) is np.ndarray
        np.testing.assert_array_equal(v, before[k])


def test_to_cpu_on_the_cpu_moves_nothing():
    model = small_model()
    arrays = [p.data for p in model.parameters()]
    versions = [p._version for p in model.parameters()]
    model.to("cpu")
    assert [p.data for p in model.parameters()] == arrays  # the very same arrays
    assert [p._version for p in model.parameters()] == versions


def test_to_device_and_dtype_together(device):
    model = small_model()
    model.to(device, np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].num_batches_tracked.dtype.kind == "i"  # integers keep their dtype
    assert model.device == strided.device(device)
    model.to(dtype=np.float32, device="cpu")
    assert model.device == strided.device("cpu")
    assert all(p.dtype == np.float32 for p in model.parameters())
    other = Tensor(np.zeros(1, np.float64), device=device)
    model.to(other)  # a tensor's device and dtype
    assert model.device == strided.device(device)
    assert all(p.dtype == np.float64 for p in model.parameters())


def test_to_rejects_bad_arguments():
    model = small_model()
    with pytest.raises(TypeError, match="only floating dtypes"):
        model.to(np.int32)
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.to(devices="cpu")
    with pytest.raises(ValueError, match="unknown device type"):
        model.to(device="tpu")


def test_cuda_without_cupy_names_the_extra(monkeypatch):
    backend = strided.device("cuda").backend
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)  # import fails
    with pytest.raises(RuntimeError, match=r"pip install 'strided\[cuda\]'"):
        small_model().cuda()


def test_a_module_split_over_two_devices_names_both_in_the_error():
    model = small_model().eval()
    model[2].to("sim")
    with pytest.raises(RuntimeError, match="cpu.*sim|sim.*cpu"):
        model(Tensor(np.ones((2, 3), np.float32), device="cpu"))


# -- optimiser state follows the parameters -------------------------------------------------


def run_steps(model, opt, steps, first=0):
    for k in range(first, first + steps):
        fake_grads(model, scale=1.0 + k)
        opt.step()


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
        lambda ps: optim.AdamW(ps, lr=0.01),
        lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
        lambda ps: optim.Adagrad(ps, lr=0.1),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"],
)
def test_optimiser_built_before_the_move_follows_the_parameters(device, make):
    # reference: everything on the CPU
    ref = small_model()
    ref_opt = make(list(ref.parameters()))
    run_steps(ref, ref_opt, 4)
    # two steps on the CPU, then the model moves: the state follows on the next step
    model = small_model()
    opt = make(list(model.parameters()))
    run_steps(model, opt, 2)
    model.to(device)
    run_steps(model, opt, 2, first=2)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        assert p.device == strided.device(device)
        np.testing.assert_allclose(host(p), host(q), rtol=1e-5, atol=1e-6)
    for state in opt.state.values():
        for v in state.values():
            if getattr(v, "ndim", 0):
                assert device_of(v) == strided.device(device)


def test_optimiser_state_dict_loads_onto_each_parameters_device(device):
    src = small_model().to(device)
    src_opt = optim.Adam(src.parameters(), lr=0.01)
    run_steps(src, src_opt, 3)
    weights, saved = src.state_dict(), src_opt.state_dict()
    after = {}
    for other in ("cpu", device):  # the same run continued on either device
        dst = small_model().to(other)
        dst.load_state_dict(weights)
        opt = optim.Adam(dst.parameters(), lr=0.01)
        opt.load_state_dict(saved)
        for p in dst.parameters():
            assert opt.state[p]["step"] == 3
            for k in ("exp_avg", "exp_avg_sq"):
                assert device_of(opt.state[p][k]) == strided.device(other)
        run_steps(dst, opt, 2)
        after[other] = [host(p) for p in dst.parameters()]
    for a, b in zip(after["cpu"], after[device], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


# -- module state dicts across devices ------------------------------------------------------


@pytest.mark.parametrize("direction", ["to-cpu", "from-cpu"])
def test_load_state_dict_copies_onto_the_models_device(device, direction):
    trained = small_model(seed=1)
    fresh = small_model(seed=2)
    if direction == "to-cpu":
        trained.to(device)
    else:
        fresh.to(device)
    arrays = [p.data for p in fresh.parameters()]
    fresh.load_state_dict(trained.state_dict())
    assert [p.data for p in fresh.parameters()] == arrays  # copied into, not replaced
    for (k, a), b in zip(fresh.state_dict().items(), trained.state_dict().values(), strict=True):
        assert device_of(a) == (strided.device(device) if direction == "from-cpu" else "cpu"), k
        np.testing.assert_array_equal(host(a), host(b))


# -- gradient utilities on the device -------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_on_the_device_matches_the_cpu(device, norm_type, max_norm):
    ref, model = small_model(), small_model().to(device)
    fake_grads(ref)
    fake_grads(model)
    expected = clip_grad_norm_(ref.parameters(), max_norm, norm_type)
    reads = simulated_gpu.SimBackend.to_host_count
    total = clip_grad_norm_(model.parameters(), max_norm, norm_type)
    assert simulated_gpu.SimBackend.to_host_count == reads  # nothing read back
    assert total.device == strided.device(device)
    np.testing.assert_allclose(host(total), host(expected), rtol=1e-5)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        np.testing.assert_allclose(host(p.grad), host(q.grad), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_nonfinite_error_on_the_device(device):
    model = small_model().to(device)
    fake_grads(model)
    p = next(model.parameters())
    p.grad = Tensor(np.full(p.shape, np.nan, np.float32), device=device)
    with pytest.raises(RuntimeError, match="total norm"):
        clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_vectors_on_the_device(device):
    model = small_model().to(device)
    fake_grads(model, scale=3.0)
    clip_grad_value_(model.parameters(), 0.5)
    for p in model.parameters():
        assert p.grad.device == strided.device(device)
        assert np.abs(host(p.grad)).max() <= 0.5
    vec = parameters_to_vector(model.parameters())
    assert vec.device == strided.device(device)
    assert vec.shape == (model.num_parameters(),)
    arrays = [p.data for p in model.parameters()]
    vector_to_parameters(np.arange(vec.shape[0], dtype=np.float32), model.parameters())
    assert [p.data for p in model.parameters()] == arrays
    np.testing.assert_array_equal(
        host(parameters_to_vector(model.parameters())), np.arange(vec.shape[0])
    )


def test_summary_of_a_model_on_a_device_equals_the_cpus(device):
    from strided.nn.summary import summary

    strided.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(24, 5), nn.ReLU(), nn.Linear(5, 2))
    on_cpu = str(summary(model, (2, 3, 4), print_table=False))  # (C, H, W): batch 1 added
    model.to(device)
    assert str(summary(model, (2, 3, 4), print_table=False)) == on_cpu
    assert model.device == strided.device(device)


def test_a_subclass_may_still_assign_self_device():
    class Old(nn.Module):  # PyTorch code often keeps its device in self.device
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.device = "cpu"

    assert Old().device == "cpu"
    assert small_model().to("sim").device == strided.device("sim")
    assert nn.ReLU().device == strided.get_default_device()  # no state: the default
