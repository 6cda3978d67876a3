"""One CMU-MOSEI video aligned to its labelled segments (the per-video half of
:mod:`affect_lib.data.mosei.dataset`).

:func:`align_video` reads a video's rows from the ``.csd`` files and computes where each
word step lands in the output; :func:`place` writes that into the split's arrays. Videos
are independent, so :func:`aligned_in_order` runs them on threads (numpy releases the
GIL while one thread reads) and yields them in order: the result does not depend on the
number of threads.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from affect_lib.data.mosei.align import EPSILON, Overlaps, collapse_mean, overlap_pairs
from affect_lib.data.mosei.csd import CsdFile
from affect_lib.data.mosei.labels import MoseiLabels, dominant_emotion
from affect_lib.schema import MODALITIES, DataFormatError

__all__ = ["VideoAlignment", "align_video", "place", "aligned_in_order"]


def _clean(
    f: CsdFile,
    vid: str,
    feats: np.ndarray,
    rows: np.ndarray,
    policy: str,
    stats: dict[str, int],
    modality: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the non-finite policy to the file rows ``rows`` read as ``feats`` (k, d).

    Returns (features, dropped (k,) bool): values zeroed in place for "zero", rows
    flagged for "drop".
    """
    dropped = np.zeros(len(feats), bool)
    # fast path: a NaN or inf anywhere makes the sum non-finite
    if np.isfinite(feats.sum()):
        return feats, dropped
    bad = ~np.isfinite(feats)
    if not bad.any():  # the sum overflowed, the values are fine
        return feats, dropped
    if policy == "raise":
        i, col = (int(j) for j in np.argwhere(bad)[0])
        raise DataFormatError(
            f"{f.path}: /{f.root}/data/{vid}/features: row {rows[i]}, column {col} is "
            f"{float(feats[i, col])}, expected a finite value (or pass "
            f"nonfinite='zero'/'drop')"
        )
    stats[f"nonfinite_values_{modality}"] += int(bad.sum())
    if policy == "zero":
        feats[bad] = 0  # our own freshly read array
        return feats, dropped
    dropped = bad.any(axis=1)
    stats[f"nonfinite_rows_dropped_{modality}"] += int(dropped.sum())
    return feats, dropped


def _check_dim(f: CsdFile, vid: str, dim: int) -> None:
    if f.feature_dim(vid) != dim:
        raise DataFormatError(
            f"{f.path}: /{f.root}/data/{vid}/features: {f.feature_dim(vid)} columns, "
            f"expected {dim} like the file's other videos"
        )


def _modality_steps(
    f: CsdFile,
    vid: str,
    steps: np.ndarray,
    dim: int,
    policy: str,
    stats: dict[str, int],
    modality: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``modality``'s rows over each word step: ((S, d) float32, has rows (S,)
    bool).

    Only the span of rows that overlap a step is read from the file.
    """
    if vid not in f:
        stats[f"videos_missing_{modality}"] += 1
        return np.zeros((len(steps), dim), np.float32), np.zeros(len(steps), bool)
    _check_dim(f, vid, dim)
    pairs = overlap_pairs(steps, f.read_intervals(vid))
    if len(pairs.sub) == 0:
        return np.zeros((len(steps), dim), np.float32), np.zeros(len(steps), bool)
    # one contiguous read, used in place
    lo, hi = (
        int(pairs.sub.min()),
        int(pairs.sub.max()) + 1,
    )
    feats, dropped = _clean(
        f, vid, f.read_features(vid, lo, hi), np.arange(lo, hi), policy, stats, modality
    )
    pos = pairs.sub - lo
    keep = ~dropped[pos]  # "drop": as if those rows were never in the file
    return collapse_mean(
        Overlaps(pairs.ref[keep], pos[keep], pairs.clipped[keep]), feats, len(steps)
    )


def _word_steps(ivals: np.ndarray, usable: np.ndarray, segments: np.ndarray):
    """Word steps inside labelled segments: (file rows of the steps (S,) in time order,
    segment pairs, step of each pair). Zero-length words are skipped, as the SDK skips
    zero-length references."""
    order = np.flatnonzero(usable)[np.argsort(ivals[usable, 0], kind="stable")]
    pairs = overlap_pairs(segments, ivals[order])
    # only words inside a segment become steps
    used, sub = np.unique(pairs.sub, return_inverse=True)
    return order[used], pairs, sub


@dataclass(frozen=True, eq=False)
class VideoAlignment:
    """One video aligned: kept segment rows ``ok`` (n_seg,), and per placed step its
    segment ``seg``, word step ``step`` and output time ``t`` (k,); per modality the
    step features (S, d) and validity (S,)."""

    ok: np.ndarray
    seg: np.ndarray
    step: np.ndarray
    t: np.ndarray
    feats: dict[str, np.ndarray]
    has: dict[str, np.ndarray]
    present: np.ndarray
    label: np.ndarray
    stats: dict[str, int]


def align_video(
    vid: str,
    lab: MoseiLabels,
    files: dict[str, CsdFile],
    dims: dict[str, int],
    opts: dict,
) -> VideoAlignment:
    """Read and align one video (thread-safe: touches nothing shared but the read-only
    files)."""
    n_seg, T = len(lab.intervals), opts["seq_len"]
    stats: dict[str, int] = defaultdict(int, segments=n_seg)
    text = files["text"]
    if vid not in text:
        stats["videos_missing_text"] += 1
        stats["dropped_no_words"] += n_seg
        none = np.zeros(0, np.int64)
        return VideoAlignment(
            np.zeros(n_seg, bool),
            none,
            none,
            none,
            {},
            {},
            np.zeros(n_seg, bool),
            np.zeros(n_seg, np.int64),
            stats,
        )
    _check_dim(text, vid, dims["text"])
    t_ivals = text.read_intervals(vid)
    usable = np.abs(t_ivals[:, 1] - t_ivals[:, 0]) >= EPSILON
    rows, pairs, sub = _word_steps(t_ivals, usable, lab.intervals)
    read = np.unique(rows)
    t_feats, dropped = _clean(
        text, vid, text.read_rows(vid, read), read, opts["nonfinite"], stats, "text"
    )
    if dropped.any():  # "drop": recompute the steps without those words
        usable[read[dropped]] = False
        rows, pairs, sub = _word_steps(t_ivals, usable, lab.intervals)
    steps = t_ivals[rows]
    feats = {"text": t_feats[np.searchsorted(read, rows)]}
    has = {"text": np.ones(len(steps), bool)}
    for m in ("audio", "video"):
        feats[m], has[m] = _modality_steps(
            files[m], vid, steps, dims[m], opts["nonfinite"], stats, m
        )

    counts = pairs.counts(n_seg)
    label, present, tied = dominant_emotion(lab.emotions)
    ok = counts > 0
    stats["dropped_no_words"] += int((~ok).sum())
    if opts["missing"] == "drop":
        complete = np.ones(n_seg, bool)
        for m in ("audio", "video"):
            complete &= np.bincount(pairs.ref, weights=has[m][sub], minlength=n_seg) > 0
        stats["dropped_missing_modality"] += int((ok & ~complete).sum())
        ok &= complete
    if opts["no_emotion"] == "drop":
        stats["dropped_no_emotion"] += int((ok & ~present).sum())
        ok &= present
    if opts["ties"] == "drop":
        stats["dropped_tie"] += int((ok & tied).sum())
        ok &= ~tied
    sel = ok[pairs.ref]
    seg, step = pairs.ref[sel], sub[sel]
    if opts["collapse_segments"]:
        t = np.full(len(seg), T - 1)
    else:
        pos = np.flatnonzero(sel) - (np.cumsum(counts) - counts)[seg]
        # the last T steps end at T-1; earlier ones fall below 0
        t = T - counts[seg] + pos
        seg, step, t = seg[t >= 0], step[t >= 0], t[t >= 0]
    return VideoAlignment(ok, seg, step, t, feats, has, present, label, stats)


def place(v: VideoAlignment, lab: MoseiLabels, out: dict, base: int, opts: dict) -> int:
    """Write a video's kept segments at rows ``base...`` of ``out``; returns how
    many."""
    k, T, n_seg = int(v.ok.sum()), opts["seq_len"], len(v.ok)
    if k == 0:
        return 0
    rows = base + np.cumsum(v.ok) - 1  # output row of each kept segment
    r = rows[v.seg]
    for m in MODALITIES:
        valid = v.has[m][v.step]
        # one step: the mean of the segment's valid word steps
        if opts["collapse_segments"]:
            sums = np.zeros((n_seg, v.feats[m].shape[1]))
            np.add.at(sums, v.seg[valid], v.feats[m][v.step[valid]])
            n = np.bincount(v.seg[valid], minlength=n_seg)
            idx = np.flatnonzero(v.ok & (n > 0))
            out[m][rows[idx], T - 1] = (sums[idx] / n[idx, None]).astype(np.float32)
            out["mmask"][m][rows[idx], T - 1] = True
        else:
            out[m][r[valid], v.t[valid]] = v.feats[m][v.step[valid]]
            out["mmask"][m][r[valid], v.t[valid]] = True
    out["mask"][r, v.t] = True
    kept = np.flatnonzero(v.ok)
    out["label"][rows[kept]] = np.where(v.present[kept], v.label[kept], 0)
    out["emotions"][rows[kept]] = lab.emotions[kept]
    out["sentiment"][rows[kept]] = lab.sentiment[kept]
    out["has_emotion"][rows[kept]] = v.present[kept]
    out["intervals"][rows[kept]] = lab.intervals[kept]
    return k


def aligned_in_order(
    vids: list[str],
    labels: dict[str, MoseiLabels],
    files: dict[str, CsdFile],
    dims: dict[str, int],
    opts: dict,
    workers: int,
) -> Iterator[VideoAlignment]:
    """Align videos on ``workers`` threads (numpy releases the GIL), yielding them in
    order, few ahead."""
    if workers <= 1:
        for vid in vids:
            yield align_video(vid, labels[vid], files, dims, opts)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        ahead: deque = deque()
        for vid in vids:
            ahead.append(pool.submit(align_video, vid, labels[vid], files, dims, opts))
            if len(ahead) > 2 * workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
