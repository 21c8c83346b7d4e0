"""The same architecture built in PyTorch inside the test (torchvision's code, written out:
torchvision is not a dependency) with weights copied by name gives the same outputs and
gradients: LeNet-5, a VGG-style stack, ResNet basic and bottleneck blocks, an inception
block, a dense block, the CIFAR ResNet-20 with option-A shortcuts, and whole
torchvision-layout ResNet-18 / GoogLeNet / DenseNet-121 / VGG-11 whose state dicts load
1:1 through `load_torch_state_dict`.
"""

from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional

import strided  # noqa: E402
from strided.autograd import Tensor  # noqa: E402
from strided.io import load_torch_state_dict  # noqa: E402
from strided.models import (  # noqa: E402
    VGG,
    densenet121,
    googlenet,
    lenet5,
    resnet18,
    resnet20,
    vgg11,
)
from strided.models.densenet import DenseBlock  # noqa: E402
from strided.models.googlenet import Inception  # noqa: E402
from strided.models.resnet import BasicBlock, Bottleneck  # noqa: E402
from strided.nn.containers import Sequential  # noqa: E402
from strided.nn.conv import Conv2d  # noqa: E402
from strided.nn.norm import BatchNorm2d  # noqa: E402

pytestmark = [pytest.mark.parity, pytest.mark.on_devices]
torch.set_num_threads(2)


# ---- torchvision's modules, written out -----------------------------------------------
class TBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class TResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(
                tnn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                tnn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TPadShortcut(tnn.Module):
    """He et al.'s option A: subsample, zero-pad the new channels."""

    def __init__(self, extra, stride):
        super().__init__()
        self.extra, self.stride = extra, stride

    def forward(self, x):
        return TF.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra))


class TCifarResNet(tnn.Module):
    def __init__(self, n=3, num_classes=10):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(16)
        self.relu = tnn.ReLU()
        c = 16
        for i, w in enumerate((16, 32, 64)):
            stride = 1 if i == 0 else 2
            ds = TPadShortcut(w - c, stride) if (stride != 1 or c != w) else None
            blocks = [TBasicBlock(c, w, stride, ds)] + [TBasicBlock(w, w) for _ in range(n - 1)]
            setattr(self, f"layer{i + 1}", tnn.Sequential(*blocks))
            c = w
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TBasicConv2d(tnn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = tnn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return TF.relu(self.bn(self.conv(x)))


class TInception(tnn.Module):
    def __init__(self, cin, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, k5=3):
        super().__init__()
        self.branch1 = TBasicConv2d(cin, ch1x1, kernel_size=1)
        self.branch2 = tnn.Sequential(
            TBasicConv2d(cin, ch3x3red, kernel_size=1),
            TBasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = tnn.Sequential(
            TBasicConv2d(cin, ch5x5red, kernel_size=1),
            TBasicConv2d(ch5x5red, ch5x5, kernel_size=k5, padding=k5 // 2),
        )
        self.branch4 = tnn.Sequential(
            tnn.MaxPool2d(3, 1, 1, ceil_mode=True), TBasicConv2d(cin, pool_proj, kernel_size=1)
        )

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TInceptionAux(tnn.Module):
    def __init__(self, cin, num_classes):
        super().__init__()
        self.conv = TBasicConv2d(cin, 128, kernel_size=1)
        self.fc1 = tnn.Linear(2048, 1024)
        self.fc2 = tnn.Linear(1024, num_classes)
        self.dropout = tnn.Dropout(0.7)

    def forward(self, x):
        x = self.conv(TF.adaptive_avg_pool2d(x, (4, 4)))
        x = TF.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(self.dropout(x))


class TGoogLeNet(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = TBasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = TBasicConv2d(64, 64, kernel_size=1)
        self.conv3 = TBasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = TInception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = TInception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = TInception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = TInception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = TInception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = TInception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = TInception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = tnn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = TInception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = TInception(832, 384, 192, 384, 48, 128, 128)
        self.aux1 = TInceptionAux(512, num_classes)
        self.aux2 = TInceptionAux(528, num_classes)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.dropout = tnn.Dropout(0.2)
        self.fc = tnn.Linear(1024, num_classes)

    def forward(self, x):  # eval path
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4d(self.inception4c(self.inception4b(self.inception4a(x))))
        x = self.maxpool4(self.inception4e(x))
        x = self.avgpool(self.inception5b(self.inception5a(x)))
        return self.fc(self.dropout(torch.flatten(x, 1)))


class TDenseLayer(tnn.Module):
    def __init__(self, cin, growth, bn_size):
        super().__init__()
        self.norm1 = tnn.BatchNorm2d(cin)
        self.relu1 = tnn.ReLU(inplace=True)
        self.conv1 = tnn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = tnn.BatchNorm2d(bn_size * growth)
        self.relu2 = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, inputs):
        x = torch.cat(inputs, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class TDenseBlock(tnn.ModuleDict):
    def __init__(self, num_layers, cin, bn_size, growth):
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", TDenseLayer(cin + i * growth, growth, bn_size))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class TTransition(tnn.Sequential):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm = tnn.BatchNorm2d(cin)
        self.relu = tnn.ReLU(inplace=True)
        self.conv = tnn.Conv2d(cin, cout, 1, bias=False)
        self.pool = tnn.AvgPool2d(2, 2)


class TDenseNet(tnn.Module):
    def __init__(self, growth=32, blocks=(6, 12, 24, 16), init=64, bn_size=4, num_classes=1000):
        super().__init__()
        self.features = tnn.Sequential(
            OrderedDict(
                [
                    ("conv0", tnn.Conv2d(3, init, 7, 2, 3, bias=False)),
                    ("norm0", tnn.BatchNorm2d(init)),
                    ("relu0", tnn.ReLU(inplace=True)),
                    ("pool0", tnn.MaxPool2d(3, 2, 1)),
                ]
            )
        )
        c = init
        for i, n in enumerate(blocks):
            self.features.add_module(f"denseblock{i + 1}", TDenseBlock(n, c, bn_size, growth))
            c += n * growth
            if i != len(blocks) - 1:
                self.features.add_module(f"transition{i + 1}", TTransition(c, c // 2))
                c //= 2
        self.features.add_module("norm5", tnn.BatchNorm2d(c))
        self.classifier = tnn.Linear(c, num_classes)

    def forward(self, x):
        out = TF.adaptive_avg_pool2d(TF.relu(self.features(x)), (1, 1))
        return self.classifier(torch.flatten(out, 1))


def t_vgg_features(cfg, batch_norm=False, cin=3):
    layers, c = [], cin
    for v in cfg:
        if v == "M":
            layers.append(tnn.MaxPool2d(2, 2))
        else:
            layers.append(tnn.Conv2d(c, v, 3, padding=1))
            if batch_norm:
                layers.append(tnn.BatchNorm2d(v))
            layers.append(tnn.ReLU(inplace=True))
            c = v
    return tnn.Sequential(*layers)


class TVGG(tnn.Module):
    def __init__(self, cfg, batch_norm=False, num_classes=1000, hidden=4096, pool=7):
        super().__init__()
        self.features = t_vgg_features(cfg, batch_norm)
        self.avgpool = tnn.AdaptiveAvgPool2d((pool, pool))
        last = [v for v in cfg if v != "M"][-1]
        self.classifier = tnn.Sequential(
            tnn.Linear(last * pool * pool, hidden),
            tnn.ReLU(True),
            tnn.Dropout(),
            tnn.Linear(hidden, hidden),
            tnn.ReLU(True),
            tnn.Dropout(),
            tnn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class TLeNet5(tnn.Module):
    def __init__(self):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
        )
        self.classifier = tnn.Sequential(
            tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10)
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# ---- helpers -------------------------------------------------------------------------
def randomise(tmodel, seed=0):
    """Random BN statistics and affine parameters, so that eval mode is not the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in tmodel.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return tmodel


def copy_weights(tmodel, ours):
    state = {k: v.detach().numpy() for k, v in tmodel.state_dict().items()}
    load_torch_state_dict(ours, state)
    return ours


def x_pair(*shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)


def close(ours, theirs, tol=1e-4):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = ours.data if isinstance(ours, Tensor) else np.asarray(ours)
    scale = max(1.0, float(np.abs(theirs).max()))
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale)


def check_forward_backward(ours, tmodel, shape, train, tol=1e-4):
    """Same outputs, same input gradient, same gradient of the first parameter."""
    ours.train(train)
    tmodel.train(train)
    x, tx = x_pair(*shape)
    y, ty = ours(x), tmodel(tx)
    close(y, ty, tol)
    w = np.random.default_rng(1).standard_normal(ty.shape).astype(np.float32)
    (y * Tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    close(x.grad, tx.grad, tol)
    (name, p), (tname, tp) = (
        next(iter(ours.named_parameters())),
        next(iter(tmodel.named_parameters())),
    )
    assert name == tname
    close(p.grad, tp.grad, tol)


# ---- blocks --------------------------------------------------------------------------
def test_lenet5_parity():
    torch.manual_seed(0)
    t = TLeNet5()
    ours = copy_weights(t, lenet5())
    check_forward_backward(ours, t, (4, 1, 28, 28), train=True)


def test_vgg_style_stack_parity_with_batch_norm():
    torch.manual_seed(0)
    cfg = [8, "M", 16, 16, "M", 24, "M"]
    t = randomise(TVGG(cfg, batch_norm=True, num_classes=10, hidden=32, pool=2))
    ours = copy_weights(t, VGG(cfg, num_classes=10, batch_norm=True, hidden=32, pool_size=2))
    check_forward_backward(ours, t, (2, 3, 16, 16), train=False)
    # training mode: batch statistics; dropout off on both sides so they agree
    t2 = randomise(TVGG(cfg, batch_norm=True, num_classes=10, hidden=32, pool=2))
    for m in t2.modules():
        if isinstance(m, tnn.Dropout):
            m.p = 0.0
    ours2 = copy_weights(
        t2, VGG(cfg, num_classes=10, batch_norm=True, hidden=32, pool_size=2, dropout=0.0)
    )
    check_forward_backward(ours2, t2, (3, 3, 16, 16), train=True)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize(
    "ours_cls, torch_cls, cin, planes, hw",
    [(BasicBlock, TBasicBlock, 8, 16, 9), (Bottleneck, TBottleneck, 16, 8, 8)],
)
def test_residual_block_parity(ours_cls, torch_cls, cin, planes, hw, train):
    torch.manual_seed(0)
    cout = planes * ours_cls.expansion
    tds = tnn.Sequential(tnn.Conv2d(cin, cout, 1, 2, bias=False), tnn.BatchNorm2d(cout))
    t = randomise(torch_cls(cin, planes, 2, tds))
    ds = Sequential(Conv2d(cin, cout, 1, stride=2, bias=False), BatchNorm2d(cout))
    ours = copy_weights(t, ours_cls(cin, planes, 2, ds))
    check_forward_backward(ours, t, (2, cin, hw, hw), train)


@pytest.mark.parametrize("k5", [3, 5])
def test_inception_block_parity(k5):
    torch.manual_seed(0)
    t = randomise(TInception(12, 4, 6, 8, 2, 4, 4, k5=k5))
    ours = copy_weights(t, Inception(12, 4, 6, 8, 2, 4, 4, kernel5=k5))
    check_forward_backward(ours, t, (2, 12, 7, 7), train=False)
    check_forward_backward(ours, t, (2, 12, 7, 7), train=True)


def test_dense_block_parity():
    torch.manual_seed(0)
    t = randomise(TDenseBlock(3, 8, 2, 4))
    ours = copy_weights(t, DenseBlock(3, 8, 4, bn_size=2))
    check_forward_backward(ours, t, (2, 8, 6, 6), train=True)
    check_forward_backward(ours, t, (2, 8, 6, 6), train=False)


# ---- whole torchvision-layout networks: every key loads, outputs agree -----------------
def _eval_parity(tmodel, ours, shape, tol=1e-4):
    tmodel.eval()
    ours.eval()
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        ty = tmodel(torch.tensor(a))
    with strided.no_grad():
        y = ours(Tensor(a))
    close(y, ty, tol)


def test_resnet18_torchvision_weights_load_and_agree():
    torch.manual_seed(0)
    t = randomise(TResNet(TBasicBlock, [2, 2, 2, 2], num_classes=10))
    assert list(t.state_dict()) == list(resnet18(num_classes=10).state_dict())
    _eval_parity(t, copy_weights(t, resnet18(num_classes=10)), (1, 3, 64, 64))


@pytest.mark.parametrize("train", [False, True])
def test_cifar_resnet20_option_a_parity(train):
    torch.manual_seed(0)
    t = randomise(TCifarResNet())
    ours = copy_weights(t, resnet20())
    check_forward_backward(ours, t, (4, 3, 16, 16), train)


def test_googlenet_torchvision_weights_load_and_agree():
    torch.manual_seed(0)
    t = randomise(TGoogLeNet(num_classes=10))
    ours = googlenet(num_classes=10, variant="torchvision")
    assert sorted(t.state_dict()) == sorted(ours.state_dict())
    _eval_parity(t, copy_weights(t, ours), (1, 3, 64, 64))


def test_densenet121_torchvision_weights_load_and_agree():
    torch.manual_seed(0)
    t = randomise(TDenseNet(num_classes=10))
    ours = densenet121(num_classes=10)
    assert list(t.state_dict()) == list(ours.state_dict())
    _eval_parity(t, copy_weights(t, ours), (1, 3, 32, 32))


def test_vgg11_keys_match_torchvision():
    # keys and shapes only: the FC head is 120M floats, too big to run here twice
    cfg = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
    t = TVGG(cfg, num_classes=10, hidden=16)
    ours = vgg11(num_classes=10, hidden=16)
    assert {k: tuple(v.shape) for k, v in t.state_dict().items()} == {
        k: tuple(v.shape) for k, v in ours.state_dict().items()
    }
