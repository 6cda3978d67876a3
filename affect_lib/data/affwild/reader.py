"""Aff-Wild2 and SEWA: the record types and the per-frame feature tables (blendshapes,
MFCCs, WAV).

Valence/arousal annotations are read by :mod:`~affect_lib.data.affwild.annotations`
(into the :class:`VATrace` defined here) and aligned with features by
:mod:`~affect_lib.data.affwild.align`. Accepted feature layouts (anything else raises
:class:`DataFormatError` naming the file and the line):

- **Blendshape CSV** (MediaPipe Face Landmarker, one row per video frame): exactly one
  time column, ``frame`` (0-based index, needs ``fps``) or ``timestamp_ms`` (MediaPipe's
  video-mode timestamp); the 52 :data:`BLENDSHAPE_NAMES` (scores in [0, 1]); optionally
  all six :data:`HEAD_POSE_NAMES` (LaScA's 58 facial features = 52 blendshapes + 6-DoF
  head pose). Columns in any order, no others. A row whose feature cells are all empty
  is a frame without a detected face (``valid`` False).
- **MFCC table**: a time column (``time`` in seconds, or ``frame`` with ``fps``) and
  ``mfcc_0 ... mfcc_{k-1}``.
- **WAV**: uncompressed PCM, 8/16/24/32-bit, any channel count, read with the standard
  ``wave``.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect_lib.data.affwild.tables import _check_range, _fail_rows, _table, _times
from affect_lib.schema import DataFormatError

__all__ = [
    "BLENDSHAPE_NAMES",
    "HEAD_POSE_NAMES",
    "INVALID_VA",
    "VATrace",
    "FrameFeatures",
    "Waveform",
    "read_blendshapes_csv",
    "read_mfcc_csv",
    "read_wav",
]

BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
)
HEAD_POSE_NAMES: tuple[str, ...] = ("pitch", "yaw", "roll", "tx", "ty", "tz")
INVALID_VA = -5.0  # Aff-Wild2's marker of a frame without a valence/arousal annotation


@dataclass(frozen=True, eq=False)
class VATrace:
    """n annotation samples: times (n,) float64 s, increasing; valence, arousal (n,)
    float32 in [-1, 1] (0 where invalid); valid (n,) bool; liking (n,) float32 or None
    (SEWA only)."""

    times: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    valid: np.ndarray
    liking: np.ndarray | None = None
    source: str = ""


@dataclass(frozen=True, eq=False)
class FrameFeatures:
    """n frames: times (n,) float64 s, increasing; features (n, d) float32 (0 where
    invalid); valid (n,) bool; names: the d column names."""

    times: np.ndarray
    features: np.ndarray
    valid: np.ndarray
    names: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True, eq=False)
class Waveform:
    """samples (n, channels) float32 in [-1, 1]; sample_rate in Hz."""

    samples: np.ndarray
    sample_rate: int
    source: str = ""


def _frame_table(
    path: Path,
    table: tuple[list[str], np.ndarray, np.ndarray],
    fps: float | None,
    time_cols: tuple[str, ...],
    feature_cols: list[str],
    score_cols: tuple[str, ...],
) -> FrameFeatures:
    header, values, numbers = table
    times, _ = _times(path, header, values, numbers, fps, time_cols)
    feats = values[:, [header.index(c) for c in feature_cols]]
    empty = np.isnan(feats)
    face_lost = empty.all(axis=1)
    _fail_rows(
        path,
        empty.any(axis=1) & ~face_lost,
        numbers,
        "some feature cells are empty (all or none)",
    )
    _check_range(
        path, header, values, numbers, list(score_cols), 0.0, 1.0, skip=face_lost
    )
    return FrameFeatures(
        times=times,
        features=np.where(empty, 0.0, feats).astype(np.float32),
        valid=~face_lost,
        names=tuple(feature_cols),
        source=str(path),
    )


def read_blendshapes_csv(
    path: str | os.PathLike[str], *, fps: float | None = None
) -> FrameFeatures:
    """MediaPipe blendshapes per frame -> (n, 52), or (n, 58) with head pose, in
    :data:`BLENDSHAPE_NAMES` order."""
    path = Path(path)
    table = _table(path)
    header = table[0]
    time_cols = ("frame", "timestamp_ms")
    pose = [c for c in HEAD_POSE_NAMES if c in header]
    if pose and len(pose) != len(HEAD_POSE_NAMES):
        raise DataFormatError(
            f"{path}: line 1: head pose needs all of {list(HEAD_POSE_NAMES)}, found "
            f"{pose}"
        )
    missing = [c for c in BLENDSHAPE_NAMES if c not in header]
    unknown = [
        c for c in header if c not in (*BLENDSHAPE_NAMES, *HEAD_POSE_NAMES, *time_cols)
    ]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or duplicated:
        raise DataFormatError(
            f"{path}: line 1: missing blendshape columns {missing[:5]}, unknown "
            f"columns "
            f"{unknown[:5]}, duplicated {duplicated[:5]} (expected a time column, the "
            f"52 "
            "blendshapes and optionally the 6 head pose columns)"
        )
    return _frame_table(
        path, table, fps, time_cols, [*BLENDSHAPE_NAMES, *pose], BLENDSHAPE_NAMES
    )


def read_mfcc_csv(
    path: str | os.PathLike[str], *, fps: float | None = None
) -> FrameFeatures:
    """An MFCC table: a time column (``time`` s or ``frame``) and ``mfcc_0 ...
    mfcc_{k-1}``."""
    path = Path(path)
    table = _table(path)
    duplicated = sorted({c for c in table[0] if table[0].count(c) > 1})
    # a repeated time column would otherwise be read from its first copy silently
    if duplicated:
        raise DataFormatError(
            f"{path}: line 1: duplicated columns {duplicated[:5]} (expected one time "
            f"column "
            "and mfcc_0, mfcc_1, ...)"
        )
    coeffs = [c for c in table[0] if c not in ("time", "frame")]
    if not coeffs or coeffs != [f"mfcc_{i}" for i in range(len(coeffs))]:
        raise DataFormatError(
            f"{path}: line 1: feature columns are {coeffs[:5]}, expected mfcc_0, "
            f"mfcc_1, ..."
        )
    return _frame_table(path, table, fps, ("time", "frame"), coeffs, ())


def read_wav(path: str | os.PathLike[str]) -> Waveform:
    """A PCM WAV file -> samples (n, channels) float32 in [-1, 1] and its sample
    rate."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate, n = (
                w.getsampwidth(),
                w.getnchannels(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(n)
    except Exception as exc:  # noqa: BLE001 - wave raises wave.Error, EOFError, struct.error, ...
        raise DataFormatError(f"{path}: not a readable PCM WAV file ({exc})") from exc
    if width not in (1, 2, 3, 4) or channels < 1 or rate <= 0:
        raise DataFormatError(
            f"{path}: header: sample width {width} B, {channels} channels, {rate} Hz "
            f"unsupported"
        )
    if len(raw) != n * width * channels:
        raise DataFormatError(
            f"{path}: data chunk: header says {n} frames, file holds "
            f"{len(raw) // (width * channels)} (truncated?)"
        )
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 3:  # 24-bit little-endian: sign-extend into int32
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(
            np.float32
        ) / 2**23
    else:
        x = np.frombuffer(raw, f"<i{width}").astype(np.float32) / 2 ** (8 * width - 1)
    return Waveform(samples=x.reshape(-1, channels), sample_rate=rate, source=str(path))
