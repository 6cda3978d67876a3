"""Artifact writing that never leaves a half-written file: write to a temp file, then
rename."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_json", "read_json", "sha256_file"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success rename it over ``target``, else
    delete it.

    The rename is atomic on POSIX, so readers see the old file or the new one, never a
    mix. The temp file is created with mode 0o666 minus the umask, as ``open(target,
    "w")`` would create it (``tempfile.mkstemp`` would leave 0o600, and the rename would
    keep that on the artifact).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _create_exclusive(target.parent, f".{target.name}.", ".tmp")
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _create_exclusive(folder: Path, prefix: str, suffix: str) -> Path:
    """Create a new empty file with a random name in ``folder`` (never an existing one:
    O_EXCL)."""
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free temporary file name in {folder}")


def write_json(target: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as indented, key-sorted JSON, atomically.

    NaN (an undefined metric, e.g. driver recovery on real data, which has no planted
    driver) is written as ``null``; infinities are refused (ValueError), since they
    always mean a bug.
    """
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(
                _nan_to_none(payload), fh, indent=2, sort_keys=True, allow_nan=False
            )
            fh.write("\n")


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_to_none(v) for v in value]
    return value


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON artifact; a corrupt file is an error naming the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from exc


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
