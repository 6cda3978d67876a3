"""CMU-MOSEI labels (``CMU_MOSEI_Labels.csd``) and the standard train/valid/test folds.

Label row per segment: ``[sentiment, happy, sad, anger, surprise, disgust, fear]``;
sentiment in [-3, 3], emotion intensities in [0, 3] (averages of three annotators). The
emotion columns are in the order of :data:`affect_lib.data.corpus.EMOTIONS` (a public
implementation swaps fear and surprise: ``tests/data/mosei/test_dataset.py`` pins the
order).

Dominant emotion (the single-label view, ``label``): the emotion with the highest
intensity. Ties go to the first of them in the CMU-MOSEI order (``numpy.argmax``;
``ties="drop"`` drops tied segments instead). A segment with no emotion present (all six
are 0) has no dominant emotion.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from affect_lib.data.mosei.csd import CsdFile
from affect_lib.schema import EMOTIONS, DataFormatError

__all__ = [
    "SPLITS",
    "MoseiLabels",
    "read_mosei_labels",
    "standard_folds",
    "read_folds",
    "resolve_folds",
    "dominant_emotion",
]

SPLITS: tuple[str, ...] = ("train", "val", "test")
_FOLD_KEYS = {"train": "train", "valid": "val", "val": "val", "test": "test"}
# descriptive keys of the shipped folds file, ignored
_FOLD_INFO_KEYS = (
    "source",
    "licence",
    "counts",
)
_TOL = 1e-4  # float32 storage of annotator averages (multiples of 1/3)


@dataclass(frozen=True, eq=False)
class MoseiLabels:
    """The labelled segments of one video, in file order.

    intervals (n, 2) float64 seconds; sentiment (n,) float32 in [-3, 3];
    emotions (n, 6) float32 in [0, 3], columns in :data:`EMOTIONS` order.
    """

    intervals: np.ndarray
    sentiment: np.ndarray
    emotions: np.ndarray


def read_mosei_labels(path: str | os.PathLike[str]) -> dict[str, MoseiLabels]:
    """Read and range-check ``CMU_MOSEI_Labels.csd`` (root ``All Labels``): video id ->
    labels."""
    out = {}
    with CsdFile(path) as f:
        for vid in f.video_ids:
            feats, ivals = f.read(vid)
            where = f"{f.path}: /{f.root}/data/{vid}/features"
            if feats.shape[1] != 1 + len(EMOTIONS):
                raise DataFormatError(
                    f"{where}: {feats.shape[1]} columns, expected 7 "
                    "[sentiment, happy, sad, anger, surprise, disgust, fear]"
                )
            lo = np.array([-3.0] + [0.0] * len(EMOTIONS))
            hi = np.full(1 + len(EMOTIONS), 3.0)
            bad = ~np.isfinite(feats) | (feats < lo - _TOL) | (feats > hi + _TOL)
            if bad.any():
                row, col = (int(i) for i in np.argwhere(bad)[0])
                name = ("sentiment",) + EMOTIONS
                raise DataFormatError(
                    f"{where}: row {row}, column {col} ({name[col]}) is "
                    f"{float(feats[row, col])}, "
                    f"expected a value in [{lo[col]:g}, {hi[col]:g}]"
                )
            feats = np.clip(feats, lo, hi).astype(np.float32)
            out[vid] = MoseiLabels(
                intervals=ivals,
                sentiment=feats[:, 0].copy(),
                emotions=feats[:, 1:].copy(),
            )
    return out


def dominant_emotion(emotions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label (n,) int64 argmax, first on ties; present (n,) bool any emotion > 0; tied
    (n,) bool)."""
    top = emotions.max(axis=1, initial=0.0)
    present = top > 0
    tied = (emotions >= top[:, None] - 1e-6).sum(axis=1) > 1
    return emotions.argmax(axis=1).astype(np.int64), present, tied & present


def standard_folds() -> dict[str, tuple[str, ...]]:
    """CMU-MOSEI's standard folds (2,249 / 300 / 678 videos), shipped from the
    CMU-MultimodalSDK."""
    text = (
        resources.files("affect_lib.data.mosei")
        .joinpath("cmu_mosei_folds.json")
        .read_text(encoding="utf-8")
    )
    return _parse_folds(json.loads(text), "affect_lib/data/mosei/cmu_mosei_folds.json")


def read_folds(path: str | os.PathLike[str]) -> dict[str, tuple[str, ...]]:
    """A folds JSON: ``{"train": [...], "valid" or "val": [...], "test": [...]}`` lists
    of video ids.

    The shipped file's descriptive keys ``source``, ``licence``, ``counts`` are allowed
    (ignored); any other key is an error (a misspelt split would otherwise be dropped
    silently).
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot read folds JSON ({exc})") from exc
    return _parse_folds(payload, str(path))


def _parse_folds(payload: object, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(payload, Mapping):
        raise DataFormatError(
            f"{where}: expected an object with keys train, valid, test"
        )
    unknown = [k for k in payload if k not in _FOLD_KEYS and k not in _FOLD_INFO_KEYS]
    if unknown:
        raise DataFormatError(
            f"{where}: unknown key(s) {unknown}; valid keys: train, valid or val, test "
            f"(and {', '.join(_FOLD_INFO_KEYS)}, ignored)"
        )
    folds: dict[str, tuple[str, ...]] = {}
    for key, split in _FOLD_KEYS.items():
        if key in payload:
            ids = payload[key]
            if (
                split in folds
                or not isinstance(ids, list)
                or not all(isinstance(v, str) for v in ids)
            ):
                raise DataFormatError(
                    f"{where}: key {key!r}: expected one list of video id strings per "
                    f"split"
                )
            folds[split] = tuple(ids)
    missing = [s for s in SPLITS if s not in folds]
    if missing:
        raise DataFormatError(
            f"{where}: missing fold(s) {missing} (keys: train, valid or val, test)"
        )
    seen: dict[str, str] = {}
    for split in SPLITS:
        for vid in folds[split]:
            if vid in seen:
                raise DataFormatError(
                    f"{where}: video {vid!r} is in both {seen[vid]} and {split}"
                )
            seen[vid] = split
    return folds


def resolve_folds(
    folds: Mapping[str, Sequence[str]] | str | os.PathLike[str] | None,
) -> dict[str, tuple[str, ...]]:
    """None -> the standard folds; a path -> :func:`read_folds`; a mapping -> checked as
    a folds JSON."""
    if folds is None:
        return standard_folds()
    if isinstance(folds, str | os.PathLike):
        return read_folds(folds)
    return _parse_folds({k: list(v) for k, v in folds.items()}, "folds argument")
