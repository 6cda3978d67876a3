"""Paired significance tests for ablations: two models scored on the same items.

Two levels of pairing are used in chapter 6:

* **seeds** — the per-seed scores of two variants trained with the same seeds: a paired
  t-test (few seeds, so little power; reported because it is the usual test);
* **test items** — the per-item outcomes (e.g. correct/incorrect, 0/1) averaged over
  seeds, then a paired sign-flip permutation test of the mean difference. The item is
  the unit of analysis, so the repeated use of one utterance across seeds does not
  inflate the sample.

:func:`holm` corrects a family of p-values (one per ablation) for multiple comparisons.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["paired_t", "sign_flip_test", "holm"]


def _paired(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"{what}: need two 1-D arrays of the same non-zero length, got {a.shape} "
            f"and {b.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(f"{what}: scores contain NaN or inf")
    return a, b


def paired_t(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of a paired t-test of mean(a − b) = 0 (n ≥ 2).

    Identical pairs (all differences equal, so no variance) give 1.0 when the
    differences are zero and 0.0 otherwise: the test statistic is then 0 or infinite.
    """
    a, b = _paired(a, b, "paired_t")
    if a.size < 2:
        raise ValueError(f"paired_t: need at least 2 pairs, got {a.size}")
    d = a - b
    if np.allclose(d, d[0], rtol=0, atol=1e-12):
        return 1.0 if abs(d[0]) < 1e-12 else 0.0
    return float(stats.ttest_rel(a, b).pvalue)


def sign_flip_test(
    a: np.ndarray, b: np.ndarray, *, n_resamples: int = 10_000, seed: int = 0
) -> float:
    """Two-sided permutation p-value of mean(a − b) = 0 by random sign flips of the
    paired differences.

    a, b (N,) per-item scores of two models. Exact under the null that each difference
    is symmetric around 0; the +1 correction keeps p > 0 (Phipson & Smyth, 2010).
    """
    a, b = _paired(a, b, "sign_flip_test")
    if n_resamples < 1:
        raise ValueError(f"sign_flip_test: n_resamples must be >= 1, got {n_resamples}")
    d = a - b
    observed = abs(d.mean())
    if not np.any(d):
        return 1.0
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, n_resamples, 1000):  # chunks keep memory at 1000 x N
        signs = rng.choice((-1.0, 1.0), size=(min(1000, n_resamples - start), d.size))
        extreme += int(np.sum(np.abs(signs @ d) / d.size >= observed - 1e-12))
    return (extreme + 1) / (n_resamples + 1)


def holm(pvalues: list[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (same order as given; NaN stays NaN and is not
    counted)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, math.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    running = 0.0
    for rank, idx in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[idx]))  # monotone step-down
        out[idx] = running
    return out
