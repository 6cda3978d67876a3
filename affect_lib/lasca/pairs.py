"""Preference pairs (LaScA step 5's data): does affect go up or down from one window to
the next?

Two windows form a pair when they are consecutive in the same video (``index`` i and i +
1; pairs never cross videos). A pair is kept when the *relative change* of the target
exceeds ``tau``::

    relative change = |y[i+1] - y[i]| / 2

the change as a share of the annotation scale's range [-1, 1] (width 2). So tau = 0.1
keeps changes larger than 0.2 on the valence/arousal scale. (Relative to ``|y[i]|``
instead would explode near the scale's neutral point 0, where half of in-the-wild
annotation lives, and would keep almost every pair there.) The label is 1 when the
target increases, 0 when it decreases.

A pair's input is the change ``dz = z[i+1] - z[i]`` of a window representation ``z``
(:func:`pair_deltas`); :func:`symmetrise` adds every pair reversed (``-dz``, flipped
label). The learner that reads them is :mod:`affect_lib.lasca.preference`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Pairs", "relative_change", "preference_pairs", "pair_deltas", "symmetrise"]


@dataclass(frozen=True)
class Pairs:
    """P preference pairs: ``first``, ``second`` (P,) int row indices (``second`` is the
    next window), ``label`` (P,) int64 1 = target increases, ``change`` (P,) float64
    relative change."""

    first: np.ndarray
    second: np.ndarray
    label: np.ndarray
    change: np.ndarray

    def __len__(self) -> int:
        return int(self.first.shape[0])

    def subset(self, keep: np.ndarray) -> Pairs:
        """The pairs where ``keep`` (P,) bool is True."""
        return Pairs(
            self.first[keep], self.second[keep], self.label[keep], self.change[keep]
        )


def relative_change(y_first: np.ndarray, y_second: np.ndarray) -> np.ndarray:
    """``|y_second - y_first| / 2``: the change as a share of the [-1, 1] annotation
    range."""
    return (
        np.abs(np.asarray(y_second, np.float64) - np.asarray(y_first, np.float64)) / 2.0
    )


def preference_pairs(
    y: np.ndarray, video: np.ndarray, index: np.ndarray, tau: float
) -> Pairs:
    """All pairs of consecutive windows (same video, index i and i + 1) whose relative
    change exceeds ``tau``.

    ``y``, ``video``, ``index``: (N,) per window, in any row order. Pairs are returned
    sorted by (video, index) of their first window.
    """
    y = np.asarray(y, dtype=np.float64)
    video = np.asarray(video)
    index = np.asarray(index)
    if not (y.shape == video.shape == index.shape) or y.ndim != 1:
        raise ValueError(
            f"y, video and index must be (N,) alike, got {y.shape}, {video.shape}, "
            f"{index.shape}"
        )
    if not 0 <= tau < 1:
        raise ValueError(f"tau must be in [0, 1), got {tau}")
    if np.isnan(y).any():
        raise ValueError(
            "preference_pairs: NaN targets (drop unannotated windows first)"
        )
    _, vid = np.unique(video, return_inverse=True)
    order = np.lexsort((index, vid))
    a, b = order[:-1], order[1:]
    consecutive = (vid[a] == vid[b]) & (index[b] == index[a] + 1)
    a, b = a[consecutive], b[consecutive]
    if len(np.unique(np.stack([vid, index], 1), axis=0)) != len(y):
        raise ValueError("preference_pairs: two windows share the same (video, index)")
    change = relative_change(y[a], y[b])
    keep = change > tau
    a, b = a[keep], b[keep]
    return Pairs(
        a.astype(np.int64),
        b.astype(np.int64),
        (y[b] > y[a]).astype(np.int64),
        change[keep],
    )


def pair_deltas(Z: np.ndarray, pairs: Pairs) -> np.ndarray:
    """``z[second] - z[first]`` for every pair: (N, D) window representations -> (P, D)
    float32."""
    Z = np.asarray(Z)
    return Z[pairs.second].astype(np.float32) - Z[pairs.first].astype(np.float32)


def symmetrise(dZ: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add every pair reversed: ``([dZ; -dZ], [labels; 1 - labels])``, (2P, D) and
    (2P,)."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.concatenate([dZ, -dZ]), np.concatenate([labels, 1 - labels])
