"""Files are device-free: a model, an optimiser state or a training checkpoint saved from
any device is the same file as from the CPU, and loads onto whatever device the model is
on (each parameter keeps its device; `map_location` is simply "the model's device")."""

import numpy as np
import pytest

import strided
import strided.nn as nn
import strided.optim as optim
from strided import Tensor, io
from strided.device import device_of, to_numpy
from strided.train import load_checkpoint, save_checkpoint


def model_on(where, seed=0):
    strided.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model[1].running_mean.data[...] = np.arange(4)  # a non-trivial buffer
    return model.to(where)


def stepped_optimizer(model):
    opt = optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for _ in range(2):
        for p in model.parameters():
            p.grad = Tensor(rng.standard_normal(p.shape).astype(p.dtype), device=p.device)
        opt.step()
    return opt


def host_state(model):
    return {k: to_numpy(v) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("direction", ["device-to-cpu", "cpu-to-device"])
def test_save_model_on_one_device_load_on_the_other(tmp_path, device, direction):
    src_dev, dst_dev = (device, "cpu") if direction == "device-to-cpu" else ("cpu", device)
    src = model_on(src_dev, seed=1)
    path = io.save_model(tmp_path / "m.safetensors", src, {"note": "x"})
    dst = model_on(dst_dev, seed=2)
    assert io.load_model(path, dst) == {"note": "x"}
    for k, v in dst.state_dict().items():
        assert device_of(v) == strided.device(dst_dev), k
    for (k, a), b in zip(host_state(dst).items(), host_state(src).values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)
    # the file holds plain NumPy arrays, whatever device wrote it
    arrays, _ = io.load(path)
    assert all(type(a) is np.ndarray for a in arrays.values())


def test_the_file_does_not_depend_on_the_device_that_wrote_it(tmp_path, device):
    a = io.save_model(tmp_path / "cpu.safetensors", model_on("cpu"))
    b = io.save_model(tmp_path / "dev.safetensors", model_on(device))
    (arrays_a, meta_a), (arrays_b, meta_b) = io.load(a), io.load(b)
    assert meta_a == meta_b and sorted(arrays_a) == sorted(arrays_b)
    for k, v in arrays_a.items():
        assert v.dtype == arrays_b[k].dtype
        np.testing.assert_array_equal(v, arrays_b[k])


def test_optimizer_state_round_trip_across_devices(tmp_path, device):
    model = model_on(device)
    opt = stepped_optimizer(model)
    path = io.save_state(tmp_path / "opt.safetensors", opt.state_dict())
    state = io.load_state(path)
    for where in ("cpu", device):
        target = model_on(where)
        target.load_state_dict(model.state_dict())
        fresh = optim.Adam(target.parameters(), lr=0.01)
        fresh.load_state_dict(state)
        for p, q in zip(target.parameters(), model.parameters(), strict=True):
            mine, theirs = fresh.state[p], opt.state[q]
            assert mine["step"] == theirs["step"] == 2
            assert device_of(mine["exp_avg"]) == strided.device(where)
            np.testing.assert_array_equal(to_numpy(mine["exp_avg"]), to_numpy(theirs["exp_avg"]))


def test_training_checkpoint_from_the_device_resumes_on_the_cpu(tmp_path, device):
    model = model_on(device)
    opt = stepped_optimizer(model)
    path = save_checkpoint(
        tmp_path / "ckpt.safetensors",
        {"epoch": 1, "model": model.state_dict(), "optimizer": opt.state_dict()},
    )
    state = load_checkpoint(path)
    cpu_model = model_on("cpu", seed=5)
    cpu_model.load_state_dict(state["model"])
    cpu_opt = optim.Adam(cpu_model.parameters(), lr=0.01)
    cpu_opt.load_state_dict(state["optimizer"])
    for (k, a), b in zip(host_state(cpu_model).items(), host_state(model).values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert all(
        type(v) is np.ndarray
        for s in cpu_opt.state.values()
        for v in s.values()
        if isinstance(v, np.ndarray) or getattr(v, "ndim", 0)
    )
    # the read-back model file helper sees the same weights
    weights, rest = io.read_model_file(path)
    assert rest["epoch"] == 1
    for k, v in weights.items():
        np.testing.assert_array_equal(v, host_state(model)[k])


def test_torch_style_state_dict_files_from_the_device(tmp_path, device):
    model = model_on(device, seed=3)
    path = tmp_path / "w.safetensors"
    io.save_state_dict(model, path)
    back = io.read_state_dict(path)
    for k, v in host_state(model).items():
        np.testing.assert_array_equal(back[k], v)
    # and a dict of device arrays loads into a model on either device
    for where in ("cpu", device):
        target = model_on(where, seed=4)
        io.load_torch_state_dict(target, model.state_dict())
        assert target.device == strided.device(where)
        for k, v in host_state(target).items():
            np.testing.assert_array_equal(v, back[k])
