"""Dataset folder layouts (Aff-Wild2, SEWA): the video index and one video's annotation
and features.

One reading path serves SynthAffWild, a user's copy of Aff-Wild2 and of SEWA
(``data_cards/aff_wild2.md``, ``data_cards/sewa.md``, ``data_cards/synth_affwild.md``):
:func:`read_index` lists a folder's videos, :func:`read_video` reads one video's
annotation and its two feature streams, and :mod:`affect_lib.lasca.folders` turns them
into windows. The folder::

    <data_dir>/
    ├── videos.csv                        # video[,subject][,fps][,audio] (optional)
    ├── annotations/<video>.txt           # valence,arousal per frame, -5 invalid
    ├── features/blendshapes/<video>.csv  # frame|timestamp_ms, 52 blendshapes, 6 pose
    └── audio/<audio>.wav                 # PCM WAV (<audio>: <video>), or instead
        features/mfcc/<video>.csv         # time|frame, mfcc_0 ... mfcc_14

``videos.csv`` lists the videos to use; ``subject`` defaults to the video id (Aff-Wild2
has about one subject per video), ``fps`` to the ``fps`` argument, ``audio`` to the
video id (two annotated faces in one Aff-Wild2 video, ``x_left`` / ``x_right``, share
one sound track). Without ``videos.csv`` every ``annotations/*.txt`` is used, with
``fps`` from the argument.

SEWA (``layout="sewa"``, ``data_cards/sewa.md``) is the same folder with
``labels/<recording>.csv`` (``time,valence,arousal[,liking]``, about 10 Hz) in place of
``annotations/``. Its trace is put on the video's frame grid first (frame k at k / fps
takes the nearest label sample within half a label period,
:func:`~affect_lib.data.affwild.align.align_annotations_to_features`; frames farther
away are invalid), so both layouts reach the windows as one annotation sample per video
frame.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from affect_lib.data.affwild.align import align_annotations_to_features
from affect_lib.data.affwild.annotations import read_affwild2_va, read_sewa_va
from affect_lib.data.affwild.reader import (
    DataFormatError,
    FrameFeatures,
    VATrace,
    read_blendshapes_csv,
    read_mfcc_csv,
    read_wav,
)
from affect_lib.lasca.features import N_MFCC, mfcc_frames
from affect_lib.lasca.names import FACE_FEATURES, VOICE_FEATURES

__all__ = ["LAYOUTS", "read_index", "read_video"]


def _sewa_on_frames(path: Path, fps: float) -> VATrace:
    """A SEWA label trace on the video frame grid k / fps, k up to the last label time
    (module docstring)."""
    trace = read_sewa_va(path)
    if not len(trace.times):
        raise DataFormatError(f"{path}: no label rows")
    frames = np.arange(int(np.floor(trace.times[-1] * fps + 1e-9)) + 1) / fps
    on = align_annotations_to_features(trace, frames)
    return VATrace(
        times=frames,
        valence=on.valence,
        arousal=on.arousal,
        valid=on.valid,
        source=str(path),
    )


# (annotation folder, file suffix, reader(path, fps) -> VATrace with one sample per
# video frame)
Layout = tuple[str, str, Callable[[Path, float], VATrace]]
LAYOUTS: dict[str, Layout] = {
    "aff_wild2": (
        "annotations",
        ".txt",
        lambda path, fps: read_affwild2_va(path, fps=fps),
    ),
    "sewa": ("labels", ".csv", _sewa_on_frames),
}


def _layout(layout: str) -> Layout:
    if layout not in LAYOUTS:
        raise ValueError(
            f"unknown layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}"
        )
    return LAYOUTS[layout]


def read_index(
    root: Path, fps: float | None, layout: str = "aff_wild2"
) -> list[dict[str, object]]:
    """[{video, subject, fps, audio}] from ``videos.csv``, or from the annotation files
    and ``fps``."""
    folder, suffix, _ = _layout(layout)
    index = root / "videos.csv"
    if not index.is_file():
        if not (root / folder).is_dir():
            raise DataFormatError(
                f"{root}: expected a {layout} folder with {folder}/<video>{suffix} "
                "(and optionally videos.csv); found neither"
            )
        if fps is None:
            raise ValueError(
                f"{root}: no videos.csv, so every video needs the fps argument (got "
                f"fps=None): pass "
                "the videos' frame rate, or add a videos.csv with an fps column"
            )
        names = sorted(p.stem for p in (root / folder).glob(f"*{suffix}"))
        if not names:
            raise DataFormatError(
                f"{root / folder}: no <video>{suffix} annotation files (and no "
                f"videos.csv)"
            )
        return [
            {"video": v, "subject": v, "fps": float(fps), "audio": v} for v in names
        ]
    with open(index, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0]] if rows else []
    if "video" not in header or set(header) - {"video", "subject", "fps", "audio"}:
        raise DataFormatError(
            f"{index}: line 1: header {','.join(header)!r}, expected 'video' and "
            f"optionally "
            "'subject', 'fps', 'audio'"
        )
    out, seen = [], set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(
                f"{index}: line {number}: {len(row)} fields, expected {len(header)}"
            )
        rec = dict(zip(header, (c.strip() for c in row), strict=True))
        video = rec["video"]
        if not video or video in seen or "/" in video:
            raise DataFormatError(
                f"{index}: line {number}: video id {video!r} is empty, repeated or a "
                f"path"
            )
        seen.add(video)
        try:
            rate = float(rec["fps"]) if rec.get("fps") else fps
        except ValueError:
            rate = -1.0
        if rate is None or not np.isfinite(rate) or rate <= 0:
            raise DataFormatError(
                f"{index}: line {number}: fps {rec.get('fps')!r} (argument fps={fps}), "
                "expected a number > 0"
            )
        out.append(
            {
                "video": video,
                "subject": rec.get("subject") or video,
                "fps": float(rate),
                "audio": rec.get("audio") or video,
            }
        )
    if not out:
        raise DataFormatError(f"{index}: lists no videos")
    return out


def _voice(
    root: Path, video: str, audio: str, fps: float, n_frames: int
) -> FrameFeatures:
    wav, table = (
        root / "audio" / f"{audio}.wav",
        root / "features" / "mfcc" / f"{video}.csv",
    )
    if wav.is_file():
        w = read_wav(wav)
        try:
            feats = mfcc_frames(w.samples, w.sample_rate, fps, n_frames=n_frames)
        except ValueError as exc:
            raise DataFormatError(f"{wav}: {exc}") from exc
        valid = np.isfinite(feats).all(axis=1)
        return FrameFeatures(
            times=np.arange(n_frames) / fps,
            features=np.where(valid[:, None], feats, 0.0),
            valid=valid,
            names=VOICE_FEATURES,
            source=str(wav),
        )
    if table.is_file():
        f = read_mfcc_csv(table, fps=fps)
        if len(f.names) != N_MFCC:
            raise DataFormatError(
                f"{table}: line 1: {len(f.names)} MFCC columns, expected {N_MFCC} "
                "(mfcc_0 ... mfcc_14)"
            )
        return dataclasses.replace(f, names=VOICE_FEATURES)
    raise DataFormatError(
        f"{root}: video {video!r} has an annotation but no audio: expected {wav} "
        f"or {table}"
    )


def read_video(
    root: Path, rec: dict[str, object], layout: str = "aff_wild2"
) -> tuple[VATrace, list[FrameFeatures]]:
    """One video's annotation (one sample per frame) and its two feature streams (face
    58, voice 15)."""
    video, fps = str(rec["video"]), float(rec["fps"])
    folder, suffix, read = _layout(layout)
    ann = root / folder / f"{video}{suffix}"
    if not ann.is_file():
        raise DataFormatError(
            f"{root}: video {video!r} is listed but {ann} does not exist"
        )
    va = read(ann, fps)
    shapes = root / "features" / "blendshapes" / f"{video}.csv"
    if not shapes.is_file():
        raise DataFormatError(
            f"{root}: video {video!r} has an annotation but no facial features: "
            f"expected {shapes}"
        )
    face = read_blendshapes_csv(shapes, fps=fps)
    if face.names != FACE_FEATURES:
        raise DataFormatError(
            f"{shapes}: line 1: no head pose columns; LaScA's 58 facial features are "
            f"the 52 "
            "blendshapes plus pitch, yaw, roll, tx, ty, tz"
        )
    if not len(face.times) or face.times[0] >= len(va.times) / fps:
        raise DataFormatError(
            f"{shapes}: no frame inside the annotated {len(va.times) / fps:.1f} s of "
            f"{ann.name}"
        )
    return va, [face, _voice(root, video, str(rec["audio"]), fps, len(va.times))]
