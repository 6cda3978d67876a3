"""Low-level HDF5 access for ``.csd`` files: lazy h5py, error guard, raw reads, the
metadata strings.

Shared by the reader (:mod:`~affect_lib.data.mosei.csd`) and the writer
(:mod:`~affect_lib.data.mosei.csd_writer`). h5py is imported on first use; any low-level
failure while reading a key becomes a :class:`DataFormatError` naming the file and the
key. Metadata strings are read from the file's bytes with a bounded heap reader
(:mod:`~affect_lib.data.mosei.vlen`) and decoded as the SDK wrote them
(``json.dumps(value)``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from affect_lib.data.mosei.vlen import read_vlen_string
from affect_lib.schema import DataFormatError


@contextlib.contextmanager
def _guard(path: Path, key: str) -> Iterator[None]:
    """Turn any low-level failure (h5py, HDF5, decoding) while reading ``key`` into a
    DataFormatError."""
    try:
        yield
    except DataFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt HDF5 surfaces as OSError, KeyError, RuntimeError, ...
        raise DataFormatError(
            f"{path}: {key}: cannot read ({type(exc).__name__}: {exc})"
        ) from exc


_H5PY = None


def _h5py():
    global _H5PY
    if _H5PY is None:  # imported on first use: h5py is only needed for .csd files
        try:
            import h5py
        except ImportError as exc:  # pragma: no cover - h5py is a dependency
            raise ImportError(
                "reading .csd files needs h5py: pip install h5py"
            ) from exc
        _H5PY = h5py
    return _H5PY


def _open(parent, name: str):
    """The HDF5 object ``name`` under ``parent`` (low-level id), or None when absent."""
    try:
        return _h5py().h5o.open(parent, name.encode("utf-8"))
    except KeyError:
        return None


def _read_rows(dsid, start: int, stop: int, ncols: int, dtype: type) -> np.ndarray:
    """Rows [start, stop) of a 2-D dataset, converted by HDF5 to ``dtype`` while
    reading."""
    h5s = _h5py().h5s
    out = np.empty((stop - start, ncols), dtype)
    if out.size:
        fspace = dsid.get_space()
        fspace.select_hyperslab((start, 0), out.shape)
        dsid.read(h5s.create_simple(out.shape), fspace, out)
    return out


def _decode_metadata(raw: object) -> str:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    if not isinstance(text, str):
        raise DataFormatError(f"expected a string, found {type(raw).__name__}")
    try:
        value = json.loads(text)
    except ValueError:
        return text  # not JSON: an old or hand-written file; keep the text
    return value if isinstance(value, str) else text


def _read_metadata(path: Path, fh, root_name: str, root) -> dict[str, str]:
    """key -> text of every dataset under ``/<root>/metadata`` (``fh``: the open
    h5py.File)."""
    h5py = _h5py()
    with _guard(path, f"/{root_name}/metadata"):
        meta = root["metadata"]
        keys = list(meta.keys())
        fcpl = fh.id.get_create_plist()
        (sizeof_addr, sizeof_size), base = fcpl.get_sizes(), fcpl.get_userblock()
    metadata: dict[str, str] = {}
    with open(path, "rb") as raw:
        for key in keys:
            where = f"/{root_name}/metadata/{key}"
            with _guard(path, where):
                ds = meta[key]
                if not isinstance(ds, h5py.Dataset) or ds.shape != (1,):
                    raise DataFormatError(
                        f"{path}: {where}: expected a dataset of shape (1,) "
                        f"holding a string, found {getattr(ds, 'shape', 'a group')}"
                    )
                tid, offset = ds.id.get_type(), ds.id.get_offset()
                if not isinstance(tid, h5py.h5t.TypeStringID) or offset is None:
                    # never hand HDF5 a conversion it was not built for: corrupt types
                    # can crash it
                    raise DataFormatError(
                        f"{path}: {where}: expected a string stored contiguously "
                        f"(the SDK's layout), found {type(tid).__name__}"
                    )
                try:
                    # our bounded heap reader: HDF5 can hang on a corrupt heap
                    if tid.is_variable_str():
                        value = read_vlen_string(
                            raw,
                            offset,
                            sizeof_addr=sizeof_addr,
                            sizeof_size=sizeof_size,
                            base=base,
                        )
                    else:
                        value = ds[0]
                    metadata[key] = _decode_metadata(value)
                except (DataFormatError, ValueError) as exc:
                    raise DataFormatError(f"{path}: {where}: {exc}") from exc
    return metadata
