"""ONNX out of a model on a device, and an ONNX model run on a device."""

import numpy as np
import pytest

import strided as st
from strided import models

onnx = pytest.importorskip("onnx")
so = pytest.importorskip("strided.onnx")


@pytest.mark.parametrize("build", [models.lenet5, models.resnet20])
def test_a_model_on_a_device_exports_the_same_graph_and_stays_there(build, tmp_path):
    st.manual_seed(0)
    model = build().eval()
    x = st.randn(2, *((1, 28, 28) if build is models.lenet5 else (3, 32, 32)))
    expected = model(x).numpy()
    so.export(model, x, tmp_path / "cpu.onnx")
    model.to("sim")
    so.export(model, x.to("sim"), tmp_path / "sim.onnx")
    assert model.device == "sim:0"
    assert all(p.device == "sim:0" for p in model.parameters())
    a, b = onnx.load(tmp_path / "cpu.onnx"), onnx.load(tmp_path / "sim.onnx")
    assert a.graph == b.graph
    loaded = so.load(tmp_path / "sim.onnx").to("sim").eval()
    out = loaded(x.to("sim"))
    assert out.device == "sim:0"
    np.testing.assert_allclose(out.cpu().numpy(), expected, rtol=1e-4, atol=1e-5)
