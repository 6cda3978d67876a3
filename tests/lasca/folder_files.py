"""Hand-made dataset folders for the LaScA tests: Aff-Wild2-layout files with known
values."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from affect_lib.data.affwild.reader import BLENDSHAPE_NAMES, HEAD_POSE_NAMES

FPS = 10.0
SR = 8000


def tone(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return 0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(t.size)


def write_annotation(path: Path, va: np.ndarray) -> None:
    """va (n, 2), NaN rows written as -5,-5."""
    lines = ["valence,arousal"] + [
        "-5,-5" if np.isnan(v).any() else f"{v[0]:g},{v[1]:g}" for v in va
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def write_blendshapes(
    path: Path, values: np.ndarray, *, time_col: str = "frame", pose: bool = True
) -> None:
    """values (n, 58) (or 52 without pose); NaN rows = face lost (empty cells)."""
    names = list(BLENDSHAPE_NAMES) + (list(HEAD_POSE_NAMES) if pose else [])
    lines = [",".join([time_col, *names])]
    for k, row in enumerate(values):
        t = str(k) if time_col == "frame" else f"{k * 1000 / FPS:g}"
        lines.append(
            t + "," * len(names)
            if np.isnan(row).all()
            else ",".join([t, *(f"{v:g}" for v in row)])
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def write_wav(path: Path, samples: np.ndarray, sr: int = SR) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def make_video(root: Path, video: str, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """4 windows of 1 s at 10 fps with known content (see
    test_load_windows_known_means)."""
    va = np.stack([np.arange(n) / 100.0, np.full(n, -0.5)], axis=1)
    va[10:16] = np.nan  # window 1: 4/10 valid -> dropped
    va[20:25] = np.nan  # window 2: 5/10 valid -> kept (>= 50 %)
    write_annotation(root / "annotations" / f"{video}.txt", va)
    face = np.tile(np.linspace(0.0, 0.5, 58), (n, 1))
    face[:, 0] = np.arange(n) / 100.0  # _neutral = frame / 100
    # head pose
    face[:, 52:] = np.arange(n)[:, None] * np.array(
        [1.0, -1.0, 0.5, 2.0, 0.0, -50.0 / 40]
    )
    face[0:5] = np.nan  # face lost in window 0
    face[30:40] = np.nan  # no face in window 3 -> dropped
    write_blendshapes(root / "features" / "blendshapes" / f"{video}.csv", face)
    write_wav(root / "audio" / f"{video}.wav", tone(n / FPS))
    return va, face
