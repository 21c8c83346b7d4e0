"""3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3), compiled
transforms around BLAS products.

Each 2×2 block of outputs is computed from a 4×4 tile d of the padded input (Lavin & Gray
2016):

    Y = Aᵀ [ Σ_c (G g Gᵀ) ⊙ (Bᵀ d B) ] A

so the C·O·9 multiplies per output position of the direct sum become C·O·16/4: 2.25x
fewer. With V[ξ, c, p] = (Bᵀ d_cp B)[ξ] for every tile p and U[ξ] = (G g Gᵀ)[ξ] (O, C), the
sum over channels is 16 matrix products M[ξ] = U[ξ] · V[ξ], batched through BLAS.

* forward        y = Aᵀ (U · V(x)) A, tile by tile
* input grad     a stride-1 3×3 correlation too: dy, padded by 2 − p, with the rotated
                 kernel and channels swapped — the forward on (dy, rot180(w)ᵀ)
* weight grad    the adjoint of the forward in U: dU[ξ] = Σ_p (A dY Aᵀ)[ξ, o, p] ·
                 V[ξ, c, p] — one product per ξ over all tiles — then dW = Gᵀ dU G

Images are processed in blocks, so a block's V and M stay in cache between the transform
that writes them and the product that reads them; the transforms run in parallel over
(channel, image) planes, each plane's tiles in order.
"""

from __future__ import annotations

import numpy as np

from ..compiled import jit
from ..im2col import from_cnhw, is_channels_first, to_cnhw
from .geometry import ConvGeometry

try:
    from numba import prange
except ImportError:  # the kernels are then never called (see compiled.jit)
    prange = range

# the weight transform G (4×3) of F(2×2, 3×3)
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
# images per block: about this many bytes of V (16·C·tiles values) per block
BLOCK_BYTES = 2 << 20


def applies(g: ConvGeometry) -> bool:
    """3×3, stride 1, no dilation or groups, and padding within the kernel's reach (so the
    input gradient is one too)."""
    return (
        g.kernel == (3, 3)
        and g.stride == (1, 1)
        and g.dilation == (1, 1)
        and g.groups == 1
        and all(0 <= p <= 2 for pair in g.pads for p in pair)
    )


@jit()
def _plane(a, first, c, n):
    """Plane (c, n) of `a`, (C, N, H, W) when `first`, else (N, C, H, W)."""
    return a[c, n] if first else a[n, c]


@jit(parallel=True)
def _input_transform(x, first, n0, nb, pt, pl, th, tw, V):
    """V[ξ, c, p] = (Bᵀ d B)[ξ] for the 4×4 tile d at (2·ty − pt, 2·tx − pl) of image
    n0 + m, p = (m·th + ty)·tw + tx; Bᵀ = [[1,0,−1,0], [0,1,1,0], [0,−1,1,0], [0,1,0,−1]]."""
    C = V.shape[1]
    for q in prange(C * nb):
        c, m = q // nb, q % nb
        src = _plane(x, first, c, n0 + m)
        H, W = src.shape
        d = np.zeros((2 * th + 2, 2 * tw + 2), dtype=V.dtype)  # the padded plane
        hi, wi = min(H, 2 * th + 2 - pt), min(W, 2 * tw + 2 - pl)
        for h in range(hi):
            d[pt + h, pl : pl + wi] = src[h, :wi]
        # Bᵀ d for a tile row, split into even and odd columns, so that the column step
        # below reads unit-stride runs: it vectorises (3x faster than stride-2 reads)
        e = np.empty((4, tw + 1), dtype=V.dtype)
        f = np.empty((4, tw + 1), dtype=V.dtype)
        for ty in range(th):
            r0, r1, r2, r3 = d[2 * ty], d[2 * ty + 1], d[2 * ty + 2], d[2 * ty + 3]
            for k in range(tw + 1):
                e[0, k] = r0[2 * k] - r2[2 * k]
                e[1, k] = r1[2 * k] + r2[2 * k]
                e[2, k] = r2[2 * k] - r1[2 * k]
                e[3, k] = r1[2 * k] - r3[2 * k]
                f[0, k] = r0[2 * k + 1] - r2[2 * k + 1]
                f[1, k] = r1[2 * k + 1] + r2[2 * k + 1]
                f[2, k] = r2[2 * k + 1] - r1[2 * k + 1]
                f[3, k] = r1[2 * k + 1] - r3[2 * k + 1]
            base = (m * th + ty) * tw
            for a in range(4):  # (Bᵀ d) B: the columns (2tx, 2tx+1, 2tx+2, 2tx+3)
                e0, e1, f0 = e[a], e[a, 1:], f[a]
                f1 = f[a, 1:]
                o0, o1 = V[4 * a, c, base:], V[4 * a + 1, c, base:]
                o2, o3 = V[4 * a + 2, c, base:], V[4 * a + 3, c, base:]
                for tx in range(tw):
                    o0[tx] = e0[tx] - e1[tx]
                    o1[tx] = f0[tx] + e1[tx]
                    o2[tx] = e1[tx] - f0[tx]
                    o3[tx] = f0[tx] - f1[tx]


@jit(parallel=True)
def _output_transform(M, n0, nb, th, tw, y):
    """y[o, n0 + m] (Ho × Wo) = Aᵀ M A tile by tile, cropped at the far edges;
    Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]."""
    O = M.shape[1]
    Ho, Wo = y.shape[2], y.shape[3]
    for q in prange(O * nb):
        o, m = q // nb, q % nb
        out = np.empty((2 * th, 2 * tw), dtype=M.dtype)
        s = np.empty((8, tw), dtype=M.dtype)
        for ty in range(th):
            base = (m * th + ty) * tw
            for b in range(4):  # Aᵀ M: rows of the 4×4, for every tile of the tile row
                m0, m1 = M[b, o, base:], M[4 + b, o, base:]
                m2, m3 = M[8 + b, o, base:], M[12 + b, o, base:]
                s0, s1 = s[b], s[4 + b]
                for tx in range(tw):
                    s0[tx] = m0[tx] + m1[tx] + m2[tx]
                    s1[tx] = m1[tx] - m2[tx] - m3[tx]
            for r in range(2):  # (Aᵀ M) A: the columns
                row = out[2 * ty + r]
                a0, a1, a2, a3 = s[4 * r], s[4 * r + 1], s[4 * r + 2], s[4 * r + 3]
                for tx in range(tw):
                    row[2 * tx] = a0[tx] + a1[tx] + a2[tx]
                    row[2 * tx + 1] = a1[tx] - a2[tx] - a3[tx]
        dst = y[o, n0 + m]
        for h in range(Ho):
            dst[h] = out[h, :Wo]


@jit(parallel=True)
def _output_transform_adjoint(dy, first, n0, nb, th, tw, dM):
    """dM[ξ, o, p] = (A dY Aᵀ)[ξ] for the 2×2 block dY of dy at (2·ty, 2·tx) (zero past
    the edges): the adjoint of `_output_transform`."""
    O = dM.shape[1]
    for q in prange(O * nb):
        o, m = q // nb, q % nb
        src = _plane(dy, first, o, n0 + m)
        Ho, Wo = src.shape
        g = np.zeros((2 * th, 2 * tw), dtype=dM.dtype)
        for h in range(Ho):
            g[h, :Wo] = src[h]
        s = np.empty((2, 4, tw), dtype=dM.dtype)
        for ty in range(th):
            base = (m * th + ty) * tw
            for r in range(2):  # dY Aᵀ: the 4 column combinations of each row of dY
                row = g[2 * ty + r]
                c0, c1, c2, c3 = s[r, 0], s[r, 1], s[r, 2], s[r, 3]
                for tx in range(tw):
                    e0, e1 = row[2 * tx], row[2 * tx + 1]
                    c0[tx] = e0
                    c1[tx] = e0 + e1
                    c2[tx] = e0 - e1
                    c3[tx] = -e1
            for b in range(4):  # A (dY Aᵀ): rows as the columns above
                u, v = s[0, b], s[1, b]
                o0, o1 = dM[b, o, base:], dM[4 + b, o, base:]
                o2, o3 = dM[8 + b, o, base:], dM[12 + b, o, base:]
                for tx in range(tw):
                    o0[tx] = u[tx]
                    o1[tx] = u[tx] + v[tx]
                    o2[tx] = u[tx] - v[tx]
                    o3[tx] = -v[tx]


def _planes(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """(N, C, H, W) as a C-contiguous array of contiguous (c, n) planes, and whether it
    lies (C, N, ...) (a conv's channels-first output) rather than (N, C, ...)."""
    if is_channels_first(a):
        return to_cnhw(a), True
    return np.ascontiguousarray(a), False


def _image_blocks(N: int, per_image: int):
    """(first image, images) blocks of about BLOCK_BYTES, `per_image` bytes each."""
    step = max(1, min(N, BLOCK_BYTES // max(per_image, 1)))
    for n0 in range(0, N, step):
        yield n0, min(step, N - n0)


def _block(buf: np.ndarray, shape: tuple) -> np.ndarray:
    """The front of a flat buffer as a contiguous array of `shape` (a slice of a bigger 3-D
    buffer would be strided, and the compiled loops over it 2x slower)."""
    return buf[: int(np.prod(shape))].reshape(shape)


def _tiles(out_hw) -> tuple[int, int]:
    return -(-out_hw[0] // 2), -(-out_hw[1] // 2)


def _correlate(x: np.ndarray, w: np.ndarray, pads, out_hw) -> np.ndarray:
    """The stride-1 3×3 correlation of x (N, C, H, W) with w (O, C, 3, 3): (O, N, Ho, Wo)."""
    N, C = x.shape[:2]
    O = w.shape[0]
    (pt, _), (pl, _) = pads
    th, tw = _tiles(out_hw)
    U = np.einsum("ai,ocij,bj->aboc", G, w, G).reshape(16, O, C).astype(x.dtype)
    src, first = _planes(x)
    y = np.empty((O, N) + tuple(out_hw), dtype=x.dtype)
    V = M = None
    for n0, nb in _image_blocks(N, 16 * C * th * tw * x.itemsize):
        P = nb * th * tw
        if V is None:  # reused by every block (fresh buffers would page-fault in)
            V, M = np.empty(16 * C * P, x.dtype), np.empty(16 * O * P, x.dtype)
        v, m = _block(V, (16, C, P)), _block(M, (16, O, P))
        _input_transform(src, first, n0, nb, pt, pl, th, tw, v)
        np.matmul(U, v, out=m)
        _output_transform(m, n0, nb, th, tw, y)
    return y


def forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """y (N, O, Ho, Wo), a view of a channels-first buffer."""
    return from_cnhw(_correlate(x, w, g.pads, g.out_hw))


def input_grad(dy: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dx (N, C, H, W): dy padded by 2 − p correlated with rot180(w), channels swapped."""
    (pt, pb), (pl, pr) = g.pads
    wr = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return from_cnhw(_correlate(dy, wr, ((2 - pt, 2 - pb), (2 - pl, 2 - pr)), (g.H, g.W)))


def weight_grad(x: np.ndarray, dy: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dW (O, C, 3, 3) = Gᵀ [Σ_p dM[ξ, :, p] V[ξ, :, p]ᵀ] G, block by block in order."""
    N, C, O = g.N, g.C, g.O
    (pt, _), (pl, _) = g.pads
    th, tw = _tiles(g.out_hw)
    xs, xfirst = _planes(x)
    ds, dfirst = _planes(dy)
    dU = np.zeros((16, O, C), dtype=x.dtype)
    V = dM = None
    for n0, nb in _image_blocks(N, 16 * C * th * tw * x.itemsize):
        P = nb * th * tw
        if V is None:
            V, dM = np.empty(16 * C * P, x.dtype), np.empty(16 * O * P, x.dtype)
        v, dm = _block(V, (16, C, P)), _block(dM, (16, O, P))
        _input_transform(xs, xfirst, n0, nb, pt, pl, th, tw, v)
        _output_transform_adjoint(ds, dfirst, n0, nb, th, tw, dm)
        dU += np.matmul(dm, v.transpose(0, 2, 1))
    dU = dU.reshape(4, 4, O, C)
    return np.einsum("ai,aboc,bj->ocij", G, dU, G).astype(x.dtype)
