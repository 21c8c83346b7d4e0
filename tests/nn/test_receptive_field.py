"""Receptive fields in `summary`: the notes' worked examples, computed by hand.

Per layer, with effective kernel k' = d·(k − 1) + 1: r_out = r + (k' − 1)·j,
j_out = j·stride, start_out = start + ((k' − 1)/2 − pad)·j (pixel i of the input centred
at i).
"""

import numpy as np
import pytest

import strided.functional as F
from strided.models import alexnet, densenet121, googlenet, resnet20, vgg16
from strided.nn.activation import ReLU
from strided.nn.containers import Sequential
from strided.nn.conv import Conv2d, ConvTranspose2d
from strided.nn.linear import Linear
from strided.nn.module import Module
from strided.nn.pool import AdaptiveAvgPool2d, MaxPool2d
from strided.nn.receptive_field import GLOBAL, ReceptiveField
from strided.nn.summary import summary


def fields(model, shape):
    s = summary(model, shape, print_table=False)
    return {r.name: r.receptive_field for r in s.rows}


def sizes(model, shape):
    s = summary(model, shape, print_table=False)
    return [r.receptive_field.size[0] for r in s.rows[1:]]


def test_three_stacked_3x3_convolutions_see_3_5_7():
    model = Sequential(*[Conv2d(1, 1, 3, padding=1) for _ in range(3)])
    f = fields(model, (1, 16, 16))
    assert [f[str(i)].size for i in range(3)] == [(3, 3), (5, 5), (7, 7)]
    assert all(f[str(i)].jump == (1, 1) and f[str(i)].start == (0, 0) for i in range(3))
    assert f["input"] == ReceptiveField.identity(2)


def test_dilated_stack_rates_1_2_4_sees_3_7_15():
    model = Sequential(*[Conv2d(1, 1, 3, padding=d, dilation=d) for d in (1, 2, 4)])
    assert sizes(model, (1, 32, 32)) == [3, 7, 15]


def test_vgg16_pool5_sees_212_pixels():
    f = fields(vgg16(), (3, 32, 32))  # the field does not depend on the image size
    # 2 convs → 5, pool → 6 (j 2), 2 convs → 14, pool → 16 (j 4), 3 convs → 40, pool → 44
    # (j 8), 3 convs → 92, pool → 100 (j 16), 3 convs → 196, pool → 212 (j 32)
    pools = [f[f"features.{i}"] for i in (4, 9, 16, 23, 30)]
    assert [p.size[0] for p in pools] == [6, 16, 44, 100, 212]
    assert [p.jump[0] for p in pools] == [2, 4, 8, 16, 32]
    assert pools[-1].start == (15.5, 15.5)  # (k−1)/2 − p summed: 0.5 + 1 + 2 + 4 + 8
    assert f["classifier.0"] is GLOBAL


def test_alexnet_of_the_notes():
    f = fields(alexnet(variant="original"), (3, 227, 227))
    names = [
        "features.0",
        "features.2",
        "features.4",
        "features.6",
        "features.8",
        "features.10",
        "features.12",
        "features.14",
    ]
    # conv1 11/4; pool 3/2: 11 + 2·4; conv2 5: 19 + 4·8; pool: 51 + 2·8; three 3×3
    # convs at jump 16: 67 + 32·(1, 2, 3); pool5: 163 + 2·16
    assert [f[n].size[0] for n in names] == [11, 19, 51, 67, 99, 131, 163, 195]
    assert [f[n].jump[0] for n in names] == [4, 8, 8, 16, 16, 16, 16, 32]
    assert f["features.0"].start == (5, 5)  # (11 − 1)/2, no padding


def test_pooling_with_padding_and_adaptive_pooling():
    model = Sequential(
        Conv2d(1, 2, 3, stride=2, padding=1), MaxPool2d(3, 2, 1), AdaptiveAvgPool2d(1)
    )
    f = fields(model, (1, 16, 16))
    assert f["0"] == ReceptiveField((3, 3), (2, 2), (0, 0))
    assert f["1"] == ReceptiveField((7, 7), (4, 4), (0, 0))
    # 16 → 8 → 4: the global pool is a 4-wide window at jump 4: 7 + 3·4, centred at 6
    assert f["2"] == ReceptiveField((19, 19), (16, 16), (6, 6))


def test_transposed_convolution_grows_the_field_by_its_widest_span():
    # conv 3/2 pad 1: r 3, j 2. The transposed conv k 4, s 2, p 1 reads two inputs per
    # output pixel (taps 0, 2 or 1, 3): r = 3 + 1·2 = 5, j = 2/2 = 1, start 0 + (1 − 1.5)·1
    model = Sequential(Conv2d(1, 1, 3, stride=2, padding=1), ConvTranspose2d(1, 1, 4, 2, 1))
    f = fields(model, (1, 8, 8))
    assert f["1"] == ReceptiveField((5, 5), (1, 1), (-0.5, -0.5))
    # k 2, s 2: each output pixel reads one input pixel, so the field keeps its size
    model = Sequential(Conv2d(1, 1, 3, stride=2, padding=1), ConvTranspose2d(1, 1, 2, 2))
    assert fields(model, (1, 8, 8))["1"] == ReceptiveField((3, 3), (1, 1), (-0.5, -0.5))


def test_bilinear_upsampling_reads_two_neighbours():
    class Up(Module):
        def __init__(self):
            super().__init__()
            self.conv = Conv2d(1, 1, 3, stride=2, padding=1)

        def forward(self, x):
            return F.interpolate(self.conv(x), scale_factor=2, mode="bilinear")

    from strided.autograd import Tensor
    from strided.nn.receptive_field import ReceptiveFieldTracer

    tracer = ReceptiveFieldTracer()
    x = Tensor(np.zeros((1, 1, 8, 8), np.float32))
    with tracer.watch(x):
        y = Up()(x)
    # conv: r 3, j 2. Bilinear ×2 mixes two neighbouring inputs (2 pixels apart): r 3 + 2,
    # jump 2/2; the first output pixel clamps to input 0 (half-pixel rule): start 0
    assert tracer.field_of(y) == ReceptiveField((5, 5), (1, 1), (0, 0))


class _Residual(Module):
    def __init__(self):
        super().__init__()
        self.a = Conv2d(1, 1, 3, padding=1)
        self.b = Conv2d(1, 1, 3, padding=1)
        self.short = Conv2d(1, 1, 1)
        self.relu = ReLU()

    def forward(self, x):
        return self.relu(self.b(self.a(x)) + self.short(x))


class _Branches(Module):
    def __init__(self):
        super().__init__()
        self.one = Conv2d(1, 2, 1)
        self.five = Conv2d(1, 2, 5, padding=2)
        self.after = Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        return self.after(F.cat([self.one(x), self.five(x)], axis=1))


def test_branches_take_the_largest_path():
    f = fields(_Residual(), (1, 12, 12))
    assert f["short"].size == (1, 1) and f["b"].size == (5, 5)
    assert f["relu"].size == (5, 5)  # the block's relu(sum): max over the two paths
    f = fields(_Branches(), (1, 12, 12))
    assert f["after"].size == (7, 7)  # cat of 1 and 5, then a 3×3: 5 + 2


def test_unequally_centred_branches_take_the_union():
    a = ReceptiveField((3,), (1,), (0,))  # covers −1..1
    b = ReceptiveField((3,), (1,), (2,))  # covers 1..3
    assert a.union(b) == ReceptiveField((5,), (1,), (1,))


def test_strided_slicing_and_global_after_flatten():
    class Net(Module):
        def __init__(self):
            super().__init__()
            self.conv = Conv2d(1, 1, 3, padding=1)
            self.fc = Linear(16, 3)

        def forward(self, x):
            y = self.conv(x)[:, :, 1::2, 1::2]  # pixels 1, 3, 5, 7 of an 8×8 map
            return self.fc(F.flatten(y, 1))

    s = summary(Net(), (1, 8, 8), print_table=False)
    assert s.rows[-1].receptive_field is GLOBAL
    from strided.autograd import Tensor
    from strided.nn.receptive_field import ReceptiveFieldTracer

    tracer = ReceptiveFieldTracer()
    x = Tensor(np.zeros((1, 1, 8, 8), np.float32))
    net = Net()
    with tracer.watch(x):
        y = net.conv(x)[:, :, 1::2, 1::2]
    assert tracer.field_of(y) == ReceptiveField((3, 3), (2, 2), (1, 1))


@pytest.mark.parametrize(
    "build, shape", [(resnet20, (3, 32, 32)), (googlenet, (3, 64, 64)), (densenet121, (3, 64, 64))]
)
def test_every_layer_of_the_branched_models_has_a_field(build, shape):
    s = summary(build(), shape, print_table=False)
    known = [r.receptive_field for r in s.rows]
    assert all(f is not None for f in known), [r.name for r in s.rows if r.receptive_field is None]
    spatial = [f.size[0] for f in known if f is not GLOBAL]
    assert spatial[-1] == max(spatial)  # the last spatial layer sees the most
    assert "rf" in str(s) and "jump" in str(s)


def test_resnet20_fields_grow_by_two_jumps_per_conv():
    f = fields(resnet20(), (3, 32, 32))
    # conv1 3; six 3×3 convs at jump 1: 15; conv 3/2: 17, five more at jump 2: 37;
    # conv 3/2: 41, five more at jump 4: 81; the 8×8 average pool adds 7·4
    assert f["layer1.2.relu"].size == (15, 15)
    assert f["layer2.2.relu"].size == (37, 37) and f["layer2.2.relu"].jump == (2, 2)
    assert f["layer3.2.relu"].size == (81, 81)
    assert f["avgpool"].size == (109, 109)


def test_mlp_summary_has_no_field_columns():
    s = summary(Sequential(Linear(4, 3)), (4,), print_table=False)
    assert all(r.receptive_field is None for r in s.rows)
    assert "jump" not in str(s)
