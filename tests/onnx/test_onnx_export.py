"""ONNX export checked by ONNX Runtime, and `strided.onnx.load` of what was exported."""

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import strided as st  # noqa: E402
import strided.functional as F  # noqa: E402
import strided.nn as nn  # noqa: E402
import strided.onnx as so  # noqa: E402
from strided.models.registry import get_model, input_shape_of  # noqa: E402

RTOL = 1e-4


def _alive(model, shape, seed=0):
    """BatchNorm statistics taken from one batch (momentum 1), so that deep random networks
    keep a signal to compare: at initialisation, in eval mode, a random MobileNet's or
    ResNet-50's activations shrink to nothing and all logits equal the bias."""
    norms = [m for m in model.modules() if hasattr(m, "running_mean") and hasattr(m, "momentum")]
    for m in norms:
        m.momentum = 1.0
    x = np.random.default_rng(seed).random((4,) + shape, dtype=np.float32)
    with st.no_grad():
        model.train()(st.tensor(x))
    return model.eval()


def _ours(model, x):
    with st.no_grad():
        y = model(st.tensor(x))
    return (y[0] if isinstance(y, tuple) else y).numpy()


def _runtime(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _close(a, b, rtol=RTOL):
    scale = max(np.abs(a).max(), 1e-6)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= rtol * scale, np.abs(a - b).max() / scale


ZOO = [
    "lenet5",
    "lenet5_classic",
    "alexnet",
    "alexnet_original",
    "vgg11",
    "googlenet",
    "resnet18",
    "resnet20",
    "resnet50",
    "densenet121",
    "mobilenet_v1",
    "mlp",
    "fc_autoencoder",
    "linear_autoencoder",
    "conv_autoencoder",
    "unpool_autoencoder",
]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_runs_in_onnx_runtime_and_loads_back(name, tmp_path):
    shape = tuple(input_shape_of(name))
    model = _alive(get_model(name), shape)
    rng = np.random.default_rng(1)
    path = tmp_path / f"{name}.onnx"
    so.export(model, rng.random((2,) + shape, dtype=np.float32), path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    back = so.load(path).eval()
    for batch in (2, 3):  # the batch axis is dynamic
        x = rng.random((batch,) + shape, dtype=np.float32)
        ours = _ours(model, x)
        assert np.ptp(ours) > 0 and not np.allclose(ours[0], ours[1])  # a signal to compare
        _close(ours, _runtime(path, x))
        if batch == 3:  # the loaded module at the other batch size (once: it is slow)
            _close(ours, _ours(back, x))


def test_export_names_weights_after_the_state_dict(tmp_path):
    model = get_model("lenet5").eval()
    proto = so.export(model, np.zeros((2, 1, 28, 28), np.float32))
    names = {t.name for t in proto.graph.initializer}
    assert set(model.state_dict()) <= names | {k for k in model.state_dict() if "num_batches" in k}
    back = so.load(proto)
    assert back.onnx_names["features.0.weight"] in dict(back.named_parameters())
    # the loaded module fine-tunes: its parameters receive gradients
    loss = back(st.randn(2, 1, 28, 28)).sum()
    loss.backward()
    assert all(p.grad is not None for p in back.parameters())


class _Everything(nn.Module):
    """One of each op the exporter knows beyond the zoo's."""

    def __init__(self):
        super().__init__()
        self.convt = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.dil = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2)
        self.ln = nn.LayerNorm(8)
        self.lrn = nn.LocalResponseNorm(3)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = self.convt(x)  # (N, 4, 8, 8)
        y = F.leaky_relu(self.dil(y), 0.2) + F.elu(y)
        y = F.pad(y, (1, 1, 2, 0), mode="reflect")  # (N, 4, 10, 10)
        y = F.pad(y, (1, 0, 0, 1), mode="replicate")
        y = F.max_pool2d(y, 3, stride=2, padding=1, ceil_mode=True)
        y = F.avg_pool2d(y, 2, stride=1, padding=1, count_include_pad=False)
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        y = self.lrn(y)[:, :, 1:9, 0:8]
        y = self.ln(y)
        y = F.gelu(y) * F.sigmoid(y) - F.tanh(y)
        y = y.mean(axis=(2,), keepdims=False)  # (N, 4, 8)
        y = self.fc(y)  # (N, 4, 5): MatMul + Add
        return F.log_softmax(y.reshape(y.shape[0], -1), axis=1)


@pytest.mark.parametrize("opset", [17, 20])
def test_every_op_matches_onnx_runtime(opset, tmp_path):
    model = _Everything().eval()
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 4)).astype(np.float32)
    path = tmp_path / "everything.onnx"
    proto = so.export(model, x, path, opset=opset)
    ops = {n.op_type for n in proto.graph.node}
    assert ("Gelu" in ops) == (opset >= 20)
    assert {
        "ConvTranspose",
        "Pad",
        "MaxPool",
        "AveragePool",
        "Resize",
        "LRN",
        "LayerNormalization",
        "MatMul",
        "LogSoftmax",
    } <= ops
    for batch in (2, 5):
        xb = np.random.default_rng(batch).standard_normal((batch, 3, 4, 4)).astype(np.float32)
        _close(_ours(model, xb), _runtime(path, xb))
    if opset >= 20:  # strided has no erf: the opset-17 GELU formula loads only at 20+
        _close(_ours(model, x), _ours(so.load(path).eval(), x))


def test_one_dimensional_layers(tmp_path):
    model = nn.Sequential(
        nn.Conv1d(2, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.AvgPool1d(2),
        nn.Flatten(),
        nn.Linear(16, 3),
    ).eval()
    x = np.random.default_rng(3).standard_normal((2, 2, 16)).astype(np.float32)
    path = tmp_path / "one_d.onnx"
    so.export(model, x, path)
    _close(_ours(model, x), _runtime(path, x))
    _close(_ours(model, x), _ours(so.load(path).eval(), x))


def test_unexportable_op_names_the_op_and_the_layer():
    model = nn.Sequential(nn.Linear(4, 4), nn.Softplus(beta=2.0))
    with pytest.raises(ValueError, match=r"Softplus in layer '1'.*beta=2"):
        so.export(model, np.zeros((2, 4), np.float32))


def test_export_refuses_ambiguous_batch_and_bad_opset():
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="batch of at least 2"):
        so.export(model, np.zeros((1, 3), np.float32))
    so.export(model, np.zeros((1, 3), np.float32), dynamic_batch=False)
    with pytest.raises(ValueError, match=r"opset must be in \[13, 21\], got 9"):
        so.export(model, np.zeros((2, 3), np.float32), opset=9)
    with pytest.raises(TypeError, match="must be a strided Module"):
        so.export(lambda x: x, np.zeros((2, 3), np.float32))


def test_failed_export_leaves_no_file(tmp_path):
    path = tmp_path / "bad.onnx"
    with pytest.raises(ValueError):
        so.export(nn.Sequential(nn.Softplus(beta=3.0)), np.zeros((2, 2), np.float32), path)
    assert os.listdir(tmp_path) == []


def test_load_lists_unknown_ops_and_refuses_garbage(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Hardmax", ["x"], ["y"])
    node2 = helper.make_node("Einsum", ["y"], ["z"], equation="ij->ji")
    graph = helper.make_graph(
        [node, node2],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 2])],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match="unsupported ONNX ops: Einsum, Hardmax"):
        so.load(proto)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    with pytest.raises(ValueError, match="is not a valid ONNX model"):
        so.load(junk)
    with pytest.raises(FileNotFoundError):
        so.load(tmp_path / "missing.onnx")


@pytest.mark.parity
def test_pytorch_exported_model_loads_and_matches_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    import warnings

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn = torch.nn.BatchNorm2d(8)

        def forward(self, x):
            return torch.relu(x + self.bn(self.conv(x)))

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 5, padding=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        Block(),
        torch.nn.AvgPool2d(2),
        torch.nn.Conv2d(8, 16, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 10),
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    net.eval()
    x = torch.randn(2, 1, 28, 28)
    path = tmp_path / "torch.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (x,),
            str(path),
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}},
        )
    model = so.load(path).eval()
    for batch in (2, 4):
        xb = torch.randn(batch, 1, 28, 28)
        _close(net(xb).detach().numpy(), _ours(model, xb.numpy()))


def test_strided_export_command_writes_a_model_onnx_runtime_runs(tmp_path):
    import sys
    from pathlib import Path

    from strided.cli import main
    from strided.train.recipe import load_trained

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fake_data import write_fake_fashion

    root = write_fake_fashion(tmp_path / "data", n_train=64, n_test=32)
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data-root",
                str(root / "fashion-mnist"),
                "--no-download",
                "--epochs",
                "1",
                "--batch-size",
                "32",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    out = tmp_path / "lenet.onnx"
    assert main(["export", str(run), str(out)]) == 0
    model, _, _, _ = load_trained(run)
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    _close(_ours(model, x), _runtime(out, x))
    assert main(["export", str(tmp_path / "nothing"), str(out)]) != 0
