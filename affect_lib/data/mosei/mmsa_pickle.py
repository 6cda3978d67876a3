"""Opening an MMSA pickle safely: opt-in, checksummed, and unpickling numpy arrays and
builtins only.

A pickle runs code when it is loaded, so a file is opened only when the caller passes
``trust_pickle=True`` **and** the file's SHA-256 equals the expected checksum:
``sha256=`` or, when omitted, the entry for the file name in :data:`KNOWN_MMSA_SHA256`.
The hash is computed on the same open file that is then unpickled, and unpickling only
accepts the globals in ``_ALLOWED_GLOBALS``.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from affect_lib.schema import DataFormatError

__all__ = ["KNOWN_MMSA_SHA256", "UntrustedPickleError"]

# SHA-256 of the released MMSA files, by file name. We have not been able to verify the
# released files' checksums offline, so this is empty on purpose: pass ``sha256=`` (the
# hash of the copy you obtained, checked against its source) until verified values are
# added here.
KNOWN_MMSA_SHA256: dict[str, str] = {}

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "str_"),
    ("numpy", "float32"),
    ("numpy", "float64"),
    ("numpy", "int64"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
}


class UntrustedPickleError(PermissionError):
    """A pickle was not opened: no opt-in, no expected checksum, or a checksum
    mismatch."""


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name} (only numpy arrays are expected)"
            )
        return super().find_class(module, name)


def _verified_load(
    path: Path, trust_pickle: bool, sha256: str | None
) -> tuple[object, str]:
    if not trust_pickle:
        raise UntrustedPickleError(
            f"{path}: a pickle can run arbitrary code; pass trust_pickle=True (and its "
            "sha256) only for a file from a source you trust"
        )
    expected = (sha256 or KNOWN_MMSA_SHA256.get(path.name, "")).lower()
    if not expected:
        raise UntrustedPickleError(
            f"{path}: no known SHA-256 for {path.name!r}; pass sha256='<hex>' of your "
            "copy after checking it against its source"
        )
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot open ({exc})") from exc
    with fh:
        digest = hashlib.sha256()
        while block := fh.read(1 << 20):
            digest.update(block)
        actual = digest.hexdigest()
        if actual != expected:
            raise UntrustedPickleError(
                f"{path}: SHA-256 mismatch: file has {actual}, expected {expected}; "
                "not opening it"
            )
        fh.seek(0)
        try:
            return _NumpyOnlyUnpickler(fh).load(), actual
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a format error
            raise DataFormatError(
                f"{path}: not a readable MMSA pickle ({type(exc).__name__}: {exc})"
            ) from exc
