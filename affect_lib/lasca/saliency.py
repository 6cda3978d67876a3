"""Per-window saliency (LaScA step 2): which of the 73 features stand out in this
window?

Pipeline: window-mean features ``X`` (N, 73) -> :func:`normalise` (per-video z-scores)
-> :func:`salient_mask` (per window, Otsu's split of its 73 normalised values; salient =
upper class).

**Normalisation.** LaScA motivates per-sample saliency with "strong individual
variability": a blendshape score of 0.3 is a large smile for one person and a resting
face for another. So values are standardised *per video* (one person, one recording):
each feature's z-score across the windows of its video, ``z = (x - mean_video) /
std_video``. A window's feature is then salient when it is high *for this person*,
relative to the window's other features. A feature that is constant within a video (std
0, e.g. a dead channel) gets z = 0 everywhere; NaN inputs stay NaN and are ignored
downstream.

**Otsu's threshold** (Otsu 1979) as scikit-image's ``threshold_otsu``: histogram of the
values with ``nbins`` equal bins over [min, max]; for every split between bin k and k+1
the between-class variance ``w0 * w1 * (mu0 - mu1)^2`` (w: bin counts, mu:
count-weighted means of the bin centres); the threshold is the centre of the bin that
ends the lower class of the best split (first one on ties).

**Salient = Otsu's upper class**: the values in the bins above the split, i.e. ``value
>= the lower edge of the first upper-class bin``, equivalently ``value >`` the largest
value of the lower class. (scikit-image's usual ``image > threshold`` compares with the
bin *centre*, so the largest value of the lower class counts as "above" whenever it sits
in the upper half of its bin, about every second window with 73 values in 256 bins;
taking the class Otsu's split chose avoids that artefact.)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "otsu_threshold",
    "otsu_thresholds",
    "normalise",
    "standardise",
    "video_stats",
    "salient_mask",
]


def _histogram_rows(V: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per-row histogram counts (R, nbins) over per-row uniform ``edges`` (R, nbins +
    1).

    Bins exactly like ``np.histogram(row, nbins, range=(min, max))`` (same index
    arithmetic and the same round-off correction against the edges); NaN entries are not
    counted. Rows need max > min.
    """
    rows, nbins = edges.shape[0], edges.shape[1] - 1
    lo, hi = edges[:, :1], edges[:, -1:]
    finite = ~np.isnan(V)
    Vf = np.where(finite, V, lo)
    idx = (((Vf - lo) / (hi - lo)) * nbins).astype(np.intp)
    idx[idx == nbins] -= 1
    idx -= Vf < np.take_along_axis(edges, idx, axis=1)
    idx += (Vf >= np.take_along_axis(edges, idx + 1, axis=1)) & (idx != nbins - 1)
    flat = (idx + nbins * np.arange(rows)[:, None])[finite]
    return (
        np.bincount(flat, minlength=rows * nbins)
        .reshape(rows, nbins)
        .astype(np.float64)
    )


def _otsu_rows(V: np.ndarray, nbins: int) -> tuple[np.ndarray, np.ndarray]:
    """Otsu per row of ``V`` (R, M): (threshold = centre of the last lower-class bin,
    lower edge of the first upper-class bin), both (R,); (value, NaN) for rows with < 2
    distinct values, NaN for all-NaN."""
    if nbins < 2:
        raise ValueError(f"nbins must be >= 2, got {nbins}")
    if np.isinf(V).any():
        raise ValueError(
            "Otsu saliency: infinite values (expected finite numbers or NaN)"
        )
    rows = V.shape[0]
    thr, upper = np.full(rows, np.nan), np.full(rows, np.nan)
    nan = np.isnan(V)
    any_finite = ~nan.all(axis=1)
    lo = np.where(nan, np.inf, V).min(axis=1)
    hi = np.where(nan, -np.inf, V).max(axis=1)
    flat = any_finite & (hi == lo)
    thr[flat] = lo[flat]
    split = any_finite & (hi > lo)
    if not split.any():
        return thr, upper
    edges = np.linspace(lo[split], hi[split], nbins + 1, axis=1)
    hist = _histogram_rows(V[split], edges)
    centres = (edges[:, :-1] + edges[:, 1:]) / 2
    w0 = np.cumsum(hist, axis=1)
    w1 = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
    hc = hist * centres
    # never 0/0: each row's minimum lies in its first bin,
    m0 = np.cumsum(hc, axis=1) / w0
    # and its maximum in its last
    m1 = (np.cumsum(hc[:, ::-1], axis=1) / w1[:, ::-1])[:, ::-1]
    between = w0[:, :-1] * w1[:, 1:] * (m0[:, :-1] - m1[:, 1:]) ** 2
    best = np.argmax(between, axis=1)[:, None]
    thr[split] = np.take_along_axis(centres, best, axis=1)[:, 0]
    upper[split] = np.take_along_axis(edges, best + 1, axis=1)[:, 0]
    return thr, upper


def _otsu_row(v: np.ndarray, nbins: int) -> tuple[float, float]:
    """:func:`_otsu_rows` for one row (same arithmetic, ~5x less overhead: single-window
    inference)."""
    if nbins < 2:
        raise ValueError(f"nbins must be >= 2, got {nbins}")
    if np.isinf(v).any():
        raise ValueError(
            "Otsu saliency: infinite values (expected finite numbers or NaN)"
        )
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    lo, hi = v.min(), v.max()
    if lo == hi:
        return float(lo), float("nan")
    hist, edges = np.histogram(v, bins=nbins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    hist = hist.astype(np.float64)
    w0 = np.cumsum(hist)
    w1 = np.cumsum(hist[::-1])[::-1]
    hc = hist * centres
    m0 = np.cumsum(hc) / w0
    m1 = (np.cumsum(hc[::-1]) / w1[::-1])[::-1]
    best = int(np.argmax(w0[:-1] * w1[1:] * (m0[:-1] - m1[1:]) ** 2))
    return float(centres[best]), float(edges[best + 1])


def otsu_thresholds(V: np.ndarray, nbins: int = 256) -> np.ndarray:
    """Otsu's threshold of every row of ``V`` (R, M) -> (R,) float64; NaN entries
    ignored.

    A row with fewer than two distinct finite values has no split: its threshold is its
    single value (scikit-image's convention), or NaN when the row is all NaN.
    """
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2:
        raise ValueError(
            f"otsu_thresholds expects a 2-D array (rows, values), got shape {V.shape}"
        )
    return _otsu_rows(V, nbins)[0]


def otsu_threshold(values: np.ndarray, nbins: int = 256) -> float:
    """Otsu's threshold of ``values`` (any shape, NaN ignored); equals scikit-image's
    ``threshold_otsu``."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("otsu_threshold: no values")
    return _otsu_row(v, nbins)[0]


def video_stats(
    X: np.ndarray, groups: np.ndarray
) -> dict[object, tuple[np.ndarray, np.ndarray]]:
    """Per-group feature mean and std (population, NaN ignored): ``{group: (mean (D,),
    std (D,))}``."""
    X = np.asarray(X, dtype=np.float64)
    groups = np.asarray(groups)
    if X.ndim != 2 or groups.shape != (X.shape[0],):
        raise ValueError(
            f"video_stats expects X (N, D) and groups (N,), got {X.shape} and "
            f"{groups.shape}"
        )
    stats: dict[object, tuple[np.ndarray, np.ndarray]] = {}
    for g in dict.fromkeys(groups.tolist()):
        rows = X[groups == g]
        with np.errstate(invalid="ignore"), _quiet_nan_warnings():
            mean = np.nanmean(rows, axis=0)
            std = np.nanstd(rows, axis=0)
        stats[g] = (mean, std)
    return stats


def standardise(
    x: np.ndarray, mean: np.ndarray, std: np.ndarray, eps: float = 1e-8
) -> np.ndarray:
    """``(x - mean) / std`` with 0 where ``std <= eps`` (a feature constant in the
    video): (..., D) float32."""
    x = np.asarray(x, dtype=np.float64)
    safe = np.where(std > eps, std, 1.0)
    z = np.where(std > eps, (x - mean) / safe, np.where(np.isnan(x), np.nan, 0.0))
    return z.astype(np.float32)


def normalise(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per-video standardisation (module docstring): (N, D) -> (N, D) float32 z-scores
    within each group."""
    X = np.asarray(X, dtype=np.float64)
    groups = np.asarray(groups)
    Z = np.empty(X.shape, dtype=np.float32)
    for g, (mean, std) in video_stats(X, groups).items():
        rows = groups == g
        Z[rows] = standardise(X[rows], mean, std)
    return Z


def salient_mask(Z: np.ndarray, nbins: int = 256) -> np.ndarray:
    """Salient features per window: (N, D) normalised values -> (N, D) bool (module
    docstring).

    Salient = in Otsu's upper class, i.e. above every value of the lower class. NaN
    values are ignored (never salient); a window with fewer than two distinct values
    (constant, or all NaN) has no salient feature. A 1-D input is one window and gives a
    1-D mask.
    """
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim == 1:
        upper1 = _otsu_row(Z, nbins)[1]
        with np.errstate(invalid="ignore"):
            return Z >= upper1  # False for NaN values and for a NaN bound (no split)
    if Z.ndim != 2:
        raise ValueError(
            f"salient_mask expects (N, D) or (D,) values, got shape {Z.shape}"
        )
    upper = _otsu_rows(Z, nbins)[1]
    with np.errstate(invalid="ignore"):
        return Z >= upper[:, None]


class _quiet_nan_warnings:
    """Silence numpy's 'Mean of empty slice' for all-NaN columns (the result is NaN,
    handled later)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
