"""MMSA's CMU-MOSEI pickles (``aligned_50.pkl``, ``unaligned_50.pkl``), opt-in and
checksummed.

A pickle runs code when it is loaded, so :func:`load_mmsa` opens one only when the
caller passes ``trust_pickle=True`` **and** the file's SHA-256 equals the expected
checksum (``sha256=`` or :data:`~affect_lib.data.mosei.mmsa_pickle.KNOWN_MMSA_SHA256`);
see :mod:`~affect_lib.data.mosei.mmsa_pickle`.

Layout: ``{"train"|"valid"|"test": {"id": ["video$_$clip", ...], "text": (N, T, 768)
BERT features, "text_bert": (N, 3, T) ids/mask/segments, "audio": (N, Ta, 74), "vision":
(N, Tv, 35), "audio_lengths", "vision_lengths": (N,), "regression_labels": (N,)
sentiment in [-3, 3], ...}}``, right-padded. ``aligned_50`` has Ta = Tv = T = 50
(word-aligned).

What we return (same contract as :func:`affect_lib.data.mosei.dataset.load_mosei`):

- steps are left-padded (valid steps moved to the end); the valid text steps come from
  the BERT attention mask ``text_bert[:, 1]`` (else the non-zero rows of ``text``);
- ``unaligned_50`` has no timestamps: each modality's valid frames are mean-pooled into
  as many equal bins as there are text steps (an approximation, stated in the result);
- ``audio == -inf`` (and any other non-finite value) becomes 0, as MMSA does;
- **sentiment only**: MMSA has no emotion labels. ``emotions`` are all 0 and ``label``
  all 0 (a placeholder, never a class); the sentiment is in
  :attr:`MmsaSplits.sentiment`. Asking for ``labels="emotion"`` raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.data.mosei.mmsa_pickle import _verified_load
from affect_lib.schema import EMOTIONS, DataFormatError

__all__ = ["MmsaSplits", "load_mmsa"]

_SPLITS = {"train": "train", "valid": "val", "test": "test"}


@dataclass(frozen=True, eq=False)
class MmsaSplits:
    """corpora per split ``train``/``val``/``test``; sentiment (N,) float32 in [-3, 3]
    per split."""

    corpora: dict[str, MultimodalCorpus]
    sentiment: dict[str, np.ndarray]
    aligned: bool
    sha256: str


def _array(part: dict, key: str, where: str, ndim: int) -> np.ndarray:
    if key not in part:
        raise DataFormatError(f"{where}: missing key {key!r}")
    arr = np.asarray(part[key])
    if arr.ndim != ndim:
        raise DataFormatError(
            f"{where}: key {key!r} has shape {arr.shape}, expected {ndim} dimensions"
        )
    return arr


def _lengths(part: dict, key: str, where: str, n: int) -> np.ndarray:
    """(n,) int64 frame counts >= 0 (a negative count would silently pool no frames)."""
    raw = _array(part, key, where, 1)
    if len(raw) != n or raw.dtype.kind not in "iuf":
        raise DataFormatError(
            f"{where}[{key!r}]: shape {raw.shape} dtype {raw.dtype}, expected ({n},) "
            f"numbers"
        )
    bad = (
        (~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw)))
        if raw.dtype.kind == "f"
        else raw < 0
    )
    if bad.any():
        row = int(np.argmax(bad))
        raise DataFormatError(
            f"{where}[{key!r}]: row {row} is {raw[row]}, expected a frame count >= 0"
        )
    return raw.astype(np.int64)


def _left_pad(x: np.ndarray, lengths: np.ndarray, T: int) -> np.ndarray:
    """Right-padded (N, Tx, d) with lengths (N,) -> left-padded (N, T, d) of the last
    min(L, T) steps."""
    n, tx = x.shape[:2]
    out = np.zeros((n, T, x.shape[2]), np.float32)
    t = np.arange(T)
    src = lengths[:, None] - T + t[None, :]  # output step t takes source step L - T + t
    ok = src >= 0
    out[ok] = x[np.nonzero(ok)[0], src[ok]]
    return out


def _pool(
    x: np.ndarray, lengths: np.ndarray, bins: np.ndarray, chunk: int = 256
) -> np.ndarray:
    """Mean-pool the first lengths[i] frames of (N, Tx, d) into bins[i] equal bins
    (right-padded to max).

    Bin b of sample i holds frames [ceil(b L / B), ceil((b + 1) L / B)); a bin without
    frames is 0.
    """
    n, tx, d = x.shape
    width = max(int(bins.max(initial=0)), 1)
    out = np.zeros((n, width, d), np.float32)
    b = np.arange(width + 1)[None, :]
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        L, B = lengths[lo:hi, None], np.maximum(bins[lo:hi, None], 1)
        edges = np.minimum(-(-(b * L) // B), L)  # ceil, clipped to the valid length
        cs = np.concatenate(
            [np.zeros((hi - lo, 1, d)), np.cumsum(x[lo:hi], axis=1, dtype=np.float64)],
            axis=1,
        )
        rows = np.arange(hi - lo)[:, None]
        sums = cs[rows, edges[:, 1:]] - cs[rows, edges[:, :-1]]
        counts = (edges[:, 1:] - edges[:, :-1])[..., None]
        pooled = np.where(counts > 0, sums / np.maximum(counts, 1), 0)
        pooled[np.arange(width)[None, :] >= bins[lo:hi, None]] = 0
        out[lo:hi] = pooled
    return out


def load_mmsa(
    path: str | os.PathLike[str],
    *,
    trust_pickle: bool = False,
    sha256: str | None = None,
    seq_len: int | None = None,
    labels: Literal["sentiment", "emotion"] = "sentiment",
) -> MmsaSplits:
    """Load an MMSA pickle (opt-in, checksummed) into left-padded corpora; T =
    ``seq_len`` or the file's.

    ``seq_len``: an integer >= 1, or None/0 for the file's own T.
    """
    path = Path(path)
    if seq_len is not None and (
        isinstance(seq_len, bool)
        or not isinstance(seq_len, int | np.integer)
        or seq_len < 0
    ):
        raise ValueError(
            f"seq_len={seq_len!r}: expected an integer >= 1, or None (or 0) for the "
            f"file's length"
        )
    if labels != "sentiment":
        raise ValueError(
            f"labels={labels!r}: MMSA pickles carry sentiment only (no emotion "
            f"labels); "
            "use the CMU-MultimodalSDK .csd files (affect_lib.data.mosei.dataset) for "
            "emotions"
        )
    payload, digest = _verified_load(path, trust_pickle, sha256)
    if not isinstance(payload, dict) or set(_SPLITS) - set(payload):
        raise DataFormatError(f"{path}: expected a dict with keys {sorted(_SPLITS)}")
    for key in _SPLITS:  # before anything reads a split
        if not isinstance(payload[key], dict):
            raise DataFormatError(
                f"{path}: [{key!r}]: expected a dict of arrays, found "
                f"{type(payload[key]).__name__}"
            )
    videos = sorted(
        {
            str(i).split("$_$")[0]
            for s in _SPLITS
            for i in np.asarray(payload[s].get("id", []))
        }
    )
    speaker_of = {v: k for k, v in enumerate(videos)}
    corpora, sentiment, aligned = {}, {}, True
    for key, split in _SPLITS.items():
        part, where = payload[key], f"{path}: [{key!r}]"
        text = _array(part, "text", where, 3).astype(np.float32)
        audio = _array(part, "audio", where, 3).astype(np.float32)
        vision = _array(part, "vision", where, 3).astype(np.float32)
        y = _array(part, "regression_labels", where, 1).astype(np.float32).reshape(-1)
        ids = [str(i) for i in _array(part, "id", where, 1)]
        n = len(ids)
        if not all(len(a) == n for a in (text, audio, vision, y)):
            raise DataFormatError(
                f"{where}: {n} ids but text/audio/vision/labels have "
                f"{len(text)}/{len(audio)}/{len(vision)}/{len(y)} rows"
            )
        bad = ~np.isfinite(y) | (np.abs(y) > 3 + 1e-4)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataFormatError(
                f"{where}['regression_labels']: row {row} ({ids[row]}) is "
                f"{float(y[row])}, "
                "expected a sentiment in [-3, 3]"
            )
        if "text_bert" in part:
            bert = _array(part, "text_bert", where, 3)
            if len(bert) != n or bert.shape[1] < 2:
                raise DataFormatError(
                    f"{where}['text_bert']: shape {bert.shape}, expected ({n}, 3, T) "
                    "(ids, attention mask, segments)"
                )
            tmask = bert[:, 1, :] > 0
        else:
            tmask = np.abs(text).sum(axis=2) > 0
        t_len = tmask.sum(axis=1)
        if not np.array_equal(
            tmask, np.arange(tmask.shape[1])[None, :] < t_len[:, None]
        ):
            raise DataFormatError(
                f"{where}: text mask is not right-padded (valid steps must come first)"
            )
        # the BERT mask covers more steps than text holds
        if t_len.max(initial=0) > text.shape[1]:
            row = int(np.argmax(t_len))
            raise DataFormatError(
                f"{where}['text_bert']: row {row} ({ids[row]}) has {int(t_len[row])} "
                f"valid steps "
                f"but 'text' has {text.shape[1]} (shape {text.shape})"
            )
        for x in (text, audio, vision):
            x[~np.isfinite(x)] = 0  # MMSA: audio[audio == -inf] = 0
        T = seq_len or text.shape[1]
        if audio.shape[1] == vision.shape[1] == text.shape[1]:
            a, v = audio, vision
        else:  # unaligned: pool each modality's frames into the text steps
            aligned = False
            a_len = _lengths(part, "audio_lengths", where, n)
            v_len = _lengths(part, "vision_lengths", where, n)
            a, v = (
                _pool(audio, np.minimum(a_len, audio.shape[1]), t_len),
                _pool(vision, np.minimum(v_len, vision.shape[1]), t_len),
            )
        mods = [_left_pad(x, t_len, T) for x in (text, a, v)]
        mask = np.arange(T)[None, :] >= (T - np.minimum(t_len, T))[:, None]
        corpora[split] = MultimodalCorpus(
            text=mods[0],
            audio=mods[1],
            video=mods[2],
            mask=mask,
            label=np.zeros(n, np.int64),
            emotions=np.zeros((n, len(EMOTIONS)), np.float32),
            driver=np.full(n, -1, np.int64),
            speaker=np.array([speaker_of[i.split("$_$")[0]] for i in ids], np.int64),
            window=np.full((n, 2), -1, np.int64),
            conflict=np.zeros((n, 3), bool),
            ids=tuple(ids),
        )
        sentiment[split] = np.clip(y, -3, 3)
    return MmsaSplits(
        corpora=corpora, sentiment=sentiment, aligned=aligned, sha256=digest
    )
