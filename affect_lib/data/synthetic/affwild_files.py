"""Writing SynthAffWild's files in the Aff-Wild2 formats, and recognising a complete set
by its manifest.

Annotations as ``valence,arousal`` lines (``-5,-5`` for an invalid frame), blendshapes
as a ``frame`` + 52 scores + 6 head pose CSV (empty cells where the face is lost), audio
as 16-bit mono PCM WAV. ``manifest.json`` (written last) names the generator and the
spec's config hash, which is how a folder is recognised as a complete set, and as ours.
"""

from __future__ import annotations

import json
import os
import wave
from pathlib import Path

import numpy as np

from affect_lib.data.affwild.reader import BLENDSHAPE_NAMES, HEAD_POSE_NAMES
from affect_lib.data.synthetic.affwild_spec import SynthAffWildSpec, spec_hash

__all__ = ["dataset_is_valid"]

# the manifest's "generator": the writing module
_GENERATOR = "affect_lib.data.synthetic.affwild"


def _write_annotation(path: Path, rated: np.ndarray, invalid: np.ndarray) -> None:
    lines = ["valence,arousal"]
    lines += [
        "-5,-5" if bad else f"{va[0]:.3f},{va[1]:.3f}"
        for va, bad in zip(rated.tolist(), invalid.tolist(), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# "0.0000" ... "1.0000"
_SCORE_TEXT = np.array([f"{k / 10000:.4f}" for k in range(10001)], dtype=object)


def _write_blendshapes(path: Path, feats: np.ndarray) -> None:
    """``frame``, 52 scores (4 decimals), 6 head pose values (2 decimals); empty cells
    where the face is lost."""
    header = ",".join(("frame", *BLENDSHAPE_NAMES, *HEAD_POSE_NAMES))
    lost = np.isnan(feats).any(axis=1)
    safe = np.where(lost[:, None], 0.0, feats)
    scores = _SCORE_TEXT[
        np.rint(np.clip(safe[:, :52], 0, 1) * 10000).astype(np.int64)
    ].tolist()
    pose_fmt = ",".join(["%.2f"] * len(HEAD_POSE_NAMES))
    lines = [header]
    for k, (sc, pose, gone) in enumerate(
        zip(scores, safe[:, 52:].tolist(), lost.tolist(), strict=True)
    ):
        lines.append(
            f"{k}" + "," * feats.shape[1]
            if gone
            else f"{k},{','.join(sc)},{pose_fmt % tuple(pose)}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_wav(path: Path, samples: np.ndarray, sr: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(samples.tobytes())


def _read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def dataset_is_valid(folder: str | os.PathLike[str], spec: SynthAffWildSpec) -> bool:
    """True when ``folder`` holds a complete SynthAffWild set generated from
    ``spec``."""
    manifest = _read_manifest(Path(folder))
    return bool(manifest) and manifest.get("config_hash") == spec_hash(spec)


def _check_replaceable(out: Path) -> None:
    """Refuse to replace ``out`` unless it is absent, empty or a SynthAffWild set (our
    manifest).

    The layout is Aff-Wild2's, so a real copy pointed at by mistake looks alike: without
    this check a stale-cache rebuild would delete it.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(
            f"SynthAffWild: {out} exists and is not a folder; choose another out_dir"
        )
    manifest = _read_manifest(out)
    ours = isinstance(manifest, dict) and manifest.get("generator") == _GENERATOR
    if not ours and any(out.iterdir()):
        raise FileExistsError(
            f"SynthAffWild: {out} is not empty and holds no SynthAffWild "
            f"manifest.json (real data, or a "
            "damaged set?); refusing to replace it. Delete it to regenerate, or "
            "choose another out_dir"
        )
