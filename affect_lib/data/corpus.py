"""The in-memory multimodal corpus every data source produces (synthetic or real).

Modalities and label order come from :mod:`affect_lib.schema`; the corpus checks its
arrays against that contract when it is built.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

import numpy as np

from affect_lib.schema import EMOTIONS, MODALITIES

__all__ = ["MultimodalCorpus"]


def _check_finite(name: str, arr: np.ndarray, chunk: int = 1024) -> None:
    """Raise naming the first non-finite index; row chunks keep the temporary mask
    small."""
    for lo in range(0, len(arr), chunk):
        ok = np.isfinite(arr[lo : lo + chunk])
        if not ok.all():
            index = np.argwhere(~ok)[0]
            index[0] += lo
            raise ValueError(
                f"corpus: {name}[{', '.join(map(str, index.tolist()))}] is "
                f"{float(arr[tuple(index)])}, expected finite values"
            )


@dataclass(frozen=True, eq=False)
class MultimodalCorpus:
    """N utterances of T steps. Arrays are numpy; padding rows are exactly zero.

    text (N,T,Dt), audio (N,T,Da), video (N,T,Dv) float32; mask (N,T) bool (True = valid
    step); label (N,) int64 in [0,6) dominant emotion; emotions (N,6) float32
    intensities in [0,3]; driver (N,) int64 causal modality 0=text 1=audio 2=video, -1
    unknown; speaker (N,) int64; window (N,2) int64 [start, end) of the driver's
    evidence window, -1 unknown; conflict (N,3) bool: the modality shows another
    emotion's cue; ids: N strings. Construction checks these shapes, dtypes and ranges
    and that features are finite (ValueError naming the field and the first bad index).
    """

    text: np.ndarray
    audio: np.ndarray
    video: np.ndarray
    mask: np.ndarray
    label: np.ndarray
    emotions: np.ndarray
    driver: np.ndarray
    speaker: np.ndarray
    window: np.ndarray
    conflict: np.ndarray
    ids: tuple[str, ...]

    def __post_init__(self) -> None:
        mask = self.mask
        if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype != np.bool_:
            raise ValueError(
                f"corpus: mask has shape {np.shape(mask)} dtype "
                f"{getattr(mask, 'dtype', type(mask))}, "
                "expected an (N, T) bool array"
            )
        n, t = mask.shape
        for m in MODALITIES:
            arr = getattr(self, m)
            if arr.ndim != 3 or arr.shape[:2] != (n, t):
                raise ValueError(
                    f"corpus: {m} has shape {arr.shape}, expected ({n}, {t}, D)"
                )
            if arr.dtype != np.float32:
                raise ValueError(f"corpus: {m} has dtype {arr.dtype}, expected float32")
            _check_finite(m, arr)
        expected = {
            "label": (n,),
            "emotions": (n, 6),
            "driver": (n,),
            "speaker": (n,),
            "window": (n, 2),
            "conflict": (n, 3),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"corpus: {name} has shape {getattr(self, name).shape}, expected "
                    f"{shape}"
                )
        if len(self.ids) != n:
            raise ValueError(f"corpus: {len(self.ids)} ids for {n} utterances")
        for name in ("label", "driver"):
            if not np.issubdtype(getattr(self, name).dtype, np.integer):
                raise ValueError(
                    f"corpus: {name} has dtype {getattr(self, name).dtype}, expected "
                    f"int64"
                )
        if n and (self.label.min() < 0 or self.label.max() >= len(EMOTIONS)):
            raise ValueError(f"corpus: label out of range [0, {len(EMOTIONS)})")
        bad = (self.driver < -1) | (self.driver >= len(MODALITIES))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"corpus: driver[{i}] is {int(self.driver[i])}, expected 0=text "
                f"1=audio 2=video "
                "or -1 (unknown)"
            )
        _check_finite("emotions", self.emotions)
        bad = (self.emotions < 0) | (self.emotions > 3)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise ValueError(
                f"corpus: emotions[{i}, {j}] ({EMOTIONS[j]}) is "
                f"{float(self.emotions[i, j])}, "
                "expected an intensity in [0, 3]"
            )

    def __len__(self) -> int:
        return int(self.mask.shape[0])

    @property
    def seq_len(self) -> int:
        return int(self.mask.shape[1])

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(getattr(self, m).shape[2]) for m in MODALITIES}

    def subset(self, index: np.ndarray) -> MultimodalCorpus:
        """A new corpus with the utterances at ``index`` (copies the arrays)."""
        index = np.asarray(index)
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        out = {
            k: (tuple(v[i] for i in index) if k == "ids" else v[index])
            for k, v in values.items()
        }
        return MultimodalCorpus(**out)

    def fingerprint(self) -> str:
        """SHA-256 over every array and id: equal fingerprints mean identical data."""
        digest = hashlib.sha256()
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "ids":
                digest.update("\n".join(value).encode())
            else:
                digest.update(np.ascontiguousarray(value).tobytes())
        return digest.hexdigest()
