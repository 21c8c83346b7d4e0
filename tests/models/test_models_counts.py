"""Parameter counts of every constructor against the papers, torchvision and the notes.

Constructing allocates the weights (VGG-19: 144M floats), which takes about a second for
the largest; no forward pass runs here.
"""

import pytest

from strided.models import (
    alexnet,
    densenet121,
    densenet_cifar,
    googlenet,
    lenet5,
    mlp,
    mobilenet_v1,
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
    vgg11,
    vgg13,
    vgg16,
    vgg19,
)
from strided.models.googlenet import INCEPTION_TABLE, Inception
from strided.models.resnet import BasicBlock, Bottleneck
from strided.models.vgg import CONFIGS, make_features
from strided.nn.containers import Sequential
from strided.nn.conv import Conv2d


def count(model) -> int:
    return sum(p.data.size for p in model.parameters())


# (constructor, expected, source of the figure)
CASES = {
    "mlp 784-16-16-10": (lambda: mlp([784, 16, 16, 10]), 13_002, "the notes"),
    "lenet5 modern": (lambda: lenet5(), 61_706, "the notes"),
    "lenet5 classic": (lambda: lenet5(variant="classic"), 61_706, "LeCun 1998, full C3"),
    "alexnet torchvision": (lambda: alexnet(), 61_100_840, "torchvision"),
    "alexnet original": (lambda: alexnet(variant="original"), 62_378_344, "notes' table"),
    "alexnet original 2 GPUs": (
        lambda: alexnet(variant="original", groups=2),
        60_965_224,
        "Krizhevsky 2012, '60 million'",
    ),
    "vgg11": (lambda: vgg11(), 132_863_336, "torchvision"),
    "vgg13": (lambda: vgg13(), 133_047_848, "torchvision"),
    "vgg19": (lambda: vgg19(), 143_667_240, "torchvision"),
    "googlenet tv, no aux": (
        lambda: googlenet(variant="torchvision", aux_logits=False),
        6_624_904,
        "torchvision",
    ),
    "googlenet tv, aux": (
        lambda: googlenet(variant="torchvision"),
        13_004_888,
        "torchvision (aux heads in the state dict)",
    ),
    "resnet18": (lambda: resnet18(), 11_689_512, "torchvision"),
    "resnet34": (lambda: resnet34(), 21_797_672, "torchvision"),
    "resnet50": (lambda: resnet50(), 25_557_032, "torchvision"),
    "resnet101": (lambda: resnet101(), 44_549_160, "torchvision"),
    "resnet152": (lambda: resnet152(), 60_192_808, "torchvision"),
    "densenet121": (lambda: densenet121(), 7_978_856, "torchvision"),
    "mobilenet_v1": (lambda: mobilenet_v1(), 4_231_976, "Howard 2017, '4.2M'"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_parameter_count(name):
    build, expected, _source = CASES[name]
    assert count(build()) == expected


@pytest.mark.parametrize(
    "build, paper_millions",
    [(resnet20, 0.27), (resnet32, 0.46), (resnet44, 0.66), (resnet56, 0.85), (resnet110, 1.7)],
)
def test_cifar_resnets_match_table_6(build, paper_millions):
    # option-A shortcuts have no parameters, so the plain twin has exactly as many
    n = count(build())
    assert round(n / 1e6, 2 if paper_millions < 1 else 1) == paper_millions
    assert count(build(plain=True)) == n


def test_cifar_resnet20_exact():
    # 3·16·9 + BN 32, then 6 convs 16→16, 1 conv 16→32 + 5 at 32, 1 conv 32→64 + 5 at 64,
    # each conv followed by a BN (2 per channel), and the 64→10 FC
    conv = (
        3 * 16 * 9 + 6 * 16 * 16 * 9 + 16 * 32 * 9 + 5 * 32 * 32 * 9 + 32 * 64 * 9 + 5 * 64 * 64 * 9
    )
    bn = 2 * (16 + 6 * 16 + 6 * 32 + 6 * 64)
    assert count(resnet20()) == conv + bn + 64 * 10 + 10 == 269_722


def test_cifar_resnet_option_b_adds_projections():
    a, b = count(resnet20()), count(resnet20(shortcut="B"))
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)


def test_plain_imagenet_resnet_drops_the_projection_shortcuts():
    # resnet18's three downsample branches: 1×1 conv + BN at 128, 256, 512
    proj = sum(cin * cout + 2 * cout for cin, cout in ((64, 128), (128, 256), (256, 512)))
    assert count(resnet18(plain=True)) == 11_689_512 - proj


def test_mlp_count_is_the_notes_arithmetic():
    assert count(mlp([784, 16, 16, 10])) == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10


def test_vgg16_and_its_first_fc_layer():
    model = vgg16()
    assert count(model) == 138_357_544  # torchvision, the notes' "138M"
    fc6 = model.classifier[0]
    assert fc6.weight.data.size == 7 * 7 * 512 * 4096 == 102_760_448


def test_vgg16_bn_adds_two_parameters_per_channel():
    # torchvision's vgg16_bn has 138,365,992 = 138,357,544 + 2·(sum of the conv widths)
    plain, bn = make_features(CONFIGS["D"]), make_features(CONFIGS["D"], batch_norm=True)
    widths = [v for v in CONFIGS["D"] if v != "M"]
    assert count(bn) - count(plain) == 2 * sum(widths) == 138_365_992 - 138_357_544


def test_alexnet_original_conv1_and_fc6():
    m = alexnet(variant="original")
    assert count(m.features[0]) == 11 * 11 * 3 * 96 + 96 == 34_944
    assert m.classifier[1].weight.shape == (4096, 6 * 6 * 256)


def test_basic_and_bottleneck_block_counts():
    # two 3×3 convs at 64 + two BNs
    assert count(BasicBlock(64, 64)) == 2 * 3 * 3 * 64 * 64 + 4 * 64 == 73_984
    # 1×1 256→64, 3×3 64→64, 1×1 64→256 and their BNs: the 'bottleneck' saving
    assert (
        count(Bottleneck(256, 64))
        == 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)
        == 70_400
    )


def test_one_by_one_reduction_arithmetic_of_the_notes():
    direct = Conv2d(192, 128, 3, padding=1)
    reduced = Sequential(Conv2d(192, 96, 1), Conv2d(96, 128, 3, padding=1))
    assert count(direct) == 3 * 3 * 192 * 128 + 128 == 221_312
    assert count(reduced) == 192 * 96 + 96 + 3 * 3 * 96 * 128 + 128 == 129_248


# Table 1 of Szegedy et al., "params" column (thousands).
PAPER_PARAMS_K = {
    "3a": 159,
    "3b": 380,
    "4a": 364,
    "4b": 437,
    "4c": 463,
    "4d": 580,
    "4e": 840,
    "5a": 1072,
    "5b": 1388,
}


def _table_weights(cin, c1, r3, c3, r5, c5, pp):
    """Conv weights implied by the table's columns (5×5 in the third branch)."""
    return cin * c1 + cin * r3 + 9 * r3 * c3 + cin * r5 + 25 * r5 * c5 + cin * pp


def test_inception_blocks_match_table_1():
    model = googlenet()
    cin = 192
    for name, widths in INCEPTION_TABLE.items():
        block = getattr(model, "inception" + name)
        weights = sum(m.weight.data.size for m in block.modules() if isinstance(m, Conv2d))
        assert weights == _table_weights(cin, *widths)
        bn = 2 * (widths[0] + widths[1] + widths[2] + widths[3] + widths[4] + widths[5])
        assert count(block) == weights + bn
        # The paper's column is rounded and not always consistent with its own widths:
        # all blocks agree within 5 % except 4c, whose widths give 509K against the 463K
        # printed (the widths, not the printed count, are what the network is built from).
        ratio = weights / (1000 * PAPER_PARAMS_K[name])
        if name == "4c":
            assert weights == 509_440
        else:
            assert abs(ratio - 1) < 0.05, (name, weights)
        cin = block.out_channels
    assert cin == 1024


def test_inception_3a_output_channels():
    assert Inception(192, *INCEPTION_TABLE["3a"]).out_channels == 64 + 128 + 32 + 32 == 256


def test_googlenet_aux_heads_are_the_difference():
    with_aux, without = count(googlenet()), count(googlenet(aux_logits=False))
    aux1 = (512 * 128 + 2 * 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)
    aux2 = aux1 + (528 - 512) * 128
    assert with_aux - without == aux1 + aux2


def test_densenet_bc_cifar():
    # Table 2 of Huang et al.: DenseNet-BC (L=100, k=12) has 0.8M parameters
    n = count(densenet_cifar(100, 12))
    assert n == 769_162 and round(n / 1e6, 1) == 0.8
    # compression θ=1 keeps every channel through the transitions: more parameters
    assert count(densenet_cifar(100, 12, compression=1.0)) > n
    with pytest.raises(ValueError, match="6n\\+4"):
        densenet_cifar(depth=99)


def test_mobilenet_width_multiplier_shrinks_quadratically():
    full, half = count(mobilenet_v1()), count(mobilenet_v1(width_mult=0.5))
    # the 1024→1000 classifier scales linearly, the convs about quadratically
    assert full - 1025 * 1000 > 3.5 * (half - 513 * 1000)


def test_num_classes_and_in_channels_change_the_ends():
    m = resnet18(num_classes=10, in_channels=1)
    assert m.conv1.weight.shape == (64, 1, 7, 7)
    assert m.fc.weight.shape == (10, 512)
    assert count(m) == 11_689_512 - 2 * 64 * 49 - 990 * 512 - 990


def test_bad_constructor_arguments_are_named():
    with pytest.raises(ValueError, match="6n\\+2"):
        resnet34.__globals__["CifarResNet"](21)
    with pytest.raises(ValueError, match="variant"):
        alexnet(variant="zfnet")
    with pytest.raises(ValueError, match="sizes"):
        mlp([784])


def test_registry_builds_by_name():
    from strided.models import get_model, input_shape_of, list_models

    names = list_models()
    for expected in (
        "mlp",
        "lenet5",
        "lenet5_classic",
        "alexnet",
        "alexnet_original",
        "vgg11",
        "vgg16",
        "vgg19_bn",
        "googlenet",
        "resnet18",
        "resnet152",
        "resnet20",
        "resnet110",
        "plain20",
        "plain56",
        "densenet121",
        "densenet_bc_100",
        "mobilenet_v1",
        "fc_autoencoder",
        "conv_autoencoder",
        "unpool_autoencoder",
        "linear_autoencoder",
    ):
        assert expected in names
    assert count(get_model("lenet5", num_classes=10)) == 61_706
    assert count(get_model("mlp")) == 13_002
    assert count(get_model("plain20")) == 269_722
    assert get_model("plain20").layer1[0].plain
    assert get_model("resnet20", num_classes=100).fc.out_features == 100
    assert input_shape_of("vgg16") == (3, 224, 224)
    assert input_shape_of("alexnet_original") == (3, 227, 227)
    assert input_shape_of("resnet20") == (3, 32, 32)
    with pytest.raises(ValueError, match="unknown model 'resnet21'.*resnet20"):
        get_model("resnet21")
