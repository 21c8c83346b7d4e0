"""The core ops on every device: where their results live, what they refuse to mix, and
that a step of them copies nothing between host and device."""

import contextlib

import numpy as np
import pytest

import simulated_gpu
import strided as st
from strided import functional as F

pytestmark = pytest.mark.on_devices


def t(*shape, seed=0, grad=False):
    rng = np.random.default_rng(seed)
    return st.tensor(rng.standard_normal(shape), dtype=np.float32, requires_grad=grad)


@contextlib.contextmanager
def no_transfers(default_device):
    """On the simulated GPU: the block copies nothing between host and device."""
    sim = simulated_gpu.SimBackend
    before = (sim.to_host_count, sim.to_device_count)
    yield
    if default_device == "sim":
        assert (sim.to_host_count, sim.to_device_count) == before, "a host-device copy"


def test_results_live_on_the_inputs_device(default_device):
    x = t(4, 5)
    here = x.device
    assert here.type == default_device
    idx = st.tensor([2, 0, 3])
    results = {
        "argmax": x.argmax(dim=1),
        "argmin": x.argmin(),
        "comparison": x > 0,
        "eq": x == x,
        "any": (x > 0).any(dim=0),
        "all": (x > 0).all(),
        "sign": x.sign(),
        "sort.indices": x.sort(dim=1).indices,
        "argsort": x.argsort(dim=0, descending=True),
        "topk.indices": x.topk(2, dim=1).indices,
        "max.indices": x.max(dim=0).indices,
        "min.values": x.min(1, keepdim=True).values,
        "long": x.long(),
        "where": F.where(x > 0, x, 0.0),
        "where_numbers": F.where(x > 0, 1.0, 0.0),
        "getitem_tensor": x[idx],
        "getitem_list": x[[1, 1, 3], [0, 4, 2]],
        "getitem_mask": x[x > 0],
        "cat": F.cat([x, x], dim=0),
        "stack": F.stack([x, x]),
        "split": F.split(x, 2, dim=1)[1],
        "embedding": F.embedding(idx, x),
        "clip": x.clip(-0.5, 0.5),
        "mean_of_ints": st.tensor([[1, 2], [3, 5]]).mean(),
        "int_div": st.tensor([1, 2]) / st.tensor([2, 4]),
    }
    wrong = {name: str(r.device) for name, r in results.items() if r.device != here}
    assert not wrong, f"results not on {here}: {wrong}"
    assert results["argmax"].dtype == np.int64 and results["sort.indices"].dtype == np.int64
    assert results["comparison"].dtype == np.bool_
    np.testing.assert_array_equal(
        results["argmax"].cpu().numpy(), np.argmax(x.cpu().numpy(), axis=1)
    )
    np.testing.assert_array_equal(
        results["getitem_list"].cpu().numpy(), x.cpu().numpy()[[1, 1, 3], [0, 4, 2]]
    )


def test_scalar_operands_stay_numbers(default_device):
    x = t(3, grad=True)
    with no_transfers(default_device):
        ys = [x * 2, 2 - x, x + np.float32(1), x / 3.0, 2.0**x, x**2, -x, x - np.float64(0.5)]
        ys += [F.maximum(x, 0.0), x.clip(min=-1.0), F.where(x > 0, x, 0.0), x < 1, 1 > x]
        ys += [F.where(x > 0, 1.0, 0.0), F.where(x > 0, 2, -1)]
        loss = ys[0].sum()
        for y in ys[1:9]:
            loss = loss + y.sum()
        loss.backward()
    for y in ys:
        assert y.device == x.device
        assert y.dtype in (np.float32, np.bool_, np.int64), y
    assert ys[-1].dtype == np.int64 and ys[-2].dtype == np.float32  # the first value's dtype
    h = x.detach().cpu().numpy()
    # d/dx of 2x, 2 − x, x + 1, x/3, 2^x, x², −x, x − ½, max(x, 0), summed
    want = 2 - 1 + 1 + 1 / 3 + np.log(2) * 2.0**h + 2 * h - 1 + 1 + (h > 0)
    np.testing.assert_allclose(x.grad.cpu().numpy(), want, rtol=1e-6)


def test_a_step_of_core_ops_copies_nothing(default_device):
    w = t(5, 3, seed=1, grad=True)
    x = t(8, 5, seed=2)
    labels = st.tensor(np.array([0, 2, 1, 1, 0, 2, 2, 1]))
    rows = st.arange(8)
    with no_transfers(default_device):
        h = F.maximum(x @ w, 0.0)
        z = h - F.logsumexp(h, dim=1, keepdim=True)
        picked = z[rows, labels]
        loss = -picked.mean() + 0.1 * (w * w).sum() + F.cat([h, z], 1).var()
        top = z.topk(2, dim=1).values.sum() + z.max(dim=1).values.sum()
        (loss + 0.01 * top).backward()
        correct = (z.argmax(dim=1) == labels).sum()
    assert w.grad.shape == (5, 3) and w.grad.device == w.device
    assert 0 <= correct.item() <= 8  # reading the result is the one copy, and an explicit one


def test_mixing_devices_names_the_op_and_both_devices(default_device):
    x = t(3)
    if default_device == "cpu":
        pytest.skip("the CPU is the only device here: nothing to mix")
    c = x.cpu()
    here = str(x.device)
    cases = {
        "Add": lambda: x + c,
        "Mul": lambda: c * x,
        "MatMul": lambda: x @ c,
        "lt": lambda: x < c,
        "Cat": lambda: F.cat([x, c]),
        "Where": lambda: F.where(x > 0, x, c),
        "add_": lambda: x.add_(c),
        "getitem": lambda: c[st.tensor([0, 1])],
        "embedding": lambda: F.embedding(st.tensor([0, 1]), st.ones(3, 2, device="cpu")),
    }
    for op, call in cases.items():
        with pytest.raises(
            RuntimeError, match=rf"{op}: .*devices, ({here} and cpu|cpu and {here})"
        ):
            call()
    with pytest.raises(RuntimeError, match=r"two devices"):
        x + np.ones(3, np.float32)  # a NumPy array is host data
    assert (x + 1).device == x.device and (x * np.float32(2)).device == x.device


def test_index_arrays_go_to_the_data(default_device):
    x = t(4, 3)
    host = np.array([3, 0])
    np.testing.assert_array_equal(x[host].cpu().numpy(), x.cpu().numpy()[host])
    cpu_index = st.tensor([3, 0], device="cpu")
    np.testing.assert_array_equal(x[cpu_index].cpu().numpy(), x.cpu().numpy()[host])
    device_index = st.tensor([3, 0])
    with no_transfers(default_device):
        y = x[device_index]
        m = x[x > 0]
    assert y.device == x.device and m.device == x.device
    with no_grad_writes():
        x[[0, 2]] = 0.0
        x[st.tensor([1])] = st.tensor([[7.0, 8.0, 9.0]])
        x[x > 8.5] = -1.0
    got = x.cpu().numpy()
    np.testing.assert_array_equal(got[0], 0)
    np.testing.assert_array_equal(got[2], 0)
    np.testing.assert_array_equal(got[1], [7, 8, -1])


@contextlib.contextmanager
def no_grad_writes():
    with st.no_grad():
        yield


def test_copy_between_devices_item_and_tolist(default_device):
    x = t(2, 2)
    c = st.zeros(2, 2, device="cpu")
    c.copy_(x)  # copy_ is the one op that crosses devices, as in PyTorch
    np.testing.assert_array_equal(c.numpy(), x.cpu().numpy())
    x.copy_(c * 2)
    np.testing.assert_array_equal(x.cpu().numpy(), c.numpy() * 2)
    assert isinstance(x.sum().item(), float) and isinstance(x.argmax().item(), int)
    assert x.tolist() == (c.numpy() * 2).tolist()
    assert float(x[0, 0]) == float(c.numpy()[0, 0] * 2)


def test_cpu_tensors_stay_on_the_cpu_whatever_the_default(default_device):
    c = st.tensor([1.0, -2.0, 3.0], device="cpu", requires_grad=True)
    outs = [c + 1, c.sum(), c > 0, c.argmax(), c.detach(), c.sort().indices, c[[0, 2]]]
    outs += [
        F.where(c > 0, c, 0.0),
        c.long(),
        F.embedding(np.array([0, 1]), st.ones(2, 2, device="cpu")),
    ]
    assert all(o.device == st.device("cpu") for o in outs), [str(o.device) for o in outs]
    (c * c).sum().backward()
    assert c.grad.device == st.device("cpu")
    np.testing.assert_array_equal(c.grad.numpy(), [2, -4, 6])


# Every core op on (x, y, i), x and y (4, 6) float32, i an int64 index: the values and the
# gradients on the device must equal the CPU's to float32 precision.
OPS = {
    "add": lambda x, y, i: x + y,
    "sub_scalar": lambda x, y, i: 1.5 - x,
    "mul": lambda x, y, i: x * y,
    "div": lambda x, y, i: x / (y * y + 1),
    "pow": lambda x, y, i: (x * x + 1) ** 1.5,
    "exp_log_sqrt": lambda x, y, i: F.exp(x) + F.log(y * y + 1) + F.sqrt(x * x + 2),
    "abs_sin_cos": lambda x, y, i: F.abs(x) * F.sin(y) + F.cos(x),
    "clip": lambda x, y, i: x.clip(-0.3, 0.4),
    "maximum": lambda x, y, i: F.maximum(x, y) - F.minimum(x, 0.1),
    "where": lambda x, y, i: F.where(x > y, x, y * 2),
    "sum_mean": lambda x, y, i: x.sum(0) + y.mean(dim=0, keepdim=True),
    "var_std": lambda x, y, i: x.var(1) + y.std(0).sum(),
    "amax_min": lambda x, y, i: x.amax(1) + y.min(),
    "max_dim": lambda x, y, i: x.max(dim=1).values * 2,
    "logsumexp": lambda x, y, i: F.logsumexp(x, dim=1),
    "sort": lambda x, y, i: x.sort(dim=1, descending=True).values,
    "topk": lambda x, y, i: y.topk(2, dim=0).values,
    "reshape_permute": lambda x, y, i: x.reshape(2, 3, 4).permute(2, 0, 1).flatten(1),
    "transpose_expand": lambda x, y, i: x.T.unsqueeze(0).expand(2, -1, -1) * 1.0,
    "cat_stack": lambda x, y, i: F.cat([x, y], 1) * F.stack([x, y], 2).sum(2).mean(),
    "split": lambda x, y, i: F.split(x, [1, 5], dim=1)[1] * 3,
    "getitem": lambda x, y, i: x[1:, ::2].sum() + x[i, 1:3].sum(0) + x[x > 0].sum(),
    "matmul": lambda x, y, i: x @ y.T,
    "linear": lambda x, y, i: F.linear(x, y, y[:, 0]),
    "embedding": lambda x, y, i: F.embedding(i, x),
    "pixel_shuffle": lambda x, y, i: F.pixel_shuffle(x.reshape(1, 4, 3, 2), 2),
}


@pytest.mark.parametrize("name", OPS)
def test_every_core_op_matches_the_cpu_in_float32(name, default_device):
    if default_device == "cpu":
        pytest.skip("compares a device with the CPU")
    rng = np.random.default_rng(len(name))
    arrays = [rng.standard_normal((4, 6)).astype(np.float32) for _ in range(2)]
    index = np.array([[3, 0], [1, 3]])
    results = []
    for where in ("cpu", default_device):
        x, y = (st.tensor(a, device=where, requires_grad=True) for a in arrays)
        out = OPS[name](x, y, st.tensor(index, device=where))
        assert out.device == x.device, f"{name} left {where}"
        seed = np.random.default_rng(1).standard_normal(out.shape)  # the same on both
        out.backward(st.tensor(seed, dtype=np.float32, device=where))
        results.append([out, x.grad, y.grad])
    for k, (on_cpu, on_device) in enumerate(zip(*results, strict=True)):
        if on_cpu is None:
            assert on_device is None, f"{name}: a gradient only on the device"
            continue
        np.testing.assert_allclose(
            on_device.cpu().numpy(), on_cpu.numpy(), rtol=2e-5, atol=1e-5, err_msg=f"{name} {k}"
        )
