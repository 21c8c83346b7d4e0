"""strided.viz computations: arrays checked against values worked out by hand or by a
second route (finite differences for the saliency map, a direct loop for the top-k)."""

import numpy as np
import pytest

from strided.autograd import Tensor
from strided.models import conv_autoencoder, fc_autoencoder, lenet5, unpool_autoencoder
from strided.nn.activation import ReLU
from strided.nn.containers import Sequential
from strided.nn.conv import Conv2d
from strided.nn.linear import Linear
from strided.nn.module import Module
from strided.viz import (
    activations,
    channel_scores,
    check_images,
    conv_layer_names,
    conv_weight,
    decoder_samples,
    feature_maps,
    filter_images,
    get_layer,
    input_gradient,
    reconstructions,
    saliency_map,
    tile,
    top_k_activating,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((7, 1, 28, 28)).astype(np.float32)


def test_activations_of_named_layers_equal_the_layers_run_by_hand(images):
    model = lenet5()
    model.train()
    conv0, conv1 = conv_layer_names(model)
    a = activations(model, images, [conv0, conv1])
    assert a[conv0].shape == (7, 6, 28, 28) and a[conv1].shape == (7, 16, 10, 10)
    direct = get_layer(model, conv0)(Tensor(images)).data
    np.testing.assert_allclose(a[conv0], direct, rtol=1e-6)
    assert model.training  # the mode is restored


def test_unknown_layer_lists_the_valid_names(images):
    model = lenet5()
    with pytest.raises(ValueError, match=r"no layer 'conv9'.*features\.0.*classifier"):
        activations(model, images, "conv9")


def test_wrong_image_shape_says_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(3, 28, 28\).*expected.*\(1, 28, 28\)"):
        check_images(np.zeros((3, 28, 28)), (1, 28, 28))
    assert check_images(np.zeros((1, 28, 28), np.uint8), (1, 28, 28)).shape == (1, 1, 28, 28)
    assert check_images(np.zeros((4, 1, 28, 28)), (1, 28, 28)).shape == (4, 1, 28, 28)


def test_filter_images_rgb_and_per_channel():
    w = np.random.default_rng(1).normal(size=(8, 3, 5, 5))
    rgb = filter_images(w)  # auto: rgb for 3 input channels
    assert rgb.shape == (8, 5, 5, 3)
    assert np.allclose(rgb.reshape(8, -1).min(axis=1), 0)
    assert np.allclose(rgb.reshape(8, -1).max(axis=1), 1)
    # filter 2's brightest pixel is where its largest weight was
    c, i, j = np.unravel_index(np.argmax(w[2]), w[2].shape)
    assert rgb[2, i, j, c] == 1.0
    ch = filter_images(w, "channels", max_filters=4, max_channels=2)
    assert ch.shape == (4, 2, 5, 5)
    np.testing.assert_allclose(ch, w[:4, :2] / np.abs(w[:4, :2]).max())
    with pytest.raises(ValueError, match="3 input channels"):
        filter_images(np.zeros((4, 2, 3, 3)), "rgb")


def test_conv_weight_of_a_non_conv_layer_names_the_conv_layers():
    model = lenet5()
    np.testing.assert_array_equal(conv_weight(model), model.features[0].weight.data)
    with pytest.raises(ValueError, match="not a 2-D convolution.*features.0, features.3"):
        conv_weight(model, "classifier.0")


def test_tile_lays_out_rows_with_padding():
    imgs = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    t = tile(imgs, ncols=3, pad=1)
    assert t.shape == (2 * 2 + 1, 3 * 3 + 2)
    np.testing.assert_array_equal(t[0:2, 4:7], imgs[1])
    np.testing.assert_array_equal(t[3:5, 0:3], imgs[3])
    assert np.isnan(t[2]).all() and np.isnan(t[3:5, 8:]).all()  # padding and the empty slot


def test_top_k_matches_a_direct_ranking(images):
    model = lenet5()
    layer = conv_layer_names(model)[1]
    idx, scores = top_k_activating(model, images, layer, channel=3, k=4, batch_size=3)
    direct = np.array(
        [
            activations(model, images[i : i + 1], layer)[layer][0, 3].max()
            for i in range(len(images))
        ]
    )
    np.testing.assert_array_equal(idx, np.argsort(-direct, kind="stable")[:4])
    np.testing.assert_allclose(scores, direct[idx], rtol=1e-5)
    means = channel_scores(model, images, layer, 3, reduce="mean")
    assert means.shape == (7,) and np.all(means <= direct + 1e-6)
    with pytest.raises(ValueError, match="16 channels; channel 99"):
        top_k_activating(model, images, layer, channel=99)


def test_saliency_is_the_gradient_of_the_class_score():
    # a linear model: the gradient of score c is row c of the weight, reshaped as the image
    class Lin(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(2 * 3 * 3, 4)

        def forward(self, x):
            return self.fc(x.reshape(x.shape[0], -1))

    model = Lin()
    x = np.random.default_rng(2).random((2, 2, 3, 3))
    grad, t = input_gradient(model, x, target=[1, 3])
    w = model.fc.weight.data
    np.testing.assert_allclose(grad[0], w[1].reshape(2, 3, 3), rtol=1e-6)
    np.testing.assert_allclose(grad[1], w[3].reshape(2, 3, 3), rtol=1e-6)
    sal = saliency_map(model, x, target=1)
    np.testing.assert_allclose(sal[0], np.abs(w[1].reshape(2, 3, 3)).max(axis=0), rtol=1e-6)
    assert all(p.grad is None for p in model.parameters())  # the weights' grads untouched


def test_saliency_of_a_cnn_against_finite_differences():
    model = Sequential(Conv2d(1, 2, 3, padding=1), ReLU(), Conv2d(2, 1, 3, padding=1))
    model.double()

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.body = model

        def forward(self, x):
            y = self.body(x)
            return y.reshape(y.shape[0], -1)[:, :3]  # three "class scores"

    net = Net()
    x = np.random.default_rng(3).random((1, 1, 5, 5))
    grad, t = input_gradient(net, x, target=2)
    eps, (i, j) = 1e-6, (1, 2)
    xp, xm = x.copy(), x.copy()
    xp[0, 0, i, j] += eps
    xm[0, 0, i, j] -= eps
    numeric = (net(Tensor(xp)).data[0, 2] - net(Tensor(xm)).data[0, 2]) / (2 * eps)
    assert grad[0, 0, i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_feature_maps_of_one_image(images):
    model = lenet5()
    fm = feature_maps(model, images[0], "features.0")
    assert fm.shape == (6, 28, 28)
    with pytest.raises(ValueError, match="one image"):
        feature_maps(model, images, "features.0")


def test_reconstructions_and_decoder_samples():
    x = np.random.default_rng(4).random((6, 1, 28, 28)).astype(np.float32)
    ae = conv_autoencoder()
    r = reconstructions(ae, x)
    assert r.shape == x.shape and r.min() >= 0 and r.max() <= 1  # sigmoid outputs
    s = decoder_samples(ae, x, n=5, seed=0)
    assert s.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(s, decoder_samples(ae, x, n=5, seed=0))
    assert not np.array_equal(s, decoder_samples(ae, x, n=5, seed=1))
    # with every code dimension constant over the data, each sample decodes the mean code
    fc = fc_autoencoder((784, 32, 8))
    flat = np.repeat(x[:1].reshape(1, -1), 3, axis=0)
    same = decoder_samples(fc, flat, n=2)
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)
    np.testing.assert_allclose(same[0], reconstructions(fc, flat)[0], atol=1e-6)
    with pytest.raises(ValueError, match="pooling indices"):
        decoder_samples(unpool_autoencoder(), x)
