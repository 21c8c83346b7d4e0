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
from ..im2col import Pair, from_cnhw, is_channels_first, to_cnhw
from .geometry import ConvGeometry

try:
    from numba import prange
except ImportError:  # the kernels are then never called (see compiled.jit)
    prange = range  # type: ignore[misc]

# the weight transform G (4×3) of F(2×2, 3×3)
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
# images per block: about this many bytes of V (16·C·tiles values) per block
BLOCK_BYTES = 2 << 20
# planes are handed out in this many chunks, each with its own scratch arrays
CHUNKS = 64


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
    if th <= 0 or tw <= 0 or nb <= 0:  # and so LLVM knows the indices below are ≥ 0
        return
    Hd, Wd = 2 * th + 2, 2 * tw + 2
    for t in prange(CHUNKS):
        # scratch per chunk of planes, and plain indices instead of views in the loops: a
        # view per row cost more than the arithmetic (16×16 planes: 20 → 9 ns a tile)
        d = np.zeros((Hd, Wd), dtype=V.dtype)  # the padded plane; its border stays zero
        e = np.empty((4, th, tw + 1), dtype=V.dtype)  # Bᵀ d, even columns
        f = np.empty((4, th, tw + 1), dtype=V.dtype)  # Bᵀ d, odd columns
        for q in range(t * C * nb // CHUNKS, (t + 1) * C * nb // CHUNKS):
            c, m = q // nb, q % nb
            src = _plane(x, first, c, n0 + m)
            H, W = src.shape
            hi, wi = min(H, Hd - pt), min(W, Wd - pl)
            for h in range(hi):
                d[pt + h, pl : pl + wi] = src[h, :wi]
            for ty in range(th):  # Bᵀ d: combinations of the tile's 4 rows
                for k in range(tw + 1):
                    a0, a1 = d[2 * ty, 2 * k], d[2 * ty + 1, 2 * k]
                    a2, a3 = d[2 * ty + 2, 2 * k], d[2 * ty + 3, 2 * k]
                    b0, b1 = d[2 * ty, 2 * k + 1], d[2 * ty + 1, 2 * k + 1]
                    b2, b3 = d[2 * ty + 2, 2 * k + 1], d[2 * ty + 3, 2 * k + 1]
                    e[0, ty, k], e[1, ty, k] = a0 - a2, a1 + a2
                    e[2, ty, k], e[3, ty, k] = a2 - a1, a1 - a3
                    f[0, ty, k], f[1, ty, k] = b0 - b2, b1 + b2
                    f[2, ty, k], f[3, ty, k] = b2 - b1, b1 - b3
            base = m * th * tw
            for a in range(4):  # (Bᵀ d) B: the same on columns 2tx .. 2tx + 3
                for ty in range(th):
                    for tx in range(tw):
                        p = base + ty * tw + tx
                        e0, e1 = e[a, ty, tx], e[a, ty, tx + 1]
                        f0, f1 = f[a, ty, tx], f[a, ty, tx + 1]
                        V[4 * a, c, p] = e0 - e1
                        V[4 * a + 1, c, p] = f0 + e1
                        V[4 * a + 2, c, p] = e1 - f0
                        V[4 * a + 3, c, p] = f0 - f1


@jit(parallel=True)
def _output_transform(M, n0, nb, th, tw, y):
    """y[o, n0 + m] (Ho × Wo) = Aᵀ M A tile by tile, cropped at the far edges;
    Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]."""
    O = M.shape[1]
    Ho, Wo = y.shape[2], y.shape[3]
    if th <= 0 or tw <= 0 or nb <= 0:
        return
    for t in prange(CHUNKS):
        s = np.empty((2, 4, th, tw), dtype=M.dtype)  # Aᵀ M
        for q in range(t * O * nb // CHUNKS, (t + 1) * O * nb // CHUNKS):
            o, m = q // nb, q % nb
            base = m * th * tw
            for b in range(4):  # Aᵀ M: combinations of the rows of the 4×4
                for ty in range(th):
                    for tx in range(tw):
                        p = base + ty * tw + tx
                        m0, m1 = M[b, o, p], M[4 + b, o, p]
                        m2, m3 = M[8 + b, o, p], M[12 + b, o, p]
                        s[0, b, ty, tx] = m0 + m1 + m2
                        s[1, b, ty, tx] = m1 - m2 - m3
            dst = y[o, n0 + m]
            for h in range(Ho):  # (Aᵀ M) A: the columns, straight into the output
                r, ty = h % 2, h // 2
                for tx in range(Wo // 2):
                    a1, a2 = s[r, 1, ty, tx], s[r, 2, ty, tx]
                    dst[h, 2 * tx] = s[r, 0, ty, tx] + a1 + a2
                    dst[h, 2 * tx + 1] = a1 - a2 - s[r, 3, ty, tx]
                if Wo % 2:  # the last tile's second column lies past the edge
                    tx = Wo // 2
                    dst[h, 2 * tx] = s[r, 0, ty, tx] + s[r, 1, ty, tx] + s[r, 2, ty, tx]


@jit(parallel=True)
def _output_transform_adjoint(dy, first, n0, nb, th, tw, dM):
    """dM[ξ, o, p] = (A dY Aᵀ)[ξ] for the 2×2 block dY of dy at (2·ty, 2·tx) (zero past
    the edges): the adjoint of `_output_transform`."""
    O = dM.shape[1]
    if th <= 0 or tw <= 0 or nb <= 0:
        return
    for t in prange(CHUNKS):
        g = np.zeros((2 * th, 2 * tw), dtype=dM.dtype)  # dy's plane; the margin stays 0
        u = np.empty((2, 4, th, tw), dtype=dM.dtype)  # dY Aᵀ
        for q in range(t * O * nb // CHUNKS, (t + 1) * O * nb // CHUNKS):
            o, m = q // nb, q % nb
            src = _plane(dy, first, o, n0 + m)
            Ho, Wo = src.shape
            for h in range(Ho):
                g[h, :Wo] = src[h]
            for r in range(2):  # dY Aᵀ: the 4 column combinations of each row of dY
                for ty in range(th):
                    for tx in range(tw):
                        e0, e1 = g[2 * ty + r, 2 * tx], g[2 * ty + r, 2 * tx + 1]
                        u[r, 0, ty, tx], u[r, 1, ty, tx] = e0, e0 + e1
                        u[r, 2, ty, tx], u[r, 3, ty, tx] = e0 - e1, -e1
            base = m * th * tw
            for b in range(4):  # A (dY Aᵀ): the same on its rows
                for ty in range(th):
                    for tx in range(tw):
                        p = base + ty * tw + tx
                        u0, u1 = u[0, b, ty, tx], u[1, b, ty, tx]
                        dM[b, o, p] = u0
                        dM[4 + b, o, p] = u0 + u1
                        dM[8 + b, o, p] = u0 - u1
                        dM[12 + b, o, p] = -u1


def _planes(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """(N, C, H, W) as a C-contiguous array of contiguous (c, n) planes, and whether it
    lies (C, N, ...) (a conv's channels-first output) rather than (N, C, ...)."""
    if is_channels_first(a):
        return to_cnhw(a), True
    return np.ascontiguousarray(a), False


def _image_blocks(N: int, per_image: int) -> list[tuple[int, int]]:
    """(first image, images) blocks of about BLOCK_BYTES, `per_image` bytes each."""
    step = max(1, min(N, BLOCK_BYTES // max(per_image, 1)))
    return [(n0, min(step, N - n0)) for n0 in range(0, N, step)]


def _block(buf: np.ndarray, shape: tuple) -> np.ndarray:
    """The front of a flat buffer as a contiguous array of `shape` (a slice of a bigger 3-D
    buffer would be strided, and the compiled loops over it 2x slower)."""
    return buf[: int(np.prod(shape))].reshape(shape)


def _tiles(out_hw: tuple[int, int]) -> tuple[int, int]:
    """Tiles of 2×2 outputs along each axis, the last ones cropped."""
    return -(-out_hw[0] // 2), -(-out_hw[1] // 2)


def _correlate(x: np.ndarray, w: np.ndarray, pads: tuple[Pair, Pair], out_hw: Pair) -> np.ndarray:
    """The stride-1 3×3 correlation of x (N, C, H, W) with w (O, C, 3, 3): (O, N, Ho, Wo)."""
    N, C = x.shape[:2]
    O = w.shape[0]
    (pt, _), (pl, _) = pads
    th, tw = _tiles(out_hw)
    U = np.einsum("ai,ocij,bj->aboc", G, w, G).reshape(16, O, C).astype(x.dtype)
    src, first = _planes(x)
    y = np.empty((O, N) + tuple(out_hw), dtype=x.dtype)
    if N == 0:  # an empty batch
        return y
    blocks = _image_blocks(N, 16 * C * th * tw * x.itemsize)
    most = blocks[0][1] * th * tw  # tiles in the largest block
    # reused by every block (fresh buffers would page-fault their way in)
    V, M = np.empty(16 * C * most, x.dtype), np.empty(16 * O * most, x.dtype)
    for n0, nb in blocks:
        P = nb * th * tw
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
    if N == 0:
        return np.zeros((O, C, 3, 3), dtype=x.dtype)
    blocks = _image_blocks(N, 16 * C * th * tw * x.itemsize)
    most = blocks[0][1] * th * tw
    V, dM = np.empty(16 * C * most, x.dtype), np.empty(16 * O * most, x.dtype)
    for n0, nb in blocks:
        P = nb * th * tw
        v, dm = _block(V, (16, C, P)), _block(dM, (16, O, P))
        _input_transform(xs, xfirst, n0, nb, pt, pl, th, tw, v)
        _output_transform_adjoint(ds, dfirst, n0, nb, th, tw, dm)
        dU += np.matmul(dm, v.transpose(0, 2, 1))
    dU = dU.reshape(4, 4, O, C)
    return np.einsum("ai,aboc,bj->ocij", G, dU, G).astype(x.dtype)
