"""Interval alignment with the CMU-MultimodalSDK's semantics, vectorised (no per-row
Python loops).

The SDK (``mmsdk/mmdatasdk/dataset/dataset.py``, ``align`` and ``__intersect_and_copy``)
aligns a sequence to reference intervals like this, with ``eps = 1e-5``:

1. reference intervals shorter than ``eps`` are skipped (no entry for them);
2. a subject row ``[s0, s1]`` overlaps a reference ``[r0, r1]`` when ``r1 - s0 > -eps``
   and ``s1 - r0 > -eps`` (subject rows sorted by start);
3. overlapping rows are clipped to ``[max(s0, r0), min(s1, r1)]`` and pieces of length
   ``<= eps`` are dropped;
4. optionally the pieces of one reference interval are collapsed into one row by their
   (unweighted) mean; the entry is keyed ``<video_id>[<i>]`` with ``i`` the reference
   row.

:func:`overlap_pairs` computes every (reference, subject row) pair at once with two
``searchsorted`` calls, so cost is linear in the number of pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "EPSILON",
    "Overlaps",
    "overlap_pairs",
    "collapse_mean",
    "align_to_reference",
    "segment_key",
    "pad_last",
]

EPSILON = 1e-5  # the SDK's ``epsilon = 10e-6``


def segment_key(video_id: str, index: int) -> str:
    """The SDK's aligned entry id, ``<video_id>[<index>]``."""
    return f"{video_id}[{index}]"


@dataclass(frozen=True, eq=False)
class Overlaps:
    """k (reference, subject) pairs, grouped by reference then ordered by subject start.

    ref (k,) int64 reference row; sub (k,) int64 subject row (index into the caller's
    array); clipped (k, 2) float64 piece bounds.
    """

    ref: np.ndarray
    sub: np.ndarray
    clipped: np.ndarray

    def counts(self, n_ref: int) -> np.ndarray:
        """(n_ref,) number of pieces per reference interval."""
        return np.bincount(self.ref, minlength=n_ref)


def overlap_pairs(
    ref: np.ndarray, sub: np.ndarray, *, eps: float = EPSILON
) -> Overlaps:
    """All overlaps of subject intervals ``sub`` (n, 2) with reference intervals ``ref``
    (m, 2).

    ``sub`` need not be sorted; pairs come back in subject start order (stable), as the
    SDK's. Reference intervals shorter than ``eps`` get no pairs.
    """
    ref = np.asarray(ref, dtype=np.float64).reshape(-1, 2)
    sub = np.asarray(sub, dtype=np.float64).reshape(-1, 2)
    empty = Overlaps(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)))
    if len(ref) == 0 or len(sub) == 0:
        return empty
    order = np.argsort(sub[:, 0], kind="stable")
    s = sub[order]
    # Candidates per reference: a contiguous run [lo, hi) of the start-sorted rows. Rows
    # past hi start after r1 (+eps); rows before lo end before r0 (-eps) because even
    # the running max of ends does.
    # 2*eps slack keeps the run a superset; the exact SDK test below decides.
    hi = np.searchsorted(s[:, 0], ref[:, 1] + 2 * eps, side="left")
    lo = np.searchsorted(
        np.maximum.accumulate(s[:, 1]), ref[:, 0] - 2 * eps, side="right"
    )
    lo = np.minimum(lo, hi)
    # skipped reference intervals: empty run
    lo[np.abs(ref[:, 1] - ref[:, 0]) < eps] = 0
    hi[np.abs(ref[:, 1] - ref[:, 0]) < eps] = 0
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return empty
    ref_idx = np.repeat(np.arange(len(ref)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(total) - np.repeat(starts, counts) + np.repeat(lo, counts)
    r, c = ref[ref_idx], s[pos]
    keep = ((r[:, 1] - c[:, 0]) > -eps) & ((c[:, 1] - r[:, 0]) > -eps)
    clipped = np.stack(
        [np.maximum(c[:, 0], r[:, 0]), np.minimum(c[:, 1], r[:, 1])], axis=1
    )
    keep &= np.abs(clipped[:, 0] - clipped[:, 1]) > eps
    return Overlaps(ref=ref_idx[keep], sub=order[pos[keep]], clipped=clipped[keep])


def collapse_mean(
    pairs: Overlaps, features: np.ndarray, n_ref: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unweighted mean of each reference interval's pieces (the SDK's ``numpy.average``
    collapse).

    Returns (means (n_ref, d) float32, zero where a reference has no piece; has_piece
    (n_ref,) bool).
    """
    d = features.shape[1]
    out = np.zeros((n_ref, d), dtype=np.float32)
    has = np.zeros(n_ref, dtype=bool)
    if len(pairs.ref) == 0:
        return out, has
    groups, first = np.unique(pairs.ref, return_index=True)
    # float32, like the SDK's numpy.average
    sums = np.add.reduceat(features[pairs.sub], first, axis=0)
    sizes = np.diff(np.append(first, len(pairs.ref)))
    out[groups] = (sums / sizes[:, None]).astype(np.float32)
    has[groups] = True
    return out, has


def align_to_reference(
    ref_intervals: np.ndarray,
    features: np.ndarray,
    intervals: np.ndarray,
    *,
    video_id: str,
    collapse: bool = False,
    eps: float = EPSILON,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One video of the SDK's ``align``: entry ``<video_id>[i]`` -> (features,
    intervals) per reference row i.

    features (n, d), intervals (n, 2) of the subject; without ``collapse`` an entry
    holds its clipped pieces (k_i, d) / (k_i, 2); with it one row: the mean, and ``[min
    start, max end]`` of the pieces. References without any piece get no entry (the SDK
    then drops them in ``unify``).
    """
    ref_intervals = np.asarray(ref_intervals, dtype=np.float64).reshape(-1, 2)
    pairs = overlap_pairs(ref_intervals, intervals, eps=eps)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if len(pairs.ref) == 0:
        return out
    groups, first = np.unique(pairs.ref, return_index=True)
    bounds = np.append(first, len(pairs.ref))
    feats = np.asarray(features, dtype=np.float32)[pairs.sub]
    means = (
        collapse_mean(
            pairs, np.asarray(features, dtype=np.float32), len(ref_intervals)
        )[0]
        if collapse
        else None
    )
    for g, a, b in zip(
        groups.tolist(), bounds[:-1].tolist(), bounds[1:].tolist(), strict=True
    ):
        pieces = pairs.clipped[a:b]
        if collapse:
            out[segment_key(video_id, g)] = (
                means[g][None, :],
                np.array([[pieces[:, 0].min(), pieces[:, 1].max()]]),
            )
        else:
            out[segment_key(video_id, g)] = (feats[a:b], pieces)
    return out


def pad_last(rows: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the last ``seq_len`` rows of (n, d), left-pad with zeros: ((seq_len, d),
    mask (seq_len,) bool).

    This is the SDK's ``get_tensors(direction=False)``.
    """
    rows = np.asarray(rows)
    kept = rows[max(0, len(rows) - seq_len) :]
    out = np.zeros((seq_len,) + rows.shape[1:], dtype=rows.dtype)
    mask = np.zeros(seq_len, dtype=bool)
    if len(kept):
        out[seq_len - len(kept) :] = kept
        mask[seq_len - len(kept) :] = True
    return out, mask
