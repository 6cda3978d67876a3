"""Preference pairs on hand-made traces: relative change, thresholds, videos, deltas and
mirrors."""

from __future__ import annotations

import numpy as np
import pytest

from affect_lib.lasca.pairs import (
    pair_deltas,
    preference_pairs,
    relative_change,
    symmetrise,
)

# two videos; changes in units of the [-1, 1] scale -> relative change = change / 2
# video b: changes -0.9, 0.25, 0.35
Y = np.array(
    [
        0.0,
        0.3,
        0.3,
        -0.12,
        -0.15,
        0.5,  # video a: changes 0.3, 0, -0.42, -0.03, 0.65
        0.9,
        0.0,
        0.25,
        0.6,
    ]
)
VIDEO = np.array(["a"] * 6 + ["b"] * 4)
INDEX = np.array([0, 1, 2, 3, 4, 5, 0, 1, 2, 3])


def _pairs(tau, y=Y, video=VIDEO, index=INDEX):
    p = preference_pairs(y, video, index, tau)
    return [
        (int(i), int(j), int(label))
        for i, j, label in zip(p.first, p.second, p.label, strict=True)
    ]


def test_relative_change_is_a_share_of_the_scale():
    np.testing.assert_allclose(
        relative_change(np.array([-1.0, 0.0, 0.02]), np.array([1.0, 0.2, -0.02])),
        [1.0, 0.1, 0.02],
    )


def test_exact_pairs_for_tau_10_and_20_percent():
    # relative changes: a: .15 .0 .21 .015 .325; b: .45 .125 .175
    assert _pairs(0.1) == [
        (0, 1, 1),
        (2, 3, 0),
        (4, 5, 1),
        (6, 7, 0),
        (7, 8, 1),
        (8, 9, 1),
    ]
    assert _pairs(0.2) == [(2, 3, 0), (4, 5, 1), (6, 7, 0)]
    # WindowSet targets are float32
    assert _pairs(0.1, Y.astype(np.float32)) == _pairs(0.1)


def test_threshold_is_strict():
    # relative change exactly 0.125 (binary fractions: no rounding)
    y = np.array([0.0, 0.25, 0.0])
    assert _pairs(0.125, y, np.array(["v"] * 3), np.arange(3)) == []
    assert _pairs(0.124, y, np.array(["v"] * 3), np.arange(3)) == [(0, 1, 1), (1, 2, 0)]


def test_pairs_never_cross_videos_nor_gaps_and_ignore_row_order():
    # the last window of a (0.5) and the first of b (0.9) are adjacent rows but
    # different videos
    assert (5, 6, 1) not in _pairs(0.0)
    y = np.array([0.0, 0.9, -0.9])
    # 0 -> 2 is a gap
    assert _pairs(0.0, y, np.array(["v", "v", "v"]), np.array([0, 2, 3])) == [(1, 2, 0)]
    perm = np.random.default_rng(0).permutation(len(Y))
    shuffled = _pairs(0.1, Y[perm], VIDEO[perm], INDEX[perm])
    assert sorted((perm[i], perm[j], lab) for i, j, lab in shuffled) == _pairs(0.1)


def test_pair_inputs_are_validated():
    with pytest.raises(ValueError, match="same \\(video, index\\)"):
        preference_pairs(np.zeros(3), np.array(["v"] * 3), np.array([0, 1, 1]), 0.1)
    with pytest.raises(ValueError, match="NaN"):
        preference_pairs(
            np.array([0.0, np.nan]), np.array(["v"] * 2), np.arange(2), 0.1
        )
    with pytest.raises(ValueError, match="tau"):
        preference_pairs(Y, VIDEO, INDEX, 1.5)


def test_deltas_and_symmetrisation():
    p = preference_pairs(Y, VIDEO, INDEX, 0.1)
    Z = np.arange(20, dtype=np.float32).reshape(10, 2) ** 2
    dZ = pair_deltas(Z, p)
    np.testing.assert_array_equal(dZ[0], Z[1] - Z[0])
    both, labels = symmetrise(dZ, p.label)
    np.testing.assert_array_equal(both[len(p) :], -dZ)
    np.testing.assert_array_equal(labels, np.concatenate([p.label, 1 - p.label]))
    assert labels.mean() == 0.5
