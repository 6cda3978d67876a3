"""Stationary random processes of the synthetic generators: OU (AR(1)) noise and
Poisson-placed runs."""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

__all__ = ["ou", "runs"]


def ou(
    rng: np.random.Generator, n: int, tau: float, size: tuple[int, ...] = ()
) -> np.ndarray:
    """Stationary unit-variance OU / AR(1) process, (n, *size), time constant ``tau`` in
    samples."""
    rho = math.exp(-1.0 / max(tau, 1e-6))
    e = rng.standard_normal((n, *size))
    zi = rho * rng.standard_normal((1, *size))
    return lfilter([math.sqrt(1 - rho**2)], [1.0, -rho], e, axis=0, zi=zi)[0]


def runs(
    rng: np.random.Generator, n: int, per_frame: float, length: tuple[int, int]
) -> np.ndarray:
    """(n,) bool: Poisson-placed runs of ``length`` (min, max) frames, ``per_frame``
    starts per frame."""
    mask = np.zeros(n, bool)
    for start in np.flatnonzero(rng.random(n) < per_frame):
        mask[start : start + rng.integers(length[0], length[1] + 1)] = True
    return mask
