"""`load_torch_state_dict`: .safetensors and .npz files with torchvision's key names, strict
checks that list every missing / unexpected / mis-shaped key, the documented mappings."""

import numpy as np
import pytest

import strided
from strided.autograd import Tensor
from strided.io import load_torch_state_dict, read_state_dict, save_state_dict
from strided.models import densenet_cifar, lenet5, resnet20


def _random_state(model, seed=0):
    rng = np.random.default_rng(seed)
    return {
        k: (
            rng.standard_normal(v.shape).astype(v.dtype)
            if v.dtype.kind == "f"
            else np.full(v.shape, 7, v.dtype)
        )
        for k, v in model.state_dict().items()
    }


@pytest.mark.parametrize("ext", [".safetensors", ".npz"])
def test_round_trip_through_a_file(tmp_path, ext):
    src = _random_state(resnet20())
    path = tmp_path / ("w" + ext)
    save_state_dict(src, path)
    model = resnet20()
    assert load_torch_state_dict(model, path) == ([], [])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, src[k])
    assert model.bn1.num_batches_tracked.data == 7


def test_read_state_dict_never_unpickles(tmp_path):
    p = tmp_path / "w.pth"
    p.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ValueError, match="safetensors"):
        read_state_dict(p)
    obj = tmp_path / "w.npz"
    np.savez(obj, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):  # object arrays need pickle: refused
        load_torch_state_dict(lenet5(), obj)


def test_all_problems_are_listed_at_once():
    model = lenet5()
    state = _random_state(model)
    del state["features.0.bias"]
    del state["classifier.4.weight"]
    state["classifier.9.weight"] = np.zeros((3, 3), np.float32)
    state["features.3.weight"] = np.zeros((16, 6, 3, 3), np.float32)
    before = model.state_dict()
    with pytest.raises(ValueError) as err:
        load_torch_state_dict(model, state)
    msg = str(err.value)
    for key in (
        "features.0.bias",
        "classifier.4.weight",
        "classifier.9.weight",
        "features.3.weight",
    ):
        assert key in msg
    assert "missing keys (2)" in msg and "unexpected keys (1)" in msg
    assert "(16, 6, 3, 3)" in msg and "(16, 6, 5, 5)" in msg
    # nothing was loaded
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_non_strict_loads_what_fits_but_still_rejects_wrong_shapes():
    model = lenet5()
    state = _random_state(model)
    del state["features.0.bias"]
    state["extra"] = np.zeros(2, np.float32)
    missing, unexpected = load_torch_state_dict(model, state, strict=False)
    assert missing == ["features.0.bias"] and unexpected == ["extra"]
    np.testing.assert_array_equal(model.features[0].weight.data, state["features.0.weight"])
    state["features.0.weight"] = np.zeros((6, 1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="features.0.weight"):
        load_torch_state_dict(model, state, strict=False)


def test_num_batches_tracked_is_optional_both_ways():
    model = resnet20()
    state = {k: v for k, v in _random_state(model).items() if not k.endswith("num_batches_tracked")}
    load_torch_state_dict(model, state)  # an old checkpoint without the counters
    np.testing.assert_array_equal(model.bn1.running_var.data, state["bn1.running_var"])


def test_old_densenet_key_names_and_key_map(tmp_path):
    model = densenet_cifar(40, 12)
    state = _random_state(model)
    old = {}
    for k, v in state.items():
        for part in ("norm1", "norm2", "conv1", "conv2", "relu1"):
            k = k.replace(f".{part}.", f".{part[:-1]}.{part[-1]}.")
        old["module." + k] = v
    assert "module.features.denseblock1.denselayer1.norm.1.weight" in old
    load_torch_state_dict(model, old, key_map=lambda k: k.removeprefix("module."))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])


def test_values_are_cast_to_the_model_dtype():
    model = lenet5()
    state = {
        k: v.astype(np.float64) if v.dtype.kind == "f" else v
        for k, v in _random_state(model).items()
    }
    load_torch_state_dict(model, state)
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_torch_checkpoint_through_safetensors(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    tnn = torch.nn
    torch.manual_seed(0)
    t = tnn.Module()
    t.features = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
    )
    t.classifier = tnn.Sequential(
        tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10)
    )
    path = tmp_path / "lenet.safetensors"
    st.save_file(t.state_dict(), str(path))
    ours = lenet5()
    load_torch_state_dict(ours, path)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        ty = t.classifier(torch.flatten(t.features(torch.tensor(x)), 1)).numpy()
    with strided.no_grad():
        y = ours(Tensor(x)).data
    np.testing.assert_allclose(y, ty, rtol=1e-4, atol=1e-5)


def test_switched_off_submodules_skip_their_checkpoint_weights():
    # torchvision's GoogLeNet checkpoint carries aux1/aux2 even for aux_logits=False
    from strided.models import googlenet

    full = googlenet(num_classes=10, variant="torchvision")
    state = _random_state(full)
    slim = googlenet(num_classes=10, variant="torchvision", aux_logits=False)
    assert load_torch_state_dict(slim, state) == ([], [])
    np.testing.assert_array_equal(slim.fc.weight.data, state["fc.weight"])
    # but a key for a submodule that does not exist at all is still unexpected
    state["aux3.fc.weight"] = np.zeros((1,), np.float32)
    with pytest.raises(ValueError, match="aux3.fc.weight"):
        load_torch_state_dict(slim, state)
