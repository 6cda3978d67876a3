"""Feature channels missing at test time (issue #30, experiment 4), and how each path
copes.

:func:`missing_channels` drops a share of the 73 feature channels per video: the same
channels for every window of the video (a sensor or tracker that fails for the
recording), drawn independently per video from ``SeedSequence([seed, crc32(video)])``,
so a video's channels do not depend on which other videos are in the set.

The two paths handle a missing (NaN) value differently:

- the **semantic path** needs nothing: per-video z-scores leave a NaN channel NaN
  (:func:`~affect_lib.lasca.saliency.normalise`) and Otsu's split ignores NaN
  (:func:`~affect_lib.lasca.saliency.salient_mask`), so the mask is computed from the
  channels present and a missing channel is never salient;
- the **raw-feature path** imputes as a user would: a missing value becomes the
  channel's mean over the *training* windows (:func:`channel_means`,
  :func:`impute`). As a channel is missing for a whole video and preference pairs
  never cross videos, both windows of a pair get the same value and the pair's delta
  for that channel is exactly 0 (no change seen), whatever the fill value.
"""

from __future__ import annotations

import zlib

import numpy as np

from affect_lib.lasca.names import N_FEATURES

__all__ = ["missing_channels", "channel_means", "impute"]


def missing_channels(
    video: np.ndarray, fraction: float, seed: int, n_features: int = N_FEATURES
) -> np.ndarray:
    """(N, n_features) bool, True where a window's channel is missing:
    ``round(fraction * n_features)`` channels per video (module docstring); ``video``
    (N,) ids. ``fraction`` in [0, 1)."""
    if not (isinstance(fraction, int | float) and 0 <= fraction < 1):
        raise ValueError(
            f"missing_channels: fraction must be a number in [0, 1), got {fraction!r}"
        )
    video = np.asarray(video).astype(str)
    if video.ndim != 1:
        raise ValueError(f"missing_channels: video must be (N,), got {video.shape}")
    k = int(round(fraction * n_features))
    out = np.zeros((len(video), n_features), dtype=bool)
    for vid in np.unique(video):
        rng = np.random.default_rng(
            np.random.SeedSequence([int(seed), zlib.crc32(vid.encode())])
        )
        out[np.ix_(video == vid, rng.choice(n_features, size=k, replace=False))] = True
    return out


def channel_means(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-channel mean (D,) float64 of ``X`` (N, D) over ``rows`` (N,) bool, the
    training windows; ValueError when no row is selected or a value is not finite."""
    X = np.asarray(X, dtype=np.float64)
    rows = np.asarray(rows, dtype=bool)
    if X.ndim != 2 or rows.shape != (X.shape[0],) or not rows.any():
        raise ValueError(
            f"channel_means: X (N, D) and rows (N,) bool with at least one True "
            f"needed, got {X.shape}, {rows.shape} ({int(rows.sum())} rows)"
        )
    if not np.isfinite(X[rows]).all():
        raise ValueError("channel_means: training windows hold NaN/inf values")
    return X[rows].mean(axis=0)


def impute(X: np.ndarray, missing: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """``X`` (N, D) with every ``missing`` (N, D) entry replaced by ``fill`` (D,) of
    its channel: (N, D), dtype of ``X``."""
    X = np.asarray(X)
    missing = np.asarray(missing, dtype=bool)
    fill = np.asarray(fill, dtype=np.float64)
    if missing.shape != X.shape or fill.shape != X.shape[1:]:
        raise ValueError(
            f"impute: X {X.shape}, missing {missing.shape} and fill {fill.shape} do "
            f"not match ((N, D), (N, D), (D,))"
        )
    if not np.isfinite(fill).all():
        raise ValueError("impute: fill values must be finite")
    return np.where(missing, fill, X).astype(X.dtype)
