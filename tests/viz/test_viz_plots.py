"""strided.viz pictures: checked by their data (the arrays drawn, the files written), never
by eye. matplotlib runs on the Agg backend."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from strided.models import conv_autoencoder, lenet5  # noqa: E402
from strided.viz import (  # noqa: E402
    plot_confusion_matrix,
    plot_decoder_samples,
    plot_feature_maps,
    plot_filters,
    plot_gradient_flow,
    plot_reconstructions,
    plot_saliency,
    plot_top_k,
    save_figure,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((6, 1, 28, 28)).astype(np.float32)


def _drawn(fig):
    return [im.get_array() for ax in fig.axes for im in ax.get_images()]


def test_plot_filters_draws_one_row_per_filter_and_saves_png_and_svg(tmp_path):
    model = lenet5()
    fig = plot_filters(model, "features.3", max_filters=5, max_channels=4, path=tmp_path / "f.png")
    (grid,) = _drawn(fig)
    assert grid.shape == (5 * 6 - 1, 4 * 6 - 1)  # 5×4 filters of 5×5 with 1-pixel gaps
    w = model.features[3].weight.data[:5, :4]
    np.testing.assert_allclose(grid[:5, :5], w[0, 0] / np.abs(w).max(), rtol=1e-5)
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    save_figure(fig, tmp_path / "f.svg")
    assert b"<svg" in (tmp_path / "f.svg").read_bytes()[:500]
    with pytest.raises(ValueError, match=r"\.png"):
        save_figure(fig, tmp_path / "f.bmp")


def test_plot_filters_of_a_grey_input_layer_in_a_square_grid():
    (grid,) = _drawn(plot_filters(lenet5()))
    assert grid.shape == (2 * 6 - 1, 3 * 6 - 1)  # six 5×5 filters, 3 per row


def test_plot_filters_in_colour_for_rgb_inputs():
    fig = plot_filters(lenet5(in_channels=3))
    (grid,) = _drawn(fig)
    assert grid.shape == (2 * 6 - 1, 3 * 6 - 1, 3)  # six 5×5 RGB filters, 3 per row


def test_plot_feature_maps_shows_the_input_and_each_channel(images, tmp_path):
    model = lenet5()
    fig = plot_feature_maps(model, images[0], "features.0", path=tmp_path / "m.png")
    drawn = _drawn(fig)
    assert len(drawn) == 1 + 6
    assert drawn[0].shape == (28, 28) and drawn[1].shape == (28, 28)
    assert (tmp_path / "m.png").stat().st_size > 0
    fig = plot_feature_maps(model, images[0], "classifier.0")  # a linear layer: bars
    assert len(fig.axes[0].patches) == model.classifier[0].out_features


def test_plot_top_k_saliency_reconstructions_samples(images, tmp_path):
    model = lenet5()
    fig = plot_top_k(
        model, images, "features.0", 2, k=4, labels=np.arange(6) % 3, classes=["a", "b", "c"]
    )
    assert len(_drawn(fig)) == 4
    fig = plot_saliency(model, images[:3], path=tmp_path / "s.svg")
    drawn = _drawn(fig)
    assert len(drawn) == 6 and drawn[3].shape == (28, 28) and np.all(drawn[3] >= 0)
    ae = conv_autoencoder()
    fig = plot_reconstructions(ae, images[:4])
    assert len(_drawn(fig)) == 8
    fig = plot_decoder_samples(ae, images, n=6, path=tmp_path / "d.png")
    assert len(_drawn(fig)) == 6 and (tmp_path / "d.png").exists()


def test_plot_confusion_matrix_normalises_rows():
    cm = np.array([[8, 2], [1, 9]])
    fig = plot_confusion_matrix(cm, ["cat", "dog"])
    (drawn,) = _drawn(fig)
    np.testing.assert_allclose(drawn, [[0.8, 0.2], [0.1, 0.9]])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["0.80", "0.20", "0.10", "0.90"]
    assert "0.850" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)))


def test_plot_gradient_flow_from_a_table(tmp_path):
    records = [
        {
            "step": s,
            "layer": name,
            "grad_norm": g * 0.5**s,
            "update_ratio": 1e-3,
            "weight_norm": 1.0,
        }
        for s in range(1, 4)
        for name, g in (("a", 1.0), ("b", 4.0))
    ]
    records += [{"step": s, "layer": "relu", "dead_fraction": 0.25} for s in range(1, 4)]
    fig = plot_gradient_flow({"layers": ["a", "b"], "records": records}, path=tmp_path / "g.png")
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[1].get_ydata(), [2.0, 1.0, 0.5])  # layer b
    bars = [p.get_height() for p in fig.axes[1].patches]
    np.testing.assert_allclose(bars, [np.mean([0.5, 0.25, 0.125]), np.mean([2.0, 1.0, 0.5])])
    np.testing.assert_allclose(fig.axes[3].get_lines()[0].get_ydata(), [0.25] * 3)
    assert (tmp_path / "g.png").exists()
    with pytest.raises(ValueError, match="no gradient statistics"):
        plot_gradient_flow({"records": []})


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_mpl(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    with pytest.raises(ImportError, match=r"pip install 'strided\[plot\]'"):
        plot_confusion_matrix(np.eye(2))
