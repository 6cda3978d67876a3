"""Write small files in the exact released formats, independently of the readers under
test.

- :func:`write_sdk_csd` mirrors the CMU-MultimodalSDK's ``write_CSD`` (plain h5py,
  metadata values ``json.dumps``-ed into shape-(1,) variable-length strings, no
  attributes);
- :func:`make_mosei_dir` builds a tiny CMU-MOSEI folder with known values (golden
  tests);
- :func:`write_mmsa_pickle`, :func:`write_affwild2_va`, :func:`write_sewa_csv`,
  :func:`write_blendshapes_csv`, :func:`write_mfcc_csv`, :func:`write_wav` for the other
  formats.
"""

from __future__ import annotations

import json
import pickle
import wave
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

BLENDSHAPES = (
    "_neutral browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight "
    "cheekPuff cheekSquintLeft "
    "cheekSquintRight eyeBlinkLeft eyeBlinkRight eyeLookDownLeft eyeLookDownRight "
    "eyeLookInLeft eyeLookInRight "
    "eyeLookOutLeft eyeLookOutRight eyeLookUpLeft eyeLookUpRight eyeSquintLeft "
    "eyeSquintRight eyeWideLeft "
    "eyeWideRight jawForward jawLeft jawOpen jawRight mouthClose mouthDimpleLeft "
    "mouthDimpleRight mouthFrownLeft "
    "mouthFrownRight mouthFunnel mouthLeft mouthLowerDownLeft mouthLowerDownRight "
    "mouthPressLeft mouthPressRight "
    "mouthPucker mouthRight mouthRollLower mouthRollUpper mouthShrugLower "
    "mouthShrugUpper mouthSmileLeft "
    "mouthSmileRight mouthStretchLeft mouthStretchRight mouthUpperUpLeft "
    "mouthUpperUpRight noseSneerLeft "
    "noseSneerRight"
).split()
assert len(BLENDSHAPES) == 52


def sdk_metadata(root: str, dims: int) -> dict[str, object]:
    """The metadata keys the SDK writes (values as the SDK would hold them before
    ``json.dumps``)."""
    return {
        "root name": root,
        "computational sequence description": f"test sequence {root}",
        "dimension names": [f"d{i}" for i in range(dims)],
        "computational sequence version": "1.0",
        "alignment compatible": True,
        "dataset name": "CMU-MOSEI",
        "dataset version": "1.0",
        "creator": "tests",
        "contact": "tests@example.org",
        "featureset bib citation": "@misc{x}",
        "dataset bib citation": "@misc{y}",
        "uuid": "00000000-0000-0000-0000-000000000000",
        "md5": None,
    }


def write_sdk_csd(
    path: Path,
    root: str,
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    metadata: dict[str, object] | None = None,
) -> Path:
    """Write a computational sequence exactly like the SDK's ``write_CSD`` (no
    compression)."""
    dims = next(iter(data.values()))[0].shape[1] if data else 0
    metadata = sdk_metadata(root, dims) if metadata is None else metadata
    with h5py.File(path, "w") as fh:
        group = fh.create_group(root)
        data_group = group.create_group("data")
        for vid, (features, intervals) in data.items():
            g = data_group.create_group(vid)
            g.create_dataset("features", data=np.asarray(features))
            g.create_dataset("intervals", data=np.asarray(intervals))
        meta = group.create_group("metadata")
        for key, value in metadata.items():
            meta.create_dataset(key, (1,), dtype=h5py.special_dtype(vlen=str))
            meta[key][0] = str(json.dumps(value))
    return path


# ---- a tiny CMU-MOSEI folder with known values ---------------------------------------

LABELS = "CMU_MOSEI_Labels.csd"
TEXT, AUDIO, VIDEO = (
    "CMU_MOSEI_TimestampedWordVectors.csd",
    "CMU_MOSEI_COVAREP.csd",
    "CMU_MOSEI_VisualFacet42.csd",
)
DIMS = {"text": 4, "audio": 3, "video": 2}


@dataclass(frozen=True)
class MoseiDir:
    path: Path
    folds: dict[str, list[str]]


def _video(
    n_words: int, word_s: float, audio_hz: float, video_hz: float, offset: float = 0.0
):
    """Back-to-back words; text row j = j+1; audio/video rows = their index (+offset),
    so means are known."""
    words = np.stack([np.arange(n_words), np.arange(1, n_words + 1)], axis=1) * word_s
    text = np.repeat(
        np.arange(1, n_words + 1, dtype=np.float32)[:, None], DIMS["text"], axis=1
    )
    dur = n_words * word_s
    out = {"text": (text, words)}
    for m, hz in (("audio", audio_hz), ("video", video_hz)):
        n = int(round(dur * hz))
        iv = np.stack([np.arange(n), np.arange(1, n + 1)], axis=1) / hz
        out[m] = (
            np.repeat(
                (np.arange(n, dtype=np.float32) + offset)[:, None], DIMS[m], axis=1
            ),
            iv,
        )
    return out


def make_mosei_dir(root: Path) -> MoseiDir:
    """Four videos, 0.5 s words, audio at 10 Hz (5 rows per word), video at 4 Hz (2 rows
    per word).

    - ``vidA``: 8 words; segments [0, 1] (words 0-1), [1, 4] (words 2-7), [5, 6] (no
      words: dropped). Labels: row 0 happy 2, sentiment 1.5; row 1 fear 1 > surprise
      0.6667 (pins the fear/surprise order).
    - ``vidB``: 4 words, no FACET entry (missing video modality); one segment [0, 2],
      sad 3.
    - ``vidC``: 4 words; one segment [0, 2] with no emotion present, sentiment -2.
    - ``vidD``: 4 words; one segment [0, 2], tie anger = disgust = 1 (valid fold).
    Folds: train A, B, C; valid D; test none ("vidZ", absent from the data).
    """
    root.mkdir(parents=True, exist_ok=True)
    vids = {
        "vidA": _video(8, 0.5, 10, 4),
        "vidB": _video(4, 0.5, 10, 4, offset=100),
        "vidC": _video(4, 0.5, 10, 4, offset=200),
        "vidD": _video(4, 0.5, 10, 4, offset=300),
    }
    del vids["vidB"]["video"]
    for name, m in ((TEXT, "text"), (AUDIO, "audio"), (VIDEO, "video")):
        write_sdk_csd(
            root / name, name[:-4], {v: d[m] for v, d in vids.items() if m in d}
        )
    t = 1 / 3
    labels = {
        "vidA": (
            np.array(
                [
                    [1.5, 2, 0, 0, 0, 0, 0],
                    [-0.5, 0, 0, 0, 2 * t, 0, 1],
                    [0, 1, 0, 0, 0, 0, 0],
                ],
                np.float32,
            ),
            np.array([[0.0, 1.0], [1.0, 4.0], [5.0, 6.0]]),
        ),
        "vidB": (
            np.array([[0.0, 0, 3, 0, 0, 0, 0]], np.float32),
            np.array([[0.0, 2.0]]),
        ),
        "vidC": (
            np.array([[-2.0, 0, 0, 0, 0, 0, 0]], np.float32),
            np.array([[0.0, 2.0]]),
        ),
        "vidD": (
            np.array([[0.5, 0, 0, 1, 0, 1, 0]], np.float32),
            np.array([[0.0, 2.0]]),
        ),
    }
    write_sdk_csd(root / LABELS, "All Labels", labels)
    folds = {"train": ["vidA", "vidB", "vidC"], "valid": ["vidD"], "test": ["vidZ"]}
    (root / "folds.json").write_text(json.dumps(folds))
    return MoseiDir(path=root, folds=folds)


# ---- MMSA ----------------------------------------------------------------------------


def mmsa_payload(
    *, n: int = 4, T: int = 6, aligned: bool = True, seed: int = 0
) -> dict:
    """A small MMSA-layout dict (right-padded) for train/valid/test."""
    rng = np.random.default_rng(seed)
    out = {}
    for split in ("train", "valid", "test"):
        lengths = rng.integers(1, T + 1, size=n)
        mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float32)
        text = rng.standard_normal((n, T, 5)).astype(np.float32) * mask[..., None]
        ta = T if aligned else 3 * T
        a_len = lengths if aligned else np.minimum(3 * lengths, ta)
        amask = np.arange(ta)[None, :] < a_len[:, None]
        audio = rng.standard_normal((n, ta, 3)).astype(np.float32) * amask[..., None]
        audio[0, 0, 0] = -np.inf
        vision = rng.standard_normal((n, ta, 2)).astype(np.float32) * amask[..., None]
        out[split] = {
            "raw_text": np.array([f"utterance {i}" for i in range(n)]),
            "id": np.array([f"{split}vid{i // 2}$_${i % 2}" for i in range(n)]),
            "text": text,
            "text_bert": np.stack([mask * 101, mask, np.zeros_like(mask)], axis=1),
            "audio": audio,
            "vision": vision,
            "audio_lengths": a_len,
            "vision_lengths": a_len,
            "annotations": np.array(["Positive"] * n),
            "regression_labels": rng.uniform(-3, 3, size=n).astype(np.float32),
        }
    return out


def write_mmsa_pickle(path: Path, payload: dict, protocol: int = 4) -> Path:
    with open(path, "wb") as fh:
        pickle.dump(payload, fh, protocol=protocol)
    return path


# ---- Aff-Wild2 / SEWA / MediaPipe / WAV ----------------------------------------------


def write_affwild2_va(
    path: Path,
    rows: list[tuple[float, float]] | np.ndarray,
    header: str = "valence,arousal",
) -> Path:
    lines = [header] + [f"{v},{a}" for v, a in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_sewa_csv(path: Path, times, valence, arousal, liking=None) -> Path:
    cols = ["time", "valence", "arousal"] + (["liking"] if liking is not None else [])
    data = [times, valence, arousal] + ([liking] if liking is not None else [])
    lines = [",".join(cols)] + [
        ",".join(repr(float(c[i])) for c in data) for i in range(len(times))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_blendshapes_csv(
    path: Path,
    scores: np.ndarray,
    *,
    time_col: str = "frame",
    times=None,
    pose: np.ndarray | None = None,
    no_face: tuple[int, ...] = (),
    shuffle_columns: bool = False,
) -> Path:
    """One row per frame: a time column, the 52 blendshape scores, optional head pose;
    ``no_face`` rows empty."""
    n = len(scores)
    times = np.arange(n) if times is None else np.asarray(times)
    cols = [time_col, *BLENDSHAPES] + (
        ["pitch", "yaw", "roll", "tx", "ty", "tz"] if pose is not None else []
    )
    table = np.column_stack([times, scores] + ([pose] if pose is not None else []))
    order = list(range(len(cols)))
    if shuffle_columns:
        order = [0] + list(
            np.random.default_rng(0).permutation(np.arange(1, len(cols)))
        )
    lines = [",".join(cols[j] for j in order)]
    for i in range(n):
        cells = [repr(float(table[i, j])) if j else str(times[i]) for j in order]
        if i in no_face:
            cells = [cells[0]] + [""] * (len(cells) - 1)
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_mfcc_csv(path: Path, times, mfcc: np.ndarray) -> Path:
    cols = ["time"] + [f"mfcc_{i}" for i in range(mfcc.shape[1])]
    lines = [",".join(cols)] + [
        ",".join([repr(float(t))] + [repr(float(x)) for x in row])
        for t, row in zip(times, mfcc, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> Path:
    """samples (n, channels) integer PCM values of ``width`` bytes (8-bit unsigned,
    others signed)."""
    samples = np.asarray(samples)
    if width == 1:
        raw = samples.astype(np.uint8).tobytes()
    elif width == 3:
        s = samples.astype(np.int32).reshape(-1)
        raw = (
            np.stack([s & 0xFF, (s >> 8) & 0xFF, (s >> 16) & 0xFF], axis=1)
            .astype(np.uint8)
            .tobytes()
        )
    else:
        raw = samples.astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path
