"""Alignment of valence/arousal annotations with per-frame features by time.

Each feature frame takes the nearest annotation (ties to the earlier one); frames
farther than a tolerance from every annotation, with an invalid annotation, or without a
detected face are invalid. Works for Aff-Wild2 (exact frame matches) and SEWA's 10 Hz
traces alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from affect_lib.data.affwild.reader import FrameFeatures, VATrace
from affect_lib.data.affwild.tables import _as_number

__all__ = ["AlignedVA", "align_annotations_to_features"]


@dataclass(frozen=True, eq=False)
class AlignedVA:
    """The annotation nearest to each feature frame: times (m,); valence, arousal (m,)
    float32 (0 where invalid); valid (m,) bool = annotation valid, within tolerance, and
    the feature frame valid."""

    times: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    valid: np.ndarray


def align_annotations_to_features(
    annotations: VATrace,
    features: FrameFeatures | np.ndarray,
    *,
    tolerance_s: float | None = None,
) -> AlignedVA:
    """The nearest annotation to each feature frame (features: :class:`FrameFeatures` or
    times (m,) in s).

    Ties go to the earlier annotation. A frame farther than ``tolerance_s`` from every
    annotation is invalid; the default is half the median annotation period (exact frame
    matches for Aff-Wild2,
    +-50 ms for SEWA's 10 Hz traces).
    """
    times = np.asarray(
        features.times if isinstance(features, FrameFeatures) else features,
        dtype=np.float64,
    )
    a = np.asarray(annotations.times, dtype=np.float64)
    for name, t in (("feature times", times), ("annotation times", a)):
        if t.ndim != 1:
            raise ValueError(
                f"align_annotations_to_features: {name} have shape {t.shape}, "
                f"expected (n,) seconds"
            )
        if not np.isfinite(t).all():
            i = int(np.argmax(~np.isfinite(t)))
            raise ValueError(
                f"align_annotations_to_features: {name}[{i}] is {t[i]}, expected "
                f"finite seconds"
            )
    tol = _as_number(tolerance_s) if tolerance_s is not None else 0.0
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(
            f"align_annotations_to_features: tolerance_s={tolerance_s!r}, expected a "
            f"finite "
            "number >= 0 (seconds) or None"
        )
    m = len(times)
    if len(a) == 0 or m == 0:
        zeros = np.zeros(m, np.float32)
        return AlignedVA(
            times=times, valence=zeros, arousal=zeros.copy(), valid=np.zeros(m, bool)
        )
    if tolerance_s is None:
        tolerance_s = 0.5 * float(np.median(np.diff(a))) if len(a) > 1 else 0.0
    right = np.clip(np.searchsorted(a, times), 0, len(a) - 1)
    left = np.clip(right - 1, 0, len(a) - 1)
    nearest = np.where(np.abs(times - a[left]) <= np.abs(a[right] - times), left, right)
    valid = (np.abs(a[nearest] - times) <= tolerance_s + 1e-9) & annotations.valid[
        nearest
    ]
    if isinstance(features, FrameFeatures):
        valid &= features.valid
    return AlignedVA(
        times=times,
        valence=np.where(valid, annotations.valence[nearest], 0).astype(np.float32),
        arousal=np.where(valid, annotations.arousal[nearest], 0).astype(np.float32),
        valid=valid,
    )
