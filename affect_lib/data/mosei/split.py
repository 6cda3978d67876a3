"""One split of aligned CMU-MOSEI: its videos streamed in file order into preallocated
arrays.

The per-split half of :func:`affect_lib.data.mosei.dataset.align_mosei` (the per-video
half is :mod:`~affect_lib.data.mosei.video`). Each video writes into its own block of
label rows (video id order), videos are read in the order their rows lie in the audio
file (sequential I/O), and the kept rows are compacted in place at the end, so peak
memory is the output arrays plus a few videos.
"""

from __future__ import annotations

import numpy as np

from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.data.mosei.align import segment_key
from affect_lib.data.mosei.csd import CsdFile
from affect_lib.data.mosei.labels import MoseiLabels
from affect_lib.data.mosei.video import aligned_in_order, place
from affect_lib.schema import EMOTIONS, MODALITIES

__all__ = ["align_split", "new_stats", "split_corpus"]


def new_stats() -> dict[str, int]:
    """The counters :func:`align_split` adds to, all 0 (the ``stats`` of
    ``MoseiSplits``)."""
    return dict.fromkeys(
        (
            "videos",
            "segments",
            "dropped_no_words",
            "dropped_missing_modality",
            "dropped_no_emotion",
            "dropped_tie",
            *(f"videos_missing_{m}" for m in MODALITIES),
            *(f"nonfinite_values_{m}" for m in MODALITIES),
            *(f"nonfinite_rows_dropped_{m}" for m in MODALITIES),
        ),
        0,
    )


def _file_position(f: CsdFile, vid: str) -> tuple[bool, int]:
    """Sort key: where the video's rows lie in the file (reading in file order is
    sequential I/O)."""
    offset = f.data_offset(vid) if vid in f else None
    return (offset is None, offset or 0)


def _compact(arr: np.ndarray, rows: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """``arr[rows]`` for increasing rows (rows[i] >= i), moved in place chunk by chunk:
    no full copy."""
    for i in range(0, len(rows), chunk):
        src = rows[i : i + chunk]
        # sources of later chunks lie past this chunk's destinations
        arr[i : i + len(src)] = arr[src]
    return arr[: len(rows)]


def align_split(
    vids: list[str],
    label_data: dict[str, MoseiLabels],
    files: dict[str, CsdFile],
    dims: dict[str, int],
    opts: dict,
    workers: int,
    speaker_of: dict[str, int],
    stats: dict[str, int],
) -> dict:
    """Arrays of one split (``vids`` sorted): text/audio/video, mask, label, emotions,
    sentiment, has_emotion, intervals, speaker, ``mmask`` per modality and segment
    ``ids``; counts into ``stats``."""
    seq_len = opts["seq_len"]
    n_max = sum(len(label_data[v].intervals) for v in vids)
    # np.zeros pages are untouched (not resident) until written: dropped slots cost
    # nothing
    out = {m: np.zeros((n_max, seq_len, dims[m]), np.float32) for m in MODALITIES}
    out |= {
        "mask": np.zeros((n_max, seq_len), bool),
        "label": np.zeros(n_max, np.int64),
        "emotions": np.zeros((n_max, len(EMOTIONS)), np.float32),
        "sentiment": np.zeros(n_max, np.float32),
        "has_emotion": np.zeros(n_max, bool),
        "intervals": np.zeros((n_max, 2)),
        "speaker": np.zeros(n_max, np.int64),
        "mmask": {m: np.zeros((n_max, seq_len), bool) for m in MODALITIES},
    }
    # each video writes into a block of its label rows (ids order); blocks are compacted
    # at the end
    sizes = [len(label_data[v].intervals) for v in vids]
    base = dict(zip(vids, (np.cumsum(sizes) - sizes).tolist(), strict=True))
    # sequential reads
    order = sorted(vids, key=lambda v: _file_position(files["audio"], v))
    kept: dict[str, np.ndarray] = {}
    for vid, v in zip(
        order,
        aligned_in_order(order, label_data, files, dims, opts, workers),
        strict=True,
    ):
        k = place(v, label_data[vid], out, base[vid], opts)
        out["speaker"][base[vid] : base[vid] + k] = speaker_of[vid]
        kept[vid] = np.flatnonzero(v.ok)
        stats["videos"] += 1
        for key, value in v.stats.items():
            stats[key] += value
    rows = np.concatenate(
        [base[v] + np.arange(len(kept[v])) for v in vids] + [np.zeros(0, np.int64)]
    )
    result = {k: _compact(v, rows) for k, v in out.items() if isinstance(v, np.ndarray)}
    result["mmask"] = {m: _compact(v, rows) for m, v in out["mmask"].items()}
    result["ids"] = [segment_key(v, int(i)) for v in vids for i in kept[v]]
    return result


def split_corpus(r: dict) -> MultimodalCorpus:
    """The corpus of one split's arrays; real data have no causal ground truth (driver,
    window -1)."""
    return MultimodalCorpus(
        text=r["text"],
        audio=r["audio"],
        video=r["video"],
        mask=r["mask"],
        label=r["label"],
        emotions=r["emotions"],
        driver=np.full(len(r["ids"]), -1, np.int64),
        speaker=r["speaker"],
        window=np.full((len(r["ids"]), 2), -1, np.int64),
        conflict=np.zeros((len(r["ids"]), 3), bool),
        ids=tuple(r["ids"]),
    )
