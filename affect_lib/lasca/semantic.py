"""Semantic encoding (LaScA step 3-4): salient-feature mask -> template text -> frozen sentence embedding.

**Template.** A window's mask becomes one text: the lexicon descriptions of its salient features, in
:data:`FEATURE_NAMES` order, facial features first, then vocal ones::

    Salient facial cues: <description>; <description>. Salient vocal cues: <description>.

(each description without its final full stop; a section without salient cue is left out; a mask
with no salient feature gives :data:`NO_CUE_TEXT`). The text is a pure function of the mask and the
lexicon: the same mask always gives the same text.

**Encoders** (:mod:`affect_lib.lasca.encoders`): ``minilm`` and ``mpnet``, frozen, loaded from local
folders; embeddings are L2-normalised (``normalize_embeddings=True``).

**Token cap.** The encoder reads at most ``MAX_SEQ_LENGTH`` = 128 word pieces per text
(:mod:`affect_lib.lasca.encoders`; the models allow 256 and 384). Per-video z-scores are roughly
symmetric, so Otsu marks many features salient: about 28-30 of 73 in a SynthAffWild window, a
template text of hundreds of word pieces with the affective lexicon. The encoder then reads only the
first few cues (in the order above: brows, cheeks, eyes; :func:`cues_within_cap` counts them, and
chapter 5 shows the numbers); the rest is cut. The cap
keeps encoding affordable on 2 CPU cores (its cost grows with the token count); pass
``max_seq_length`` to change it (the embedding cache keys include it). The pooled mode below has no
such cut.

**Two encoding modes.** ``mode="template"`` (the paper's): each window's whole template text is
encoded, one encoder call per distinct active-feature set. ``mode="pooled"`` (our cheap
approximation): each feature's one-cue template text ("Salient facial cues: <description>.") is
encoded once, and a window's embedding is the L2-normalised mean of its salient cues' embeddings
(:data:`NO_CUE_TEXT`'s embedding when none is salient). Pooled embeddings are still a pure function
of the mask, have no token cap on the number of cues (every salient cue counts, where the template's
cap keeps only the first few), and cost 74 encodings per (encoder, lexicon) instead of one per window;
what they lose is the encoder reading the cues *together* (the paper's "contextual relationships
among active cues"). On 2 CPU cores the template mode costs minutes per window set with MPNet,
the pooled mode seconds.

**Cache.** :class:`EmbeddingCache` keys an embedding by (encoder, lexicon, active-feature set); the
disk store's name also carries a hash of the lexicon texts, the template, the token cap and the
encoder package's version, so an edited lexicon or new weights never reuse old embeddings. Only the
missing masks are encoded, in one batched call.
The pooled mode stores its 74 one-cue embeddings in the same way (keys: one-hot masks and the empty
mask), in a store of its own: they are always encoded together in one batch, so they are the same
bits on every run. (A sentence encoder's output moves in the last float bits, ~1e-7, with the other
texts of its batch; in template mode the batch is "the masks missing from the cache", so a run with
a partly warm cache can differ from a cold one at that level.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from affect_lib.io import atomic_path
from affect_lib.lasca.encoders import (
    ENCODERS,
    MAX_SEQ_LENGTH,
    EncoderError,
    load_encoder,
    model_cache_dir,
    weights_id,
)
from affect_lib.lasca.lexicon import (
    LEXICONS,
    lexicon_hash,
    load_lexicon,
    validate_lexicon,
)
from affect_lib.lasca.names import FACE_FEATURES, FEATURE_NAMES, N_FEATURES

__all__ = [
    "TEMPLATE",
    "NO_CUE_TEXT",
    "MODES",
    "describe",
    "describe_many",
    "cues_within_cap",
    "mask_key",
    "template_hash",
    "embedding_cache_dir",
    "EmbeddingCache",
]

TEMPLATE: Mapping[str, str] = MappingProxyType(
    {
        "face": "Salient facial cues: {cues}.",
        "voice": "Salient vocal cues: {cues}.",
        "sep": "; ",
        "join": " ",
        "version": "1",
    }
)
NO_CUE_TEXT = "No facial or vocal cue stands out from this person's usual behaviour."
MODES = ("template", "pooled")
_N_FACE = len(FACE_FEATURES)


# ----------------------------------------------------------------------------------------- template
def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.shape[-1:] != (N_FEATURES,):
        raise ValueError(
            f"a saliency mask has {N_FEATURES} entries (FEATURE_NAMES), got shape {mask.shape}"
        )
    return mask.astype(bool, copy=False)


def describe(mask: np.ndarray, lexicon: Mapping[str, str]) -> str:
    """The template text of one window's mask (73,) bool (module docstring)."""
    mask = _check_mask(mask)
    descs = [
        lexicon[name].rstrip(". ")
        for name, on in zip(FEATURE_NAMES, mask, strict=True)
        if on
    ]
    n_face = int(mask[:_N_FACE].sum())
    parts = []
    if n_face:
        parts.append(TEMPLATE["face"].format(cues=TEMPLATE["sep"].join(descs[:n_face])))
    if len(descs) > n_face:
        parts.append(
            TEMPLATE["voice"].format(cues=TEMPLATE["sep"].join(descs[n_face:]))
        )
    return TEMPLATE["join"].join(parts) if parts else NO_CUE_TEXT


def describe_many(masks: np.ndarray, lexicon: Mapping[str, str]) -> list[str]:
    """Template texts of masks (N, 73) bool."""
    return [describe(m, lexicon) for m in _check_mask(masks).reshape(-1, N_FEATURES)]


def cues_within_cap(
    masks: np.ndarray,
    lexicon: Mapping[str, str],
    count_tokens: Callable[[list[str]], Sequence[int]],
    max_tokens: int = MAX_SEQ_LENGTH,
) -> np.ndarray:
    """How many of each window's salient cues the encoder reads whole under the token cap: (N,) int.

    ``masks`` (N, 73) bool (or one (73,) mask: a 0-d result). For each mask, the largest k such that
    the template of its first k salient cues (template order) has at most ``max_tokens`` word pieces;
    ``count_tokens(texts)`` returns the word-piece count of every text, the encoder's special tokens
    included (one batched tokenizer call). A template's length grows with every cue, so a binary
    search over k finds it, run for all masks at once: about log2(73) ≈ 7 calls of ``count_tokens``.
    """
    masks = _check_mask(masks)
    flat = masks.reshape(-1, N_FEATURES)
    lo, hi = np.zeros(len(flat), int), flat.sum(1)
    order = np.cumsum(
        flat, axis=1
    )  # order[i, f]: rank (1-based) of feature f among mask i's salient cues
    while (open_ := np.flatnonzero(lo < hi)).size:
        k = (lo[open_] + hi[open_] + 1) // 2
        first = flat[open_] & (order[open_] <= k[:, None])
        fits = (
            np.asarray(count_tokens(describe_many(first, lexicon)), int) <= max_tokens
        )
        lo[open_] = np.where(fits, k, lo[open_])
        hi[open_] = np.where(fits, hi[open_], k - 1)
    return lo.reshape(masks.shape[:-1])


def mask_key(mask: np.ndarray) -> bytes:
    """Compact, exact key of an active-feature set: the mask (73,) packed into 10 bytes."""
    return np.packbits(_check_mask(mask)).tobytes()


def template_hash(
    lexicon: Mapping[str, str], max_seq_length: int, weights: str = ""
) -> str:
    """Hash (hex, 16) of everything that changes a mask's embedding for one encoder: lexicon, template,
    token cap and ``weights`` (:func:`~affect_lib.lasca.encoders.weights_id`)."""
    blob = json.dumps(
        {
            "lexicon": lexicon_hash(lexicon),
            "template": dict(TEMPLATE),
            "no_cue": NO_CUE_TEXT,
            "max_seq_length": max_seq_length,
            "weights": weights,
        },
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# ------------------------------------------------------------------------------------- disk store
def embedding_cache_dir() -> Path:
    """A shared disk store for :class:`EmbeddingCache`: ``<model cache>/embeddings``. Embeddings depend
    only on encoder weights, lexicon, template and token cap (all in the store's name), so every
    profile and run can share it."""
    return model_cache_dir() / "embeddings"


# -------------------------------------------------------------------------------------------- cache
class EmbeddingCache:
    """Sentence embeddings of saliency masks for one (encoder, lexicon), in memory and on disk.

    ``embed(masks)`` returns (N, D) float32 L2-normalised embeddings; masks seen before (in memory,
    or in the disk store under ``cache_dir``) are not encoded again, the others are encoded in one
    batched call and added to both. The disk store is one ``.npz`` per (encoder, lexicon name, hash
    of lexicon + template + token cap + encoder package version), written atomically; a lexicon edit
    or an upgraded encoder package changes the hash, so old embeddings are never reused (they are
    reported in ``stale_files``). ``cache_dir=None``: memory only.

    ``mode``: "template" or "pooled" (module docstring). ``model``: anything with the
    ``SentenceTransformer.encode`` signature (tests pass a fake); by default the encoder is loaded on
    the first miss. ``lexicon_texts``: a custom ``{feature: text}`` mapping (validated) instead of
    the lexicon file; ``lexicon`` then only names the store. ``stats`` counts hits and misses (of
    window masks in template mode, of one-cue masks in pooled mode) and encoder calls.
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
        self._cue_matrix: np.ndarray | None = (
            None  # pooled mode: (74, D), rows = FEATURE_NAMES + no cue
        )
        self.stats = {"memory_hits": 0, "disk_hits": 0, "misses": 0, "encode_calls": 0}
        self.stale_files: list[Path] = []
        self._disk_keys: set[bytes] = (
            set()
        )  # keys read from the disk store when this cache was opened
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
        if self.cache_dir.is_dir():
            self.stale_files = sorted(
                p for p in self.cache_dir.glob(f"{prefix}*.npz") if p != self.path
            )
        if not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as store:
                meta = json.loads(str(store["meta"]))
                keys, emb = store["keys"], store["embeddings"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(
                f"{self.path}: unreadable embedding cache ({exc}); delete it to rebuild"
            ) from exc
        expected = self._meta()
        if any(meta.get(k) != v for k, v in expected.items()):
            raise ValueError(
                f"{self.path}: embedding cache made for {meta}, expected {expected}; delete it"
            )
        # a damaged store must not be served: fresh encodes are checked the same way (_encode)
        finite = bool(np.isfinite(emb).all())
        if keys.ndim != 2 or emb.ndim != 2 or len(keys) != len(emb) or not finite:
            raise ValueError(
                f"{self.path}: unreadable embedding cache ({len(keys)} keys {keys.shape}, embeddings "
                f"{emb.shape}, finite: {finite}); delete it to rebuild"
            )
        for key_row, vec in zip(keys, emb, strict=True):
            self._memory[key_row.tobytes()] = vec
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
        """Write the store atomically (merging what another process may have added meanwhile)."""
        if self.path is None or not self._dirty:
            return
        merged = dict(self._memory)
        if self.path.is_file():
            with (
                contextlib.suppress(OSError, ValueError, KeyError, zipfile.BadZipFile),
                np.load(self.path, allow_pickle=False) as store,
            ):
                for key_row, vec in zip(
                    store["keys"], store["embeddings"], strict=True
                ):
                    merged.setdefault(key_row.tobytes(), vec)
        keys = sorted(merged)
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(
                        len(keys), -1
                    ),
                    embeddings=np.stack([merged[k] for k in keys]).astype(np.float32),
                    meta=np.array(json.dumps(self._meta(), sort_keys=True)),
                )
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
                f"encoder {self.encoder!r} returned {out.shape} / non-finite values for "
                f"{len(texts)} texts"
            )
        return out

    def embed(self, masks: np.ndarray, *, save: bool = True) -> np.ndarray:
        """(N, 73) bool masks -> (N, D) float32 embeddings; encodes only unseen masks, once each."""
        masks = _check_mask(masks).reshape(-1, N_FEATURES)
        if self.mode == "pooled":
            return self._pool(masks, save)
        return self._embed_masks(masks, save)

    def _cues(self, save: bool) -> np.ndarray:
        if self._cue_matrix is None:
            atoms = np.vstack(
                [np.eye(N_FEATURES, dtype=bool), np.zeros((1, N_FEATURES), dtype=bool)]
            )
            self._cue_matrix = self._embed_masks(atoms, save)
        return self._cue_matrix

    def _pool(self, masks: np.ndarray, save: bool) -> np.ndarray:
        cues = self._cues(save)
        summed = masks.astype(np.float32) @ cues[:N_FEATURES]
        norm = np.linalg.norm(summed, axis=1, keepdims=True)
        empty = ~masks.any(axis=1)
        out = summed / np.where(norm > 0, norm, 1.0)
        out[empty] = cues[N_FEATURES]
        if (norm[~empty] == 0).any():
            raise EncoderError(
                "pooled embedding: salient cues whose embeddings cancel out exactly"
            )
        return out.astype(np.float32)

    def _embed_masks(self, masks: np.ndarray, save: bool) -> np.ndarray:
        packed = np.packbits(masks, axis=1)
        keys = [row.tobytes() for row in packed]
        missing: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            if key in self._memory:
                self.stats[
                    "disk_hits" if key in self._disk_keys else "memory_hits"
                ] += 1
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
            return np.zeros(
                (0, self.dim if self._memory else ENCODERS[self.encoder]["dim"]),
                np.float32,
            )
        return np.stack([self._memory[k] for k in keys])

    def lookup(self, mask: np.ndarray) -> np.ndarray:
        """Embedding (D,) of one mask (73,) bool: the inference fast path (a dict lookup in template
        mode, a small matrix product in pooled mode; encodes on a miss)."""
        mask = _check_mask(
            mask
        )  # a 0/1 int mask would index rows 0 and 1 in pooled mode
        if mask.ndim != 1:
            raise ValueError(
                f"lookup takes one mask ({N_FEATURES},), got shape {mask.shape}; use embed for many"
            )
        if self.mode == "pooled" and self._cue_matrix is not None:
            if not mask.any():
                return self._cue_matrix[N_FEATURES]
            v = self._cue_matrix[:N_FEATURES][mask].sum(axis=0)
            return v / np.linalg.norm(v)
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
