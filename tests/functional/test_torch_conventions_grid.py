"""Every functional op against PyTorch over a generated grid of calls PyTorch accepts:
batched and unbatched inputs, empty batches, 1-tuples, every mode and flag — the forward
values, the integer outputs (indices) and the gradient of every floating input.

A call PyTorch refuses is skipped (the grid is generated, not hand-picked); a call PyTorch
accepts must give the same results here. Each test gathers all mismatching calls and
reports them together.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import strided.functional as F
from strided import Tensor
from strided.device import to_numpy

torch = pytest.importorskip("torch")
TF = torch.nn.functional
pytestmark = [pytest.mark.parity, pytest.mark.on_devices]


def _to_torch(a):
    if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
        return torch.tensor(a, requires_grad=True)
    if isinstance(a, np.ndarray):
        return torch.tensor(a)
    return a


def _to_strided(a):
    if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
        return Tensor(a.copy(), requires_grad=True)
    if isinstance(a, np.ndarray):
        return Tensor(a)
    return a


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def compare(s_fn, t_fn, arrays, seed=0, rtol=1e-7, atol=1e-9):
    """None if strided matches torch (or torch refuses the call), else a description.

    `arrays` are the positional array arguments (float arrays get gradients); the functions
    take them in order."""
    t_in = [_to_torch(a) for a in arrays]
    try:
        t_out = _outputs(t_fn(*t_in))
    except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError):
        return None  # not a call PyTorch accepts
    s_in = [_to_strided(a) for a in arrays]
    try:
        s_out = _outputs(s_fn(*s_in))
    except Exception as e:  # noqa: BLE001 - any refusal or crash is a mismatch
        return f"refused: {type(e).__name__}: {e}"
    if len(s_out) != len(t_out):
        return f"{len(s_out)} outputs, torch {len(t_out)}"
    for k, (s, t) in enumerate(zip(s_out, t_out, strict=True)):
        tv, sv = t.detach().numpy(), to_numpy(s.data)
        if tv.dtype == np.float32:
            rtol, atol = 1e-5, 1e-6
        if tuple(s.shape) != tuple(tv.shape):
            return f"output {k}: shape {tuple(s.shape)}, torch {tuple(tv.shape)}"
        if np.issubdtype(tv.dtype, np.floating):
            if not np.allclose(sv, tv, rtol=rtol, atol=atol, equal_nan=True):
                return f"output {k}: values differ by {np.nanmax(np.abs(sv - tv)):.3g}"
        elif not np.array_equal(sv, tv):
            return f"output {k}: integer outputs differ"
    # the gradient of every floating input, through a random weighting of output 0
    t0 = t_out[0]
    if not (t0.requires_grad and t0.numel()):
        return None
    g = np.random.default_rng(seed).standard_normal(tuple(t0.shape))
    t0.backward(torch.tensor(g))
    s_out[0].backward(Tensor(g))
    for k, (s, t) in enumerate(zip(s_in, t_in, strict=True)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            tg = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            sg = np.zeros(t.shape) if s.grad is None else to_numpy(s.grad.data)
            if not np.allclose(sg, tg, rtol=rtol, atol=atol * (1 + np.abs(tg).max())):
                return f"gradient of input {k} differs by {np.abs(sg - tg).max():.3g}"
    return None


def run_grid(cases):
    """cases: (label, s_fn, t_fn, arrays). Asserts none mismatches; returns how many ran."""
    bad = []
    for label, s_fn, t_fn, arrays in cases:
        err = compare(s_fn, t_fn, arrays)
        if err:
            bad.append(f"{label}: {err}")
    assert not bad, f"{len(bad)} of {len(cases)} calls differ:\n" + "\n".join(bad[:25])
    return len(cases)


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


# --------------------------------------------------------------------------------------
# convolutions
# --------------------------------------------------------------------------------------


def _conv_cases(nd):
    s_op, t_op = {1: (F.conv1d, TF.conv1d), 2: (F.conv2d, TF.conv2d), 3: (F.conv3d, TF.conv3d)}[nd]
    size = {1: 9, 2: 7, 3: 5}[nd]
    cases = []
    grid = itertools.product(
        ("batched", "unbatched", "empty"),
        (1, 2),
        (0, 1, (1,), "same", "valid"),
        (1, 2),
        (1, 2),
        (True, False),
    )
    for batch, stride, padding, dilation, groups, bias in grid:
        if nd == 3 and (dilation, groups) not in ((1, 1), (2, 2)):
            continue  # keep the 3-D grid small
        lead = {"batched": (2,), "unbatched": (), "empty": (0,)}[batch]
        x = rand(*lead, 4, *(size,) * nd)
        w = rand(6, 4 // groups, *(3,) * nd, seed=1)
        arrays = [x, w] + ([rand(6, seed=2)] if bias else [])
        kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        label = f"conv{nd}d {batch} {kw} bias={bias}"
        cases.append(
            (label, lambda *a, kw=kw: s_op(*a, **kw), lambda *a, kw=kw: t_op(*a, **kw), arrays)
        )
    return cases


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_grid(nd):
    assert run_grid(_conv_cases(nd)) > 50


@pytest.mark.parametrize("nd", [1, 2])
def test_conv_padding_modes_grid(nd):
    s_op, t_mod = {1: (F.conv1d, torch.nn.Conv1d), 2: (F.conv2d, torch.nn.Conv2d)}[nd]
    cases = []
    for mode, padding, batch in itertools.product(
        ("zeros", "reflect", "replicate", "circular"), (1, 2, "same"), ("batched", "unbatched")
    ):
        x = rand(*((2,) if batch == "batched" else ()), 3, *(6,) * nd)
        w, b = rand(4, 3, *(3,) * nd, seed=1), rand(4, seed=2)

        def t_fn(x, w, b, mode=mode, padding=padding):
            m = t_mod(3, 4, 3, padding=padding, padding_mode=mode).double()
            return m._conv_forward(x, w, b)

        cases.append(
            (
                f"conv{nd}d padding_mode={mode} padding={padding} {batch}",
                lambda x, w, b, mode=mode, padding=padding: s_op(
                    x, w, b, padding=padding, padding_mode=mode
                ),
                t_fn,
                [x, w, b],
            )
        )
    run_grid(cases)


@pytest.mark.parametrize("nd", [1, 2])
def test_conv_transpose_grid(nd):
    s_op, t_op = {
        1: (F.conv_transpose1d, TF.conv_transpose1d),
        2: (F.conv_transpose2d, TF.conv_transpose2d),
    }[nd]
    cases = []
    for batch, stride, padding, out_pad, dilation, groups in itertools.product(
        ("batched", "unbatched", "empty"), (1, 2, 3), (0, 1, (1,)), (0, 1, 2), (1, 2), (1, 2)
    ):
        if batch == "empty" and out_pad >= max(stride, dilation):
            continue  # PyTorch skips its output_padding check for an empty batch
        lead = {"batched": (2,), "unbatched": (), "empty": (0,)}[batch]
        x = rand(*lead, 4, *(4,) * nd)
        w, b = rand(4, 6 // groups, *(3,) * nd, seed=1), rand(6, seed=2)
        kw = dict(
            stride=stride, padding=padding, output_padding=out_pad, groups=groups, dilation=dilation
        )
        cases.append(
            (
                f"conv_transpose{nd}d {batch} {kw}",
                lambda *a, kw=kw: s_op(*a, **kw),
                lambda *a, kw=kw: t_op(*a, **kw),
                [x, w, b],
            )
        )
    assert run_grid(cases) > 100


def test_conv_transpose2d_output_padding_beyond_stride_backward():
    """The reported crash: stride 1, dilation 2, output_padding 1 (PyTorch allows
    output_padding < max(stride, dilation))."""
    x, w = rand(2, 2, 4, 4), rand(2, 2, 3, 3, seed=1)
    assert (
        compare(
            lambda x, w: F.conv_transpose2d(x, w, dilation=2, output_padding=1),
            lambda x, w: TF.conv_transpose2d(x, w, dilation=2, output_padding=1),
            [x, w],
        )
        is None
    )


# --------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_grid(nd):
    s_op = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
    t_op = {1: TF.max_pool1d, 2: TF.max_pool2d, 3: TF.max_pool3d}[nd]
    size = {1: 9, 2: 7, 3: 6}[nd]
    cases = []
    for batch, kernel, stride, padding, dilation, ceil, ret in itertools.product(
        ("batched", "unbatched", "empty"),
        (2, 3, (2,)),
        (None, 1, 2),
        (0, 1),
        (1, 2),
        (False, True),
        (False, True),
    ):
        if nd == 3 and (stride == 1 or dilation == 2 and ceil):
            continue
        lead = {"batched": (2,), "unbatched": (), "empty": (0,)}[batch]
        x = rand(*lead, 3, *(size,) * nd)
        kw = dict(
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil,
            return_indices=ret,
        )
        cases.append(
            (
                f"max_pool{nd}d {batch} {kw}",
                lambda x, kw=kw: s_op(x, **kw),
                lambda x, kw=kw: t_op(x, **kw),
                [x],
            )
        )
    assert run_grid(cases) > 100


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_grid(nd):
    s_op = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[nd]
    t_op = {1: TF.avg_pool1d, 2: TF.avg_pool2d, 3: TF.avg_pool3d}[nd]
    size = {1: 9, 2: 7, 3: 6}[nd]
    cases = []
    for batch, kernel, stride, padding, ceil, include, divisor in itertools.product(
        ("batched", "unbatched", "empty"),
        (2, 3, (3,)),
        (None, 1, 2),
        (0, 1),
        (False, True),
        (False, True),
        (None, 5),
    ):
        if nd == 1 and divisor is not None:
            continue  # avg_pool1d has no divisor_override
        lead = {"batched": (2,), "unbatched": (), "empty": (0,)}[batch]
        x = rand(*lead, 3, *(size,) * nd)
        kw = dict(
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            ceil_mode=ceil,
            count_include_pad=include,
        )
        if divisor is not None:
            kw["divisor_override"] = divisor
        cases.append(
            (
                f"avg_pool{nd}d {batch} {kw}",
                lambda x, kw=kw: s_op(x, **kw),
                lambda x, kw=kw: t_op(x, **kw),
                [x],
            )
        )
    assert run_grid(cases) > 100


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("nd", [1, 2])
def test_adaptive_pool_grid(kind, nd):
    s_op = getattr(F, f"adaptive_{kind}_pool{nd}d")
    t_op = getattr(TF, f"adaptive_{kind}_pool{nd}d")
    sizes = (1, 3, 4, 7) + (((2, None), (None, 3), (5, 2)) if nd == 2 else ())
    cases = []
    for batch, out, ret in itertools.product(
        ("batched", "unbatched"), sizes, (False, True) if kind == "max" else (False,)
    ):
        x = rand(*((2,) if batch == "batched" else ()), 3, *(7, 5)[:nd])
        kw = dict(output_size=out) | (dict(return_indices=ret) if kind == "max" else {})
        cases.append(
            (
                f"adaptive_{kind}_pool{nd}d {batch} {kw}",
                lambda x, kw=kw: s_op(x, **kw),
                lambda x, kw=kw: t_op(x, **kw),
                [x],
            )
        )
    run_grid(cases)


@pytest.mark.parametrize("nd", [1, 2])
def test_max_unpool_unbatched(nd):
    s_pool, s_unpool = getattr(F, f"max_pool{nd}d"), getattr(F, f"max_unpool{nd}d")
    t_pool, t_unpool = getattr(TF, f"max_pool{nd}d"), getattr(TF, f"max_unpool{nd}d")

    def s_fn(x):
        v, i = s_pool(x, 2, return_indices=True)
        return s_unpool(v, i, 2)

    def t_fn(x):
        v, i = t_pool(x, 2, return_indices=True)
        return t_unpool(v, i, 2)

    run_grid(
        [
            (f"max_unpool{nd}d {b}", s_fn, t_fn, [rand(*lead, 3, *(6,) * nd)])
            for b, lead in (("batched", (2,)), ("unbatched", ()))
        ]
    )


# --------------------------------------------------------------------------------------
# resizing, padding, folding, shuffling
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_interpolate_grid(nd):
    modes = {
        1: ("nearest", "nearest-exact", "linear", "area"),
        2: ("nearest", "nearest-exact", "bilinear", "bicubic", "area"),
        3: ("nearest", "nearest-exact", "trilinear", "area"),
    }[nd]
    sizes = [
        dict(size=7),
        dict(size=3),
        dict(size=(4,) * nd),
        dict(scale_factor=2),
        dict(scale_factor=1.7),
        dict(scale_factor=0.6),
        dict(scale_factor=1.7, recompute_scale_factor=True),
    ]
    cases = []
    for mode, kw in itertools.product(modes, sizes):
        for ac in (
            (None, False, True)
            if mode in ("linear", "bilinear", "bicubic", "trilinear")
            else (None,)
        ):
            k = dict(kw, mode=mode, align_corners=ac)
            cases.append(
                (
                    f"interpolate {nd}-D {k}",
                    lambda x, k=k: F.interpolate(x, **k),
                    lambda x, k=k: TF.interpolate(x, **k),
                    [rand(2, 3, *(5,) * nd)],
                )
            )
    assert run_grid(cases) > 20


def test_interpolate_refuses_align_corners_for_nearest():
    with pytest.raises(ValueError, match="align_corners applies only"):
        F.interpolate(Tensor(rand(1, 2, 5)), scale_factor=2, align_corners=False)


def test_pad_grid_negative_widths_in_every_mode():
    cases = []
    for mode, lo, hi, n in itertools.product(
        ("constant", "reflect", "replicate", "circular"), range(-4, 4), range(-4, 4), (3, 5)
    ):
        # circular wraps around what cropping leaves, at most once (PyTorch reads past
        # the end of its buffer otherwise)
        if mode == "circular" and max(lo, hi) > n - max(-lo, 0) - max(-hi, 0):
            continue
        for pads in ((lo, hi), (lo, hi, hi, lo)):
            x = rand(2, 3, n, n)
            cases.append(
                (
                    f"pad {mode} {pads} n={n}",
                    lambda x, p=pads, m=mode: F.pad(x, p, mode=m),
                    lambda x, p=pads, m=mode: TF.pad(x, p, mode=m),
                    [x],
                )
            )
    assert run_grid(cases) > 300


@pytest.mark.parametrize("batch", ["batched", "unbatched"])
def test_fold_unfold_grid(batch):
    cases = []
    for kernel, dilation, padding, stride in itertools.product(
        (2, (2, 3), (1,)), (1, 2), (0, 1, (1,)), (1, 2, (2, 1))
    ):
        lead = (2,) if batch == "batched" else ()
        x = rand(*lead, 3, 6, 7)
        kw = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
        cases.append(
            (
                f"unfold {batch} {kw}",
                lambda x, kw=kw: F.unfold(x, **kw),
                lambda x, kw=kw: TF.unfold(x, **kw),
                [x],
            )
        )
        try:
            cols = TF.unfold(torch.tensor(x), **kw).numpy()
        except RuntimeError:
            continue
        cols = rand(*cols.shape, seed=3)
        cases.append(
            (
                f"fold {batch} {kw}",
                lambda c, kw=kw: F.fold(c, (6, 7), **kw),
                lambda c, kw=kw: TF.fold(c, (6, 7), **kw),
                [cols],
            )
        )
    assert run_grid(cases) > 50


def test_pixel_shuffle_grid():
    cases = []
    for lead, r in itertools.product(((), (2,), (2, 3)), (1, 2, 3)):
        x = rand(*lead, 2 * r * r, 3, 4)
        cases.append(
            (
                f"pixel_shuffle {lead} r={r}",
                lambda x, r=r: F.pixel_shuffle(x, r),
                lambda x, r=r: TF.pixel_shuffle(x, r),
                [x],
            )
        )
        y = rand(*lead, 2, 3 * r, 2 * r)
        cases.append(
            (
                f"pixel_unshuffle {lead} r={r}",
                lambda x, r=r: F.pixel_unshuffle(x, r),
                lambda x, r=r: TF.pixel_unshuffle(x, r),
                [y],
            )
        )
    run_grid(cases)


# --------------------------------------------------------------------------------------
# softmax, normalisation, embedding
# --------------------------------------------------------------------------------------


def test_softmax_grid():
    cases = []
    for shape, dim, dtype, name in itertools.product(
        ((3, 4), (0, 3), (3, 0), (2, 3, 4), (5,)),
        (0, 1, -1),
        (None, "float64"),
        ("softmax", "log_softmax"),
    ):
        x = rand(*shape).astype(np.float32)
        s_op, t_op = getattr(F, name), getattr(TF, name)
        t_dtype = None if dtype is None else torch.float64
        cases.append(
            (
                f"{name} {shape} dim={dim} dtype={dtype}",
                lambda x, d=dim, s=s_op, dt=dtype: s(x, dim=d, dtype=dt),
                lambda x, d=dim, t=t_op, dt=t_dtype: t(x, dim=d, dtype=dt),
                [x],
            )
        )
    run_grid(cases)
    y = F.softmax(Tensor(rand(3, 4).astype(np.float32)), dim=1, dtype=np.float64)
    assert y.dtype == np.float64


def test_norms_grid_with_empty_batches():
    cases = []
    for shape in ((0, 4, 3), (2, 4, 3), (3, 4, 5, 2), (0, 4, 2, 2)):
        x, w, b = rand(*shape), rand(4, seed=1), rand(4, seed=2)
        cases.append(
            (
                f"group_norm {shape}",
                lambda x, w, b: F.group_norm(x, 2, w, b),
                lambda x, w, b: TF.group_norm(x, 2, w, b),
                [x, w, b],
            )
        )
        cases.append(
            (
                f"instance_norm {shape}",
                lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
                [x, w, b],
            )
        )
        for training in (False, True):

            def s_bn(x, w, b, training=training):
                stats = Tensor(np.zeros(4)), Tensor(np.ones(4))  # on the device under test
                return F.batch_norm(x, *stats, w, b, training=training)

            def t_bn(x, w, b, training=training):
                return TF.batch_norm(
                    x,
                    torch.zeros(4, dtype=torch.float64),
                    torch.ones(4, dtype=torch.float64),
                    w,
                    b,
                    training=training,
                )

            cases.append((f"batch_norm {shape} training={training}", s_bn, t_bn, [x, w, b]))
    run_grid(cases)


def test_empty_batch_norm_leaves_running_statistics_alone():
    rm, rv = Tensor(np.zeros(4)), Tensor(np.ones(4))
    y = F.batch_norm(Tensor(np.zeros((0, 4, 3))), rm, rv, training=True)
    assert y.shape == (0, 4, 3)
    np.testing.assert_array_equal(to_numpy(rm.data), 0)
    np.testing.assert_array_equal(to_numpy(rv.data), 1)


def test_instance_norm_running_statistics_match_torch():
    x = rand(3, 4, 5, 6)
    rm, rv = Tensor(np.zeros(4)), Tensor(np.ones(4))
    trm, trv = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    F.instance_norm(Tensor(x), rm, rv, momentum=0.3)
    TF.instance_norm(torch.tensor(x), trm, trv, momentum=0.3)
    np.testing.assert_allclose(to_numpy(rm.data), trm.numpy(), rtol=1e-10)
    np.testing.assert_allclose(to_numpy(rv.data), trv.numpy(), rtol=1e-10)
    out = F.instance_norm(Tensor(x), rm, rv, use_input_stats=False).data
    ref = TF.instance_norm(torch.tensor(x), trm, trv, use_input_stats=False).numpy()
    np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-10)


def test_embedding_grid():
    cases = []
    idx = np.array([[1, 3, 3], [0, 4, 1]])
    for padding_idx, freq, index in itertools.product(
        (None, 3, -2), (False, True), (idx, idx[0], np.array(2))
    ):
        w = rand(5, 3)
        cases.append(
            (
                f"embedding padding_idx={padding_idx} freq={freq} idx={index.shape}",
                lambda w, i=index, p=padding_idx, f=freq: F.embedding(
                    i, w, padding_idx=p, scale_grad_by_freq=f
                ),
                lambda w, i=index, p=padding_idx, f=freq: TF.embedding(
                    torch.tensor(i), w, padding_idx=p, scale_grad_by_freq=f
                ),
                [w],
            )
        )
    run_grid(cases)
    w, tw = Tensor(rand(5, 3) * 3), torch.tensor(rand(5, 3) * 3)
    F.embedding(idx, w, max_norm=1.0)  # renormalises the rows read, in place
    TF.embedding(torch.tensor(idx), tw, max_norm=1.0)
    np.testing.assert_allclose(w.data, tw.numpy(), rtol=1e-6)


# --------------------------------------------------------------------------------------
# max / min with indices, sort, topk, argsort
# --------------------------------------------------------------------------------------


def test_selection_grid():
    x = np.round(rand(4, 5) * 2) / 2  # ties on purpose
    cases = []
    for dim, keep in itertools.product((0, 1, -1), (False, True)):
        for name in ("max", "min"):
            cases.append(
                (
                    f"{name}(dim={dim}, keepdim={keep})",
                    lambda x, n=name, d=dim, k=keep: getattr(x, n)(d, keepdim=k),
                    lambda x, n=name, d=dim, k=keep: getattr(x, n)(d, keepdim=k),
                    [x],
                )
            )
    xu = rand(4, 5)  # sort's order among ties is PyTorch's business; no ties here
    for dim, desc in itertools.product((0, 1, -1), (False, True)):
        cases.append(
            (
                f"sort(dim={dim}, descending={desc})",
                lambda x, d=dim, s=desc: x.sort(d, descending=s),
                lambda x, d=dim, s=desc: x.sort(d, descending=s),
                [xu],
            )
        )
        cases.append(
            (
                f"argsort(dim={dim}, descending={desc})",
                lambda x, d=dim, s=desc: (x * 1.0, x.argsort(d, descending=s)),
                lambda x, d=dim, s=desc: (x * 1.0, x.argsort(d, descending=s)),
                [xu],
            )
        )
        for k, largest in itertools.product((0, 1, 3), (True, False)):
            cases.append(
                (
                    f"topk(k={k}, dim={dim}, largest={largest})",
                    lambda x, k=k, d=dim, lg=largest: x.topk(k, d, largest=lg),
                    lambda x, k=k, d=dim, lg=largest: x.topk(k, d, largest=lg),
                    [xu],
                )
            )
    run_grid(cases)
