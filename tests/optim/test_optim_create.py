"""optim.create and lr_scheduler.create: optimisers and schedules by name."""

import pytest

import strided.optim as optim
from strided.nn import Parameter
from strided.optim import lr_scheduler as S


def params():
    return [Parameter([1.0, 2.0])]


def test_create_builds_the_named_class_with_its_arguments():
    opt = optim.create("SGD", params(), lr=0.1, momentum=0.9)
    assert type(opt) is optim.SGD and opt.defaults["momentum"] == 0.9
    assert not opt.defaults["nesterov"]
    nest = optim.create("nesterov", params(), lr=0.1, momentum=0.9)
    assert type(nest) is optim.SGD and nest.defaults["nesterov"]
    assert type(optim.create("adamw", params(), lr=1e-3)) is optim.AdamW
    assert set(optim.list_optimizers()) >= {"sgd", "adam", "adamw", "rmsprop", "adagrad"}


def test_create_rejects_unknown_names_and_arguments():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; choose from sgd"):
        optim.create("lbfgs", params(), lr=0.1)
    with pytest.raises(TypeError):
        optim.create("adam", params(), lr=0.1, momentum=0.9)


def test_lr_scheduler_create():
    opt = optim.create("sgd", params(), lr=1.0)
    sched = S.create("step", opt, step_size=2, gamma=0.5)
    assert type(sched) is S.StepLR
    for _ in range(2):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == 0.5
    assert type(S.create("plateau", opt, patience=1)) is S.ReduceLROnPlateau
    with pytest.raises(ValueError, match="unknown schedule 'triangle'"):
        S.create("triangle", opt)
