"""Semantic encoding (LaScA step 4): a window's salient-feature mask -> frozen sentence
embedding.

Masks become texts by :mod:`affect_lib.lasca.template`. **Encoders**
(:mod:`affect_lib.lasca.encoders`): ``minilm`` and ``mpnet``, frozen, loaded from local
folders; embeddings are L2-normalised (``normalize_embeddings=True``).

**Two encoding modes.** ``mode="template"`` (the paper's): each window's whole template
text is encoded, one encoder call per distinct active-feature set. ``mode="pooled"``
(our cheap approximation, :mod:`affect_lib.lasca.pooling`): each feature's one-cue text
is encoded once, and a window's embedding is the L2-normalised mean of its salient cues'
embeddings; no token cap on the number of cues, 74 encodings per (encoder, lexicon)
instead of one per window, seconds instead of minutes on 2 CPU cores, but the encoder no
longer reads the cues *together*.

**Cache.** :class:`EmbeddingCache` keys an embedding by (encoder, lexicon,
active-feature set); the disk store's name (:mod:`affect_lib.lasca.embedding_store`)
also carries a hash of the lexicon texts, the template, the token cap and the encoder
package's version, so an edited lexicon or new weights never reuse old embeddings. Only
the missing masks are encoded, in one batched call. The pooled mode stores its 74
one-cue embeddings in the same way (keys: one-hot masks and the empty mask), in a store
of its own: they are always encoded together in one batch, so they are the same bits on
every run. (A sentence encoder's output moves in the last float bits, ~1e-7, with the
other texts of its batch; in template mode the batch is "the masks missing from the
cache", so a run with a partly warm cache can differ from a cold one at that level.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from affect_lib.lasca.embedding_store import read_store, stale_stores, write_store
from affect_lib.lasca.encoders import (
    ENCODERS,
    MAX_SEQ_LENGTH,
    EncoderError,
    load_encoder,
    weights_id,
)
from affect_lib.lasca.lexicon import (
    LEXICONS,
    lexicon_hash,
    load_lexicon,
    validate_lexicon,
)
from affect_lib.lasca.names import N_FEATURES
from affect_lib.lasca.pooling import cue_masks, pool, pool_one
from affect_lib.lasca.template import (
    check_mask,
    describe_many,
    mask_key,
    template_hash,
)

__all__ = ["MODES", "EmbeddingCache"]

MODES = ("template", "pooled")


# -------------------------------------------------------------------------------- cache
class EmbeddingCache:
    """Sentence embeddings of saliency masks for one (encoder, lexicon), in memory and
    on disk.

    ``embed(masks)`` returns (N, D) float32 L2-normalised embeddings; masks seen before
    (in memory, or in the disk store under ``cache_dir``) are not encoded again, the
    others are encoded in one batched call and added to both. The disk store is one
    ``.npz`` per (encoder, lexicon name, hash of lexicon + template + token cap +
    encoder package version), written atomically; a lexicon edit or an upgraded encoder
    package changes the hash, so old embeddings are never reused (they are reported in
    ``stale_files``). ``cache_dir=None``: memory only.

    ``mode``: "template" or "pooled" (module docstring). ``model``: anything with the
    ``SentenceTransformer.encode`` signature (tests pass a fake); by default the encoder
    is loaded on the first miss. ``lexicon_texts``: a custom ``{feature: text}`` mapping
    (validated) instead of the lexicon file; ``lexicon`` then only names the store.
    ``stats`` counts hits and misses (of window masks in template mode, of one-cue masks
    in pooled mode) and encoder calls.
    """

    def __init__(
        self,
        *,
        encoder: str,
        lexicon: str = "affective",
        mode: str = "template",
        cache_dir: str | os.PathLike[str] | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
        batch_size: int = 32,
        model: Any = None,
        lexicon_texts: Mapping[str, str] | None = None,
    ) -> None:
        if encoder not in ENCODERS:
            raise EncoderError(
                f"unknown encoder {encoder!r}; valid encoders: {', '.join(ENCODERS)}"
            )
        if mode not in MODES:
            raise ValueError(
                f"unknown embedding mode {mode!r}; valid modes: {', '.join(MODES)}"
            )
        if lexicon_texts is None and lexicon not in LEXICONS:
            raise ValueError(
                f"unknown lexicon {lexicon!r}; valid lexicons: {', '.join(LEXICONS)}"
            )
        self.encoder = encoder
        self.mode = mode
        self.lexicon_name = lexicon
        self.lexicon = (
            validate_lexicon(lexicon_texts, "lexicon_texts")
            if lexicon_texts is not None
            else load_lexicon(lexicon)
        )
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.weights = weights_id(encoder)
        self.namespace = template_hash(self.lexicon, max_seq_length, self.weights)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._model = model
        self._memory: dict[bytes, np.ndarray] = {}
        self._dirty = False
        # pooled mode: (74, D), rows = FEATURE_NAMES + no cue
        self._cue_matrix: np.ndarray | None = None
        self.stats = {"memory_hits": 0, "disk_hits": 0, "misses": 0, "encode_calls": 0}
        self.stale_files: list[Path] = []
        # keys read from the disk store when this cache was opened
        self._disk_keys: set[bytes] = set()
        if self.cache_dir is not None:
            self._load_disk()

    # -- disk store
    @property
    def path(self) -> Path | None:
        """The disk store of this cache (None when memory only)."""
        if self.cache_dir is None:
            return None
        return (
            self.cache_dir
            / f"{self.encoder}-{self.lexicon_name}-{self.mode}-{self.namespace}.npz"
        )

    def _load_disk(self) -> None:
        assert self.cache_dir is not None and self.path is not None
        prefix = f"{self.encoder}-{self.lexicon_name}-{self.mode}-"
        self.stale_files = stale_stores(self.path, prefix)
        if not self.path.is_file():
            return
        self._memory.update(read_store(self.path, self._meta()))
        self._disk_keys = set(self._memory)

    def _meta(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "lexicon": self.lexicon_name,
            "mode": self.mode,
            "namespace": self.namespace,
            "lexicon_hash": lexicon_hash(self.lexicon),
            "max_seq_length": self.max_seq_length,
            "weights": self.weights,
        }

    def save(self) -> None:
        """Write the store atomically (merging what another process may have added
        meanwhile)."""
        if self.path is None or not self._dirty:
            return
        write_store(self.path, self._memory, self._meta())
        self._dirty = False

    # -- encoding
    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = load_encoder(self.encoder, max_seq_length=self.max_seq_length)
        return self._model

    def texts(self, masks: np.ndarray) -> list[str]:
        """The template texts of masks (N, 73)."""
        return describe_many(masks, self.lexicon)

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.stats["encode_calls"] += 1
        out = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out = np.asarray(out, dtype=np.float32)
        if out.shape[0] != len(texts) or not np.isfinite(out).all():
            raise EncoderError(
                f"encoder {self.encoder!r} returned {out.shape} / non-finite values "
                f"for "
                f"{len(texts)} texts"
            )
        return out

    def embed(self, masks: np.ndarray, *, save: bool = True) -> np.ndarray:
        """(N, 73) bool masks -> (N, D) float32 embeddings; encodes only unseen masks,
        once each."""
        masks = check_mask(masks).reshape(-1, N_FEATURES)
        if self.mode == "pooled":
            return pool(masks, self._cues(save))
        return self._embed_masks(masks, save)

    def _cues(self, save: bool) -> np.ndarray:
        if self._cue_matrix is None:
            self._cue_matrix = self._embed_masks(cue_masks(), save)
        return self._cue_matrix

    def _embed_masks(self, masks: np.ndarray, save: bool) -> np.ndarray:
        packed = np.packbits(masks, axis=1)
        keys = [row.tobytes() for row in packed]
        missing: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            if key in self._memory:
                hit = "disk_hits" if key in self._disk_keys else "memory_hits"
                self.stats[hit] += 1
            elif key not in missing:
                missing[key] = i
                self.stats["misses"] += 1
            else:
                self.stats["memory_hits"] += 1
        if missing:
            vecs = self._encode(
                describe_many(masks[list(missing.values())], self.lexicon)
            )
            for key, vec in zip(missing, vecs, strict=True):
                self._memory[key] = vec
            self._dirty = True
            if save:
                self.save()
        if not keys:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._memory[k] for k in keys])

    def lookup(self, mask: np.ndarray) -> np.ndarray:
        """Embedding (D,) of one mask (73,) bool: the inference fast path (a dict lookup
        in template mode, a small matrix product in pooled mode; encodes on a miss)."""
        # as bool: a 0/1 int mask would index rows 0 and 1 in pooled mode
        mask = check_mask(mask)
        if mask.ndim != 1:
            raise ValueError(
                f"lookup takes one mask ({N_FEATURES},), got shape {mask.shape}; use "
                f"embed for many"
            )
        if self.mode == "pooled" and self._cue_matrix is not None:
            return pool_one(mask, self._cue_matrix)
        vec = (
            self._memory.get(np.packbits(mask).tobytes())
            if self.mode == "template"
            else None
        )
        return vec if vec is not None else self.embed(mask[None])[0]

    @property
    def dim(self) -> int:
        """Embedding width."""
        if self._memory:
            return int(next(iter(self._memory.values())).shape[0])
        return int(ENCODERS[self.encoder]["dim"])

    def __len__(self) -> int:
        return len(self._memory)

    def __contains__(self, mask: object) -> bool:
        return isinstance(mask, np.ndarray) and mask_key(mask) in self._memory
