"""Reading a user's files safely: `.npy` arrays and picture files (PNG, JPEG, ... through
Pillow). A file that is damaged, empty, not what its name says, or built to exhaust memory
(a header promising terabytes, a decompression bomb) gives a ValueError that names it —
never a traceback from deep inside NumPy or Pillow, and never pickled code run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "read_npy",
    "read_image",
    "image_info",
    "as_image_batch",
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
]

PathLike = str | os.PathLike[str]

#: The picture files `read_image` (and so ImageFolder) takes, as torchvision's ImageFolder.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")

#: Pillow's own limit (about 89 megapixels): a larger image is refused before decoding.
MAX_IMAGE_PIXELS = 89_478_485


def read_npy(path: PathLike) -> np.ndarray:
    """The array in a `.npy` file, checked before anything is allocated.

    The header must be a NumPy header (format 1.0-3.0, no pickled objects), and the file
    must hold every byte the header's shape and dtype promise; otherwise a ValueError
    names the file and says what is wrong.

    Parameters
    ----------
    path : str or PathLike
        The .npy file to read.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size == 0:
                raise ValueError(f"{path}: the file is empty, not a .npy array")
            try:
                version = np.lib.format.read_magic(f)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(f)
            except (ValueError, EOFError, OSError, SyntaxError) as exc:
                raise ValueError(
                    f"{path}: not a .npy array (its header cannot be read: "
                    f"{' '.join(str(exc).split())})"
                ) from None
            if dtype.hasobject:
                raise ValueError(
                    f"{path}: holds Python objects (a pickle), which strided "
                    "never loads; save plain numbers instead"
                )
            need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            have = size - f.tell()
            if need > have:
                raise ValueError(
                    f"{path}: the header promises a {dtype} array of shape "
                    f"{shape} ({need:,} bytes) but the file holds {have:,}; it is "
                    "truncated or damaged"
                )
            data = np.fromfile(f, dtype=dtype, count=int(np.prod(shape)))
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    return data.reshape(shape, order="F" if fortran else "C")


def _pillow(path: Path) -> Any:  # the PIL.Image module (an optional extra)
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            f"{path}: reading picture files needs Pillow: pip install 'strided[images]'"
        ) from None
    # strided refuses large images itself, with the file's name, instead of a warning
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    return Image


def _grey(mode: str) -> bool:
    return mode in ("1", "L", "I", "I;16", "F", "LA")


def image_info(path: PathLike) -> tuple[int, tuple[int, int]]:
    """(channels, (height, width)) of a picture file, from its header alone: 1 for a grey
    image, 3 for anything else (as `read_image` converts it)."""
    path = Path(path)
    Image = _pillow(path)
    try:
        with Image.open(path) as img:
            return (1 if _grey(img.mode) else 3), (img.size[1], img.size[0])
    except Image.DecompressionBombError:
        raise ValueError(
            f"{path}: the image is too large to decode (it may be a decompression bomb)"
        ) from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: not a readable image ({' '.join(str(exc).split())})") from None


def read_image(
    path: PathLike, channels: int | None = None, size: tuple[int, int] | None = None
) -> np.ndarray:
    """A picture file as a `uint8` (C, H, W) array, through Pillow.

    Parameters
    ----------
    path : path
        A PNG, JPEG, BMP, TIFF, WebP, ... file.
    channels : int, optional
        1 (grey) or 3 (RGB) to convert to; None keeps grey images grey and makes the
        rest RGB.
    size : (height, width), optional
        Resize to this (bilinear).
    """
    path = Path(path)
    Image = _pillow(path)
    if channels not in (None, 1, 3):
        raise ValueError(f"read_image: channels must be 1, 3 or None, got {channels!r}")
    if not path.exists():
        raise FileNotFoundError(f"no such image: {path}")
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:  # checked before decoding: a bomb stays unexploded
                raise ValueError(
                    f"{path}: the image is {w}×{h} = {w * h:,} pixels, more than "
                    f"the {MAX_IMAGE_PIXELS:,} strided decodes (it may be a "
                    "decompression bomb)"
                )
            mode = {1: "L", 3: "RGB"}.get(channels or 0, "L" if _grey(img.mode) else "RGB")
            img = img.convert(mode)
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            a = np.asarray(img, dtype=np.uint8)
    except ValueError:
        raise
    except Image.DecompressionBombError:  # Pillow's own check, at twice its pixel limit
        raise ValueError(
            f"{path}: the image is too large to decode (it may be a decompression bomb)"
        ) from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: not a readable image ({' '.join(str(exc).split())})") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy()


def as_image_batch(
    a: np.ndarray, channels: int, size: tuple[int, int], name: str = "array"
) -> np.ndarray:
    """An array of pixels as an (N, C, H, W) batch for a model taking `channels` × `size`
    images: one image (H, W), (C, H, W) or (H, W, C), or a batch (N, H, W) of grey images,
    (N, C, H, W) or (N, H, W, C) — whichever layout fits the model's shape.

    Pixels are uint8 (0-255) or floats in [0, 1]; NaN, ±∞ and values outside the range are
    refused, naming `name`, as are layouts that fit no way or more than one.
    """
    if a.dtype.kind not in "uif":
        raise ValueError(f"{name}: expected numeric pixels, got dtype {a.dtype}")
    C, (H, W) = channels, size
    # per rank: (layout, shape with None for any size, the map to channels-first)
    by_rank: dict[int, list[tuple[str, tuple, Callable[[np.ndarray], np.ndarray]]]] = {
        2: [("HW", (H, W), lambda a: a[None, None])] if C == 1 else [],
        3: [
            ("CHW", (C, H, W), lambda a: a[None]),
            ("HWC", (H, W, C), lambda a: a.transpose(2, 0, 1)[None]),
        ]
        + ([("NHW", (None, H, W), lambda a: a[:, None])] if C == 1 else []),
        4: [
            ("NCHW", (None, C, H, W), lambda a: a),
            ("NHWC", (None, H, W, C), lambda a: a.transpose(0, 3, 1, 2)),
        ],
    }
    fits = by_rank.get(a.ndim)
    if fits is None:
        raise ValueError(
            f"{name}: expected an image (H, W), (C, H, W), (H, W, C) or a batch "
            f"(N, C, H, W), (N, H, W, C), got shape {a.shape}"
        )
    match = [
        (lay, f)
        for lay, shape, f in fits
        if all(s is None or s == d for s, d in zip(shape, a.shape, strict=True))
    ]
    layouts = {lay for lay, _ in match}
    if not match:
        raise ValueError(
            f"{name}: images of shape {a.shape} do not fit the model's input "
            f"({C}, {H}, {W}) in any layout"
        )
    if len(layouts) > 1 and not (layouts == {"CHW", "HWC"} and C == H == W):
        raise ValueError(
            f"{name}: shape {a.shape} could be read as "
            f"{' or '.join(sorted(layouts))}; save it as (N, C, H, W)"
        )
    batch = match[0][1](a)
    if a.dtype.kind == "f":
        if not np.isfinite(batch).all():
            raise ValueError(f"{name}: has NaN or infinite pixels")
        if batch.size and (batch.min() < 0 or batch.max() > 1):
            raise ValueError(
                f"{name}: float pixels must lie in [0, 1], got values from "
                f"{batch.min():g} to {batch.max():g} (uint8 pixels go up to 255)"
            )
    elif batch.size and (batch.min() < 0 or batch.max() > 255):
        raise ValueError(
            f"{name}: integer pixels must lie in [0, 255], got values from "
            f"{batch.min()} to {batch.max()}"
        )
    return np.ascontiguousarray(batch)
