"""Reliability of the caches and artifacts (issue #9, "Artifacts").

Two guarantees, for each cache the book keeps on disk (the LaScA embedding store, the
SynthAffWild window cache and the Affect-Diff checkpoints):

- **stale**: a file made for other parameters is detected (by the hash its name and
  content carry) and rebuilt or refused, never silently reused;
- **crash**: a crash halfway through rewriting a file leaves the previous file
  byte-for-byte intact and no partial or temporary file behind.

Crashes are simulated by letting the real serialiser produce its bytes, writing half of
them, then raising: the closest a test gets to a process killed mid-write.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from affect_lib.config import LascaConfig, load_profile
from affect_lib.lasca import folders as F
from affect_lib.lasca.lexicon import load_lexicon
from affect_lib.lasca.names import FEATURE_NAMES, N_FEATURES
from affect_lib.lasca.semantic import EmbeddingCache
from tests.lasca.test_semantic import FakeEncoder

pytestmark = pytest.mark.reliability

LEX = load_lexicon("affective")
EDITED = {**LEX, "jawOpen": "Jaw drop: an edited description."}


class SimulatedCrash(OSError):
    """The process 'dies' halfway through a write."""


def _savez_then_crash(real_savez):
    """np.savez that writes the first half of the real archive to the file, then
    crashes."""

    def savez(file, *args, **kwargs):
        buffer = io.BytesIO()
        real_savez(buffer, *args, **kwargs)
        data = buffer.getvalue()
        file.write(data[: len(data) // 2])
        file.flush()
        raise SimulatedCrash("killed halfway through np.savez")

    return savez


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes), temp files included."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------------- embedding store
def _masks(n: int = 10, seed: int = 0) -> np.ndarray:
    masks = np.random.default_rng(seed).random((n, N_FEATURES)) < 0.4
    # every text quotes the entry EDITED changes
    masks[:, FEATURE_NAMES.index("jawOpen")] = True
    return masks


def test_embedding_store_of_another_lexicon_is_rebuilt(tmp_path):
    masks = _masks()
    old = EmbeddingCache(
        encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path, lexicon_texts=LEX
    )
    old_emb = old.embed(masks)
    fake = FakeEncoder()
    new = EmbeddingCache(
        encoder="minilm", model=fake, cache_dir=tmp_path, lexicon_texts=EDITED
    )
    emb = new.embed(masks)
    fresh = EmbeddingCache(
        encoder="minilm", model=FakeEncoder(), lexicon_texts=EDITED
    ).embed(masks)  # no disk
    np.testing.assert_array_equal(emb, fresh)  # the edited lexicon's embeddings ...
    # ... and none of the old ones
    assert not np.isclose(emb, old_emb).all(axis=1).any()
    assert new.stats["disk_hits"] == 0 and sum(map(len, fake.calls)) == len(masks)
    # the old store is reported, untouched
    assert new.path != old.path and new.stale_files == [old.path]
    reopened = EmbeddingCache(
        encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path, lexicon_texts=EDITED
    )
    np.testing.assert_array_equal(reopened.embed(masks), fresh)
    # the rebuilt store is the one used next time
    assert reopened.stats["disk_hits"] == len(masks)


@pytest.mark.parametrize(
    "other",
    [
        {"lexicon_texts": EDITED},
        {"max_seq_length": 64},
        {"encoder": "mpnet"},
        {"mode": "pooled"},
    ],
    ids=["lexicon", "token-cap", "encoder", "mode"],
)
def test_embedding_store_under_the_wrong_name_is_refused(tmp_path, other):
    """A store copied onto another configuration's file name (same name, other content)
    is not used."""
    source = EmbeddingCache(
        encoder="minilm",
        model=FakeEncoder(),
        cache_dir=tmp_path / "a",
        lexicon_texts=LEX,
    )
    source.embed(_masks())
    target = EmbeddingCache(
        **{"encoder": "minilm", "lexicon_texts": LEX, **other},
        model=FakeEncoder(),
        cache_dir=tmp_path / "b",
    )
    assert target.path.name != source.path.name
    target.path.parent.mkdir()
    shutil.copy(source.path, target.path)
    with pytest.raises(ValueError, match="embedding cache made for .*delete it"):
        EmbeddingCache(
            **{"encoder": "minilm", "lexicon_texts": LEX, **other},
            model=FakeEncoder(),
            cache_dir=tmp_path / "b",
        )


def test_embedding_store_crash_midway_keeps_the_previous_store(tmp_path, monkeypatch):
    cache = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    first = cache.embed(_masks(6))
    before = _snapshot(tmp_path)
    monkeypatch.setattr(np, "savez", _savez_then_crash(np.savez))
    with pytest.raises(SimulatedCrash):
        # new masks: the store is rewritten, and the write dies
        cache.embed(_masks(4, seed=1))
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before  # old store intact, no partial or temp file
    reopened = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    np.testing.assert_array_equal(reopened.embed(_masks(6)), first)
    assert reopened.stats["disk_hits"] == 6


# ----------------------------------------------------------------- SynthAffWild windows
TINY = LascaConfig(
    n_subjects=4,
    videos_per_subject=1,
    video_seconds=12.0,
    fps=10.0,
    audio_sr=8000,
    windows_s=(2.0, 3.0),
)


def _window_cache(folder: Path, window: str) -> Path:
    (path,) = folder.glob(f"synth_affwild_windows_*_{window}_*.npz")
    return path


def test_window_cache_of_another_seed_is_recomputed(tmp_path, monkeypatch):
    # seed 1, computed from scratch
    expected = F.synth_affwild_windows(TINY, 1, 3.0, tmp_path / "reference")
    seed1_name = _window_cache(tmp_path / "reference", "3s").name
    work = tmp_path / "work"
    seed0 = F.synth_affwild_windows(TINY, 0, 3.0, work)
    # seed 0's windows under seed 1's name
    shutil.copy(_window_cache(work, "3s"), work / seed1_name)
    got = F.synth_affwild_windows(TINY, 1, 3.0, work)
    np.testing.assert_array_equal(got.X, expected.X)
    np.testing.assert_array_equal(got.valence, expected.valence)
    assert not np.array_equal(got.valence[:20], seed0.valence[:20])

    def no_generation(*args, **kwargs):
        raise AssertionError("the rebuilt window cache should have been used")

    # the rebuilt file is now a valid hit
    monkeypatch.setattr(F, "generate_synth_affwild", no_generation)
    np.testing.assert_array_equal(
        F.synth_affwild_windows(TINY, 1, 3.0, work).X, expected.X
    )


def test_window_cache_crash_midway_keeps_the_previous_files(tmp_path, monkeypatch):
    F.synth_affwild_windows(TINY, 0, 3.0, tmp_path)
    before = {
        name: data
        for name, data in _snapshot(tmp_path).items()
        if "synth_affwild_windows" in name
    }
    assert len(before) == 2
    monkeypatch.setattr(np, "savez", _savez_then_crash(np.savez))
    with pytest.raises(SimulatedCrash):
        # a miss rewrites the 2 s and 3 s files too
        F.synth_affwild_windows(TINY, 0, 2.5, tmp_path)
    monkeypatch.undo()
    after = {
        name: data
        for name, data in _snapshot(tmp_path).items()
        if "synth_affwild_windows" in name
    }
    assert after == before  # both files intact; no 2.5 s file, partial or temp file


# -------------------------------------------------------------- Affect-Diff checkpoints
@pytest.fixture(scope="module")
def trained(tmp_path_factory, smoke_cfg):
    from affect_lib.affect_diff.train import train_affect_diff
    from affect_lib.data.datamodule import build_datamodule

    cfg = dataclasses.replace(smoke_cfg, run_dir=str(tmp_path_factory.mktemp("run")))
    return cfg, train_affect_diff(cfg, build_datamodule(cfg), max_epochs=1)


@pytest.mark.parametrize(
    "key,value", [("latent_dim", 4), ("diffusion_steps", 300), ("seed", 1)]
)
def test_checkpoint_for_another_config_is_refused(trained, key, value):
    from affect_lib.affect_diff.module import CheckpointMismatchError, load_affect_diff

    cfg, result = trained
    # location is free
    load_affect_diff(
        result.last_checkpoint, dataclasses.replace(cfg, run_dir="/elsewhere")
    )
    with pytest.raises(CheckpointMismatchError, match=rf"differs in [^;]*\b{key}\b"):
        load_affect_diff(result.last_checkpoint, load_profile("smoke", **{key: value}))


@pytest.fixture
def system_tmp(tmp_path, monkeypatch) -> Path:
    """The system temp dir, redirected: fsspec stages checkpoint bytes there before
    moving them."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_checkpoint_crash_midway_keeps_the_previous_checkpoint(
    trained, system_tmp, monkeypatch
):
    import io

    import torch

    from affect_lib.affect_diff.module import load_affect_diff

    real_save = torch.save

    def save_half_then_crash(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer)
        Path(f).write_bytes(buffer.getvalue()[: buffer.tell() // 2])
        raise SimulatedCrash("killed halfway through writing the checkpoint")

    cfg, result = trained
    folder = result.last_checkpoint.parent
    before = _snapshot(folder)
    monkeypatch.setattr(torch, "save", save_half_then_crash)
    with pytest.raises(SimulatedCrash):
        result.module.trainer.save_checkpoint(result.last_checkpoint)
    monkeypatch.undo()
    # no partial or temp file
    assert _snapshot(folder) == before and not list(system_tmp.iterdir())
    # still a complete, loadable checkpoint
    load_affect_diff(result.last_checkpoint, cfg)


def test_checkpoints_are_never_staged_in_the_system_temp_dir(
    trained, system_tmp, monkeypatch
):
    """A checkpoint moved from another filesystem is copied into place, not renamed: a
    crash mid-copy would truncate it. Our CheckpointIO writes beside the target, so /tmp
    is never involved."""
    from affect_lib.affect_diff.module import load_affect_diff

    cfg, result = trained
    real_rename, real_copyfile = os.rename, shutil.copyfile

    def rename(src, dst, *args, **kwargs):
        if str(src).startswith(str(system_tmp)):  # as if /tmp were another disk
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(src, dst, *args, **kwargs)

    def copyfile(src, dst, *args, **kwargs):
        if str(src).startswith(str(system_tmp)):
            Path(dst).write_bytes(Path(src).read_bytes()[: os.path.getsize(src) // 2])
            raise SimulatedCrash("killed halfway through copying the checkpoint")
        return real_copyfile(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(shutil, "copyfile", copyfile)
    result.module.trainer.save_checkpoint(result.last_checkpoint)
    monkeypatch.undo()
    assert not list(system_tmp.iterdir())
    load_affect_diff(result.last_checkpoint, cfg)
