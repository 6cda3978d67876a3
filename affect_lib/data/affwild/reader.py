"""Aff-Wild2 and SEWA: valence/arousal annotations and per-frame feature tables, aligned by time.

Accepted layouts (anything else raises :class:`DataFormatError` naming the file and the line):

- **Aff-Wild2 VA annotation** (one ``.txt`` per video): first line exactly ``valence,arousal``, then
  one ``v,a`` line per video frame (frame k at ``k / fps`` s), values in [-1, 1]. ``-5`` (in either
  column; the other is then -5 or in [-1, 1]) marks a frame without annotation: ``valid`` False,
  values 0. Trailing blank lines are ignored.
- **SEWA trace** (one CSV per recording, the layout we accept): header ``time,valence,arousal`` or
  ``time,valence,arousal,liking``; ``time`` in seconds, strictly increasing (commonly every 0.1 s);
  values in [-1, 1].
- **Blendshape CSV** (MediaPipe Face Landmarker, one row per video frame): exactly one time column,
  ``frame`` (0-based index, needs ``fps``) or ``timestamp_ms`` (MediaPipe's video-mode timestamp);
  the 52 :data:`BLENDSHAPE_NAMES` (scores in [0, 1]); optionally all six :data:`HEAD_POSE_NAMES`
  (LaScA's 58 facial features = 52 blendshapes + 6-DoF head pose). Columns in any order, no others.
  A row whose feature cells are all empty is a frame without a detected face (``valid`` False).
- **MFCC table**: a time column (``time`` in seconds, or ``frame`` with ``fps``) and
  ``mfcc_0 ... mfcc_{k-1}``.
- **WAV**: uncompressed PCM, 8/16/24/32-bit, any channel count, read with the standard ``wave``.
"""

from __future__ import annotations

import math
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect_lib.schema import DataFormatError

__all__ = [
    "DataFormatError",
    "BLENDSHAPE_NAMES",
    "HEAD_POSE_NAMES",
    "INVALID_VA",
    "VATrace",
    "FrameFeatures",
    "Waveform",
    "AlignedVA",
    "read_affwild2_va",
    "read_sewa_va",
    "read_blendshapes_csv",
    "read_mfcc_csv",
    "read_wav",
    "align_annotations_to_features",
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
    """n annotation samples: times (n,) float64 s, increasing; valence, arousal (n,) float32 in [-1, 1]
    (0 where invalid); valid (n,) bool; liking (n,) float32 or None (SEWA only)."""

    times: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    valid: np.ndarray
    liking: np.ndarray | None = None
    source: str = ""


@dataclass(frozen=True, eq=False)
class FrameFeatures:
    """n frames: times (n,) float64 s, increasing; features (n, d) float32 (0 where invalid);
    valid (n,) bool; names: the d column names."""

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


@dataclass(frozen=True, eq=False)
class AlignedVA:
    """The annotation nearest to each feature frame: times (m,); valence, arousal (m,) float32 (0 where
    invalid); valid (m,) bool = annotation valid, within tolerance, and the feature frame valid."""

    times: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    valid: np.ndarray


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot read as UTF-8 text ({exc})") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(f"{path}: line 1: empty file, expected a header line")
    return lines


def _table(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A numeric CSV: (header, values (n, c) float64 with NaN for empty cells, line numbers (n,)).

    Plain comma splitting (numbers are never quoted), so line numbers in errors are exact.
    """
    lines = _lines(path)
    header = [h.strip() for h in lines[0].split(",")]
    cells: list[str] = []
    numbers = np.arange(2, len(lines) + 1)
    for number, line in zip(numbers.tolist(), lines[1:], strict=True):
        row = line.split(",")
        if len(row) != len(header):
            raise DataFormatError(
                f"{path}: line {number}: {len(row)} fields, expected {len(header)} "
                f"({','.join(header)})"
            )
        cells.extend(c.strip() for c in row)
    nonempty = np.array([c != "" for c in cells], dtype=bool)
    try:
        values = np.array(
            [float(c) if c else np.nan for c in cells], np.float64
        ).reshape(len(numbers), len(header))
    except ValueError:
        values = None
    if values is None or not np.isfinite(values.reshape(-1)[nonempty]).all():
        for i, cell in enumerate(cells):  # slow path: find the first offending cell
            try:
                ok = not cell or np.isfinite(float(cell))
            except ValueError:
                ok = False
            if not ok:
                row, col = divmod(i, len(header))
                raise DataFormatError(
                    f"{path}: line {numbers[row]}: column {header[col]!r} is {cell!r}, "
                    "expected a finite number"
                )
    return header, values, numbers


def _as_number(value: object) -> float:
    """``value`` as a float (numpy scalars, 0-d arrays, fractions), NaN for text, bools and non-numbers."""
    if isinstance(value, bool | str | bytes):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _check_fps(path: Path, fps: object, why: str) -> float:
    """fps as a float > 0: inf would put every frame at t=0, text would fail later with a bare TypeError."""
    rate = _as_number(fps)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"{path}: fps={fps!r}: expected a finite number > 0 ({why})")
    return rate


def _fail_rows(path: Path, bad: np.ndarray, numbers: np.ndarray, what: str) -> None:
    if bad.any():
        raise DataFormatError(f"{path}: line {numbers[int(np.argmax(bad))]}: {what}")


def _times(
    path: Path,
    header: list[str],
    values: np.ndarray,
    numbers: np.ndarray,
    fps: float | None,
    allowed: tuple[str, ...],
) -> tuple[np.ndarray, str]:
    """The time column of a table, in seconds, checked finite and strictly increasing."""
    present = [c for c in allowed if c in header]
    if len(present) != 1:
        raise DataFormatError(
            f"{path}: line 1: expected exactly one time column of {list(allowed)}, "
            f"found {present or 'none'}"
        )
    col = present[0]
    t = values[:, header.index(col)]
    _fail_rows(path, np.isnan(t), numbers, f"column {col!r} is empty")
    if col == "frame":
        rate = _check_fps(path, fps, "a 'frame' column needs fps")
        _fail_rows(
            path,
            (t < 0) | (t != np.round(t)),
            numbers,
            "column 'frame' must be a non-negative integer",
        )
        t = t / rate
    elif col == "timestamp_ms":
        t = t / 1000.0
    _fail_rows(
        path,
        np.r_[False, np.diff(t) <= 0],
        numbers,
        f"column {col!r} must be strictly increasing",
    )
    return t, col


def _check_range(
    path: Path,
    header: list[str],
    values: np.ndarray,
    numbers: np.ndarray,
    cols: list[str],
    lo: float,
    hi: float,
    skip: np.ndarray | None = None,
    also: str = "",
) -> None:
    """skip: (n,) rows, or (n, c) cells of ``values``, exempt from the range check; ``also``: what else
    the message names as allowed (Aff-Wild2's -5)."""
    for col in cols:
        v = values[:, header.index(col)]
        bad = np.isnan(v) | (v < lo - 1e-6) | (v > hi + 1e-6)
        if skip is not None:
            bad &= ~(skip[:, header.index(col)] if skip.ndim == 2 else skip)
        if bad.any():
            i = int(np.argmax(bad))
            shown = "empty" if np.isnan(v[i]) else v[i]
            raise DataFormatError(
                f"{path}: line {numbers[i]}: column {col!r} is {shown}, expected a value in "
                f"[{lo:g}, {hi:g}]{also}"
            )


def read_affwild2_va(path: str | os.PathLike[str], *, fps: float) -> VATrace:
    """An Aff-Wild2 VA annotation file; frame k is at ``k / fps`` seconds."""
    path = Path(path)
    fps = _check_fps(path, fps, "Aff-Wild2's frame rate varies per video")
    lines = _lines(path)
    if lines[0].strip() != "valence,arousal":
        raise DataFormatError(
            f"{path}: line 1: header is {lines[0].strip()!r}, expected 'valence,arousal'"
        )
    blank = [i for i, line in enumerate(lines) if not line.strip()]
    if blank:
        raise DataFormatError(
            f"{path}: line {blank[0] + 1}: empty line inside the annotations"
        )
    header, values, numbers = _table(path)
    cols = ["valence", "arousal"]
    marker = np.isclose(values, INVALID_VA)
    invalid = marker.any(axis=1)
    # only the -5 cell is exempt: its partner must still be a value or -5 (`-5,7`, `-5,` are errors)
    _check_range(
        path,
        header,
        values,
        numbers,
        cols,
        -1.0,
        1.0,
        skip=marker,
        also=" or -5 (invalid frame)",
    )
    values = np.where(invalid[:, None], 0.0, values).astype(np.float32)
    return VATrace(
        times=np.arange(len(values)) / fps,
        valence=values[:, 0],
        arousal=values[:, 1],
        valid=~invalid,
        source=str(path),
    )


def read_sewa_va(path: str | os.PathLike[str]) -> VATrace:
    """A SEWA trace CSV: ``time,valence,arousal[,liking]``."""
    path = Path(path)
    header, values, numbers = _table(path)
    if header not in (
        ["time", "valence", "arousal"],
        ["time", "valence", "arousal", "liking"],
    ):
        raise DataFormatError(
            f"{path}: line 1: header is {','.join(header)!r}, expected "
            "'time,valence,arousal' or 'time,valence,arousal,liking'"
        )
    times, _ = _times(path, header, values, numbers, None, ("time",))
    _check_range(path, header, values, numbers, header[1:], -1.0, 1.0)
    v = values.astype(np.float32)
    return VATrace(
        times=times,
        valence=v[:, 1],
        arousal=v[:, 2],
        valid=np.ones(len(v), bool),
        liking=v[:, 3] if len(header) == 4 else None,
        source=str(path),
    )


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
    """MediaPipe blendshapes per frame -> (n, 52), or (n, 58) with head pose, in :data:`BLENDSHAPE_NAMES` order."""
    path = Path(path)
    table = _table(path)
    header = table[0]
    time_cols = ("frame", "timestamp_ms")
    pose = [c for c in HEAD_POSE_NAMES if c in header]
    if pose and len(pose) != len(HEAD_POSE_NAMES):
        raise DataFormatError(
            f"{path}: line 1: head pose needs all of {list(HEAD_POSE_NAMES)}, found {pose}"
        )
    missing = [c for c in BLENDSHAPE_NAMES if c not in header]
    unknown = [
        c for c in header if c not in (*BLENDSHAPE_NAMES, *HEAD_POSE_NAMES, *time_cols)
    ]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or duplicated:
        raise DataFormatError(
            f"{path}: line 1: missing blendshape columns {missing[:5]}, unknown columns "
            f"{unknown[:5]}, duplicated {duplicated[:5]} (expected a time column, the 52 "
            "blendshapes and optionally the 6 head pose columns)"
        )
    return _frame_table(
        path, table, fps, time_cols, [*BLENDSHAPE_NAMES, *pose], BLENDSHAPE_NAMES
    )


def read_mfcc_csv(
    path: str | os.PathLike[str], *, fps: float | None = None
) -> FrameFeatures:
    """An MFCC table: a time column (``time`` s or ``frame``) and ``mfcc_0 ... mfcc_{k-1}``."""
    path = Path(path)
    table = _table(path)
    duplicated = sorted({c for c in table[0] if table[0].count(c) > 1})
    if (
        duplicated
    ):  # a repeated time column would otherwise be read from its first copy silently
        raise DataFormatError(
            f"{path}: line 1: duplicated columns {duplicated[:5]} (expected one time column "
            "and mfcc_0, mfcc_1, ...)"
        )
    coeffs = [c for c in table[0] if c not in ("time", "frame")]
    if not coeffs or coeffs != [f"mfcc_{i}" for i in range(len(coeffs))]:
        raise DataFormatError(
            f"{path}: line 1: feature columns are {coeffs[:5]}, expected mfcc_0, mfcc_1, ..."
        )
    return _frame_table(path, table, fps, ("time", "frame"), coeffs, ())


def read_wav(path: str | os.PathLike[str]) -> Waveform:
    """A PCM WAV file -> samples (n, channels) float32 in [-1, 1] and its sample rate."""
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
            f"{path}: header: sample width {width} B, {channels} channels, {rate} Hz unsupported"
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


def align_annotations_to_features(
    annotations: VATrace,
    features: FrameFeatures | np.ndarray,
    *,
    tolerance_s: float | None = None,
) -> AlignedVA:
    """The nearest annotation to each feature frame (features: :class:`FrameFeatures` or times (m,) in s).

    Ties go to the earlier annotation. A frame farther than ``tolerance_s`` from every annotation is
    invalid; the default is half the median annotation period (exact frame matches for Aff-Wild2,
    +-50 ms for SEWA's 10 Hz traces).
    """
    times = np.asarray(
        features.times if isinstance(features, FrameFeatures) else features,
        dtype=np.float64,
    )
    a = np.asarray(annotations.times, dtype=np.float64)
    for name, t in (("feature times", times), ("annotation times", a)):
        if t.ndim != 1:
            raise ValueError(
                f"align_annotations_to_features: {name} have shape {t.shape}, expected (n,) seconds"
            )
        if not np.isfinite(t).all():
            i = int(np.argmax(~np.isfinite(t)))
            raise ValueError(
                f"align_annotations_to_features: {name}[{i}] is {t[i]}, expected finite seconds"
            )
    tol = _as_number(tolerance_s) if tolerance_s is not None else 0.0
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(
            f"align_annotations_to_features: tolerance_s={tolerance_s!r}, expected a finite "
            "number >= 0 (seconds) or None"
        )
    m = len(times)
    if len(a) == 0 or m == 0:
        zeros = np.zeros(m, np.float32)
        return AlignedVA(
            times=times, valence=zeros, arousal=zeros.copy(), valid=np.zeros(m, bool)
        )
    if tolerance_s is None:
        tolerance_s = 0.5 * float(np.median(np.diff(a))) if len(a) > 1 else 0.0
    right = np.clip(np.searchsorted(a, times), 0, len(a) - 1)
    left = np.clip(right - 1, 0, len(a) - 1)
    nearest = np.where(np.abs(times - a[left]) <= np.abs(a[right] - times), left, right)
    valid = (np.abs(a[nearest] - times) <= tolerance_s + 1e-9) & annotations.valid[
        nearest
    ]
    if isinstance(features, FrameFeatures):
        valid &= features.valid
    return AlignedVA(
        times=times,
        valence=np.where(valid, annotations.valence[nearest], 0).astype(np.float32),
        arousal=np.where(valid, annotations.arousal[nearest], 0).astype(np.float32),
        valid=valid,
    )
