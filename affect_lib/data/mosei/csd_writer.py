"""Write CMU-MultimodalSDK computational sequences (``.csd``) in the SDK's layout,
atomically.

Same layout as :mod:`affect_lib.data.mosei.csd` reads:
``/<root>/data/<video_id>/{features,intervals}`` and ``/<root>/metadata/<key>`` as
shape-(1,) variable-length strings holding ``json.dumps(value)`` (the SDK's
``write_CSD``). Used by the test fixtures, the benchmark and to cache aligned data.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from affect_lib.data.mosei.csd_h5 import _h5py
from affect_lib.io import atomic_path

__all__ = ["CsdWriter", "write_csd"]


def _check_name(name: str, what: str) -> None:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(
            f"{what} {name!r} is not a valid HDF5 group name (non-empty, no '/')"
        )


class CsdWriter:
    """Write a ``.csd`` video by video, atomically: the target appears only when the
    writer closes cleanly.

    >>> meta = {"root name": "COVAREP"}
    >>> with CsdWriter(path, root="COVAREP", metadata=meta) as w:  # doctest: +SKIP
    ...     w.add("video1", features, intervals)
    """

    def __init__(
        self, path: str | os.PathLike[str], *, root: str, metadata: Mapping[str, str]
    ) -> None:
        _check_name(root, "root")
        for key in metadata:
            _check_name(key, "metadata key")
        self._path = Path(path)
        self._atomic = atomic_path(path)
        tmp = self._atomic.__enter__()
        try:
            self._fh = _h5py().File(tmp, "w")
            group = self._fh.create_group(root)
            self._data = group.create_group("data")
            meta = group.create_group("metadata")
            vlen = _h5py().special_dtype(vlen=str)
            for key, value in metadata.items():
                ds = meta.create_dataset(key, (1,), dtype=vlen)
                # the SDK's encoding (json.dumps of the value)
                ds[0] = json.dumps(str(value))
        except BaseException:
            self._abort()
            raise

    def add(self, video_id: str, features: np.ndarray, intervals: np.ndarray) -> None:
        """Add one video: features (n, d), intervals (n, 2) finite with end >= start.

        Checked before anything is written, as
        :func:`~affect_lib.data.mosei.csd.read_csd` will check them: features may hold
        NaN/inf (the reader keeps them; alignment's ``nonfinite`` policy decides).
        """
        _check_name(video_id, "video id")
        where = f"{self._path}: video {video_id!r}"
        if video_id in self._data:
            raise ValueError(f"{where}: already added (video ids must be unique)")
        try:
            features = np.asarray(features, dtype=np.float32)
            intervals = np.asarray(intervals, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{where}: features and intervals must be numeric arrays ({exc})"
            ) from exc
        if features.ndim != 2 or intervals.shape != (features.shape[0], 2):
            raise ValueError(
                f"{where}: features {features.shape} and intervals {intervals.shape} "
                "must be (n, d) and (n, 2)"
            )
        bad = ~np.isfinite(intervals).all(axis=1) | (intervals[:, 1] < intervals[:, 0])
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"{where}: intervals row {row} is {intervals[row].tolist()}, "
                "expected finite [start, end] with end >= start"
            )
        group = self._data.create_group(video_id)
        group.create_dataset("features", data=features)
        group.create_dataset("intervals", data=intervals)

    def _abort(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()
        self._atomic.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> CsdWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._abort()
            return
        self._fh.close()
        self._atomic.__exit__(None, None, None)


def write_csd(
    path: str | os.PathLike[str],
    *,
    root: str,
    data: Mapping[str, tuple[np.ndarray, np.ndarray]],
    metadata: Mapping[str, str],
) -> None:
    """Write ``data`` (video id -> (features (n, d), intervals (n, 2))) in the SDK
    layout, atomically."""
    with CsdWriter(path, root=root, metadata=metadata) as writer:
        for vid, (features, intervals) in data.items():
            writer.add(vid, features, intervals)
