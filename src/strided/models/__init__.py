"""The architectures of the notes, built from strided's own layers.

Each constructor takes `num_classes` and `in_channels`; parameter counts match the papers
and torchvision (see each module's docstring), and torchvision state dicts load 1:1 with
`strided.io.load_torch_state_dict`. `get_model(name)` / `list_models()` look them up by name.
"""

from .alexnet import AlexNet, alexnet
from .autoencoder import (
    Autoencoder,
    UnpoolAutoencoder,
    conv_autoencoder,
    fc_autoencoder,
    linear_autoencoder,
    unpool_autoencoder,
)
from .densenet import DenseBlock, DenseLayer, DenseNet, Transition, densenet121, densenet_cifar
from .googlenet import (
    BasicConv2d,
    GoogLeNet,
    GoogLeNetOutputs,
    Inception,
    InceptionAux,
    googlenet,
    googlenet_loss,
)
from .lenet import LeNet5, lenet5
from .mlp import mlp
from .mobilenet import ConvBNReLU, DepthwiseSeparableConv, MobileNetV1, mobilenet_v1
from .registry import get_model, input_shape_of, list_models, register_model
from .resnet import (
    BasicBlock,
    Bottleneck,
    CifarResNet,
    PadShortcut,
    ResNet,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet56,
    resnet101,
    resnet110,
    resnet152,
)
from .vgg import VGG, vgg11, vgg13, vgg16, vgg19
