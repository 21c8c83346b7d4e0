"""Every architecture runs forward and backward on a small batch; output shapes at the
notes' input sizes; the fixed-size heads reject wrong input sizes with a clear message;
GoogLeNet's auxiliary heads exist in training only.

Big models run at small inputs (ResNet-18 on 64×64, VGG at 32×32 with a narrow head) so
the file stays within a few seconds on two cores.
"""

import numpy as np
import pytest

import strided
from strided.autograd import Tensor
from strided.models import (
    GoogLeNetOutputs,
    alexnet,
    conv_autoencoder,
    densenet121,
    densenet_cifar,
    fc_autoencoder,
    googlenet,
    googlenet_loss,
    lenet5,
    linear_autoencoder,
    mlp,
    mobilenet_v1,
    resnet18,
    resnet20,
    resnet50,
    unpool_autoencoder,
    vgg11,
    vgg16,
)
from strided.models.resnet import BasicBlock, Bottleneck


def rand(*shape, seed=0):
    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


# name → (constructor, input shape, output shape)
SMALL = {
    "mlp": (lambda: mlp([784, 16, 16, 10]), (3, 784), (3, 10)),
    "lenet5": (lambda: lenet5(), (2, 1, 28, 28), (2, 10)),
    "lenet5 classic": (lambda: lenet5(variant="classic"), (2, 1, 32, 32), (2, 10)),
    "alexnet": (lambda: alexnet(num_classes=10), (1, 3, 64, 64), (1, 10)),
    "vgg11 narrow head": (
        lambda: vgg11(num_classes=10, hidden=64, pool_size=1),
        (2, 3, 32, 32),
        (2, 10),
    ),
    "vgg16_bn narrow head": (
        lambda: vgg16(num_classes=10, batch_norm=True, hidden=32, pool_size=1),
        (2, 3, 32, 32),
        (2, 10),
    ),
    "googlenet (eval path)": (
        lambda: googlenet(num_classes=10, aux_logits=False),
        (1, 3, 64, 64),
        (1, 10),
    ),
    "resnet18": (lambda: resnet18(num_classes=10), (1, 3, 64, 64), (1, 10)),
    "resnet50": (lambda: resnet50(num_classes=10), (2, 3, 32, 32), (2, 10)),
    "resnet20": (lambda: resnet20(), (2, 3, 32, 32), (2, 10)),
    "plain20": (lambda: resnet20(plain=True), (2, 3, 32, 32), (2, 10)),
    "resnet20 option B": (lambda: resnet20(shortcut="B"), (2, 3, 16, 16), (2, 10)),
    "densenet121": (lambda: densenet121(num_classes=10), (2, 3, 32, 32), (2, 10)),
    "densenet-bc 40": (lambda: densenet_cifar(40, 12), (2, 3, 32, 32), (2, 10)),
    "densenet 40 no bottleneck": (
        lambda: densenet_cifar(40, 12, bottleneck=False, compression=1.0),
        (1, 3, 16, 16),
        (1, 10),
    ),
    "mobilenet_v1 x0.25": (
        lambda: mobilenet_v1(num_classes=10, width_mult=0.25),
        (2, 3, 64, 64),
        (2, 10),
    ),
    "fc autoencoder": (lambda: fc_autoencoder(), (2, 784), (2, 784)),
    "conv autoencoder": (lambda: conv_autoencoder(), (2, 1, 28, 28), (2, 1, 28, 28)),
    "unpool autoencoder": (lambda: unpool_autoencoder(), (2, 1, 28, 28), (2, 1, 28, 28)),
    "linear autoencoder": (lambda: linear_autoencoder(20, 3), (4, 20), (4, 20)),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_forward_backward_small_batch(name):
    build, in_shape, out_shape = SMALL[name]
    strided.manual_seed(0)
    model = build()
    model.train()
    y = model(rand(*in_shape))
    assert y.shape == out_shape
    assert y.dtype == np.float32
    (y * y).mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert p.grad.shape == p.shape
        assert np.all(np.isfinite(p.grad.data)), pname
    # something actually flows to the first layer
    first = next(iter(model.parameters()))
    assert np.abs(first.grad.data).sum() > 0


def test_lenet5_and_alexnet_at_the_notes_input_sizes():
    with strided.no_grad():
        assert lenet5().eval()(rand(1, 1, 28, 28)).shape == (1, 10)
        assert lenet5(variant="classic").eval()(rand(1, 1, 32, 32)).shape == (1, 10)
        m = alexnet(variant="original").eval()
        assert m(rand(1, 3, 227, 227)).shape == (1, 1000)


def test_fixed_head_names_the_expected_input_size():
    with strided.no_grad():
        with pytest.raises(ValueError, match=r"227×227.*\(1, 3, 224, 224\)"):
            alexnet(variant="original").eval()(rand(1, 3, 224, 224))
        with pytest.raises(ValueError, match=r"lenet5.*28×28.*\(1, 1, 32, 32\)"):
            lenet5()(rand(1, 1, 32, 32))
        with pytest.raises(ValueError, match=r"lenet5.*32×32"):
            lenet5(variant="classic")(rand(1, 1, 28, 28))


def test_wrong_channel_count_is_reported_by_the_first_layer():
    with pytest.raises(ValueError, match="3 channels, expected 1"):
        lenet5()(rand(1, 3, 28, 28))


def test_googlenet_auxiliary_outputs_in_training_only():
    strided.manual_seed(0)
    m = googlenet(num_classes=7)
    x = rand(2, 3, 64, 64)
    out = m.train()(x)
    assert isinstance(out, GoogLeNetOutputs)
    assert [o.shape for o in out] == [(2, 7)] * 3
    target = Tensor(np.array([1, 4]))
    loss = googlenet_loss(out, target)
    from strided.functional.loss import cross_entropy

    parts = [cross_entropy(o, target).item() for o in out]
    assert loss.item() == pytest.approx(parts[0] + 0.3 * parts[1] + 0.3 * parts[2], rel=1e-5)
    loss.backward()
    assert m.aux1.fc2.weight.grad is not None and m.aux2.fc2.weight.grad is not None
    with strided.no_grad():
        ev = m.eval()(x)
    assert isinstance(ev, Tensor) and ev.shape == (2, 7)
    assert googlenet_loss(ev, target).item() == pytest.approx(cross_entropy(ev, target).item())


def test_residual_block_with_zero_last_bn_is_the_identity_path():
    # with bn2's scale at 0 the residual branch is 0: the block returns relu(x), its plain
    # twin returns relu(0 + beta) = 0. The skip connection is what carries the signal.
    x = rand(2, 8, 5, 5)
    for plain, expected in ((False, np.maximum(x.data, 0)), (True, np.zeros_like(x.data))):
        block = BasicBlock(8, 8, plain=plain).eval()
        block.bn2.weight.data[:] = 0
        with strided.no_grad():
            np.testing.assert_allclose(block(x).data, expected, atol=1e-6)


def test_bottleneck_downsample_shapes():
    from strided.nn.containers import Sequential
    from strided.nn.conv import Conv2d
    from strided.nn.norm import BatchNorm2d

    ds = Sequential(Conv2d(64, 256, 1, stride=2, bias=False), BatchNorm2d(256))
    block = Bottleneck(64, 64, stride=2, downsample=ds)
    assert block(rand(1, 64, 8, 8)).shape == (1, 256, 4, 4)


def test_cifar_resnet_stage_shapes():
    m = resnet20().eval()
    with strided.no_grad():
        x = m.relu(m.bn1(m.conv1(rand(1, 3, 32, 32))))
        shapes = []
        for stage in (m.layer1, m.layer2, m.layer3):
            x = stage(x)
            shapes.append(x.shape)
    assert shapes == [(1, 16, 32, 32), (1, 32, 16, 16), (1, 64, 8, 8)]


def test_models_are_float32_and_follow_the_default_dtype():
    assert all(p.dtype == np.float32 for p in resnet20().parameters())
    m = lenet5().double()
    assert m(Tensor(np.zeros((1, 1, 28, 28)))).dtype == np.float64


def test_googlenet_transform_input_matches_torchvision_formula():
    m = googlenet(num_classes=3, aux_logits=False, variant="torchvision", transform_input=True)
    x = rand(1, 3, 4, 4)
    y = m._transform_input(x).data
    expected = np.stack(
        [
            x.data[:, 0] * (0.229 / 0.5) + (0.485 - 0.5) / 0.5,
            x.data[:, 1] * (0.224 / 0.5) + (0.456 - 0.5) / 0.5,
            x.data[:, 2] * (0.225 / 0.5) + (0.406 - 0.5) / 0.5,
        ],
        axis=1,
    )
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_mlp_activation_by_name_or_factory():
    from strided.nn.activation import ReLU, Sigmoid, Tanh
    from strided.nn.dropout import Dropout

    m = mlp([4, 3, 2], activation="tanh", output_activation="sigmoid", dropout=0.1)
    assert [type(l) for l in m] == [type(m[0]), Tanh, Dropout, type(m[0]), Sigmoid]
    m2 = mlp([4, 3, 2], activation=ReLU)
    assert isinstance(m2[1], ReLU) and len(m2) == 3
    deep = mlp([4, 3, 3, 2])
    assert deep[1] is not deep[3]  # one module per layer, so per-layer hooks stay apart
    with pytest.raises(ValueError, match="unknown name 'swishy'"):
        mlp([4, 2, 1], activation="swishy")
