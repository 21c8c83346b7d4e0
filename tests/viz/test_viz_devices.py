"""strided.viz on a model that lives on a device: the same arrays as on the CPU, as NumPy
arrays, with the model left where it was."""

import numpy as np
import pytest

import strided as st
from strided.models import conv_autoencoder, lenet5
from strided.viz import (
    activations,
    channel_scores,
    conv_weight,
    decoder_samples,
    feature_maps,
    input_gradient,
    reconstructions,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)


def _on_both(build, compute):
    st.manual_seed(0)
    model = build()
    on_cpu = compute(model)
    on_device = compute(model.to("sim"))
    assert model.device == "sim:0"
    return on_cpu, on_device


@pytest.mark.parametrize(
    "compute",
    [
        lambda m, x: activations(m, x, "features.0")["features.0"],
        lambda m, x: feature_maps(m, x[0], "features.0"),
        lambda m, x: input_gradient(m, x)[0],
        lambda m, x: conv_weight(m),
        lambda m, x: channel_scores(m, x, "features.0", 1),
    ],
    ids=["activations", "feature_maps", "input_gradient", "conv_weight", "channel_scores"],
)
def test_cnn_pictures_compute_the_same_on_a_device(images, compute):
    a, b = _on_both(lenet5, lambda m: compute(m, images))
    assert isinstance(b, np.ndarray)
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_tensor_images_on_the_device_are_accepted(images):
    model = lenet5().to("sim")
    x = st.tensor(images, device="sim")
    out = activations(model, x, "features.0")["features.0"]
    assert isinstance(out, np.ndarray) and out.shape[:2] == (3, 6)


@pytest.mark.parametrize(
    "compute",
    [lambda m, x: reconstructions(m, x), lambda m, x: decoder_samples(m, x, n=4)],
    ids=["reconstructions", "decoder_samples"],
)
def test_autoencoder_pictures_compute_the_same_on_a_device(images, compute):
    a, b = _on_both(conv_autoencoder, lambda m: compute(m, images))
    assert isinstance(b, np.ndarray)
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
