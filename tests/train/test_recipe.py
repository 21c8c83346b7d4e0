"""train/recipe.py: a run built from its config, the run folder, resume rules, and reading
a trained run back — the recipe behind `strided train`, used here from Python."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fake_data import write_fake_fashion
from strided.io import save_state
from strided.models.registry import takes_in_channels
from strided.optim import SGD, AdamW
from strided.optim.lr_scheduler import OneCycleLR
from strided.train import recipe
from strided.train.checkpoint import FORMAT


def test_a_run_from_python_writes_the_run_folder_and_reads_back(tmp_path):
    data = write_fake_fashion(tmp_path / "data", n_train=120, n_test=40)
    run = recipe.prepare_run(
        {"epochs": 1, "batch_size": 32, "schedule": "onecycle", "optimizer": "sgd", "seed": 1},
        out=tmp_path / "run",
        data_root=data,
        progress=False,
        verbose=False,
    )
    assert isinstance(run.optimizer, SGD) and isinstance(run.scheduler, OneCycleLR)
    assert run.num_train == 108 and run.num_val == 12
    assert json.loads(run.folder.config.read_text())["in_channels"] == 1
    run.trainer.fit(run.train_loader, run.val_loader, epochs=1)
    results = recipe.finish_run(run)
    assert results["test_images"] == 40 and 0 <= results["test_accuracy"] <= 1
    assert run.folder.model.is_file() and run.folder.checkpoint.is_file()
    model, cfg, classes, file = recipe.load_trained(tmp_path / "run")
    assert file == run.folder.model and cfg["schedule"] == "onecycle"
    assert classes[0] == "T-shirt/top" and not model.training
    for (name, a), b in zip(
        model.state_dict().items(), run.model.state_dict().values(), strict=True
    ):
        assert np.array_equal(a, b), name
    with pytest.raises(recipe.ConfigError, match="already holds a training run"):
        recipe.prepare_run({}, out=tmp_path / "run", data_root=data)


def test_resume_keeps_the_options_the_run_started_with(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ckpt = tmp_path / "checkpoint.safetensors"
    saved = {"format": FORMAT, "model": {}, "optimizer": {}, "epoch": 4}
    save_state(
        ckpt, {**saved, "config": {**recipe.DEFAULTS, "epochs": 4, "schedule": "exponential"}}
    )
    cfg = recipe.resume_config({"epochs": 6, "data_root": None}, ckpt)
    assert cfg["epochs"] == 6 and cfg["schedule"] == "exponential"
    with pytest.raises(recipe.ConfigError, match=r"--batch-size 64 \(checkpoint: 128\)"):
        recipe.resume_config({"batch_size": 64}, ckpt)
    save_state(ckpt, {**saved, "config": {**recipe.DEFAULTS, "epochs": 4}})  # cosine: planned
    with pytest.raises(recipe.ConfigError, match="planned for 4 epochs"):
        recipe.resume_config({"epochs": 6}, ckpt)
    assert recipe.resume_checkpoint(str(tmp_path), None) == ckpt
    with pytest.raises(recipe.ConfigError, match="no unfinished run in runs/"):
        recipe.resume_checkpoint("auto", None)  # cwd is tmp_path: no runs/ at all


def test_default_out_numbers_past_taken_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = {"model": "lenet5", "dataset": "Fashion_MNIST"}
    assert str(recipe.default_out(cfg)) == "runs/lenet5-fashion-mnist"
    first = recipe.RunFolder(tmp_path / "runs/lenet5-fashion-mnist")
    first.path.mkdir(parents=True)
    first.checkpoint.write_bytes(b"")
    assert str(recipe.default_out(cfg)) == "runs/lenet5-fashion-mnist-2"


def test_models_with_and_without_in_channels(monkeypatch):
    from strided import Tensor
    from strided.models import registry
    from strided.nn import Linear

    assert takes_in_channels("lenet5") and not takes_in_channels("mlp")
    conv = recipe.build_model({"model": "lenet5"}, 7, 3)
    assert conv(Tensor(np.zeros((2, 3, 28, 28), np.float32))).shape == (2, 7)
    # a constructor without in_channels is called without it (no TypeError to catch)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_model("vector_head", lambda num_classes=10: Linear(4, num_classes), (4,))
    assert not takes_in_channels("vector_head")
    assert recipe.build_model({"model": "vector_head"}, 5, 3).out_features == 5


def test_optimizer_defaults_and_unknown_names():
    from strided.nn import Parameter

    cfg = {**recipe.DEFAULTS, "optimizer": "adamw"}
    opt = recipe.build_optimizer(cfg, [Parameter([1.0])])
    assert isinstance(opt, AdamW) and opt.defaults["weight_decay"] == 1e-2
    assert opt.defaults["lr"] == recipe.DEFAULT_LR["adamw"]
    with pytest.raises(recipe.ConfigError, match="unknown optimizer 'lion'"):
        recipe.build_optimizer({**cfg, "optimizer": "lion"}, [Parameter([1.0])])
    with pytest.raises(recipe.ConfigError, match="unknown schedule 'saw'"):
        recipe.build_scheduler({**cfg, "schedule": "saw"}, opt, 10)
    with pytest.raises(recipe.ConfigError, match="unknown data set 'svhn'"):
        recipe.dataset_key("svhn")
