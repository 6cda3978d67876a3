"""Low-level parsing of the Aff-Wild2 / SEWA text tables, shared by every reader of this
package.

Reads a numeric CSV with plain comma splitting (exact line numbers in errors) into a
header, a float64 value array (NaN for empty cells) and line numbers, and checks time
columns (``time``, ``frame`` with an fps, ``timestamp_ms``), value ranges and fps
arguments, raising :class:`DataFormatError` that names the file and the line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from affect_lib.schema import DataFormatError


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot read as UTF-8 text ({exc})") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(f"{path}: line 1: empty file, expected a header line")
    return lines


def _table(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A numeric CSV: (header, values (n, c) float64 with NaN for empty cells, line
    numbers (n,)).

    Plain comma splitting (numbers are never quoted), so line numbers in errors are
    exact.
    """
    lines = _lines(path)
    header = [h.strip() for h in lines[0].split(",")]
    cells: list[str] = []
    numbers = np.arange(2, len(lines) + 1)
    for number, line in zip(numbers.tolist(), lines[1:], strict=True):
        row = line.split(",")
        if len(row) != len(header):
            raise DataFormatError(
                f"{path}: line {number}: {len(row)} fields, expected {len(header)} "
                f"({','.join(header)})"
            )
        cells.extend(c.strip() for c in row)
    nonempty = np.array([c != "" for c in cells], dtype=bool)
    try:
        values = np.array(
            [float(c) if c else np.nan for c in cells], np.float64
        ).reshape(len(numbers), len(header))
    except ValueError:
        values = None
    if values is None or not np.isfinite(values.reshape(-1)[nonempty]).all():
        for i, cell in enumerate(cells):  # slow path: find the first offending cell
            try:
                ok = not cell or np.isfinite(float(cell))
            except ValueError:
                ok = False
            if not ok:
                row, col = divmod(i, len(header))
                raise DataFormatError(
                    f"{path}: line {numbers[row]}: column {header[col]!r} is {cell!r}, "
                    "expected a finite number"
                )
    return header, values, numbers


def _as_number(value: object) -> float:
    """``value`` as a float (numpy scalars, 0-d arrays, fractions), NaN for text, bools
    and non-numbers."""
    if isinstance(value, bool | str | bytes):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _check_fps(path: Path, fps: object, why: str) -> float:
    """fps as a float > 0: inf would put every frame at t=0, text would fail later with
    a bare TypeError."""
    rate = _as_number(fps)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"{path}: fps={fps!r}: expected a finite number > 0 ({why})")
    return rate


def _fail_rows(path: Path, bad: np.ndarray, numbers: np.ndarray, what: str) -> None:
    if bad.any():
        raise DataFormatError(f"{path}: line {numbers[int(np.argmax(bad))]}: {what}")


def _times(
    path: Path,
    header: list[str],
    values: np.ndarray,
    numbers: np.ndarray,
    fps: float | None,
    allowed: tuple[str, ...],
) -> tuple[np.ndarray, str]:
    """The time column of a table, in seconds, checked finite and strictly
    increasing."""
    present = [c for c in allowed if c in header]
    if len(present) != 1:
        raise DataFormatError(
            f"{path}: line 1: expected exactly one time column of {list(allowed)}, "
            f"found {present or 'none'}"
        )
    col = present[0]
    t = values[:, header.index(col)]
    _fail_rows(path, np.isnan(t), numbers, f"column {col!r} is empty")
    if col == "frame":
        rate = _check_fps(path, fps, "a 'frame' column needs fps")
        _fail_rows(
            path,
            (t < 0) | (t != np.round(t)),
            numbers,
            "column 'frame' must be a non-negative integer",
        )
        t = t / rate
    elif col == "timestamp_ms":
        t = t / 1000.0
    _fail_rows(
        path,
        np.r_[False, np.diff(t) <= 0],
        numbers,
        f"column {col!r} must be strictly increasing",
    )
    return t, col


def _check_range(
    path: Path,
    header: list[str],
    values: np.ndarray,
    numbers: np.ndarray,
    cols: list[str],
    lo: float,
    hi: float,
    skip: np.ndarray | None = None,
    also: str = "",
) -> None:
    """skip: (n,) rows, or (n, c) cells of ``values``, exempt from the range check;
    ``also``: what else the message names as allowed (Aff-Wild2's -5)."""
    for col in cols:
        v = values[:, header.index(col)]
        bad = np.isnan(v) | (v < lo - 1e-6) | (v > hi + 1e-6)
        if skip is not None:
            bad &= ~(skip[:, header.index(col)] if skip.ndim == 2 else skip)
        if bad.any():
            i = int(np.argmax(bad))
            shown = "empty" if np.isnan(v[i]) else v[i]
            raise DataFormatError(
                f"{path}: line {numbers[i]}: column {col!r} is {shown}, expected a "
                f"value in "
                f"[{lo:g}, {hi:g}]{also}"
            )
