"""CMU-MultimodalSDK computational sequences (``.csd``, HDF5): read and stream (writing:
:mod:`~affect_lib.data.mosei.csd_writer`).

The layout is the SDK's (``mmsdk/mmdatasdk/computational_sequence/file_ops.py``)::

    /<root>/data/<video_id>/features   float32 (n, d)
    /<root>/data/<video_id>/intervals  float64 (n, 2)   start, end in seconds
    /<root>/metadata/<key>             shape (1,), variable-length string (JSON text)

The root is the first top-level group; no HDF5 attributes are used. The SDK writes every
metadata value as ``json.dumps(value)``; we decode a JSON string back to the string and
keep any other value (a JSON list, an old file's plain text) as its raw text, so
``metadata`` is ``dict[str, str]``.

Anything unreadable (corrupt or truncated file, missing group, wrong shape) raises one
:class:`DataFormatError` naming the file and the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect_lib.data.mosei.csd_h5 import (
    _guard,
    _h5py,
    _open,
    _read_metadata,
    _read_rows,
)
from affect_lib.schema import DataFormatError

__all__ = ["ComputationalSequence", "CsdFile", "read_csd"]


@dataclass(frozen=True, eq=False)
class ComputationalSequence:
    """A whole computational sequence in memory.

    data: video id -> (features (n, d) float32, intervals (n, 2) float64); metadata: key
    -> text.
    """

    root: str
    data: dict[str, tuple[np.ndarray, np.ndarray]]
    metadata: dict[str, str]


class CsdFile:
    """Stream a ``.csd`` file video by video (the whole file never needs to fit in
    memory).

    >>> with CsdFile("CMU_MOSEI_COVAREP.csd") as f:          # doctest: +SKIP
    ...     for vid in f.video_ids:
    ...         features, intervals = f.read(vid)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._last = None
        if not self.path.is_file():
            raise DataFormatError(f"{self.path}: file not found")
        h5py = _h5py()
        with _guard(self.path, "/"):
            self._fh = h5py.File(self.path, "r")
        try:
            self._open()
        except BaseException:
            self._fh.close()
            raise

    def _open(self) -> None:
        h5py = _h5py()
        with _guard(self.path, "/"):
            roots = list(self._fh.keys())
            if not roots:
                raise DataFormatError(
                    f"{self.path}: /: no top-level group (expected /<root>/data)"
                )
            self.root: str = roots[0]
            root = self._fh[self.root]
            if not isinstance(root, h5py.Group):
                raise DataFormatError(
                    f"{self.path}: /{self.root}: expected a group, found a dataset"
                )
            for name in ("data", "metadata"):
                if name not in root or not isinstance(root[name], h5py.Group):
                    raise DataFormatError(
                        f"{self.path}: /{self.root}/{name}: missing group"
                    )
            self._data = root["data"]
            self.video_ids: tuple[str, ...] = tuple(self._data.keys())
            self._id_set = frozenset(self.video_ids)
        self.metadata: dict[str, str] = _read_metadata(
            self.path, self._fh, self.root, root
        )

    def __enter__(self) -> CsdFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    def __contains__(self, video_id: str) -> bool:
        return video_id in self._id_set

    def _datasets(self, video_id: str):
        last = self._last  # one read: another thread may replace it meanwhile
        # callers read one video several times
        if last is not None and last[0] == video_id:
            return last[1]
        entry = self._lookup(video_id)
        self._last = (video_id, entry)
        return entry

    def _lookup(
        self, video_id: str
    ) -> tuple[str, object, object, tuple[int, ...], tuple[int, ...]]:
        # h5py's low-level API: the high-level objects cost ~10x more per call, which
        # adds up to seconds over CMU-MOSEI's thousands of videos
        h5py = _h5py()
        where = f"/{self.root}/data/{video_id}"
        with _guard(self.path, where):
            group = _open(self._data.id, video_id)
            if not isinstance(group, h5py.h5g.GroupID):
                raise DataFormatError(f"{self.path}: {where}: missing group")
            found = {}
            for name in ("features", "intervals"):
                found[name] = _open(group, name)
                if not isinstance(found[name], h5py.h5d.DatasetID):
                    raise DataFormatError(
                        f"{self.path}: {where}/{name}: missing dataset"
                    )
            feats, ivals = found["features"], found["intervals"]
            fshape, ishape = feats.shape, ivals.shape
            if len(fshape) != 2 or feats.dtype.kind not in "fiu":
                raise DataFormatError(
                    f"{self.path}: {where}/features: expected a numeric (n, d) array, "
                    f"found shape {fshape} dtype {feats.dtype}"
                )
            if len(ishape) != 2 or ishape[1] != 2 or ivals.dtype.kind not in "fiu":
                raise DataFormatError(
                    f"{self.path}: {where}/intervals: expected a numeric (n, 2) array, "
                    f"found shape {ishape} dtype {ivals.dtype}"
                )
            if fshape[0] != ishape[0]:
                raise DataFormatError(
                    f"{self.path}: {where}: features has {fshape[0]} rows but "
                    f"intervals has {ishape[0]} (they must match)"
                )
        return where, feats, ivals, fshape, ishape

    def read_intervals(self, video_id: str) -> np.ndarray:
        """(n, 2) float64 [start, end] seconds; finite, end >= start."""
        where, _, ivals, _, shape = self._datasets(video_id)
        with _guard(self.path, f"{where}/intervals"):
            out = _read_rows(ivals, 0, shape[0], 2, np.float64)
        bad = ~np.isfinite(out).all(axis=1) | (out[:, 1] < out[:, 0])
        if bad.any():
            row = int(np.argmax(bad))
            raise DataFormatError(
                f"{self.path}: {where}/intervals: row {row} is {out[row].tolist()}, "
                "expected finite [start, end] with end >= start"
            )
        return out

    def read_features(
        self, video_id: str, start: int = 0, stop: int | None = None
    ) -> np.ndarray:
        """Rows ``[start, stop)`` of the features, (k, d) float32 (may hold NaN/inf as
        stored)."""
        where, feats, _, shape, _ = self._datasets(video_id)
        start, stop, _ = slice(start, stop).indices(shape[0])
        with _guard(self.path, f"{where}/features"):
            return _read_rows(feats, start, max(start, stop), shape[1], np.float32)

    def read_rows(self, video_id: str, rows: np.ndarray) -> np.ndarray:
        """Feature rows ``rows`` (sorted, unique) as (len(rows), d) float32.

        Reads the one contiguous span from the first to the last row: skipping the gaps
        between labelled segments saves nothing (the kernel's readahead fetches them
        anyway) and a multi-part HDF5 selection costs more CPU than it saves.
        """
        rows = np.asarray(rows, dtype=np.int64)
        n = self._datasets(video_id)[3][0]
        if rows.size and (rows[0] < 0 or rows[-1] >= n or np.any(np.diff(rows) <= 0)):
            raise ValueError(f"rows must be sorted, unique and in [0, {n})")
        if rows.size == 0:
            return self.read_features(video_id, 0, 0)
        return self.read_features(video_id, int(rows[0]), int(rows[-1]) + 1)[
            rows - rows[0]
        ]

    def data_offset(self, video_id: str) -> int | None:
        """Byte offset of the video's features in the file (None unless stored
        contiguously)."""
        return self._datasets(video_id)[1].get_offset()

    def feature_dim(self, video_id: str) -> int:
        return int(self._datasets(video_id)[3][1])

    def read(self, video_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(features (n, d) float32, intervals (n, 2) float64) of one video."""
        intervals = self.read_intervals(video_id)
        return self.read_features(video_id), intervals


def read_csd(path: str | os.PathLike[str]) -> ComputationalSequence:
    """Read a whole ``.csd`` file into memory (use :class:`CsdFile` to stream a large
    one)."""
    with CsdFile(path) as f:
        data = {vid: f.read(vid) for vid in f.video_ids}
        return ComputationalSequence(root=f.root, data=data, metadata=dict(f.metadata))
