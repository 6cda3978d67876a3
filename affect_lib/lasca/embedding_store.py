"""The embedding cache's disk store: one ``.npz`` of sentence embeddings per (encoder,
lexicon, mode).

A store holds ``keys`` (packed active-feature sets,
:func:`~affect_lib.lasca.template.mask_key`), ``embeddings`` (float32, one row per key)
and ``meta`` (JSON: encoder, lexicon, mode, the hash of lexicon + template + token cap +
encoder weights, ...). Its file name carries that hash, so an edited lexicon or new
weights never reuse old embeddings; stores of other hashes are only listed
(:func:`stale_stores`). :func:`read_store` refuses a store whose metadata or rows do not
match; :func:`write_store` merges what another process may have added meanwhile and
writes atomically. :class:`EmbeddingStore` is the plain dict the embedders
(:mod:`affect_lib.lasca.semantic`) fill, mirrored to one store.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from affect_lib.io import atomic_path
from affect_lib.lasca.encoders import model_cache_dir

__all__ = [
    "embedding_cache_dir",
    "stale_stores",
    "read_store",
    "write_store",
    "EmbeddingStore",
]


def embedding_cache_dir() -> Path:
    """A shared disk store for the :mod:`~affect_lib.lasca.semantic` embedders:
    ``<model cache>/embeddings``. Embeddings depend only on encoder weights, lexicon,
    template and token cap (all in the store's name), so every profile and run can share
    it."""
    return model_cache_dir() / "embeddings"


def stale_stores(path: Path, prefix: str) -> list[Path]:
    """The other stores ``<prefix>*.npz`` beside ``path`` (sorted; none when its folder
    is missing)."""
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.glob(f"{prefix}*.npz") if p != path)


def read_store(path: Path, expected: Mapping[str, Any]) -> dict[bytes, np.ndarray]:
    """``{key: embedding}`` of the store at ``path``; ValueError when it is unreadable,
    its metadata differs from ``expected`` or its rows are mismatched or non-finite."""
    try:
        with np.load(path, allow_pickle=False) as store:
            meta = json.loads(str(store["meta"]))
            keys, emb = store["keys"], store["embeddings"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"{path}: unreadable embedding cache ({exc}); delete it to rebuild"
        ) from exc
    if any(meta.get(k) != v for k, v in expected.items()):
        raise ValueError(
            f"{path}: embedding cache made for {meta}, expected {dict(expected)}; "
            f"delete it"
        )
    # a damaged store must not be served: fresh encodes are checked the same way
    # (semantic.Embedder)
    finite = bool(np.isfinite(emb).all())
    if keys.ndim != 2 or emb.ndim != 2 or len(keys) != len(emb) or not finite:
        raise ValueError(
            f"{path}: unreadable embedding cache ({len(keys)} keys {keys.shape}, "
            f"embeddings "
            f"{emb.shape}, finite: {finite}); delete it to rebuild"
        )
    return {key_row.tobytes(): vec for key_row, vec in zip(keys, emb, strict=True)}


def write_store(
    path: Path, memory: Mapping[bytes, np.ndarray], meta: Mapping[str, Any]
) -> None:
    """Write ``memory`` to the store at ``path`` atomically, merging the rows already
    there."""
    merged = dict(memory)
    if path.is_file():
        with (
            contextlib.suppress(OSError, ValueError, KeyError, zipfile.BadZipFile),
            np.load(path, allow_pickle=False) as store,
        ):
            for key_row, vec in zip(store["keys"], store["embeddings"], strict=True):
                merged.setdefault(key_row.tobytes(), vec)
    keys = sorted(merged)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(
                    len(keys), -1
                ),
                embeddings=np.stack([merged[k] for k in keys]).astype(np.float32),
                meta=np.array(json.dumps(dict(meta), sort_keys=True)),
            )


class EmbeddingStore:
    """A plain ``{key: embedding (D,) float32}`` dict, mirrored to the store ``path``.

    Opening reads the store when it exists (:func:`read_store`: a store made for other
    ``meta`` is an error); :meth:`add` puts new rows in the dict and :meth:`save` writes
    them (:func:`write_store`), only when something was added. ``path=None``: memory
    only. ``on_disk``: the keys read when it was opened (an embedder's disk hits).
    """

    def __init__(self, path: Path | None, meta: Mapping[str, Any]) -> None:
        self.path = path
        self.meta = dict(meta)
        self.vectors: dict[bytes, np.ndarray] = (
            read_store(path, self.meta) if path is not None and path.is_file() else {}
        )
        self.on_disk = frozenset(self.vectors)
        self._dirty = False

    def add(self, rows: Mapping[bytes, np.ndarray]) -> None:
        """Put ``rows`` in the dict (written at the next :meth:`save`)."""
        self.vectors.update(rows)
        self._dirty = self._dirty or bool(rows)

    def save(self) -> None:
        """Write the dict atomically when rows were added since the last save."""
        if self.path is None or not self._dirty:
            return
        write_store(self.path, self.vectors, self.meta)
        self._dirty = False
