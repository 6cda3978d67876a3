"""Dataset folders → LaScA windows: SynthAffWild, a user's copy of Aff-Wild2 and of
SEWA.

:func:`load_windows` reads a folder in the Aff-Wild2 or SEWA layout
(:mod:`affect_lib.lasca.layouts`, ``data_cards/aff_wild2.md``, ``data_cards/sewa.md``)
and turns every video into windows
(:func:`~affect_lib.lasca.features.window_statistics`), reading every file once for
several window lengths. :func:`synth_affwild_windows` generates the SynthAffWild files
(``data_cards/synth_affwild.md``), reads them the same way and caches the windows, so
synthetic and real data reach chapter 5 through one reading path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from affect_lib.config import LascaConfig
from affect_lib.data.synthetic.affwild import generate_synth_affwild
from affect_lib.data.synthetic.affwild_spec import (
    SynthAffWildParams,
    SynthAffWildSpec,
    spec_hash,
)
from affect_lib.io import atomic_path
from affect_lib.lasca.features import (
    FEATURES_VERSION,
    MIN_VALID_SHARE,
    WindowSet,
    window_statistics,
)
from affect_lib.lasca.layouts import read_index, read_video
from affect_lib.schema import DataFormatError

__all__ = ["load_windows", "synth_affwild_windows"]


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
        va, streams = read_video(root, rec, layout)
        return [
            (
                *window_statistics(va, streams, window_s=w, fps=float(rec["fps"])),
                str(rec["subject"]),
                str(rec["video"]),
            )
            for w in parts
        ]

    index = read_index(root, fps, layout)
    with ThreadPoolExecutor(
        max_workers=min(os.cpu_count() or 1, 4)
    ) as pool:  # FFTs and BLAS release the GIL
        # in index order; the first bad file raises
        for per_window in pool.map(one, index):
            for out, item in zip(parts.values(), per_window, strict=True):
                out.append(item)
    result = {}
    for w, p in parts.items():
        if not any(len(x[0]) for x in p):
            raise DataFormatError(
                f"{root}: no window of {w:g} s has >= {MIN_VALID_SHARE:.0%} valid "
                f"annotation "
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
    """All windows of a folder in the Aff-Wild2 or SEWA layout (``layout``,
    :mod:`affect_lib.lasca.layouts`), read by the affwild readers.

    ``fps``: frame rate of videos whose ``videos.csv`` row gives none (or of all,
    without videos.csv). Raises :class:`DataFormatError` naming the file for a missing
    or malformed file.
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
    """SynthAffWild windows: generate the files (in ``files_dir``, default
    ``cache_dir/synth_affwild``) and load them.

    The windows are cached too, in
    ``cache_dir/synth_affwild_windows_<hash>_<window>s_f<version>.npz`` (keyed by the
    data spec's hash, the window and the feature version); a hit skips generation and
    reading. A miss computes (and caches) every window length of ``cfg.windows_s`` at
    once, reading the files once.
    """
    spec = SynthAffWildSpec.from_config(cfg, seed, params)
    cache = Path(cache_dir)

    def npz(w: float) -> tuple[Path, str]:
        key = f"{spec_hash(spec)}_{w:g}s_f{FEATURES_VERSION}"
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
