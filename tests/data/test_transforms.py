"""Vectorised batch transforms."""

import numpy as np
import pytest

from strided.data import transforms as T


def batch(n=6, c=3, h=8, w=8, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


def test_to_float():
    x = np.random.default_rng(0).integers(0, 256, size=(4, 1, 5, 5), dtype=np.uint8)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 0, 255
    out = T.ToFloat()(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, x.astype(np.float64) / 255, rtol=1e-6)
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 0, 1] == 1
    assert T.ToFloat(np.float64)(x).dtype == np.float64
    f = batch(dtype=np.float64)
    np.testing.assert_array_equal(T.ToFloat()(f), f.astype(np.float32))
    with pytest.raises(TypeError, match="ToFloat: dtype must be a float"):
        T.ToFloat(np.int32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_per_channel(dtype):
    x = batch(dtype=dtype)
    mean, std = [0.1, 0.2, 0.3], [0.5, 2.0, 4.0]
    out = T.Normalize(mean, std)(x)
    assert out.dtype == dtype
    ref = (x.astype(np.float64) - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out, ref, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)
    np.testing.assert_allclose(T.Normalize(0.5, 0.25)(x[0]), (x[0] - 0.5) / 0.25, rtol=1e-5)


def test_normalize_errors():
    with pytest.raises(
        ValueError,
        match=r"Normalize: mean has 2 values but the batch has 3 channels \(shape \(6, 3, 8, 8\)\)",
    ):
        T.Normalize([0.1, 0.2], 1.0)(batch())
    with pytest.raises(TypeError, match="apply ToFloat first"):
        T.Normalize(0.0, 1.0)(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="non-zero"):
        T.Normalize(0.0, [1.0, 0.0])
    with pytest.raises(
        ValueError, match=r"Normalize: expected \(N, C, H, W\) or \(C, H, W\), got shape \(2, 2\)"
    ):
        T.Normalize(0.0, 1.0)(np.zeros((2, 2), np.float32))


def test_compose_order():
    x = np.full((1, 1, 2, 2), 51, np.uint8)
    out = T.Compose([T.ToFloat(), T.Normalize(0.2, 0.1)])(x)
    np.testing.assert_allclose(out, 0.0, atol=1e-6)
    with pytest.raises(TypeError, match="Compose"):
        T.Compose([1])


def test_random_crop_windows_of_padded_image():
    x = batch(n=32, c=2, h=6, w=7)
    out = T.RandomCrop((6, 7), padding=2, rng=0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = set()
    for i in range(32):  # check each image against a loop-based reference
        hits = [
            (t, l)
            for t in range(5)
            for l in range(5)
            if np.array_equal(padded[i, :, t : t + 6, l : l + 7], out[i])
        ]
        assert hits, f"image {i} is not a window of its padded image"
        offsets.add(hits[0])
    assert len(offsets) > 5  # different images, different shifts
    assert T.RandomCrop(4)(x).shape == (32, 2, 4, 4)


def test_random_crop_reproducible_and_errors():
    x = batch()
    a = T.RandomCrop(8, padding=3, rng=11)
    b = T.RandomCrop(8, padding=3, rng=np.random.default_rng(11))
    a1, a2 = a(x), a(x)
    np.testing.assert_array_equal(a1, b(x))
    np.testing.assert_array_equal(a2, b(x))
    assert not np.array_equal(a1, a2)
    with pytest.raises(
        ValueError, match=r"RandomCrop: crop \(9, 9\) larger than the padded image \(8, 8\)"
    ):
        T.RandomCrop(9)(x)
    with pytest.raises(TypeError, match="RandomCrop: rng"):
        T.RandomCrop(4, rng="seed")


def test_horizontal_flip():
    x = batch(n=40)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)
    out = T.RandomHorizontalFlip(0.5, rng=2)(x)
    flipped = [np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x, strict=True)]
    same = [np.array_equal(o, xi) for o, xi in zip(out, x, strict=True)]
    assert all(f or s for f, s in zip(flipped, same, strict=True)) and 5 < sum(flipped) < 35
    assert x.dtype == out.dtype
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.5, rng=2)(x), out)
    with pytest.raises(ValueError, match="p must be in"):
        T.RandomHorizontalFlip(1.5)


@pytest.mark.parametrize("size", [5, 8])
@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_rotation_by_quarter_turns_matches_rot90(size, interp):
    x = batch(c=2, h=size, w=size, dtype=np.float64)
    rot = T.RandomRotation((90, 90), interpolation=interp)(x)
    np.testing.assert_allclose(rot, np.rot90(x, k=1, axes=(2, 3)), atol=1e-9)
    half = T.RandomRotation((180, 180), interpolation=interp)(x)
    np.testing.assert_allclose(half, x[:, :, ::-1, ::-1], atol=1e-9)
    np.testing.assert_allclose(T.RandomRotation(0, interpolation=interp)(x), x, atol=1e-12)


def test_rotation_keeps_dtype_and_differs_per_image():
    x = np.repeat(batch(n=1, c=1, h=9, w=9), 8, axis=0)
    out = T.RandomRotation(30, interpolation="bilinear", rng=0)(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert len({o.tobytes() for o in out}) == 8
    u8 = (x * 255).astype(np.uint8)
    for interp in ("nearest", "bilinear"):
        out8 = T.RandomRotation(30, interpolation=interp, rng=0)(u8)
        assert out8.dtype == np.uint8 and out8.shape == u8.shape
    single = T.RandomRotation((90, 90))(x[0])
    np.testing.assert_array_equal(single, np.rot90(x[0], axes=(1, 2)))


def test_scaling_shrinks_about_the_centre():
    x = np.ones((2, 1, 8, 8), np.float32)
    out = T.RandomAffine(scale=(0.5, 0.5), interpolation="nearest", fill=0)(x)
    expected = np.zeros((8, 8), np.float32)
    expected[2:6, 2:6] = 1
    np.testing.assert_array_equal(out[0, 0], expected)
    np.testing.assert_array_equal(out[1, 0], expected)
    zoom = T.RandomAffine(scale=(2.0, 2.0), interpolation="nearest")(batch(n=1, c=1, h=9, w=9))
    assert zoom.shape == (1, 1, 9, 9)


def test_affine_grid_sample_translation_and_fill():
    x = batch(n=1, c=2, h=5, w=6, dtype=np.float64)
    eye = np.eye(2)[None]
    out = T.affine_grid_sample(x, eye, np.array([[-2.0, 1.0]]), "nearest", fill=-1.0)
    ref = np.full_like(x, -1.0)
    ref[:, :, 2:, :-1] = x[:, :, :-2, 1:]  # out[r, c] = in[r - 2, c + 1]
    np.testing.assert_array_equal(out, ref)
    half = T.affine_grid_sample(x, eye, np.array([[0.0, 0.5]]), "bilinear")
    np.testing.assert_allclose(half[..., :-1], (x[..., :-1] + x[..., 1:]) / 2)
    np.testing.assert_allclose(half[..., -1], x[..., -1] / 2)  # half from the zero fill


def test_affine_grid_sample_shape_errors():
    with pytest.raises(
        ValueError, match=r"matrices \(N, 2, 2\).*\(2, 1, 4, 4\), \(1, 2, 2\), \(2, 2\)"
    ):
        T.affine_grid_sample(np.zeros((2, 1, 4, 4)), np.zeros((1, 2, 2)), np.zeros((2, 2)))


def test_random_affine_translate_reproducible():
    x = batch(n=4)
    a = T.RandomAffine(degrees=10, translate=(0.1, 0.2), scale=(0.9, 1.1), rng=5)(x)
    b = T.RandomAffine(degrees=10, translate=(0.1, 0.2), scale=(0.9, 1.1), rng=5)(x)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    with pytest.raises(ValueError, match="RandomAffine: scale"):
        T.RandomAffine(scale=(1.2, 0.8))
    with pytest.raises(ValueError, match="RandomRotation: interpolation"):
        T.RandomRotation(5, interpolation="cubic")
    with pytest.raises(ValueError, match="RandomAffine: translate"):
        T.RandomAffine(translate=(0.1, 2.0))


@pytest.mark.parity
def test_bilinear_affine_matches_torch_grid_sample():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    n, c, s = 5, 2, 9
    x = rng.random((n, c, s, s))
    ang = rng.uniform(-0.6, 0.6, n)
    sc = rng.uniform(0.7, 1.3, n)
    m = (
        np.stack(
            [np.stack([np.cos(ang), np.sin(ang)], 1), np.stack([-np.sin(ang), np.cos(ang)], 1)], 1
        )
        / sc[:, None, None]
    )
    off = rng.uniform(-2, 2, (n, 2))
    ours = T.affine_grid_sample(x, m, off, "bilinear", fill=0.0)
    # torch's theta works on normalised (x, y) = (col, row); align_corners=True maps
    # -1..1 onto pixel centres 0..s-1, so a pixel offset is off / ((s - 1) / 2).
    half = (s - 1) / 2
    theta = np.empty((n, 2, 3))
    theta[:, 0, :2] = m[:, 1, ::-1]
    theta[:, 1, :2] = m[:, 0, ::-1]
    theta[:, 0, 2] = off[:, 1] / half
    theta[:, 1, 2] = off[:, 0] / half
    grid = F.affine_grid(torch.from_numpy(theta), (n, c, s, s), align_corners=True)
    ref = F.grid_sample(
        torch.from_numpy(x), grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-10)


@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_warp_of_large_batch_equals_image_by_image(interp):
    # 100 images span several internal chunks; each must be warped by its own matrix.
    rng = np.random.default_rng(3)
    x = rng.random((100, 3, 12, 10)).astype(np.float32)
    ang = rng.uniform(-1, 1, 100)
    m = np.stack(
        [np.stack([np.cos(ang), np.sin(ang)], 1), np.stack([-np.sin(ang), np.cos(ang)], 1)], 1
    )
    off = rng.uniform(-3, 3, (100, 2))
    whole = T.affine_grid_sample(x, m, off, interp, fill=0.5)
    one_by_one = np.concatenate(
        [
            T.affine_grid_sample(x[i : i + 1], m[i : i + 1], off[i : i + 1], interp, fill=0.5)
            for i in range(100)
        ]
    )
    np.testing.assert_array_equal(whole, one_by_one)
    assert whole.dtype == np.float32
