"""functional/arguments.py: the argument rules the ops and the layers share."""

import numpy as np
import pytest

import strided.nn as nn
from strided.autograd import Tensor
from strided.functional import conv as C
from strided.functional.arguments import (
    as_tensor,
    check_conv_padding,
    check_pool_padding,
    conv_pads,
    drop_1d,
    layout,
    lift_1d,
    ntuple,
    positive_int,
)


def test_ntuple_spreads_ints_and_checks_tuples():
    assert ntuple(3, 2, "f", "k") == (3, 3)
    assert ntuple((1, np.int64(2)), 2, "f", "k") == (1, 2)
    with pytest.raises(TypeError, match="f: k must be an int or a tuple of 2 ints"):
        ntuple((1, 2, 3), 2, "f", "k")
    with pytest.raises(TypeError, match="f: k must be an int"):
        ntuple(True, 2, "f", "k")
    with pytest.raises(ValueError, match="f: stride must be >= 1"):
        ntuple((1, 0), 2, "f", "stride", minimum=1)


def test_positive_int_and_layout():
    assert positive_int(np.int32(4), "Conv2d", "groups") == 4
    with pytest.raises(ValueError, match="Conv2d: groups must be a positive int, got 0"):
        positive_int(0, "Conv2d", "groups")
    assert layout(1) == "(N, C, L)" and layout(2) == "(N, C, H, W)"


def test_as_tensor_wraps_arrays_and_rejects_others():
    a = np.ones((2, 3), np.float32)
    assert as_tensor(a, "f").data is a
    with pytest.raises(TypeError, match="f: weight must be a Tensor or an array, got str"):
        as_tensor("x", "f", "weight")


def test_conv_pads_same_puts_the_odd_pixel_at_the_end():
    assert conv_pads("same", (4, 3), (1, 2), (1, 1), "f") == ((1, 2), (2, 2))
    assert conv_pads("valid", (3, 3), (1, 1), (2, 2), "f") == ((0, 0), (0, 0))
    assert conv_pads((1, 2), (3, 3), (1, 1), (1, 1), "f") == ((1, 1), (2, 2))
    with pytest.raises(ValueError, match="f: padding='same' needs stride 1"):
        conv_pads("same", (3, 3), (1, 1), (2, 1), "f")
    with pytest.raises(ValueError, match="'same' or 'valid', got 'full'"):
        check_conv_padding("full", 2, (1, 1), "f")


def test_the_layer_and_the_function_share_the_padding_rules():
    x = Tensor(np.zeros((1, 2, 5, 5), np.float32))
    w = Tensor(np.zeros((3, 2, 3, 3), np.float32))
    for call in (
        lambda: nn.Conv2d(2, 3, 3, stride=2, padding="same"),
        lambda: C.conv2d(x, w, stride=2, padding="same"),
    ):
        with pytest.raises(ValueError, match="padding='same' needs stride 1"):
            call()
    for call in (
        lambda: nn.Conv2d(2, 3, 3, padding_mode="mirror"),
        lambda: C.conv2d(x, w, padding=1, padding_mode="mirror"),
    ):
        with pytest.raises(ValueError, match="padding_mode must be 'zeros', 'reflect'"):
            call()


def test_pool_padding_is_at_most_half_the_window():
    check_pool_padding((3, 3), (1, 1), (1, 1), "f", (1, 1, 5, 5))
    with pytest.raises(ValueError, match=r"f: padding \(2, 1\) must be at most half"):
        check_pool_padding((3, 3), (2, 1), (1, 1), "f", (1, 1, 5, 5))


def test_lift_and_drop_1d_are_inverse_views():
    a = np.arange(12.0).reshape(1, 3, 4)
    lifted = lift_1d(a, True)
    assert lifted.shape == (1, 3, 1, 4) and np.shares_memory(lifted, a)
    assert np.array_equal(drop_1d(lifted, True), a)
    assert lift_1d(a, False) is a and lift_1d(None, True) is None
