"""strided.search.space: distributions, grids, coarse-to-fine narrowing, bad spaces."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from strided.search import Choice, Constant, Integer, LogUniform, Uniform, parse_space, read_space

SPACE = {
    "lr": {"log-uniform": [1e-4, 1e-1]},
    "momentum": {"uniform": [0.8, 0.99]},
    "epochs": {"integer": [1, 3]},
    "batch_size": {"choice": [64, 128]},
    "optimizer": "sgd",
}


def test_parse_builds_each_distribution():
    s = parse_space(SPACE)
    assert s.dists["lr"] == LogUniform(1e-4, 1e-1, "lr")
    assert s.dists["momentum"] == Uniform(0.8, 0.99, "momentum")
    assert s.dists["epochs"] == Integer(1, 3, "epochs")
    assert s.dists["batch_size"] == Choice((64, 128), "batch_size")
    assert s.dists["optimizer"] == Constant("sgd", "optimizer")
    assert s.to_json() == SPACE
    assert parse_space(s.to_json()) == s


def test_samples_fall_in_their_ranges_with_the_right_law():
    s = parse_space(SPACE)
    rng = np.random.default_rng(0)
    draws = [s.sample(rng) for _ in range(4000)]
    lr = np.array([d["lr"] for d in draws])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-1
    # uniform in log10: a third of the draws in each decade
    for lo in (1e-4, 1e-3, 1e-2):
        assert abs(np.mean((lr >= lo) & (lr < 10 * lo)) - 1 / 3) < 0.03
    m = np.array([d["momentum"] for d in draws])
    assert m.min() >= 0.8 and m.max() <= 0.99 and abs(m.mean() - 0.895) < 0.005
    assert {d["epochs"] for d in draws} == {1, 2, 3}
    assert all(isinstance(d["epochs"], int) for d in draws[:10])
    assert {d["batch_size"] for d in draws} == {64, 128}
    assert {d["optimizer"] for d in draws} == {"sgd"}
    # the same generator state, the same draws
    a = [s.sample(np.random.default_rng(5)) for _ in range(3)]
    assert a == [s.sample(np.random.default_rng(5)) for _ in range(3)]


def test_grid_is_log_spaced_for_log_ranges():
    s = parse_space(
        {"lr": {"log-uniform": [1e-4, 1e-2]}, "bs": {"choice": [32, 64]}, "e": {"integer": [1, 2]}}
    )
    assert LogUniform(1e-4, 1e-2).grid(3) == pytest.approx([1e-4, 1e-3, 1e-2])
    assert Uniform(0, 1).grid(5) == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    assert Integer(1, 2).grid(5) == [1, 2]
    combos = s.grid(3)
    assert len(combos) == 3 * 2 * 2
    assert {(c["bs"], c["e"]) for c in combos} == {(32, 1), (32, 2), (64, 1), (64, 2)}


def test_narrow_closes_in_around_the_best_values():
    lr = LogUniform(1e-5, 1e-1, "lr")
    n = lr.narrow([1e-3, 1e-2])
    # [1e-3, 1e-2] widened by a quarter of the 4 decades (one decade) each way
    assert n.low == pytest.approx(1e-4) and n.high == pytest.approx(1e-1)
    n = lr.narrow([2e-5])
    assert n.low == 1e-5 and n.high == pytest.approx(2e-4)  # clipped at the old range
    u = Uniform(0.0, 1.0).narrow([0.5, 0.6])
    assert (u.low, u.high) == pytest.approx((0.25, 0.85))
    assert Integer(1, 9).narrow([5]) == Integer(3, 7)
    assert Choice(("a", "b", "c")).narrow(["c", "a"]) == Choice(("a", "c"))
    s = parse_space(SPACE).narrow(
        [{"lr": 1e-3, "momentum": 0.9, "epochs": 2, "batch_size": 64, "optimizer": "sgd"}]
    )
    assert s.dists["batch_size"].options == (64,)
    assert 1e-4 < s.dists["lr"].low < 1e-3 < s.dists["lr"].high < 1e-1
    assert s.dists["optimizer"].value == "sgd"


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            {"lr": {"gaussian": [0, 1]}},
            r"'lr': unknown distribution 'gaussian'; choose from "
            r"log-uniform, uniform, integer, choice",
        ),
        ({"lr": {"log-uniform": [1e-2, 1e-4]}}, r"'lr': empty range \[0.01, 0.0001\]"),
        ({"lr": {"uniform": [0.5, 0.5]}}, r"'lr': empty range \[0.5, 0.5\]"),
        ({"n": {"integer": [3, 1]}}, r"'n': empty range \[3, 1\]"),
        ({"n": {"integer": [1.5, 3]}}, r"'n': integer bounds must be integers"),
        ({"lr": {"log-uniform": [0, 1]}}, r"'lr': log-uniform needs 0 < low"),
        ({"lr": {"uniform": [0, float("nan")]}}, r"'lr': uniform bounds must be finite"),
        ({"bs": {"choice": []}}, r"'bs': choice needs at least one option"),
        ({"lr": {"uniform": [1, 2, 3]}}, r"'lr': uniform takes \[low, high\]"),
        ({"lr": {"uniform": 1}}, r"'lr': uniform takes a list"),
        ({"lr": {"uniform": [0, 1], "choice": [1]}}, r"'lr': write one distribution"),
        ({}, "no parameters to search"),
    ],
)
def test_bad_spaces_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_space(spec)


def test_read_space_from_file_or_text(tmp_path):
    f = tmp_path / "space.json"
    f.write_text(json.dumps(SPACE))
    assert read_space(f) == parse_space(SPACE)
    assert read_space(json.dumps(SPACE)) == parse_space(SPACE)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_space(tmp_path / "nope.json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_space("{lr: 1}")
    with pytest.raises(ValueError, match="expected a dict"):
        parse_space([1, 2])
    assert math.isclose(read_space('{"lr": {"loguniform": [1e-3, 1e-2]}}').dists["lr"].high, 1e-2)
