"""The pieces of data-parallel training that one process can check: the sampler, the
gradient hooks DistributedDataParallel relies on, SyncBatchNorm in a world of one."""

import importlib.util

import numpy as np
import pytest

import strided as st
import strided.nn as nn
from strided.autograd import queue_callback
from strided.data import DataLoader
from strided.data.loader import epoch_order

dist = pytest.importorskip("strided.distributed")
# the sampler and the hooks need no MPI; what calls dist.init() needs mpi4py
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None,
    reason="mpi4py is not installed (pip install 'strided[mpi]')",
)


@pytest.mark.parametrize("n, ranks", [(10, 2), (10, 3), (7, 4), (96, 2), (1, 2)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_covers_every_example_once_per_epoch(n, ranks, drop_last):
    for epoch in (0, 1, 5):
        shares = []
        for r in range(ranks):
            s = dist.DistributedSampler(n, num_replicas=ranks, rank=r, seed=3, drop_last=drop_last)
            s.set_epoch(epoch)
            shares.append(list(s))
            assert len(shares[-1]) == len(s)
        assert len({len(sh) for sh in shares}) == 1  # equal shares: equal steps per rank
        seen = [i for sh in shares for i in sh]
        if drop_last:
            assert len(seen) == len(set(seen)) == n - n % ranks
        else:
            assert set(seen) == set(range(n))
            assert len(seen) == -(-n // ranks) * ranks  # padded by repeats only


def test_sampler_without_padding_counts_each_example_once():
    shares = [list(dist.DistributedSampler(10, 3, r, shuffle=False, pad=False)) for r in range(3)]
    assert sorted(i for sh in shares for i in sh) == list(range(10))
    assert [len(sh) for sh in shares] == [4, 3, 3]


def test_ranks_batches_together_are_the_single_process_batch():
    n, ranks, batch = 40, 2, 4
    x = np.arange(n, dtype=np.float32)[:, None]
    single = DataLoader(x, batch_size=ranks * batch, shuffle=True, seed=9)
    single.set_epoch(2)
    loaders = [
        DataLoader(x, batch_size=batch, sampler=dist.DistributedSampler(n, ranks, r, seed=9))
        for r in range(ranks)
    ]
    for loader in loaders:
        loader.set_epoch(2)
    for whole, *parts in zip(single, *loaders, strict=True):
        assert sorted(whole[0].ravel()) == sorted(np.concatenate([p[0] for p in parts]).ravel())
    firsts = []
    for loader in loaders:
        loader.set_epoch(2)
        firsts.append(next(iter(loader))[0].ravel())
    # dealt round-robin: rank r holds positions r, r + R, ... of the epoch's permutation
    assert np.array_equal(epoch_order(n, 9, 2)[:8], np.stack(firsts, 1).ravel())


def test_sampler_and_loader_errors():
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\)"):
        dist.DistributedSampler(10, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="shuffle must be False with a sampler"):
        DataLoader(
            np.zeros((4, 1)), batch_size=2, shuffle=True, sampler=dist.DistributedSampler(4, 1, 0)
        )


def test_post_accumulate_hook_fires_once_with_the_final_gradient():
    w = st.randn(3, requires_grad=True)
    b = st.randn(3, requires_grad=True)
    events = []
    w.register_post_accumulate_grad_hook(lambda t: events.append(("w", t.grad.numpy().copy())))
    handle = b.register_post_accumulate_grad_hook(
        lambda t: (events.append(("b", None)), queue_callback(lambda: events.append("end")))
    )
    ((w * 2 + b).sum() + (w * w).sum()).backward()
    assert [e if isinstance(e, str) else e[0] for e in events] == ["b", "w", "end"]
    np.testing.assert_allclose(events[1][1], 2 + 2 * w.numpy(), rtol=1e-6)
    handle.remove()
    events.clear()
    (b * 3).sum().backward()
    assert events == []
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        queue_callback(lambda: None)


@needs_mpi
def test_sync_batchnorm_alone_is_batchnorm():
    dist.init()
    st.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((6, 3, 4, 4))
    plain = nn.BatchNorm2d(3, dtype=np.float64)
    plain.weight.data[:] = [0.5, 1.5, 2.0]
    sync = dist.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(plain))[0]
    assert isinstance(sync, dist.SyncBatchNorm)
    reference = nn.BatchNorm2d(3, dtype=np.float64)
    reference.load_state_dict(sync.state_dict())
    xa, xb = st.tensor(x, requires_grad=True), st.tensor(x, requires_grad=True)
    ya, yb = sync(xa), reference(xb)
    np.testing.assert_allclose(ya.numpy(), yb.numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(ya.shape)
    ya.backward(g)
    yb.backward(g)
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sync.weight.grad.numpy(), reference.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(sync.running_var.numpy(), reference.running_var.numpy(), rtol=1e-12)


@needs_mpi
def test_sync_batchnorm_gradcheck():
    dist.init()
    layer = dist.SyncBatchNorm(2, dtype=np.float64)
    layer.weight.data[:] = [0.7, 1.3]
    x = st.tensor(np.random.default_rng(2).standard_normal((3, 2, 5)), requires_grad=True)
    assert st.gradcheck(lambda t: layer(t), (x,))


@needs_mpi
def test_ddp_in_a_world_of_one_keeps_gradients():
    dist.init()
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    ddp = dist.DistributedDataParallel(model)
    x = st.randn(5, 4)
    ddp(x).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    model(x).sum().backward()
    for g, p in zip(grads, model.parameters(), strict=True):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-6)
    assert set(ddp.state_dict()) == set(model.state_dict())
    with pytest.raises(TypeError, match="must be a strided Module"):
        dist.DistributedDataParallel(lambda x: x)


@needs_mpi
def test_metrics_of_one_rank_are_kept():
    dist.init()
    out = dist.mean_over_ranks(
        {"loss": 0.5, "accuracy": 0.25, "seconds": 2.0, "images_per_s": 100.0}, 10
    )
    assert out == {"loss": 0.5, "accuracy": 0.25, "seconds": 2.0, "images_per_s": 100.0}
