"""CMU-MOSEI from the CMU-MultimodalSDK's ``.csd`` files, aligned to the labelled
segments.

Pipeline (the SDK's ``examples/.../process_mosei.py`` with mean collapse, streamed video
by video):

1. **Word steps.** The text sequence (``CMU_MOSEI_TimestampedWordVectors.csd``) is the
   reference: one step per word interval (zero-length words skipped, as the SDK does).
   Audio and video rows that overlap a word (SDK overlap rule,
   :mod:`affect_lib.data.mosei.align`) are averaged into that step. A word with no
   overlapping row gets zeros and its modality mask is False (the SDK's ``impute``).
2. **Segments.** Each labelled interval of ``CMU_MOSEI_Labels.csd`` takes the word steps
   that overlap it, in time order; its id is ``<video_id>[<row>]``. All modalities share
   the word step intervals (the SDK re-intersects each modality's collapsed intervals,
   which can differ by one step at a segment edge; a shared time axis is what
   :class:`MultimodalCorpus` needs).
3. **Padding.** The last ``seq_len`` steps are kept, left-padded with zeros (SDK
   ``get_tensors``).

Policies (keyword arguments):

- ``missing="drop"``: a segment is dropped when a modality has no valid step in it (the
  video lacks that file entry, or no row overlaps its words). This is stricter than the
  SDK's recipe, whose ``unify`` / ``hard_unify`` drop only ids absent from a file: after
  its ``impute`` step a segment whose words no row of a present video overlaps stays,
  with zero features. ``"zero"`` keeps every such segment the SDK would keep and a few
  more (the modality is zero there and ``modality_mask`` says so). A segment without
  words is always dropped (no time axis).
- ``nonfinite="zero"`` (default): NaN/inf feature values are set to 0 before alignment,
  the row stays valid (MMSA's handling of COVAREP's ``-inf``); ``"drop"`` removes rows
  holding any non-finite value before alignment (steps left without rows are masked as
  above); ``"raise"`` refuses the file.
- ``no_emotion="drop"``: segments with no emotion present have no dominant emotion and
  are dropped; ``"keep"`` keeps them with ``label`` 0 and ``has_emotion`` False (use
  ``emotions``).
- ``ties="first"``: a tied dominant emotion goes to the first in CMU-MOSEI order;
  ``"drop"`` drops it.
- ``collapse_segments=True``: one step per segment, the mean of its valid word steps per
  modality.

Real data have no causal ground truth: ``driver`` and ``window`` are -1, ``conflict`` is
False; ``speaker`` is an index per video (CMU-MOSEI has no speaker ids; its folds are
video-disjoint).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.data.mosei.csd import ComputationalSequence, CsdFile, read_csd
from affect_lib.data.mosei.csd_writer import CsdWriter, write_csd
from affect_lib.data.mosei.labels import (
    SPLITS,
    read_mosei_labels,
    resolve_folds,
    standard_folds,
)
from affect_lib.data.mosei.split import align_split, new_stats, split_corpus
from affect_lib.schema import MODALITIES, DataFormatError

__all__ = [
    "DataFormatError",
    "DEFAULT_FEATURES",
    "DEFAULT_LABELS",
    "MoseiSplits",
    "align_mosei",
    "load_mosei",
    "standard_folds",
    "ComputationalSequence",
    "CsdFile",
    "CsdWriter",
    "read_csd",
    "write_csd",
]

DEFAULT_FEATURES: tuple[str, str, str] = (
    "CMU_MOSEI_TimestampedWordVectors.csd",
    "CMU_MOSEI_COVAREP.csd",
    "CMU_MOSEI_VisualFacet42.csd",
)
DEFAULT_LABELS = "CMU_MOSEI_Labels.csd"


@dataclass(frozen=True, eq=False)
class MoseiSplits:
    """Aligned CMU-MOSEI, per split ``train``/``val``/``test``.

    corpora: the :class:`MultimodalCorpus` per split (N segments, T = seq_len);
    sentiment: (N,) float32 in [-3, 3]; intervals: (N, 2) float64 segment bounds in
    seconds; modality_mask: modality -> (N, T) bool, True where that modality has data
    (``corpus.mask`` is the word steps); has_emotion: (N,) bool; stats: counts of what
    was read, dropped or repaired.
    """

    corpora: dict[str, MultimodalCorpus]
    sentiment: dict[str, np.ndarray]
    intervals: dict[str, np.ndarray]
    modality_mask: dict[str, dict[str, np.ndarray]]
    has_emotion: dict[str, np.ndarray]
    stats: dict[str, int]


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: expected one of {list(allowed)}")


def _folds_source(
    folds: Mapping[str, Sequence[str]] | str | os.PathLike[str] | None,
) -> str:
    if folds is None:
        return "the standard CMU-MOSEI folds"
    return str(folds) if isinstance(folds, str | os.PathLike) else "the folds argument"


def align_mosei(
    data_dir: str | os.PathLike[str],
    *,
    seq_len: int,
    features: Sequence[str] = DEFAULT_FEATURES,
    labels: str = DEFAULT_LABELS,
    folds: Mapping[str, Sequence[str]] | str | os.PathLike[str] | None = None,
    missing: Literal["drop", "zero"] = "drop",
    nonfinite: Literal["zero", "drop", "raise"] = "zero",
    no_emotion: Literal["drop", "keep"] = "drop",
    ties: Literal["first", "drop"] = "first",
    collapse_segments: bool = False,
    workers: int | None = None,
) -> MoseiSplits:
    """Align the ``.csd`` files in ``data_dir`` (text, audio, video ``features`` and
    ``labels``) per split.

    ``folds``: None = CMU-MOSEI's standard folds, else a folds JSON path or a mapping
    train/valid/test. Streams video by video (``workers`` threads, default 2): peak
    memory is the output arrays plus a few videos' rows. The result does not depend on
    ``workers``.
    """
    workers = 2 if workers is None else workers
    if (
        isinstance(seq_len, bool)
        or not isinstance(seq_len, int | np.integer)
        or seq_len < 1
    ):
        raise ValueError(f"seq_len={seq_len!r}: expected an integer >= 1")
    _choice("missing", missing, ("drop", "zero"))
    _choice("nonfinite", nonfinite, ("zero", "drop", "raise"))
    _choice("no_emotion", no_emotion, ("drop", "keep"))
    _choice("ties", ties, ("first", "drop"))
    if len(features) != len(MODALITIES):
        raise ValueError(
            f"features={features!r}: expected three file names (text, audio, video)"
        )
    data_dir = Path(data_dir)
    paths = dict(zip(MODALITIES, (data_dir / name for name in features), strict=True))
    for p in [*paths.values(), data_dir / labels]:
        if not p.is_file():
            raise DataFormatError(
                f"{p}: file not found (expected the CMU-MultimodalSDK .csd files in "
                f"{data_dir})"
            )
    fold_ids = resolve_folds(folds)
    label_data = read_mosei_labels(data_dir / labels)
    opts = {
        "seq_len": seq_len,
        "missing": missing,
        "nonfinite": nonfinite,
        "no_emotion": no_emotion,
        "ties": ties,
        "collapse_segments": collapse_segments,
    }
    stats = new_stats()
    in_folds = {v for ids in fold_ids.values() for v in ids}
    stats["fold_videos_without_labels"] = len(in_folds - label_data.keys())
    stats["labelled_videos_outside_folds"] = len(label_data.keys() - in_folds)
    speaker_of = {vid: i for i, vid in enumerate(sorted(in_folds & label_data.keys()))}
    # every split would come back empty: almost surely the wrong folds or labels
    if not speaker_of:
        raise DataFormatError(
            f"{data_dir / labels}: none of the {len(in_folds)} video ids in "
            f"{_folds_source(folds)} has labels "
            f"(folds e.g. {sorted(in_folds)[:3]}, labelled e.g. "
            f"{sorted(label_data)[:3]}); every split would be empty"
        )

    files: dict[str, CsdFile] = {}
    try:
        for m in MODALITIES:
            files[m] = CsdFile(paths[m])
        dims = {
            m: (
                files[m].feature_dim(files[m].video_ids[0]) if files[m].video_ids else 0
            )
            for m in MODALITIES
        }
        result: dict[str, dict] = {}
        for split in SPLITS:
            vids = sorted(v for v in fold_ids[split] if v in label_data)
            result[split] = align_split(
                vids, label_data, files, dims, opts, workers, speaker_of, stats
            )
    finally:
        for f in files.values():
            f.close()

    if not any(r["ids"] for r in result.values()):
        dropped = {k: v for k, v in stats.items() if k.startswith("dropped_") and v}
        raise DataFormatError(
            f"{data_dir / labels}: all {stats['segments']} labelled segments of the "
            f"{stats['videos']} videos in {_folds_source(folds)} were dropped "
            f"({dropped}); "
            "every split would be empty"
        )
    corpora = {s: split_corpus(r) for s, r in result.items()}
    return MoseiSplits(
        corpora=corpora,
        sentiment={s: r["sentiment"] for s, r in result.items()},
        intervals={s: r["intervals"] for s, r in result.items()},
        modality_mask={s: r["mmask"] for s, r in result.items()},
        has_emotion={s: r["has_emotion"] for s, r in result.items()},
        stats=stats,
    )


def load_mosei(
    data_dir: str | os.PathLike[str],
    *,
    seq_len: int,
    features: Sequence[str] = DEFAULT_FEATURES,
    labels: str = DEFAULT_LABELS,
    folds: Mapping[str, Sequence[str]] | str | os.PathLike[str] | None = None,
    missing: Literal["drop", "zero"] = "drop",
    nonfinite: Literal["zero", "drop", "raise"] = "zero",
    no_emotion: Literal["drop", "keep"] = "drop",
    ties: Literal["first", "drop"] = "first",
    collapse_segments: bool = False,
    workers: int | None = None,
) -> dict[str, MultimodalCorpus]:
    """``train``/``val``/``test`` corpora of CMU-MOSEI (see :func:`align_mosei` for
    sentiment and masks)."""
    return align_mosei(
        data_dir,
        seq_len=seq_len,
        features=features,
        labels=labels,
        folds=folds,
        missing=missing,
        nonfinite=nonfinite,
        no_emotion=no_emotion,
        ties=ties,
        collapse_segments=collapse_segments,
        workers=workers,
    ).corpora
