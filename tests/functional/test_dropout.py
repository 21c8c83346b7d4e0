"""Dropout on every device: masks drawn where the tensor lives (no copy from the host),
inverted scaling, the gradient through the same mask, and repeatable per-device streams
of a Generator."""

import numpy as np
import pytest

import strided as st
from simulated_gpu import SimBackend
from strided.backend import Generator, rng_on
from strided.device import CPU, device, to_numpy
from strided.functional.dropout import dropout, dropout1d, dropout2d

pytestmark = pytest.mark.on_devices


def _transfers():
    return SimBackend.to_host_count, SimBackend.to_device_count


def test_dropout_mask_scales_kept_units_and_routes_the_gradient():
    x = st.tensor(np.ones((64, 50)), requires_grad=True)
    gen = Generator(3)
    before = _transfers()
    y = dropout(x, 0.3, generator=gen)
    y.sum().backward()
    assert _transfers() == before  # drawn on the device: nothing crossed
    values = to_numpy(y.data)
    assert set(np.unique(values)) <= {0.0, 1 / 0.7}
    assert abs((values == 0).mean() - 0.3) < 0.03
    np.testing.assert_array_equal(to_numpy(x.grad.data), values)  # ∂y/∂x is the mask
    assert y.device == x.device


def test_channel_dropout_and_the_edges():
    x = st.tensor(np.ones((8, 6, 3, 3), np.float32))
    y = to_numpy(dropout2d(x, 0.5, generator=Generator(0)).data)
    assert y.dtype == np.float32
    per_channel = y.reshape(8, 6, -1)
    assert (per_channel == per_channel[..., :1]).all()  # whole channels kept or dropped
    assert to_numpy(dropout1d(st.tensor(np.ones((4, 5, 7))), 0.5).data).shape == (4, 5, 7)
    np.testing.assert_array_equal(to_numpy(dropout(x, 1.0).data), 0.0)
    assert dropout(x, 0.0) is x and dropout(x, 0.5, training=False) is x


def test_the_same_seed_repeats_the_masks_on_each_device():
    x = st.tensor(np.ones((32, 32)))
    a = to_numpy(dropout(x, 0.5, generator=Generator(7)).data)
    b = to_numpy(dropout(x, 0.5, generator=Generator(7)).data)
    c = to_numpy(dropout(x, 0.5, generator=Generator(8)).data)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    st.manual_seed(11)
    d = to_numpy(dropout(x, 0.5).data)
    st.manual_seed(11)
    np.testing.assert_array_equal(to_numpy(dropout(x, 0.5).data), d)


def test_device_streams_are_seeded_once_from_the_host_stream(default_device):
    gen = Generator(5)
    where = device(default_device)
    assert gen.on(CPU) is gen.rng and rng_on(gen) is gen.rng
    stream = gen.on(where)
    assert gen.on(where) is stream and rng_on(gen, where) is stream
    if where == CPU:
        return
    # device draws do not move the host stream after that first seed
    state = gen.get_state()
    stream.random((3,))
    assert gen.get_state() == state
    # restoring a state (a checkpoint holds the host state only) repeats what follows
    gen.set_state(state)
    assert gen.on(where) is not stream
    first = to_numpy(gen.on(where).random((4,)))
    gen.set_state(state)
    np.testing.assert_array_equal(to_numpy(gen.on(where).random((4,))), first)
    gen.manual_seed(5)
    np.testing.assert_array_equal(
        to_numpy(gen.on(where).random((3,))), to_numpy(Generator(5).on(where).random((3,)))
    )


def test_a_device_mask_differs_from_the_cpu_mask(default_device):
    if default_device == "cpu":
        pytest.skip("compares a device's stream with the CPU's")
    on_device = to_numpy(dropout(st.tensor(np.ones((32, 32))), 0.5, generator=Generator(1)).data)
    on_cpu = dropout(st.tensor(np.ones((32, 32)), device="cpu"), 0.5, generator=Generator(1))
    assert not np.array_equal(on_device, to_numpy(on_cpu.data))
