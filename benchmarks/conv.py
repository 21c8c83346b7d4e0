"""Forward+backward time of representative conv and pooling layers, strided vs PyTorch.

    python benchmarks/conv.py [--reps 7] [--procs 3]

Prints one row per layer: our time, PyTorch's (when installed, on as many threads as
NumPy's BLAS), the ratio torch/ours (> 1: we are faster), our GFLOP/s (conv: 3 GEMM-sized
passes — forward, input gradient, weight gradient — 2 when the input needs no gradient),
and the peak memory our backward allocates next to the size of a full im2col column
buffer. The last line is NumPy's sgemm GFLOP/s on this machine: the ceiling for conv rows.
Times are the fastest of --reps runs in each of --procs fresh processes per layer.
Speed only; correctness lives in tests/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from strided.autograd import Tensor  # noqa: E402
from strided.functional.conv import conv2d, conv_transpose2d  # noqa: E402
from strided.functional.pool import max_pool2d  # noqa: E402

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the table still prints, without the PyTorch columns
    torch = None

# name, kind, N, C_in, C_out, H, k, stride, padding, groups, input needs grad
LAYERS = [
    ("LeNet conv1 1→6 5×5 @32", "conv", 128, 1, 6, 32, 5, 1, 0, 1, False),
    ("LeNet conv2 6→16 5×5 @14", "conv", 128, 6, 16, 14, 5, 1, 0, 1, True),
    ("ResNet-20 16→16 3×3 @32", "conv", 128, 16, 16, 32, 3, 1, 1, 1, True),
    ("ResNet-20 32→32 3×3 @16", "conv", 128, 32, 32, 16, 3, 1, 1, 1, True),
    ("ResNet-20 64→64 3×3 @8", "conv", 128, 64, 64, 8, 3, 1, 1, 1, True),
    ("ResNet-20 16→32 3×3/2 @32", "conv", 128, 16, 32, 32, 3, 2, 1, 1, True),
    ("VGG 64→64 3×3 @56 (N=8)", "conv", 8, 64, 64, 56, 3, 1, 1, 1, True),
    ("1×1 64→256 @14 (N=32)", "conv", 32, 64, 256, 14, 1, 1, 0, 1, True),
    ("depthwise 3×3 64ch @32 (N=32)", "conv", 32, 64, 64, 32, 3, 1, 1, 64, True),
    ("convT 64→32 4×4/2 @16 (N=32)", "convT", 32, 64, 32, 16, 4, 2, 1, 1, True),
    ("LeNet pool1 2×2 6ch @28", "maxpool", 128, 6, 6, 28, 2, 2, 0, 1, True),
    ("LeNet pool2 2×2 16ch @10", "maxpool", 128, 16, 16, 10, 2, 2, 0, 1, True),
    ("maxpool 2×2 64ch @32 (N=64)", "maxpool", 64, 64, 64, 32, 2, 2, 0, 1, True),
    ("maxpool 3×3/2 64ch @56 (N=16)", "maxpool", 16, 64, 64, 56, 3, 2, 1, 1, True),
]


SETTLE_S = 0.3


def timeit(fn, reps):
    return timeit_interleaved([fn], reps)[0]


def timeit_interleaved(fns, reps, rounds=3):
    """Fastest of `reps` runs of each function, taken in alternating blocks (ours ×k,
    theirs ×k, ours ×k, ...), so a burst of load from other processes on these shared
    cores hits both sides. Each block starts with a pause and an untimed run: after a
    switch the other side's idle BLAS / OpenMP workers still spin on the cores for a while
    (OpenBLAS's for ~0.1 s), and a block timed inside that window would measure the
    spinning, not the layer."""
    best = [float("inf")] * len(fns)
    per = max(1, -(-reps // rounds))
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            time.sleep(SETTLE_S)  # the other side's workers go idle
            fn()  # warm up: allocator, caches
            for _ in range(per):
                t = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t)
    return best


def make(layer, rng):
    name, kind, N, C, O, H, k, s, p, g, xgrad = layer
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    if kind == "conv":
        w = rng.standard_normal((O, C // g, k, k)).astype(np.float32) * 0.1
    elif kind == "convT":
        w = rng.standard_normal((C, O // g, k, k)).astype(np.float32) * 0.1
    else:
        w = None
    return x, w


def ours(layer, x, w):
    name, kind, N, C, O, H, k, s, p, g, xgrad = layer
    xt = Tensor(x, requires_grad=xgrad)
    wt = None if w is None else Tensor(w, requires_grad=True)
    if kind == "conv":
        y = conv2d(xt, wt, None, s, p, 1, g)
    elif kind == "convT":
        y = conv_transpose2d(xt, wt, None, s, p, 0, g)
    else:
        y = max_pool2d(xt, k, s, p)
    return y


def theirs(layer, x, w):
    name, kind, N, C, O, H, k, s, p, g, xgrad = layer
    xt = torch.from_numpy(x).requires_grad_(xgrad)
    wt = None if w is None else torch.from_numpy(w).requires_grad_(True)
    if kind == "conv":
        y = TF.conv2d(xt, wt, None, s, p, 1, g)
    elif kind == "convT":
        y = TF.conv_transpose2d(xt, wt, None, s, p, 0, g)
    else:
        y = TF.max_pool2d(xt, k, s, p)
    return y


def flops(layer, y_shape):
    name, kind, N, C, O, H, k, s, p, g, xgrad = layer
    if kind == "maxpool":
        return None
    if kind == "conv":  # 2·N·O·(C/g)·k²·Ho·Wo per GEMM-sized pass
        per = 2 * N * O * (C // g) * k * k * y_shape[2] * y_shape[3]
    else:  # transposed: the same product counted over its (smaller) input grid
        per = 2 * N * C * (O // g) * k * k * H * H
    return per * (3 if xgrad else 2)


def column_mb(layer, y_shape):
    name, kind, N, C, O, H, k, s, p, g, xgrad = layer
    if kind == "maxpool":
        return None
    if kind == "conv":
        return C * k * k * N * y_shape[2] * y_shape[3] * 4 / 2**20
    return O * k * k * N * H * H * 4 / 2**20


def sgemm_gflops(n=2048):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    t = timeit(lambda: a @ a, 5)
    return 2 * n**3 / t / 1e9


def blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    except Exception:
        return int(os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count() or 1)


def measure(layer, reps: int, seed: int) -> dict:
    """The layer's forward+backward timed in both frameworks (seconds; torch None when
    not installed), and the peak memory of our backward (MB)."""
    x, w = make(layer, np.random.default_rng(seed))
    g = np.ones(ours(layer, x, w).shape, np.float32)

    def step():
        ours(layer, x, w).backward(g)

    ours(layer, x, w).backward(g)  # compiles (or loads) the kernels outside the count
    y = ours(layer, x, w)
    tracemalloc.start()
    y.backward(g)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    if torch is None:
        return {"ours": timeit(step, reps), "torch": None, "peak": peak, "y": list(y.shape)}
    gt = torch.from_numpy(g)

    def tstep():
        theirs(layer, x, w).backward(gt)

    t_ours, t_torch = timeit_interleaved([step, tstep], reps)
    return {"ours": t_ours, "torch": t_torch, "peak": peak, "y": list(y.shape)}


def row(layer, runs: list[dict], ceiling: float) -> str:
    """One table row from the runs of a layer: the fastest time of each side."""
    t_ours = min(r["ours"] for r in runs)
    t_torch = ratio = ""
    if runs[0]["torch"] is not None:
        tt = min(r["torch"] for r in runs)
        t_torch, ratio = f"{tt * 1e3:9.1f}", f"{tt / t_ours:6.2f}"
    f = flops(layer, runs[0]["y"])
    col = column_mb(layer, runs[0]["y"])
    rate = None if f is None else f / t_ours / 1e9
    return (
        f"{layer[0]:32s} {t_ours * 1e3:8.1f} {t_torch:>9s} {ratio:>6s} "
        f"{'' if rate is None else f'{rate:8.1f}':>8s} "
        f"{'' if rate is None else f'{100 * rate / ceiling:6.0f}%':>7s} "
        f"{runs[0]['peak']:11.1f} {'' if col is None else f'{col:7.1f}':>7s}"
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7, help="timed runs per process and side")
    ap.add_argument("--procs", type=int, default=3, help="fresh processes per layer")
    ap.add_argument("--row", type=int, help=argparse.SUPPRESS)  # one layer, in a child
    args = ap.parse_args(argv)
    threads = blas_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    if args.row is not None:
        print(json.dumps(measure(LAYERS[args.row], args.reps, args.row)), flush=True)
        return
    # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where set, change which sgemm kernel OpenBLAS
    # picks (on an AVX-512 machine: Haswell instead of the native one, about half speed)
    env = ", ".join(
        f"{k}={os.environ.get(k, 'unset')}"
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")
    )
    print(f"NumPy {np.__version__}, {env}")
    ceiling = sgemm_gflops()
    head = (
        f"{'layer':32s} {'ours ms':>8s} {'torch ms':>9s} {'ratio':>6s} {'GFLOP/s':>8s} "
        f"{'% sgemm':>7s} {'bwd peak MB':>11s} {'col MB':>7s}"
    )
    print(head)
    print("-" * len(head))
    # Each layer is timed in fresh processes, the fastest of them kept for each side: in
    # one process PyTorch's depthwise layer ran at 7 ms or at 19-25 ms, process by process,
    # and after the other layers had run in the same process at 21 ms.
    for i, layer in enumerate(LAYERS):
        runs = [
            json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--row", str(i), "--reps", str(args.reps)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(args.procs)
        ]
        print(row(layer, runs, ceiling), flush=True)
    print(
        f"\nNumPy sgemm (2048²) on {threads} BLAS thread(s): {ceiling:.0f} GFLOP/s "
        f"(the ceiling for the conv rows; '% sgemm' is relative to it)"
    )


if __name__ == "__main__":
    main()
