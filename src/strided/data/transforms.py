"""Image transforms, vectorised over an NCHW batch.

Every transform takes an ``(N, C, H, W)`` batch (or one ``(C, H, W)`` image) and
returns the same shape and dtype (except ``ToFloat``, whose job is the dtype). The
random ones draw one set of parameters per image from an explicit
``numpy.random.Generator`` (or a seed), so the same seed gives the same augmented
batches, and they never loop over the images in Python: crops are one gather from a
sliding-window view, rotations and scalings one gather at computed source coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "Transform",
    "Compose",
    "ToFloat",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomAffine",
    "RandomRotation",
    "affine_grid_sample",
]


def as_generator(rng: int | np.random.Generator | None, where: str) -> np.random.Generator:
    """``rng`` as a ``numpy.random.Generator``: a Generator is used as is (shared state),
    an int seeds a new one, ``None`` draws fresh OS entropy. ``where`` names the caller."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"{where}: rng must be an int seed, a numpy.random.Generator or None, got "
        f"{type(rng).__name__}"
    )


def _pair(value: float | Sequence[float], where: str, arg: str) -> tuple[float, float]:
    if isinstance(value, (int, float, np.number)):
        return float(value), float(value)
    pair = tuple(float(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{where}: {arg} must be a number or a pair, got {pair}")
    return pair[0], pair[1]


class Transform:
    """Base class: ``__call__`` takes ``(C, H, W)`` or ``(N, C, H, W)``; ``apply`` sees a batch."""

    def apply(self, batch: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 3:
            return self.apply(x[None])[0]
        if x.ndim != 4:
            raise ValueError(
                f"{type(self).__name__}: expected (N, C, H, W) or (C, H, W), got shape {x.shape}"
            )
        return self.apply(x)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose:
    """Apply ``transforms`` one after another."""

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class ToFloat(Transform):
    """Integer pixels → ``dtype`` (float32) in [0, 1]: ``uint8`` is divided by 255.

    Float input is only cast to ``dtype`` (it is assumed to be scaled already).
    """

    def __init__(self, dtype: np.dtype | type = np.float32):
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"ToFloat: dtype must be a float type, got {self.dtype}")

    def apply(self, batch: np.ndarray) -> np.ndarray:
        if batch.dtype.kind in "ui":
            scale = self.dtype.type(1.0 / np.iinfo(batch.dtype).max)
            return batch.astype(self.dtype) * scale
        if batch.dtype.kind == "b":
            return batch.astype(self.dtype)
        return batch.astype(self.dtype, copy=False)


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel; keeps the float dtype of the input."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError(
                f"Normalize: mean and std must be numbers or 1-D, got shapes {self.mean.shape}, "
                f"{self.std.shape}"
            )
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {self.std.tolist()}")

    def apply(self, batch: np.ndarray) -> np.ndarray:
        if batch.dtype.kind != "f":
            raise TypeError(
                f"Normalize: expected a float batch (apply ToFloat first), got {batch.dtype}"
            )
        c = batch.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, c):
                raise ValueError(
                    f"Normalize: {name} has {v.size} values but the batch has {c} channels "
                    f"(shape {batch.shape})"
                )
        # Constants in the batch's dtype: float32 stays float32.
        mean = self.mean.astype(batch.dtype).reshape(1, -1, 1, 1)
        inv_std = (1.0 / self.std).astype(batch.dtype).reshape(1, -1, 1, 1)
        return (batch - mean) * inv_std


class RandomCrop(Transform):
    """Pad by ``padding`` (with ``fill``), then crop a random ``size`` window per image.

    With ``padding=4`` on 32×32 CIFAR images and ``size=32`` this is the usual random
    translation by up to 4 pixels.

    Parameters
    ----------
    rng : int or numpy.random.Generator or None
        Seed or generator of the random choices (a fresh unseeded one when None).
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int = 0,
        fill: float = 0,
        rng: int | np.random.Generator | None = None,
    ):
        h, w = _pair(size, "RandomCrop", "size")
        self.size = (int(h), int(w))
        if min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be positive, got {size}")
        if int(padding) < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = int(padding)
        self.fill = fill
        self._rng = as_generator(rng, "RandomCrop")

    def apply(self, batch: np.ndarray) -> np.ndarray:
        n, c, h, w = batch.shape
        p = self.padding
        if p:
            padded = np.full((n, c, h + 2 * p, w + 2 * p), self.fill, dtype=batch.dtype)
            padded[:, :, p : p + h, p : p + w] = batch
        else:
            padded = batch
        th, tw = self.size
        ph, pw = padded.shape[2:]
        if th > ph or tw > pw:
            raise ValueError(
                f"RandomCrop: crop {self.size} larger than the padded image ({ph}, {pw}) (input "
                f"shape {batch.shape})"
            )
        top = self._rng.integers(0, ph - th + 1, size=n)
        left = self._rng.integers(0, pw - tw + 1, size=n)
        # windows[n, c, i, j] is the (th, tw) window at (i, j): a view, no copy. One
        # advanced-index gather then picks each image's window.
        windows = np.lib.stride_tricks.sliding_window_view(padded, (th, tw), axis=(2, 3))
        return windows[np.arange(n), :, top, left]


class RandomHorizontalFlip(Transform):
    """Mirror each image left–right with probability ``p``.

    Parameters
    ----------
    rng : int or numpy.random.Generator or None
        Seed or generator of the random choices (a fresh unseeded one when None).
    """

    def __init__(self, p: float = 0.5, rng: int | np.random.Generator | None = None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)
        self._rng = as_generator(rng, "RandomHorizontalFlip")

    def apply(self, batch: np.ndarray) -> np.ndarray:
        flip = self._rng.random(batch.shape[0]) < self.p
        out = batch.copy()
        out[flip] = batch[flip, :, :, ::-1]
        return out


def affine_grid_sample(
    batch: np.ndarray,
    matrices: np.ndarray,
    offsets: np.ndarray,
    interpolation: str = "bilinear",
    fill: float = 0.0,
) -> np.ndarray:
    """Warp each image: output pixel ``p`` reads input ``matrices[n] @ (p - c) + c + offsets[n]``.

    ``p`` and ``c`` (the image centre) are ``(row, col)`` coordinates; ``matrices`` is
    ``(N, 2, 2)``, ``offsets`` ``(N, 2)`` — the *inverse* map, from output to input.
    Points outside the image read ``fill``. ``interpolation`` is ``'nearest'`` or
    ``'bilinear'``. Vectorised: one gather per corner for the whole batch.
    """
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(
            "affine_grid_sample: interpolation must be 'nearest' or 'bilinear', got "
            f"{interpolation!r}"
        )
    if (
        batch.ndim != 4
        or matrices.shape != (batch.shape[0], 2, 2)
        or offsets.shape != (batch.shape[0], 2)
    ):
        raise ValueError(
            "affine_grid_sample: expected batch (N, C, H, W), matrices (N, 2, 2), offsets (N, "
            "2); got "
            f"{batch.shape}, {matrices.shape}, {offsets.shape}"
        )
    n, c, h, w = batch.shape
    work = batch.dtype if batch.dtype.kind == "f" else np.dtype(np.float32)
    out = np.empty_like(batch)
    # Chunks of a few tens of thousands of pixels keep the index and weight arrays in
    # cache; one pass over the whole batch was three times slower, measured.
    step = max(1, _CHUNK_PIXELS // (c * h * w))
    for i in range(0, n, step):
        out[i : i + step] = _warp_chunk(
            batch[i : i + step],
            matrices[i : i + step],
            offsets[i : i + step],
            interpolation,
            fill,
            work,
        )
    return out


_CHUNK_PIXELS = 1 << 15


def _warp_chunk(
    batch: np.ndarray,
    matrices: np.ndarray,
    offsets: np.ndarray,
    interpolation: str,
    fill: float,
    work: np.dtype,
) -> np.ndarray:
    n, c, h, w = batch.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ys, xs = np.meshgrid(
        np.arange(h, dtype=work) - cy, np.arange(w, dtype=work) - cx, indexing="ij"
    )
    src = matrices.astype(work) @ np.stack([ys.ravel(), xs.ravel()])  # (N, 2, H*W)
    # A one-pixel border of ``fill`` around each image: clipping a coordinate into the
    # padded frame lands every far-away point on the border, so it reads ``fill`` and no
    # in-bounds mask is needed. Hence the +1 on the source coordinates.
    sy = src[:, 0] + (cy + 1 + offsets[:, :1].astype(work))
    sx = src[:, 1] + (cx + 1 + offsets[:, 1:].astype(work))
    pw, size = w + 2, (h + 2) * (w + 2)
    padded = np.full((n, c, h + 2, pw), fill, dtype=batch.dtype)
    padded[:, :, 1:-1, 1:-1] = batch
    flat = padded.reshape(-1)
    itype = np.int32 if flat.size < 2**31 else np.intp
    base = (np.arange(n * c, dtype=itype) * size).reshape(n, c, 1)  # start of each image plane

    def gather(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        # rows: clipped row index times the padded width; cols: clipped column index.
        return flat.take((rows + cols)[:, None, :] + base).astype(work, copy=False)  # (N, C, H*W)

    if interpolation == "nearest":
        # floor(v + 0.5): round half up, the same on both sides of zero.
        iy = np.clip(np.floor(sy + 0.5), 0, h + 1).astype(itype)
        ix = np.clip(np.floor(sx + 0.5), 0, w + 1).astype(itype)
        res = gather(iy * pw, ix)
    else:
        y0, x0 = np.floor(sy), np.floor(sx)
        wy, wx = (sy - y0)[:, None, :], (sx - x0)[:, None, :]
        # Float -> int once per axis; the +1 neighbours are integer arithmetic.
        iy = np.clip(y0, -1, h + 1).astype(itype)
        ix = np.clip(x0, -1, w + 1).astype(itype)
        r0, r1 = np.clip(iy, 0, h + 1) * pw, np.clip(iy + 1, 0, h + 1) * pw
        c0, c1 = np.clip(ix, 0, w + 1), np.clip(ix + 1, 0, w + 1)
        res = gather(r0, c0)
        res += (gather(r0, c1) - res) * wx
        bottom = gather(r1, c0)
        bottom += (gather(r1, c1) - bottom) * wx
        res += (bottom - res) * wy
        if batch.dtype.kind != "f":
            info = np.iinfo(batch.dtype)
            res = np.clip(np.rint(res), info.min, info.max)
    return res.reshape(n, c, h, w)


class RandomAffine(Transform):
    """Random rotation, scaling and translation about the image centre, per image.

    Parameters
    ----------
    degrees : number or (min, max)
        Rotation angle in degrees, counter-clockwise as displayed; a number ``d``
        means uniform in ``(-d, d)``.
    translate : (fy, fx), optional
        Maximum shift as a fraction of the height / width; uniform in ``±f·size``.
    scale : (min, max), optional
        Zoom factor, uniform in the range (> 1 enlarges).
    interpolation : 'nearest' or 'bilinear'
    fill : value of pixels that come from outside the image.
    rng : int seed or numpy.random.Generator
    """

    def __init__(
        self,
        degrees: float | Sequence[float] = 0.0,
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        interpolation: str = "bilinear",
        fill: float = 0.0,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        name = type(self).__name__
        if isinstance(degrees, (int, float, np.number)):
            if degrees < 0:
                raise ValueError(
                    f"{name}: degrees must be >= 0 when a single number, got {degrees}"
                )
            self.degrees = (-float(degrees), float(degrees))
        else:
            self.degrees = _pair(degrees, name, "degrees")
        self.translate = None if translate is None else _pair(translate, name, "translate")
        if self.translate is not None and not all(0 <= t <= 1 for t in self.translate):
            raise ValueError(f"{name}: translate fractions must be in [0, 1], got {translate}")
        self.scale = None if scale is None else _pair(scale, name, "scale")
        if self.scale is not None and not (0 < self.scale[0] <= self.scale[1]):
            raise ValueError(f"{name}: scale must be (min, max) with 0 < min <= max, got {scale}")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"{name}: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}"
            )
        self.interpolation = interpolation
        self.fill = fill
        self._rng = as_generator(rng, name)

    def apply(self, batch: np.ndarray) -> np.ndarray:
        n, _, h, w = batch.shape
        rng = self._rng
        theta = np.deg2rad(rng.uniform(*self.degrees, size=n))
        s = rng.uniform(*self.scale, size=n) if self.scale is not None else np.ones(n)
        if self.translate is not None:
            ty = rng.uniform(-1, 1, size=n) * self.translate[0] * h
            tx = rng.uniform(-1, 1, size=n) * self.translate[1] * w
        else:
            ty = tx = np.zeros(n)
        # Rows point down, so a turn counter-clockwise on screen maps (row, col) by
        # [[cos, -sin], [sin, cos]]. Sampling needs the inverse, output -> input: the
        # transpose (a turn by -theta) divided by the scale.
        cos, sin = np.cos(theta) / s, np.sin(theta) / s
        inv = np.empty((n, 2, 2))
        inv[:, 0, 0], inv[:, 0, 1] = cos, sin
        inv[:, 1, 0], inv[:, 1, 1] = -sin, cos
        # Output = forward(input) + t  =>  input = inv @ (output - c - t) + c.
        offsets = -np.einsum("nij,nj->ni", inv, np.stack([ty, tx], axis=1))
        return affine_grid_sample(batch, inv, offsets, self.interpolation, self.fill)


class RandomRotation(RandomAffine):
    """Rotate each image by a random angle in ``degrees`` (a number ``d`` means ``±d``)."""

    def __init__(
        self,
        degrees: float | Sequence[float],
        interpolation: str = "nearest",
        fill: float = 0.0,
        rng: int | np.random.Generator | None = None,
    ):
        super().__init__(degrees=degrees, interpolation=interpolation, fill=fill, rng=rng)
