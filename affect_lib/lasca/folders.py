"""Dataset folders → LaScA windows: SynthAffWild, a user's copy of Aff-Wild2 and of SEWA.

One reading path serves all three (``data_cards/aff_wild2.md``, ``data_cards/sewa.md``,
``data_cards/synth_affwild.md``); :mod:`affect_lib.lasca.features` turns each video into windows.
The folder::

    <data_dir>/
    ├── videos.csv                        # video[,subject][,fps][,audio]   (optional, see below)
    ├── annotations/<video>.txt           # Aff-Wild2 VA file: valence,arousal per frame, -5 invalid
    ├── features/blendshapes/<video>.csv  # frame|timestamp_ms, 52 blendshapes, 6 head pose
    └── audio/<audio>.wav                 # PCM WAV (<audio> defaults to <video>), or instead
        features/mfcc/<video>.csv         # time|frame, mfcc_0 ... mfcc_14

``videos.csv`` lists the videos to use; ``subject`` defaults to the video id (Aff-Wild2 has about
one subject per video), ``fps`` to the ``fps`` argument, ``audio`` to the video id (two annotated
faces in one Aff-Wild2 video, ``x_left`` / ``x_right``, share one sound track). Without
``videos.csv`` every ``annotations/*.txt`` is used, with ``fps`` from the argument.

SEWA (``layout="sewa"``, ``data_cards/sewa.md``) is the same folder with ``labels/<recording>.csv``
(``time,valence,arousal[,liking]``, about 10 Hz) in place of ``annotations/``. Its trace is put on
the video's frame grid first (frame k at k / fps takes the nearest label sample within half a label
period, :func:`~affect_lib.data.affwild.reader.align_annotations_to_features`; frames farther away are
invalid), so both layouts reach the windows as one annotation sample per video frame.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from affect_lib.config import LascaConfig, config_hash
from affect_lib.data.affwild.reader import (
    DataFormatError,
    FrameFeatures,
    VATrace,
    align_annotations_to_features,
    read_affwild2_va,
    read_blendshapes_csv,
    read_mfcc_csv,
    read_sewa_va,
    read_wav,
)
from affect_lib.data.synthetic.affwild import (
    SynthAffWildParams,
    SynthAffWildSpec,
    generate_synth_affwild,
)
from affect_lib.io import atomic_path
from affect_lib.lasca.features import (
    FEATURES_VERSION,
    MIN_VALID_SHARE,
    N_MFCC,
    WindowSet,
    mfcc_frames,
    window_statistics,
)
from affect_lib.lasca.names import FACE_FEATURES, VOICE_FEATURES

__all__ = ["LAYOUTS", "load_windows", "synth_affwild_windows"]


def _sewa_on_frames(path: Path, fps: float) -> VATrace:
    """A SEWA label trace on the video frame grid k / fps, k up to the last label time (module docstring)."""
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


# (annotation folder, file suffix, reader(path, fps) -> VATrace with one sample per video frame)
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


def _read_index(
    root: Path, fps: float | None, layout: str = "aff_wild2"
) -> list[dict[str, object]]:
    """[{video, subject, fps, audio}] from ``videos.csv``, or from the annotation files and ``fps``."""
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
                f"{root}: no videos.csv, so every video needs the fps argument (got fps=None): pass "
                "the videos' frame rate, or add a videos.csv with an fps column"
            )
        names = sorted(p.stem for p in (root / folder).glob(f"*{suffix}"))
        if not names:
            raise DataFormatError(
                f"{root / folder}: no <video>{suffix} annotation files (and no videos.csv)"
            )
        return [
            {"video": v, "subject": v, "fps": float(fps), "audio": v} for v in names
        ]
    with open(index, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0]] if rows else []
    if "video" not in header or set(header) - {"video", "subject", "fps", "audio"}:
        raise DataFormatError(
            f"{index}: line 1: header {','.join(header)!r}, expected 'video' and optionally "
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
                f"{index}: line {number}: video id {video!r} is empty, repeated or a path"
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


def _read_video(
    root: Path, rec: dict[str, object], layout: str = "aff_wild2"
) -> tuple[VATrace, list[FrameFeatures]]:
    """One video's annotation (one sample per frame) and its two feature streams (face 58, voice 15)."""
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
            f"{root}: video {video!r} has an annotation but no facial features: expected {shapes}"
        )
    face = read_blendshapes_csv(shapes, fps=fps)
    if face.names != FACE_FEATURES:
        raise DataFormatError(
            f"{shapes}: line 1: no head pose columns; LaScA's 58 facial features are the 52 "
            "blendshapes plus pitch, yaw, roll, tx, ty, tz"
        )
    if not len(face.times) or face.times[0] >= len(va.times) / fps:
        raise DataFormatError(
            f"{shapes}: no frame inside the annotated {len(va.times) / fps:.1f} s of {ann.name}"
        )
    return va, [face, _voice(root, video, str(rec["audio"]), fps, len(va.times))]


def _load_many(
    data_dir: str | os.PathLike[str],
    windows: Sequence[float],
    fps: float | None,
    layout: str = "aff_wild2",
) -> dict[float, WindowSet]:
    """:func:`load_windows` for several window lengths, reading every file once."""
    root = Path(data_dir)
    for w in windows:
        if not w > 0:
            raise ValueError(f"window_s must be > 0, got {w}")
    parts: dict[float, list] = {float(w): [] for w in windows}

    def one(rec: dict[str, object]) -> list[tuple]:
        va, streams = _read_video(root, rec, layout)
        return [
            (
                *window_statistics(va, streams, window_s=w, fps=float(rec["fps"])),
                str(rec["subject"]),
                str(rec["video"]),
            )
            for w in parts
        ]

    index = _read_index(root, fps, layout)
    with ThreadPoolExecutor(
        max_workers=min(os.cpu_count() or 1, 4)
    ) as pool:  # FFTs and BLAS release the GIL
        for per_window in pool.map(
            one, index
        ):  # in index order; the first bad file raises
            for out, item in zip(parts.values(), per_window, strict=True):
                out.append(item)
    result = {}
    for w, p in parts.items():
        if not any(len(x[0]) for x in p):
            raise DataFormatError(
                f"{root}: no window of {w:g} s has >= {MIN_VALID_SHARE:.0%} valid annotation "
                "frames and features (videos too short or all frames invalid?)"
            )
        result[w] = WindowSet(
            X=np.concatenate([x[0] for x in p]),
            valence=np.concatenate([x[1] for x in p]),
            arousal=np.concatenate([x[2] for x in p]),
            subject=np.concatenate([np.full(len(x[0]), x[4]) for x in p]),
            video=np.concatenate([np.full(len(x[0]), x[5]) for x in p]),
            index=np.concatenate([x[3] for x in p]),
            window_s=w,
        )
    return result


def load_windows(
    data_dir: str | os.PathLike[str],
    window_s: float,
    *,
    fps: float | None = None,
    layout: str = "aff_wild2",
) -> WindowSet:
    """All windows of a folder in the Aff-Wild2 or SEWA layout (``layout``, module docstring), read
    by the affwild readers.

    ``fps``: frame rate of videos whose ``videos.csv`` row gives none (or of all, without videos.csv).
    Raises :class:`DataFormatError` naming the file for a missing or malformed file.
    """
    return _load_many(data_dir, [window_s], fps, layout)[float(window_s)]


_NPZ_KEYS = (
    "X",
    "valence",
    "arousal",
    "subject",
    "video",
    "index",
    "window_s",
    "feature_names",
    "key",
)


def _load_cached(path: Path, key: str) -> WindowSet | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if set(z.files) != set(_NPZ_KEYS) or str(z["key"]) != key:
                return None
            return WindowSet(
                X=z["X"],
                valence=z["valence"],
                arousal=z["arousal"],
                subject=z["subject"],
                video=z["video"],
                index=z["index"],
                window_s=float(z["window_s"]),
                feature_names=tuple(z["feature_names"].tolist()),
            )
    except (OSError, ValueError, KeyError):
        return None


def synth_affwild_windows(
    cfg: LascaConfig,
    seed: int,
    window_s: float,
    cache_dir: str | os.PathLike[str],
    *,
    params: SynthAffWildParams | None = None,
    files_dir: str | os.PathLike[str] | None = None,
) -> WindowSet:
    """SynthAffWild windows: generate the files (in ``files_dir``, default ``cache_dir/synth_affwild``)
    and load them.

    The windows are cached too, in ``cache_dir/synth_affwild_windows_<hash>_<window>s_f<version>.npz``
    (keyed by the data spec's hash, the window and the feature version); a hit skips generation and
    reading.
    A miss computes (and caches) every window length of ``cfg.windows_s`` at once, reading the files once.
    """
    spec = SynthAffWildSpec.from_config(cfg, seed, params)
    cache = Path(cache_dir)

    def npz(w: float) -> tuple[Path, str]:
        key = f"{config_hash(spec)}_{w:g}s_f{FEATURES_VERSION}"
        return cache / f"synth_affwild_windows_{key}.npz", key

    path, key = npz(window_s)
    if path.is_file() and (hit := _load_cached(path, key)) is not None:
        return hit
    files = cache / "synth_affwild" if files_dir is None else Path(files_dir)
    data = generate_synth_affwild(cfg, seed=seed, out_dir=files, params=params)
    windows = sorted({float(window_s), *map(float, cfg.windows_s)})
    for w, ws in _load_many(data, windows, None).items():
        target, k = npz(w)
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                X=ws.X,
                valence=ws.valence,
                arousal=ws.arousal,
                subject=ws.subject,
                video=ws.video,
                index=ws.index,
                window_s=np.float64(w),
                feature_names=np.array(ws.feature_names),
                key=k,
            )
        if w == float(window_s):
            result = ws
    return result
