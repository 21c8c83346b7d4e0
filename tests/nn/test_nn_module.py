"""Module: registration, traversal, modes, state_dict round trips and errors, to(dtype),
repr, hooks, containers."""

from collections import OrderedDict

import numpy as np
import pytest

import strided.nn as nn
from strided import Tensor, no_grad
from strided.nn import Parameter


class Scale(nn.Module):
    """y = x·w + b elementwise (only arithmetic ops), with a buffer and a non-persistent one."""

    def __init__(self, n):
        super().__init__()
        self.w = Parameter(np.arange(1, n + 1, dtype=np.float32))
        self.b = Parameter(np.zeros(n, np.float32))
        self.register_buffer("count", np.zeros((), np.int64))
        self.register_buffer("cache", np.zeros(n, np.float32), persistent=False)

    def forward(self, x):
        return x * self.w + self.b

    def extra_repr(self):
        return f"n={self.w.shape[0]}"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Scale(3)
        self.body = nn.Sequential(Scale(3), nn.BatchNorm1d(3), Scale(3))
        self.head = nn.ModuleDict({"a": Scale(3)})
        self.plain = 5

    def forward(self, x):
        return self.head["a"](self.body(self.first(x)))


def test_registration_and_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == [
        "first.w",
        "first.b",
        "body.0.w",
        "body.0.b",
        "body.1.weight",
        "body.1.bias",
        "body.2.w",
        "body.2.b",
        "head.a.w",
        "head.a.b",
    ]
    assert [n for n, _ in net.named_buffers()] == [
        "first.count",
        "first.cache",
        "body.0.count",
        "body.0.cache",
        "body.1.running_mean",
        "body.1.running_var",
        "body.1.num_batches_tracked",
        "body.2.count",
        "body.2.cache",
        "head.a.count",
        "head.a.cache",
    ]
    assert [n for n, _ in net.named_children()] == ["first", "body", "head"]
    assert [n for n, _ in net.named_modules()][:4] == ["", "first", "body", "body.0"]
    assert len(list(net.modules())) == 8
    assert net.plain == 5 and "plain" not in net._modules
    assert net.num_parameters() == 5 * 6
    assert net.get_parameter("body.1.weight") is net.body[1].weight
    assert net.get_submodule("head.a") is net.head["a"]


def test_shared_parameters_counted_once_and_reassignment():
    m = nn.Module()
    s = Scale(2)
    m.a, m.b = s, s
    assert len(list(m.parameters())) == 2 and m.num_parameters() == 4
    m.a = None
    assert list(m.named_children()) == [("b", s)]
    with pytest.raises(TypeError, match="Parameter or None expected"):
        s.w = Tensor(np.zeros(2, np.float32))
    s.w = None
    assert [n for n, _ in s.named_parameters()] == ["b"]
    del m.b
    assert list(m.children()) == []


def test_assignment_before_init_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1, np.float32))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Bad()


def test_train_eval_propagate():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("yes")


def test_zero_grad_and_requires_grad():
    s = Scale(3)
    (s(Tensor(np.ones(3, np.float32))) * 2).backward(np.ones(3, np.float32))
    assert s.w.grad is not None
    s.zero_grad(set_to_none=False)
    assert np.all(s.w.grad.data == 0)
    s.zero_grad()
    assert s.w.grad is None
    s.requires_grad_(False)
    assert not any(p.requires_grad for p in s.parameters())
    assert s.num_parameters(trainable_only=True) == 0


def test_state_dict_round_trip_bit_for_bit():
    rng = np.random.default_rng(0)
    a, b = Net(), Net()
    for p in a.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    a(x)  # training forward: running stats move
    a.eval()
    sd = a.state_dict()
    assert "first.cache" not in sd and "body.1.num_batches_tracked" in sd
    assert list(sd)[:3] == ["first.w", "first.b", "first.count"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["first.w"][0] = 123  # a copy: the model is untouched
    assert a.first.w.data[0] != 123
    sd = a.state_dict()
    b.load_state_dict(sd)
    b.eval()
    with no_grad():
        np.testing.assert_array_equal(a(x).data, b(x).data)
    assert b.body[1].num_batches_tracked.data == 1


def test_load_state_dict_lists_every_problem():
    net = Net()
    sd = net.state_dict()
    del sd["first.w"], sd["head.a.b"]
    sd["extra.weight"] = np.zeros(2)
    sd["body.0.w"] = np.zeros(4)
    before = net.body[2].w.data.copy()
    sd["body.2.w"] = before + 1
    with pytest.raises(ValueError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    for key in ("first.w", "head.a.b", "extra.weight", "body.0.w", "(4,)", "(3,)"):
        assert key in msg
    assert "2 missing, 1 unexpected, 1 mis-shaped" in msg
    np.testing.assert_array_equal(net.body[2].w.data, before)  # nothing was loaded
    del sd["body.0.w"]
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["first.w", "body.0.w", "head.a.b"] and unexpected == ["extra.weight"]
    np.testing.assert_array_equal(net.body[2].w.data, before + 1)
    with pytest.raises(TypeError):
        net.load_state_dict([1, 2])


def test_to_dtype_keeps_parameter_identity():
    net = Net()
    w = net.first.w
    net.double()
    assert net.first.w is w and w.dtype == np.float64
    assert net.body[1].running_mean.dtype == np.float64
    assert net.body[1].num_batches_tracked.dtype == np.int64  # integer buffers untouched
    net.to(np.float32)
    assert w.dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        net.to(np.int32)


def test_apply_visits_children_first():
    order = []
    Net().apply(lambda m: order.append(type(m).__name__))
    assert order[-1] == "Net" and order.index("BatchNorm1d") < order.index("Sequential")


def test_repr_nested_like_torch():
    seq = nn.Sequential(Scale(2), nn.Sequential(nn.Identity(), Scale(4)))
    assert repr(seq) == (
        "Sequential(\n"
        "  (0): Scale(n=2)\n"
        "  (1): Sequential(\n"
        "    (0): Identity()\n"
        "    (1): Scale(n=4)\n"
        "  )\n"
        ")"
    )
    assert "Parameter containing" in repr(Parameter(np.zeros(2, np.float32)))


def test_forward_hooks():
    s = Scale(2)
    seen = []
    h = s.register_forward_hook(lambda m, i, o: seen.append(o))
    out = s(Tensor(np.ones(2, np.float32)))
    assert seen == [out]
    h.remove()
    s(Tensor(np.ones(2, np.float32)))
    assert len(seen) == 1
    s.register_forward_pre_hook(lambda m, i: (i[0] * 0,))
    np.testing.assert_array_equal(s(Tensor(np.ones(2, np.float32))).data, [0, 0])


def test_sequential_indexing_and_mutation():
    a, b, c = Scale(1), Scale(1), Scale(1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    del seq[0]
    assert [n for n, _ in seq.named_children()] == ["0", "1"] and seq[0] is b
    seq.append(a).insert(0, c)
    assert list(seq) == [c, b, c, a]  # names stay 0..n−1
    assert [n for n, _ in seq._modules.items()] == ["0", "1", "2", "3"]
    named = nn.Sequential(OrderedDict([("conv", a), ("act", nn.Identity())]))
    assert named.conv is a and "conv.w" in named.state_dict()
    with pytest.raises(IndexError):
        seq[10]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(a, 3)
    x = Tensor(np.full(1, 2.0, np.float32))
    np.testing.assert_array_equal(nn.Sequential(Scale(1), Scale(1))(x).data, [2.0])


def test_module_list_and_dict():
    ml = nn.ModuleList([Scale(1), Scale(2)])
    ml.append(Scale(3))
    assert len(ml) == 3 and ml[-1].w.shape == (3,)
    assert [n for n, _ in ml.named_parameters()][-1] == "2.b"
    del ml[0]
    assert [m.w.shape[0] for m in ml] == [2, 3] and "0.w" in ml.state_dict()
    md = nn.ModuleDict({"x": Scale(1)})
    md["y"] = Scale(2)
    assert list(md.keys()) == ["x", "y"] and "y" in md and len(md) == 2
    assert md.pop("x").w.shape == (1,) and list(md) == ["y"]


def test_flatten_unflatten_identity():
    pytest.importorskip("strided.functional.shape")
    x = Tensor(np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 4, 5))(nn.Flatten()(x)).shape == (2, 3, 4, 5)
    assert nn.Unflatten(1, (3, -1))(nn.Flatten()(x)).shape == (2, 3, 20)
    with pytest.raises(ValueError, match="not 7·9"):
        nn.Unflatten(1, (7, 9))(nn.Flatten()(x))
    assert nn.Identity(3, foo=1)(x) is x
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
