"""Autoencoders: shapes, the unpooling decoder's use of the encoder's indices, and the
classic result that a linear autoencoder learns the principal subspace (compared with an
SVD)."""

import numpy as np
import pytest

import strided
from strided.autograd import Tensor
from strided.models import conv_autoencoder, fc_autoencoder, linear_autoencoder, unpool_autoencoder
from strided.optim import SGD


def test_fc_autoencoder_code_and_reconstruction():
    m = fc_autoencoder((784, 128, 16))
    x = Tensor(np.random.default_rng(0).random((3, 784), dtype=np.float32))
    z = m.encode(x)
    assert z.shape == (3, 16)
    r = m.decode(z)
    assert r.shape == (3, 784) and 0 <= r.data.min() and r.data.max() <= 1  # sigmoid


def test_conv_autoencoder_uses_transposed_convs_to_undo_the_strides():
    from strided.nn.conv import ConvTranspose2d

    m = conv_autoencoder(1, (8, 16))
    assert sum(isinstance(l, ConvTranspose2d) for l in m.decoder) == 2
    x = Tensor(np.zeros((2, 1, 28, 28), np.float32))
    assert m.encode(x).shape == (2, 16, 7, 7)
    assert m(x).shape == (2, 1, 28, 28)


def test_unpool_autoencoder_puts_values_back_at_the_argmax():
    m = unpool_autoencoder(1, (4, 8))
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((1, 1, 8, 8)).astype(np.float32))
    z, indices = m.encode(x)
    assert z.shape == (1, 8, 2, 2) and len(indices) == 2
    # the first unpooling scatters the code into a 4×4 map that is zero except where the
    # encoder's last pooling found its maxima
    up = m.unpools[0](z, indices[-1])
    assert up.shape == (1, 8, 4, 4)
    nonzero = (up.data != 0).reshape(8, -1).sum(axis=1)
    assert np.all(nonzero <= 4)
    flat = up.data.reshape(8, -1)
    np.testing.assert_array_equal(
        np.sort(flat[np.arange(8)[:, None], indices[-1].data.reshape(8, -1)], axis=1),
        np.sort(z.data.reshape(8, -1), axis=1),
    )
    assert m(x).shape == (1, 1, 8, 8)


def _principal_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosines of the principal angles between the column spaces of a and b."""
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


def test_linear_autoencoder_learns_the_pca_subspace():
    rng = np.random.default_rng(0)
    n, d, k = 500, 12, 3
    # data with three strong directions (std 3, 2, 1.5) plus weak isotropic noise (0.2)
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = np.array([3.0, 2.0, 1.5] + [0.2] * (d - 3))
    x = (rng.standard_normal((n, d)) * scales) @ basis.T + 1.0  # not centred: biases learn
    x = x.astype(np.float32)
    xc = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    top = vt[:k].T  # (d, k): the top-k principal directions

    strided.manual_seed(0)
    model = linear_autoencoder(d, k)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt = Tensor(x)
    for _ in range(1500):
        opt.zero_grad()
        r = model(xt) - xt
        loss = (r * r).mean() * d  # per-example squared error
        loss.backward()
        opt.step()
    w_dec = model.decoder.weight.data  # (d, k)
    w_enc = model.encoder.weight.data  # (k, d)
    assert _principal_cosines(w_dec, top).min() > 0.9999
    # at the optimum the encoder is the decoder's pseudo-inverse: same row space
    assert _principal_cosines(w_enc.T, top).min() > 0.999
    # and the reconstruction error equals PCA's: the energy in the discarded directions
    pca_err = np.sum((xc - xc @ top @ top.T) ** 2) / n
    assert loss.item() == pytest.approx(pca_err, rel=1e-3)


def test_linear_autoencoder_rejects_a_code_wider_than_the_input():
    with pytest.raises(ValueError, match="code_size"):
        linear_autoencoder(4, 5)
