"""`summary(model, input_shape)` reproduces the notes' VGG-16 and AlexNet tables.

VGG-16 runs at 32×32, not 224×224 (a 15-GMAC forward is too slow for the test suite): its
five pools halve 32 → 1 as they halve 224 → 7, so every conv and pool row at 224 is
exactly (224/32)² = 49 times the row at 32, and the FC rows (after the adaptive 7×7 pool)
are the same. The test checks the 224×224 numbers of the notes through that factor.
"""

import io

import pytest

from strided.models import alexnet, googlenet, lenet5, mobilenet_v1, resnet18, resnet20, vgg16
from strided.models.mobilenet import DepthwiseSeparableConv
from strided.nn.containers import Sequential
from strided.nn.conv import Conv2d, ConvTranspose2d
from strided.nn.linear import Linear
from strided.nn.summary import summary


@pytest.fixture(scope="module")
def vgg16_at_32():
    model = vgg16()
    buf = io.StringIO()
    return model, summary(model, (3, 32, 32), file=buf), buf.getvalue()


def test_vgg16_table_of_the_notes(vgg16_at_32):
    _, s, _ = vgg16_at_32
    rows = s.rows
    labels = [r.label for r in rows]
    assert labels[:4] == ["INPUT", "CONV3-64", "CONV3-64", "POOL2"]
    assert labels[-3:] == ["FC-4096", "FC-4096", "FC-1000"]
    spatial = [r for r in rows if r.label.startswith(("CONV", "POOL"))]
    # the notes' memory column at 224×224, through the factor 49
    notes_memory = (
        [224 * 224 * 64] * 2
        + [112 * 112 * 64]
        + [112 * 112 * 128] * 2
        + [56 * 56 * 128]
        + [56 * 56 * 256] * 3
        + [28 * 28 * 256]
        + [28 * 28 * 512] * 3
        + [14 * 14 * 512]
        + [14 * 14 * 512] * 3
        + [7 * 7 * 512]
    )
    assert [49 * r.memory for r in spatial] == notes_memory
    # params column: the notes count weights (3*3*3)*64 = 1,728; we add the 64 biases
    convs = [r for r in rows if r.label.startswith("CONV")]
    assert convs[0].params == (3 * 3 * 3) * 64 + 64
    assert convs[1].params == (3 * 3 * 64) * 64 + 64
    assert convs[-1].params == (3 * 3 * 512) * 512 + 512
    fcs = [r for r in rows if r.label.startswith("FC")]
    assert [r.params for r in fcs] == [
        7 * 7 * 512 * 4096 + 4096,
        4096 * 4096 + 4096,
        4096 * 1000 + 1000,
    ]
    assert [r.memory for r in fcs] == [4096, 4096, 1000]
    assert s.total_params == s.params_in_rows == 138_357_544
    # totals at 224: 15.2M activations (~58 MiB of float32 per image, forward only) and
    # 15.47 G multiply-adds (torchvision's "15.47 GFLOPS", which counts MACs)
    fixed = sum(r.memory for r in rows if r.label.startswith(("FC", "ADAPTIVE")))
    conv_pool = sum(r.memory for r in spatial) + rows[0].memory
    memory_224 = 49 * conv_pool + fixed
    assert memory_224 == 15_262_696
    macs_224 = 49 * sum(r.mult_adds for r in convs) + sum(r.mult_adds for r in fcs)
    assert round(macs_224 / 1e9, 2) == 15.47


def test_vgg16_printed_table(vgg16_at_32):
    _, _, text = vgg16_at_32
    assert "CONV3-64" in text and "[32x32x64]" in text and "POOL2" in text
    assert "FC-4096" in text and "[1x1x4096]" in text
    assert "total params: 138,357,544" in text
    assert "mult-adds" in text and "memory" in text
    assert "RELU" in text  # folded into the conv rows: CONV3-64+RELU


def test_alexnet_original_reproduces_the_layer_table():
    s = summary(alexnet(variant="original"), (3, 227, 227), print_table=False)
    shapes = [(r.label, tuple(r.output_shape[1:])) for r in s.rows]
    assert shapes[:9] == [
        ("INPUT", (3, 227, 227)),
        ("CONV11-96/4", (96, 55, 55)),
        ("POOL3", (96, 27, 27)),
        ("NORM", (96, 27, 27)),
        ("CONV5-256", (256, 27, 27)),
        ("POOL3", (256, 13, 13)),
        ("NORM", (256, 13, 13)),
        ("CONV3-384", (384, 13, 13)),
        ("CONV3-384", (384, 13, 13)),
    ]
    assert shapes[9:] == [
        ("CONV3-256", (256, 13, 13)),
        ("POOL3", (256, 6, 6)),
        ("FC-4096", (4096,)),
        ("FC-4096", (4096,)),
        ("FC-1000", (1000,)),
    ]
    conv1 = s.rows[1]
    assert conv1.params == 11 * 11 * 3 * 96 + 96
    assert conv1.mult_adds == 96 * 55 * 55 * 3 * 11 * 11  # 105,415,200


def test_mult_adds_formulas():
    m = Sequential(
        Conv2d(4, 8, 3, padding=1, groups=2), ConvTranspose2d(8, 6, 2, stride=2), Conv2d(6, 6, 1)
    )
    s = summary(m, (2, 4, 5, 5), print_table=False)  # a batch of 2
    conv, deconv, pw = s.rows[1:]
    assert conv.mult_adds == 2 * 8 * 5 * 5 * (4 // 2) * 3 * 3
    assert deconv.mult_adds == 2 * 8 * 5 * 5 * 6 * 2 * 2
    assert deconv.output_shape == (2, 6, 10, 10)
    assert pw.mult_adds == 2 * 6 * 10 * 10 * 6
    lin = summary(Linear(7, 3), (7,), print_table=False)
    assert lin.rows[1].mult_adds == 21 and lin.total_params == 24


def test_depthwise_separable_costs_one_over_n_plus_one_over_k_squared():
    cin, cout, hw = 32, 64, 8
    sep = summary(DepthwiseSeparableConv(cin, cout), (cin, hw, hw), print_table=False)
    full = summary(Conv2d(cin, cout, 3, padding=1, bias=False), (cin, hw, hw), print_table=False)
    ratio = sep.total_mult_adds / full.total_mult_adds
    assert ratio == pytest.approx(1 / cout + 1 / 9)


def test_summary_restores_mode_and_removes_hooks():
    m = googlenet(num_classes=10)
    m.train()
    s = summary(m, (3, 64, 64), print_table=False)
    assert m.training and all(mod.training for mod in m.modules())
    assert all(not mod._forward_hooks for mod in m.modules())
    # the auxiliary heads only run in training: their parameters are not in the rows
    assert not any(r.name.startswith("aux") for r in s.rows)
    aux = sum(p.data.size for p in m.aux1.parameters()) + sum(
        p.data.size for p in m.aux2.parameters()
    )
    assert s.total_params - s.params_in_rows == aux
    assert "not used by this forward" in str(s)
    assert all(p.grad is None for p in m.parameters())


def test_shared_modules_count_their_parameters_once():
    s = summary(resnet20(), (3, 32, 32), print_table=False, compact=False)
    assert s.params_in_rows == s.total_params == 269_722
    relus = [r for r in s.rows if r.kind == "ReLU"]
    assert len(relus) == 1 + 9 * 2  # the stem's and two per block (one module, two calls)


def test_compact_folds_activations():
    full = summary(lenet5(), (1, 28, 28), print_table=False, compact=False)
    compact = summary(lenet5(), (1, 28, 28), print_table=False)
    assert len(full.rows) - len(compact.rows) == 4  # four ReLUs
    assert compact.total_memory < full.total_memory
    assert compact.total_params == full.total_params == 61_706
    assert compact.rows[1].folded == ["ReLU"]


def test_mobilenet_summary_runs_and_counts():
    s = summary(mobilenet_v1(width_mult=0.25, num_classes=10), (3, 64, 64), print_table=False)
    assert s.total_params == s.params_in_rows
    assert s.total_mult_adds > 0


def test_bad_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        summary(lenet5(), (1, 0, 28), print_table=False)


@pytest.mark.parametrize(
    "build, millions",
    [
        (lambda: mobilenet_v1(), 569),  # Howard et al. 2017, Table 1/8: 569M mult-adds
        (lambda: resnet18(), 1814),  # torchvision: 1.81 GFLOPS (multiply-adds)
    ],
)
def test_mult_adds_at_224_match_the_published_figures(build, millions):
    s = summary(build(), (3, 224, 224), print_table=False)
    assert round(s.total_mult_adds / 1e6) == millions
