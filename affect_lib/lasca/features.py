"""LaScA window features: 73 handcrafted features per window, from a folder in the Aff-Wild2 (or SEWA) layout.

One reading path serves SynthAffWild, a user's copy of Aff-Wild2 and, with its labels folder, of
SEWA (``data_cards/aff_wild2.md``, ``data_cards/sewa.md``, ``data_cards/synth_affwild.md``)::

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
period, :func:`~affect_lib.data.affwild.align_annotations_to_features`; frames farther away are
invalid), so both layouts reach the windows as one annotation sample per video frame.

Features, in :data:`~affect_lib.lasca.names.FEATURE_NAMES` order: the 58 facial features of the
blendshape table (52 + head pose) and 15 MFCCs from the WAV by :func:`mfcc_frames` (one MFCC frame
per video frame).

Windows are non-overlapping, ``window_s`` long, starting at t = 0; only complete windows inside the
annotation (``n_frames / fps`` s) count. Per window, each feature is the **mean** over the window's
frames where it is valid (frames without a detected face, or past the end of the audio, are left
out); LaScA describes windows but not their statistic, and the mean keeps every feature in its own
units, which the lexicon and the Otsu saliency read. The target is the mean of the window's valid
annotation frames. A window is dropped when fewer than 50 % of its annotation frames are valid or
when some feature has no valid frame in it.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect_lib.config import LascaConfig, config_hash
from affect_lib.data.affwild import (
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
from affect_lib.data.synth_affwild import SynthAffWildParams, SynthAffWildSpec, generate_synth_affwild
from affect_lib.io import atomic_path
from affect_lib.lasca.names import FACE_FEATURES, FEATURE_NAMES, VOICE_FEATURES

__all__ = ["N_MFCC", "MFCC_N_FFT", "MIN_VALID_SHARE", "LAYOUTS", "mfcc_hop", "mfcc_frames", "WindowSet",
           "window_statistics", "load_windows", "synth_affwild_windows"]

N_MFCC = 15
MFCC_N_FFT = 2048  # librosa's default: 128 ms at 16 kHz
MIN_VALID_SHARE = 0.5  # a window needs at least this share of valid annotation frames
_FEATURES_VERSION = 1  # bump when window features change for the same files (invalidates the .npz cache)


def mfcc_hop(sr: int, fps: float) -> int:
    """Hop (samples) of the MFCC analysis: ``round(sr / fps)``, one frame per video frame."""
    return max(1, int(round(sr / fps)))


def mfcc_frames(wave: np.ndarray, sr: int, fps: float, *, n_frames: int | None = None) -> np.ndarray:
    """15 MFCCs per video frame: (n_frames, 15) float32, row k describes the audio around ``k / fps`` s.

    ``librosa.feature.mfcc(y=wave, sr=sr, n_mfcc=15, n_fft=2048, hop_length=round(sr / fps))`` with
    librosa's other defaults (centred Hann frames, 128 mels, log power in dB, DCT-II ortho); column
    0 is librosa's c0 (the overall log-mel energy term), our ``mfcc_1``. When ``sr / fps`` is not an
    integer (16 kHz at 30 fps: 533.3 samples) row k takes the MFCC frame nearest to ``k / fps`` (at
    most half a hop away), so the rows never drift from the video. ``wave``: (n,) or (n, channels) (averaged to mono).
    ``n_frames`` defaults to the frames the audio covers; rows after the end of the audio are NaN.
    """
    import librosa  # lazy: importing librosa takes seconds

    y = np.asarray(wave, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=1)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"wave must be (n,) or (n, channels) with n > 0 samples, got shape {np.shape(wave)}")
    if not np.isfinite(y).all():
        raise ValueError(f"wave holds {int((~np.isfinite(y)).sum())} NaN/inf samples, expected finite audio")
    if not sr > 0 or not fps > 0:
        raise ValueError(f"sr and fps must be > 0, got sr={sr}, fps={fps}")
    hop = mfcc_hop(sr, fps)
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=N_MFCC, n_fft=MFCC_N_FFT, hop_length=hop).T  # (m, 15)
    covered = int(np.floor(y.size * fps / sr + 1e-9))
    n = covered if n_frames is None else int(n_frames)
    if n < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    frame = np.rint(np.arange(n) * (sr / fps) / hop).astype(np.int64)
    out = mfcc[np.minimum(frame, len(mfcc) - 1)].astype(np.float32)
    out[np.arange(n) >= covered] = np.nan
    return out


@dataclass(frozen=True, eq=False)
class WindowSet:
    """N windows: ``X`` (N, 73) float32 in ``feature_names`` order; ``valence``, ``arousal`` (N,) float32;
    ``subject``, ``video`` (N,) str; ``index`` (N,) int64 = window position in its video (t = index *
    window_s), so windows ``i`` and ``i + 1`` of one video are consecutive."""

    X: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    subject: np.ndarray
    video: np.ndarray
    index: np.ndarray
    window_s: float
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def __post_init__(self) -> None:
        n = len(self.X)
        if self.X.ndim != 2 or self.X.shape[1] != len(self.feature_names):
            raise ValueError(f"X must be (N, {len(self.feature_names)}) with columns in feature_names order "
                             f"(FEATURE_NAMES of affect_lib.lasca.names by default), got {self.X.shape}")
        for name in ("valence", "arousal", "subject", "video", "index"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must be ({n},), got {getattr(self, name).shape}")
        if not (np.isfinite(self.X).all() and np.isfinite(self.valence).all() and np.isfinite(self.arousal).all()):
            raise ValueError("WindowSet values must be finite")

    def __len__(self) -> int:
        return len(self.X)

    def subset(self, mask: np.ndarray) -> WindowSet:
        """The windows selected by a boolean mask or an index array."""
        return dataclasses.replace(self, X=self.X[mask], valence=self.valence[mask], arousal=self.arousal[mask],
                                   subject=self.subject[mask], video=self.video[mask], index=self.index[mask])

    def per_video_zscore(self) -> WindowSet:
        """Each feature standardised within each video (mean 0, sd 1 over its windows; sd 0 -> 1)."""
        X = self.X.astype(np.float64)
        for vid in np.unique(self.video):
            rows = self.video == vid
            sd = X[rows].std(axis=0)
            X[rows] = (X[rows] - X[rows].mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        return dataclasses.replace(self, X=X.astype(np.float32))


def _bin_means(times: np.ndarray, values: np.ndarray, n_win: int, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per window [w*W, (w+1)*W): (means (n_win, d), NaN where no finite value; counts of finite values)."""
    edges = np.searchsorted(times, np.arange(n_win + 1) * window_s - 1e-9, side="left")
    finite = np.isfinite(values)
    zero = np.zeros((1, values.shape[1]))
    sums = np.vstack([zero, np.cumsum(np.where(finite, values, 0.0), axis=0)])
    counts = np.vstack([zero, np.cumsum(finite, axis=0, dtype=np.float64)])
    s, c = sums[edges[1:]] - sums[edges[:-1]], counts[edges[1:]] - counts[edges[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan), c


def window_statistics(va: VATrace, streams: Sequence[FrameFeatures], *, window_s: float,
                      fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows of one video: (X (w, sum of stream dims) float32, valence (w,), arousal (w,), index (w,)).

    ``va`` has one sample per video frame (``len(va.times) / fps`` s); each stream is a per-frame
    feature table on its own time axis (invalid rows left out). See the module docstring for the rules.
    """
    if not window_s > 0 or not fps > 0:
        raise ValueError(f"window_s and fps must be > 0, got window_s={window_s}, fps={fps}")
    n_win = int(np.floor(len(va.times) / fps / window_s + 1e-9))
    d = sum(s.features.shape[1] for s in streams)
    if n_win == 0:
        return np.zeros((0, d), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    target = np.where(va.valid[:, None], np.stack([va.valence, va.arousal], axis=1), np.nan).astype(np.float64)
    va_mean, va_count = _bin_means(va.times, target, n_win, window_s)
    _, frames = _bin_means(va.times, np.ones((len(va.times), 1)), n_win, window_s)
    parts = [_bin_means(s.times, np.where(s.valid[:, None], s.features, np.nan).astype(np.float64),
                        n_win, window_s)[0] for s in streams]
    X = np.hstack(parts)
    keep = (va_count[:, 0] >= MIN_VALID_SHARE * frames[:, 0]) & (va_count[:, 0] > 0) & np.isfinite(X).all(axis=1)
    return (X[keep].astype(np.float32), va_mean[keep, 0].astype(np.float32), va_mean[keep, 1].astype(np.float32),
            np.flatnonzero(keep).astype(np.int64))


def _sewa_on_frames(path: Path, fps: float) -> VATrace:
    """A SEWA label trace on the video frame grid k / fps, k up to the last label time (module docstring)."""
    trace = read_sewa_va(path)
    if not len(trace.times):
        raise DataFormatError(f"{path}: no label rows")
    frames = np.arange(int(np.floor(trace.times[-1] * fps + 1e-9)) + 1) / fps
    on = align_annotations_to_features(trace, frames)
    return VATrace(times=frames, valence=on.valence, arousal=on.arousal, valid=on.valid, source=str(path))


# (annotation folder, file suffix, reader(path, fps) -> VATrace with one sample per video frame)
LAYOUTS = {"aff_wild2": ("annotations", ".txt", lambda path, fps: read_affwild2_va(path, fps=fps)),
           "sewa": ("labels", ".csv", _sewa_on_frames)}


def _layout(layout: str) -> tuple[str, str, object]:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
    return LAYOUTS[layout]


def _read_index(root: Path, fps: float | None, layout: str = "aff_wild2") -> list[dict[str, object]]:
    """[{video, subject, fps, audio}] from ``videos.csv``, or from the annotation files and ``fps``."""
    folder, suffix, _ = _layout(layout)
    index = root / "videos.csv"
    if not index.is_file():
        if not (root / folder).is_dir():
            raise DataFormatError(f"{root}: expected a {layout} folder with {folder}/<video>{suffix} "
                                  "(and optionally videos.csv); found neither")
        if fps is None:
            raise ValueError(f"{root}: no videos.csv, so every video needs the fps argument (got fps=None): pass "
                             "the videos' frame rate, or add a videos.csv with an fps column")
        names = sorted(p.stem for p in (root / folder).glob(f"*{suffix}"))
        if not names:
            raise DataFormatError(f"{root / folder}: no <video>{suffix} annotation files (and no videos.csv)")
        return [{"video": v, "subject": v, "fps": float(fps), "audio": v} for v in names]
    with open(index, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0]] if rows else []
    if "video" not in header or set(header) - {"video", "subject", "fps", "audio"}:
        raise DataFormatError(f"{index}: line 1: header {','.join(header)!r}, expected 'video' and optionally "
                              "'subject', 'fps', 'audio'")
    out, seen = [], set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(f"{index}: line {number}: {len(row)} fields, expected {len(header)}")
        rec = dict(zip(header, (c.strip() for c in row), strict=True))
        video = rec["video"]
        if not video or video in seen or "/" in video:
            raise DataFormatError(f"{index}: line {number}: video id {video!r} is empty, repeated or a path")
        seen.add(video)
        try:
            rate = float(rec["fps"]) if rec.get("fps") else fps
        except ValueError:
            rate = -1.0
        if rate is None or not np.isfinite(rate) or rate <= 0:
            raise DataFormatError(f"{index}: line {number}: fps {rec.get('fps')!r} (argument fps={fps}), "
                                  "expected a number > 0")
        out.append({"video": video, "subject": rec.get("subject") or video, "fps": float(rate),
                    "audio": rec.get("audio") or video})
    if not out:
        raise DataFormatError(f"{index}: lists no videos")
    return out


def _voice(root: Path, video: str, audio: str, fps: float, n_frames: int) -> FrameFeatures:
    wav, table = root / "audio" / f"{audio}.wav", root / "features" / "mfcc" / f"{video}.csv"
    if wav.is_file():
        w = read_wav(wav)
        try:
            feats = mfcc_frames(w.samples, w.sample_rate, fps, n_frames=n_frames)
        except ValueError as exc:
            raise DataFormatError(f"{wav}: {exc}") from exc
        valid = np.isfinite(feats).all(axis=1)
        return FrameFeatures(times=np.arange(n_frames) / fps, features=np.where(valid[:, None], feats, 0.0),
                             valid=valid, names=VOICE_FEATURES, source=str(wav))
    if table.is_file():
        f = read_mfcc_csv(table, fps=fps)
        if len(f.names) != N_MFCC:
            raise DataFormatError(f"{table}: line 1: {len(f.names)} MFCC columns, expected {N_MFCC} "
                                  "(mfcc_0 ... mfcc_14)")
        return dataclasses.replace(f, names=VOICE_FEATURES)
    raise DataFormatError(f"{root}: video {video!r} has an annotation but no audio: expected {wav} "
                          f"or {table}")


def _read_video(root: Path, rec: dict[str, object], layout: str = "aff_wild2") -> tuple[VATrace, list[FrameFeatures]]:
    """One video's annotation (one sample per frame) and its two feature streams (face 58, voice 15)."""
    video, fps = str(rec["video"]), float(rec["fps"])
    folder, suffix, read = _layout(layout)
    ann = root / folder / f"{video}{suffix}"
    if not ann.is_file():
        raise DataFormatError(f"{root}: video {video!r} is listed but {ann} does not exist")
    va = read(ann, fps)
    shapes = root / "features" / "blendshapes" / f"{video}.csv"
    if not shapes.is_file():
        raise DataFormatError(f"{root}: video {video!r} has an annotation but no facial features: expected {shapes}")
    face = read_blendshapes_csv(shapes, fps=fps)
    if face.names != FACE_FEATURES:
        raise DataFormatError(f"{shapes}: line 1: no head pose columns; LaScA's 58 facial features are the 52 "
                              "blendshapes plus pitch, yaw, roll, tx, ty, tz")
    if not len(face.times) or face.times[0] >= len(va.times) / fps:
        raise DataFormatError(f"{shapes}: no frame inside the annotated {len(va.times) / fps:.1f} s of {ann.name}")
    return va, [face, _voice(root, video, str(rec["audio"]), fps, len(va.times))]


def _load_many(data_dir: str | os.PathLike[str], windows: Sequence[float], fps: float | None,
               layout: str = "aff_wild2") -> dict[float, WindowSet]:
    """:func:`load_windows` for several window lengths, reading every file once."""
    root = Path(data_dir)
    for w in windows:
        if not w > 0:
            raise ValueError(f"window_s must be > 0, got {w}")
    parts: dict[float, list] = {float(w): [] for w in windows}

    def one(rec: dict[str, object]) -> list[tuple]:
        va, streams = _read_video(root, rec, layout)
        return [(*window_statistics(va, streams, window_s=w, fps=float(rec["fps"])), str(rec["subject"]),
                 str(rec["video"])) for w in parts]

    index = _read_index(root, fps, layout)
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 4)) as pool:  # FFTs and BLAS release the GIL
        for per_window in pool.map(one, index):  # in index order; the first bad file raises
            for out, item in zip(parts.values(), per_window, strict=True):
                out.append(item)
    result = {}
    for w, p in parts.items():
        if not any(len(x[0]) for x in p):
            raise DataFormatError(f"{root}: no window of {w:g} s has >= {MIN_VALID_SHARE:.0%} valid annotation "
                                  "frames and features (videos too short or all frames invalid?)")
        result[w] = WindowSet(
            X=np.concatenate([x[0] for x in p]), valence=np.concatenate([x[1] for x in p]),
            arousal=np.concatenate([x[2] for x in p]), subject=np.concatenate([np.full(len(x[0]), x[4]) for x in p]),
            video=np.concatenate([np.full(len(x[0]), x[5]) for x in p]), index=np.concatenate([x[3] for x in p]),
            window_s=w)
    return result


def load_windows(data_dir: str | os.PathLike[str], window_s: float, *, fps: float | None = None,
                 layout: str = "aff_wild2") -> WindowSet:
    """All windows of a folder in the Aff-Wild2 or SEWA layout (``layout``, module docstring), read
    by the affwild readers.

    ``fps``: frame rate of videos whose ``videos.csv`` row gives none (or of all, without videos.csv).
    Raises :class:`DataFormatError` naming the file for a missing or malformed file.
    """
    return _load_many(data_dir, [window_s], fps, layout)[float(window_s)]


_NPZ_KEYS = ("X", "valence", "arousal", "subject", "video", "index", "window_s", "feature_names", "key")


def _load_cached(path: Path, key: str) -> WindowSet | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if set(z.files) != set(_NPZ_KEYS) or str(z["key"]) != key:
                return None
            return WindowSet(X=z["X"], valence=z["valence"], arousal=z["arousal"], subject=z["subject"],
                             video=z["video"], index=z["index"], window_s=float(z["window_s"]),
                             feature_names=tuple(z["feature_names"].tolist()))
    except (OSError, ValueError, KeyError):
        return None


def synth_affwild_windows(cfg: LascaConfig, seed: int, window_s: float, cache_dir: str | os.PathLike[str], *,
                          params: SynthAffWildParams | None = None,
                          files_dir: str | os.PathLike[str] | None = None) -> WindowSet:
    """SynthAffWild windows: generate the files (in ``files_dir``, default ``cache_dir/synth_affwild``)
    and load them.

    The windows are cached too, in ``cache_dir/synth_affwild_windows_<hash>_<window>s.npz`` (keyed by
    the data spec's hash, the window and the feature version); a hit skips generation and reading.
    A miss computes (and caches) every window length of ``cfg.windows_s`` at once, reading the files once.
    """
    spec = SynthAffWildSpec.from_config(cfg, seed, params)
    cache = Path(cache_dir)

    def npz(w: float) -> tuple[Path, str]:
        key = f"{config_hash(spec)}_{w:g}s_f{_FEATURES_VERSION}"
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
            np.savez(fh, X=ws.X, valence=ws.valence, arousal=ws.arousal, subject=ws.subject, video=ws.video,
                     index=ws.index, window_s=np.float64(w), feature_names=np.array(ws.feature_names), key=k)
        if w == float(window_s):
            result = ws
    return result
