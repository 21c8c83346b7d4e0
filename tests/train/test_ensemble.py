"""strided.ensemble: combining members (average, vote, geometric), the Ensemble module and
the SnapshotEnsemble callback."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_trainer import blobs

import strided
from strided.data import DataLoader
from strided.ensemble import Ensemble, SnapshotEnsemble, combine, evaluate_outputs, snapshot_lr
from strided.io import load_model
from strided.nn import Flatten, Linear, ReLU, Sequential
from strided.optim import SGD
from strided.optim import lr_scheduler as S
from strided.train import Checkpoint, Trainer


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def net(seed, classes=3):
    strided.manual_seed(seed)
    return Sequential(Flatten(), Linear(8, 16), ReLU(), Linear(16, classes))


# -- combining ----------------------------------------------------------------------------


def test_average_and_geometric_follow_their_formulas():
    rng = np.random.default_rng(0)
    z = [rng.normal(size=(5, 4)) for _ in range(3)]
    w = np.array([1.0, 2.0, 1.0])
    p = [softmax(a) for a in z]
    average = sum(wi * pi for wi, pi in zip(w / 4, p, strict=True))
    np.testing.assert_allclose(np.exp(combine(z, "average", w)), average, rtol=1e-12)
    geo = np.prod([pi**wi for wi, pi in zip(w / 4, p, strict=True)], axis=0)
    np.testing.assert_allclose(
        np.exp(combine(z, "geometric", w)), geo / geo.sum(1, keepdims=True), rtol=1e-12
    )
    # equal weights by default
    np.testing.assert_allclose(combine(z), np.log(sum(p) / 3), rtol=1e-12)


def test_vote_counts_majorities_and_breaks_ties_by_average_probability():
    # three members; example 0: votes 2 for class 1 although class 0 has the larger average
    z0 = np.log(np.array([[0.98, 0.01, 0.01], [0.6, 0.3, 0.1]]))
    z1 = np.log(np.array([[0.30, 0.40, 0.30], [0.1, 0.5, 0.4]]))
    z2 = np.log(np.array([[0.30, 0.40, 0.30], [0.2, 0.3, 0.5]]))
    votes = np.exp(combine([z0, z1, z2], "vote"))
    np.testing.assert_allclose(votes[0], [1 / 3, 2 / 3, 0], atol=1e-5)
    assert votes.argmax(1)[0] == 1
    assert combine([z0, z1, z2], "average").argmax(1)[0] == 0
    # example 1: one vote each -> the class with the larger average probability (class 1)
    assert votes.argmax(1)[1] == 1
    np.testing.assert_allclose(votes.sum(1), 1.0, rtol=1e-12)
    assert np.all(np.isfinite(combine([z0, z1, z2], "vote")))
    # weights: member 0 alone outweighs the other two
    assert combine([z0, z1, z2], "vote", [3, 1, 1]).argmax(1)[0] == 0


def test_evaluate_outputs_scores_members_and_methods():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 50)
    z = [rng.normal(size=(50, 4)) + 2.0 * np.eye(4)[y] for _ in range(3)]
    r = evaluate_outputs(z, y, ("average", "vote", "geometric"))
    for i, m in enumerate(r["members"]):
        assert m["accuracy"] == pytest.approx(np.mean(z[i].argmax(1) == y))
        lp = np.log(softmax(z[i]))
        assert m["loss"] == pytest.approx(-lp[np.arange(50), y].mean())
    avg = combine(z, "average")
    assert r["average"]["accuracy"] == pytest.approx(np.mean(avg.argmax(1) == y))
    assert r["average"]["loss"] == pytest.approx(-avg[np.arange(50), y].mean())
    assert r["vote"]["loss"] is None and 0 <= r["vote"]["accuracy"] <= 1


def test_bad_input_gives_one_line_errors():
    a, b = np.zeros((4, 10)), np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"member 1 .*\(4, 5\).*member 0.*\(4, 10\)"):
        combine([a, b])
    with pytest.raises(ValueError, match="unknown method 'median'"):
        combine([a], "median")
    with pytest.raises(ValueError, match="2 members need 2 weights, got 3"):
        combine([a, a], "average", [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        combine([a, a], "average", [1, -1])
    with pytest.raises(
        ValueError,
        match=r"member 1 \(Sequential\) has 5 outputs but member 0 "
        r"\(Sequential\) has 3",
    ):
        Ensemble([net(0), net(1, classes=5)])
    with pytest.raises(ValueError, match="at least one model"):
        Ensemble([])
    with pytest.raises(TypeError, match="member 0 must be a strided Module"):
        Ensemble([lambda x: x])
    with pytest.raises(ValueError, match="unknown method"):
        Ensemble([net(0)], method="mean")


# -- the module ---------------------------------------------------------------------------


def test_ensemble_is_a_module_over_its_members():
    members = [net(s) for s in range(3)]
    ens = Ensemble(members, weights=[1, 1, 2])
    assert len(list(ens.parameters())) == 3 * 4
    assert ens.num_parameters() == sum(m.num_parameters() for m in members)
    assert set(ens.state_dict()) == {
        f"members.{i}.{k}" for i in range(3) for k in members[0].state_dict()
    }
    x, _ = blobs(10)
    out = ens(x)
    assert isinstance(out, strided.Tensor) and out.shape == (10, 3) and out.dtype == np.float32
    expected = combine([m(strided.Tensor(x)).data for m in members], "average", [1, 1, 2])
    np.testing.assert_allclose(out.data, expected, rtol=1e-5)
    np.testing.assert_allclose(ens.predict_proba(x, batch_size=3), np.exp(expected), rtol=1e-5)
    np.testing.assert_array_equal(ens.predict(x), expected.argmax(1))
    text = ens.summary()
    assert "Sequential" in text and "0.500" in text and "0.250" in text
    assert "method='average'" in repr(ens)


def test_one_weighted_member_is_that_member():
    members = [net(s) for s in range(2)]
    x, _ = blobs(20)
    alone = members[1](strided.Tensor(x)).data
    for method in ("average", "geometric", "vote"):
        pred = Ensemble(members, method, weights=[0, 1]).predict(x)
        np.testing.assert_array_equal(pred, alone.argmax(1))


def test_ensemble_of_trained_members_beats_or_matches_them():
    x, y = blobs(600, seed=3)
    train, test = (
        DataLoader((x[:300], y[:300]), batch_size=30, shuffle=True, seed=0),
        DataLoader((x[300:], y[300:]), batch_size=100),
    )
    members = []
    for s in range(3):
        m = net(s)
        Trainer(m, SGD(m.parameters(), lr=0.05), progress=False, verbose=False).fit(train, epochs=1)
        members.append(m)
    r = Ensemble(members).evaluate(test, methods=("vote",))
    assert set(r) >= {"accuracy", "loss", "members", "average", "vote"}
    assert r["accuracy"] == r["average"]["accuracy"]
    for m, mr in zip(members, r["members"], strict=True):
        solo = Trainer(m, None, progress=False, verbose=False).evaluate(test)
        assert mr["accuracy"] == pytest.approx(solo["accuracy"])
        assert mr["loss"] == pytest.approx(solo["loss"], rel=1e-5)
    # averaging cannot be worse in log-likelihood than the average member (Jensen)
    assert r["loss"] <= np.mean([m["loss"] for m in r["members"]]) + 1e-9


# -- snapshot ensembles -------------------------------------------------------------------


def test_snapshot_lr_is_huang_et_al_cosine_with_restarts():
    # T = 12 steps, M = 3 cycles of 4 steps
    lrs = [snapshot_lr(0.1, t, 12, 3) for t in range(1, 13)]
    expected_cycle = [0.1 / 2 * (math.cos(math.pi * k / 4) + 1) for k in range(4)]
    np.testing.assert_allclose(lrs, expected_cycle * 3)
    assert lrs[0] == 0.1 and lrs[2] == pytest.approx(0.05)


def snapshot_run(tmp, epochs, cycles, resume=None, callbacks=()):
    x, y = blobs(120)
    loader = DataLoader((x, y), batch_size=30, shuffle=True, seed=0)  # 4 steps an epoch
    m = net(0)
    snap = SnapshotEnsemble(tmp, cycles)
    trainer = Trainer(
        m,
        SGD(m.parameters(), lr=0.1, momentum=0.9),
        callbacks=[snap, *callbacks],
        progress=False,
        verbose=False,
        config={"model": "test"},
    )
    seen = []
    trainer.callbacks.append(
        strided.train.LambdaCallback(
            on_batch_end=lambda t, logs: seen.append(t.optimizer.param_groups[0]["lr"])
        )
    )
    trainer.fit(loader, epochs=epochs, resume=resume)
    return snap, m, seen


def test_snapshot_ensemble_saves_one_model_per_cycle(tmp_path):
    snap, model, lrs = snapshot_run(tmp_path, epochs=3, cycles=3)
    assert [p.name for p in snap.snapshots] == [f"snapshot-{k}.safetensors" for k in (1, 2, 3)]
    # the rate seen after step t is the one for step t + 1
    expected = [snapshot_lr(0.1, t + 1, 12, 3) for t in range(1, 12)]
    np.testing.assert_allclose(lrs[:11], expected)
    meta = load_model(snap.snapshots[-1], net(5))
    assert meta["snapshot"] == 3 and meta["step"] == 12 and meta["config"] == {"model": "test"}
    last = net(5)
    load_model(snap.snapshots[-1], last)
    for a, b in zip(last.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    ens = Ensemble.from_files(snap.snapshots, lambda: net(9), method="geometric")
    assert len(ens.members) == 3 and ens.method == "geometric"
    # snapshots differ from one another (the rate restarted between them)
    w = [next(m.parameters()).data for m in ens.members]
    assert not np.allclose(w[0], w[1])


def test_snapshot_ensemble_resumes_on_the_same_schedule(tmp_path):
    full, m_full, _ = snapshot_run(tmp_path / "a", epochs=4, cycles=2)

    class Crash(Exception):
        pass

    def crash(trainer, logs):
        if logs["epoch"] == 3:
            raise Crash  # after the checkpoint of epoch 3, in the second cycle

    with pytest.raises(Crash):
        snapshot_run(
            tmp_path / "b",
            epochs=4,
            cycles=2,
            callbacks=[
                Checkpoint(tmp_path / "b"),
                strided.train.LambdaCallback(order=200, on_epoch_end=crash),
            ],
        )
    resumed, m_res, _ = snapshot_run(
        tmp_path / "b", epochs=4, cycles=2, resume=tmp_path / "b" / "checkpoint.safetensors"
    )
    assert [p.name for p in resumed.snapshots] == [
        "snapshot-1.safetensors",
        "snapshot-2.safetensors",
    ]
    for a, b in zip(m_full.parameters(), m_res.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6)
    with pytest.raises(ValueError, match="planned for 16 steps"):
        snapshot_run(
            tmp_path / "b", epochs=5, cycles=2, resume=tmp_path / "b" / "checkpoint.safetensors"
        )


def test_snapshot_ensemble_refuses_a_second_schedule(tmp_path):
    m = net(0)
    opt = SGD(m.parameters(), lr=0.1)
    x, y = blobs(60)
    trainer = Trainer(
        m,
        opt,
        scheduler=S.StepLR(opt, 1),
        callbacks=[SnapshotEnsemble(tmp_path, 2)],
        progress=False,
        verbose=False,
    )
    with pytest.raises(ValueError, match="already has a schedule \\(StepLR\\)"):
        trainer.fit(DataLoader((x, y), batch_size=30), epochs=2)
    with pytest.raises(ValueError, match="cycles must be a positive int"):
        SnapshotEnsemble(tmp_path, 0)


# -- devices ------------------------------------------------------------------------------


def test_an_ensemble_on_a_device_predicts_and_evaluates_as_on_the_cpu():
    members = [net(s) for s in range(3)]
    x = np.random.default_rng(1).normal(size=(10, 8)).astype(np.float32)
    y = np.arange(10) % 3
    on_cpu = Ensemble(members)
    expected = (on_cpu(strided.tensor(x)).numpy(), on_cpu.predict_proba(x))
    report = on_cpu.evaluate(DataLoader(list(zip(x, y, strict=True)), batch_size=4))
    on_device = Ensemble(members).to("sim")
    out = on_device(strided.tensor(x, device="sim"))
    assert out.device == "sim:0"
    np.testing.assert_allclose(out.cpu().numpy(), expected[0], rtol=1e-5)
    np.testing.assert_allclose(on_device.predict_proba(x), expected[1], rtol=1e-5)
    again = on_device.evaluate(DataLoader(list(zip(x, y, strict=True)), batch_size=4))
    assert again["accuracy"] == report["accuracy"]
    assert math.isclose(again["loss"], report["loss"], rel_tol=1e-5)
