"""plot_weights: the notes' grid of first-layer weight images."""

import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from strided.nn import Linear  # noqa: E402
from strided.viz.weights import plot_weights, unit_weight_images  # noqa: E402


def drawn_images(fig) -> list[np.ndarray]:
    return [ax.images[0].get_array() for ax in fig.axes if ax.get_visible() and ax.images]


def test_each_unit_is_its_column_as_an_image_on_one_colour_scale():
    rng = np.random.default_rng(0)
    coefs = rng.normal(size=(784, 50))
    fig = plot_weights(coefs, shape=(28, 28))
    images = drawn_images(fig)
    assert len(images) == 50
    for j in (0, 17, 49):
        np.testing.assert_array_equal(images[j], coefs[:, j].reshape(28, 28))
    for ax in fig.axes:
        if ax.images:
            assert ax.images[0].get_clim() == (0.5 * coefs.min(), 0.5 * coefs.max())
    assert len(drawn_images(plot_weights(coefs, max_units=16))) == 16
    assert all(len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0 for ax in fig.axes)


def test_a_linear_layer_draws_its_weight_rows():
    layer = Linear(12, 5)
    images = unit_weight_images(layer, shape=(3, 4))
    np.testing.assert_array_equal(images, layer.weight.data.reshape(5, 3, 4))
    drawn = drawn_images(plot_weights(layer, shape=(3, 4)))
    np.testing.assert_allclose(drawn[4], layer.weight.data[4].reshape(3, 4))


def test_a_fitted_mlp_estimator_is_accepted():
    pytest.importorskip("sklearn")
    from strided.sklearn import MLPClassifier

    X = np.random.default_rng(0).random((40, 16))
    clf = MLPClassifier((6,), max_iter=2, random_state=0).fit(X, np.arange(40) % 2)
    np.testing.assert_array_equal(
        unit_weight_images(clf, shape=(4, 4)), clf.coefs_[0].T.reshape(6, 4, 4)
    )


def test_saves_png_and_svg(tmp_path):
    coefs = np.random.default_rng(1).normal(size=(64, 9))
    plot_weights(coefs, shape=(8, 8), path=tmp_path / "w.png")
    plot_weights(coefs, shape=(8, 8), path=tmp_path / "w.svg")
    assert (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "w.svg").read_bytes()[:500]


def test_bad_shapes_name_the_sizes():
    with pytest.raises(ValueError, match=r"holds 784 values but each unit has 100"):
        plot_weights(np.zeros((100, 10)), shape=(28, 28))
    with pytest.raises(ValueError, match="weight matrix"):
        plot_weights(np.zeros(784))


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"strided\[plot\]"):
        plot_weights(np.zeros((4, 2)), shape=(2, 2))
