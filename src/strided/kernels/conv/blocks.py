"""Blocking for the BLAS strategies: column blocks sized to stay in cache between the copy
that builds them and the GEMM that reads them, and the grouped products over them."""

from __future__ import annotations

import numpy as np

from ...device import array_module

# Column chunks of about this many bytes stay in the L2/L3 cache between the copy that
# builds them and the GEMM that reads them; one big column buffer made every step
# memory-bound (measured: 1.5-2x slower on ResNet-20 layers).
CHUNK_BYTES = 4 << 20
# ... and hold at most this many output positions: with few column rows a longer block
# left L2 and made the GEMM 2x slower (LeNet conv1, 25 rows: 5376 positions 0.37 ms fwd,
# 8064 or more: 0.73 ms); layers with more rows did not care (±3 %)
MAX_BLOCK = 6144
# ... and for a weight gradient dy · colᵀ with a tiny output, shorter still (LeNet conv1's
# 6×25 dW with 2 BLAS threads: 1.65 ms at 6144 positions, 1.42 ms at 3072; conv2's 16×150
# went 0.9 → 1.0 ms, so only below TINY_DW entries)
MAX_BLOCK_DW, TINY_DW = 3072, 1024
# ... but hold at least this many: with many column rows (C·k² in the thousands) a 4 MB
# block was a few hundred positions, and every block's GEMM re-packed the whole weight
# (forward) or re-wrote the whole weight gradient (dW) for that little work
MIN_BLOCK = 2048
# On a device there is no cache to stay in: the blocks only bound the column buffer's memory
# (VGG's 64-channel 3×3 layer at 224×224 would need 15 GB of columns for a batch of 128),
# and are large enough that each GEMM keeps cuBLAS busy (ResNet-20 at batch 1,024: every
# layer in one to three blocks).
DEVICE_CHUNK_BYTES = 256 << 20


def block_positions(K: int, itemsize: int, most: int = MAX_BLOCK) -> int:
    """Output positions per column block of K rows: about CHUNK_BYTES of columns, within
    [MIN_BLOCK, most]."""
    return min(max(CHUNK_BYTES // (K * itemsize), MIN_BLOCK), most)


def device_block_positions(K: int, itemsize: int) -> int:
    """Output positions per column block of K rows on a device: about DEVICE_CHUNK_BYTES."""
    return max(1, DEVICE_CHUNK_BYTES // (K * itemsize))


def flat_blocks(L: int, bytes_per_position: int):
    """Slices of range(L) about CHUNK_BYTES each: long runs, so the prefetcher keeps up
    (runs of one 34×34 image ran elementwise loops 2.4x slower than runs of four)."""
    step = max(4096, CHUNK_BYTES // bytes_per_position)
    for l0 in range(0, L, step):
        yield slice(l0, min(L, l0 + step))


def grouped(w2: np.ndarray, groups: int) -> np.ndarray:
    """(O, K) weight matrix → (G, O/G, K)."""
    return w2.reshape(groups, w2.shape[0] // groups, w2.shape[1])


def matmul_into(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out[...] = a @ b: written in place by BLAS for NumPy arrays; on a device the product
    is copied in (a strided `out` is not every cuBLAS call's to write)."""
    if type(out) is np.ndarray:
        np.matmul(a, b, out=out)
    else:
        out[...] = array_module(out).matmul(a, b)


def gemm_into(a: np.ndarray, b: np.ndarray, groups: int, out: np.ndarray) -> None:
    """out = a (M, K) @ b (G·K, L), block-diagonal over groups: each group's rows of `a`
    meet only that group's rows of `b`."""
    if groups == 1:
        matmul_into(a, b, out)
    else:
        n = b.shape[-1]
        matmul_into(grouped(a, groups), b.reshape(groups, -1, n), out.reshape(groups, -1, n))


def accumulate_dw(dw: np.ndarray, d: np.ndarray, col: np.ndarray, groups: int) -> None:
    """dw (G, O/G, K) += d (O, n) · col (G·K, n)ᵀ, per group."""
    G, Og, K = dw.shape
    n = col.shape[1]
    if groups == 1:
        # OpenBLAS is ~2x faster with the longer side first: dWᵀ = col · dyᵀ
        dw[0] += (col @ d.T).T if K >= Og else d @ col.T
    else:
        xp = array_module(dw)
        dw += xp.matmul(d.reshape(G, Og, n), col.reshape(G, K, n).transpose(0, 2, 1))


def transposed_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """w (O, C/g, kh, kw) → Wᵀ per group, (G, C/g·kh·kw, O/g)."""
    O = w.shape[0]
    return grouped(w.reshape(O, -1), groups).transpose(0, 2, 1)
