"""Aff-Wild2 and SEWA valence/arousal annotations: the two readers that return a
:class:`VATrace`.

- **Aff-Wild2 VA annotation** (one ``.txt`` per video): first line exactly
  ``valence,arousal``, then one ``v,a`` line per video frame (frame k at ``k / fps`` s),
  values in [-1, 1]. ``-5`` (in either column; the other is then -5 or in [-1, 1]) marks
  a frame without annotation: ``valid`` False, values 0. Trailing blank lines are
  ignored.
- **SEWA trace** (one CSV per recording, the layout we accept): header
  ``time,valence,arousal`` or ``time,valence,arousal,liking``; ``time`` in seconds,
  strictly increasing (commonly every 0.1 s); values in [-1, 1].

Anything else raises :class:`DataFormatError` naming the file and the line.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from affect_lib.data.affwild.reader import INVALID_VA, VATrace
from affect_lib.data.affwild.tables import (
    _check_fps,
    _check_range,
    _lines,
    _table,
    _times,
)
from affect_lib.schema import DataFormatError

__all__ = ["read_affwild2_va", "read_sewa_va"]


def read_affwild2_va(path: str | os.PathLike[str], *, fps: float) -> VATrace:
    """An Aff-Wild2 VA annotation file; frame k is at ``k / fps`` seconds."""
    path = Path(path)
    fps = _check_fps(path, fps, "Aff-Wild2's frame rate varies per video")
    lines = _lines(path)
    if lines[0].strip() != "valence,arousal":
        raise DataFormatError(
            f"{path}: line 1: header is {lines[0].strip()!r}, expected "
            f"'valence,arousal'"
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
    # only the -5 cell is exempt: its partner must still be a value or -5 (`-5,7`, `-5,`
    # are errors)
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
