"""SynthAffWild: files in the Aff-Wild2 layout that the real readers accept,
deterministic, cached."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from affect_lib.config import LascaConfig, load_profile
from affect_lib.data.affwild.annotations import read_affwild2_va
from affect_lib.data.affwild.reader import (
    BLENDSHAPE_NAMES,
    read_blendshapes_csv,
    read_wav,
)
from affect_lib.data.synthetic.affwild import generate_synth_affwild
from affect_lib.data.synthetic.affwild_files import dataset_is_valid
from affect_lib.data.synthetic.affwild_mapping import FACE_MAPPING, HEAD_POSE_MAPPING
from affect_lib.data.synthetic.affwild_spec import (
    SynthAffWildParams,
    SynthAffWildSpec,
    spec_hash,
    video_ids,
)
from affect_lib.lasca.names import FACE_FEATURES

SMALL = LascaConfig(
    n_subjects=4,
    videos_per_subject=2,
    video_seconds=6.0,
    fps=10.0,
    audio_sr=8000,
    windows_s=(3.0,),
)


@pytest.fixture(scope="module")
def smoke_lasca() -> LascaConfig:
    return load_profile("smoke").lasca


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory, smoke_lasca) -> Path:
    return generate_synth_affwild(
        smoke_lasca, seed=0, out_dir=tmp_path_factory.mktemp("saw") / "synth_affwild"
    )


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_layout_and_index(smoke_dir, smoke_lasca):
    lines = (smoke_dir / "videos.csv").read_text().splitlines()
    assert lines[0] == "video,subject,fps"
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == smoke_lasca.n_subjects * smoke_lasca.videos_per_subject
    assert {r[1] for r in rows} == {f"s{s:03d}" for s in range(smoke_lasca.n_subjects)}
    for video, _subject, fps in rows:
        assert float(fps) == smoke_lasca.fps
        for path in (
            f"annotations/{video}.txt",
            f"features/blendshapes/{video}.csv",
            f"audio/{video}.wav",
        ):
            assert (smoke_dir / path).is_file(), path
    manifest = json.loads((smoke_dir / "manifest.json").read_text())
    assert manifest["config_hash"] == spec_hash(
        SynthAffWildSpec.from_config(smoke_lasca, 0)
    )


def test_round_trip_through_the_real_readers(smoke_dir, smoke_lasca):
    n = int(smoke_lasca.video_seconds * smoke_lasca.fps)
    manifest = json.loads((smoke_dir / "manifest.json").read_text())
    for video, _ in video_ids(SynthAffWildSpec.from_config(smoke_lasca, 0)):
        va = read_affwild2_va(
            smoke_dir / "annotations" / f"{video}.txt", fps=smoke_lasca.fps
        )
        assert len(va.times) == n and va.valence.dtype == np.float32
        assert np.abs(va.valence).max() <= 1 and np.abs(va.arousal).max() <= 1
        # the traces move
        assert va.valence[va.valid].std() > 0.05 and va.arousal[va.valid].std() > 0.05
        text = (smoke_dir / "annotations" / f"{video}.txt").read_text().splitlines()
        # -5 lines are exactly the invalid frames
        assert text.count("-5,-5") == int((~va.valid).sum())
        assert np.all(va.valence[~va.valid] == 0)
        assert (~va.valid).mean() == pytest.approx(
            manifest["videos"][video]["invalid_share"]
        )

        face = read_blendshapes_csv(
            smoke_dir / "features" / "blendshapes" / f"{video}.csv", fps=smoke_lasca.fps
        )
        assert face.names == FACE_FEATURES and face.features.shape == (n, 58)
        np.testing.assert_allclose(face.times, np.arange(n) / smoke_lasca.fps)
        scores = face.features[face.valid, :52]
        assert scores.min() >= 0 and scores.max() <= 1
        assert (~face.valid).mean() == pytest.approx(
            manifest["videos"][video]["face_lost_share"]
        )

        audio = read_wav(smoke_dir / "audio" / f"{video}.wav")
        assert audio.sample_rate == smoke_lasca.audio_sr and audio.samples.shape == (
            n * 800,
            1,
        )
        assert 0.1 < np.abs(audio.samples).max() <= 0.81
        with wave.open(str(smoke_dir / "audio" / f"{video}.wav")) as w:
            assert w.getsampwidth() == 2 and w.getnchannels() == 1


def test_invalid_frames_are_written_as_minus_five(tmp_path):
    params = SynthAffWildParams(
        dropouts_per_min=30.0, long_dropout_prob=1.0, face_lost_per_min=20.0
    )
    folder = generate_synth_affwild(
        SMALL, seed=3, out_dir=tmp_path / "d", params=params
    )
    invalid = lost = 0
    for video, _ in video_ids(SynthAffWildSpec.from_config(SMALL, 3, params)):
        va = read_affwild2_va(folder / "annotations" / f"{video}.txt", fps=SMALL.fps)
        face = read_blendshapes_csv(
            folder / "features" / "blendshapes" / f"{video}.csv", fps=SMALL.fps
        )
        invalid += int((~va.valid).sum())
        lost += int((~face.valid).sum())
    assert invalid > 30 and lost > 10


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = _digest(generate_synth_affwild(SMALL, seed=5, out_dir=tmp_path / "a"))
    b = _digest(generate_synth_affwild(SMALL, seed=5, out_dir=tmp_path / "b"))
    c = _digest(generate_synth_affwild(SMALL, seed=6, out_dir=tmp_path / "c"))
    assert a == b
    assert set(a) == set(c)
    assert all(
        a[k] != c[k] for k in a if k.startswith(("annotations", "features", "audio"))
    )


def test_cache_reuse_rebuild_and_an_empty_folder(tmp_path):
    out = tmp_path / "synth"
    generate_synth_affwild(SMALL, seed=0, out_dir=out)
    marker = out / "marker"
    marker.write_text("kept while the folder is reused")
    generate_synth_affwild(SMALL, seed=0, out_dir=out)
    assert marker.exists()  # same config + seed: reused

    other = dataclasses.replace(SMALL, video_seconds=4.0)
    generate_synth_affwild(other, seed=0, out_dir=out)
    assert not marker.exists()  # another config: rebuilt
    assert dataset_is_valid(out, SynthAffWildSpec.from_config(other, 0))
    assert not dataset_is_valid(out, SynthAffWildSpec.from_config(SMALL, 0))
    assert read_affwild2_va(
        next((out / "annotations").glob("*.txt")), fps=10
    ).times.shape == (40,)

    marker.write_text("x")
    generate_synth_affwild(other, seed=1, out_dir=out)  # another seed: rebuilt
    assert not marker.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    generate_synth_affwild(other, seed=1, out_dir=empty)  # an empty folder is filled
    assert dataset_is_valid(empty, SynthAffWildSpec.from_config(other, 1))
    shutil.rmtree(empty)
    # no temp or old folders left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth"]


@pytest.mark.parametrize(
    "damage",
    ["real copy", "no manifest", "corrupt manifest", "foreign manifest", "a file"],
)
def test_a_folder_that_is_not_a_synth_set_is_never_replaced(tmp_path, damage):
    out = tmp_path / "data"
    if damage == "a file":
        out.write_text("not a folder")
    # the Aff-Wild2 layout without our manifest: a user's real data
    elif damage == "real copy":
        (out / "annotations").mkdir(parents=True)
        (out / "annotations" / "video1.txt").write_text("valence,arousal\n0.1,0.2\n")
    else:
        generate_synth_affwild(SMALL, seed=0, out_dir=out)
        manifest = out / "manifest.json"
        if damage == "no manifest":
            manifest.unlink()
        elif damage == "corrupt manifest":
            manifest.write_text("{ not json")
        else:
            manifest.write_text('{"generator": "someone else", "config_hash": "x"}')
    before = _digest(out) if out.is_dir() else out.read_text()
    with pytest.raises(FileExistsError, match=re.escape(f"SynthAffWild: {out}")):
        generate_synth_affwild(SMALL, seed=1, out_dir=out)
    assert (_digest(out) if out.is_dir() else out.read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no temp folder left


def test_a_failed_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    import affect_lib.data.synthetic.affwild as saw

    out = generate_synth_affwild(SMALL, seed=0, out_dir=tmp_path / "synth")
    before = _digest(out)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(saw, "_write_wav", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_synth_affwild(SMALL, seed=1, out_dir=out)
    assert _digest(out) == before  # the old complete set is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth"]


def test_mapping_table_is_complete_and_grounded():
    assert (
        tuple(FACE_MAPPING) == BLENDSHAPE_NAMES
        and tuple(HEAD_POSE_MAPPING) == FACE_FEATURES[52:]
    )
    for side in ("Left", "Right"):
        assert (
            FACE_MAPPING[f"mouthSmile{side}"].valence > 0
            and FACE_MAPPING[f"cheekSquint{side}"].valence > 0
        )
        assert (
            FACE_MAPPING[f"mouthFrown{side}"].valence < 0
            and FACE_MAPPING[f"browDown{side}"].valence < 0
        )
        assert (
            FACE_MAPPING[f"noseSneer{side}"].valence < 0
            and FACE_MAPPING[f"eyeWide{side}"].arousal > 0
        )
        assert (
            FACE_MAPPING[f"eyeBlink{side}"].valence
            == FACE_MAPPING[f"eyeBlink{side}"].arousal
            == 0
        )
    assert (
        FACE_MAPPING["jawOpen"].arousal > 0 and FACE_MAPPING["browInnerUp"].arousal > 0
    )
    assert all(c.note for c in FACE_MAPPING.values())


def test_subjects_differ_in_baselines_gains_and_noise(tmp_path):
    folder = generate_synth_affwild(SMALL, seed=0, out_dir=tmp_path / "d")
    with np.load(folder / "truth.npz") as truth:
        smile = list(truth["face_features"]).index("mouthSmileLeft")
        gains = truth["gain_valence"][:, smile]
        assert (gains > 0).all() and gains.max() / gains.min() > 1.5
        assert (
            truth["base"][:, smile].std() > 0.3
            and truth["noise"].std(axis=0).mean() > 0.3
        )
        assert truth["lag_s"].shape == (8,)


def test_features_follow_the_mapping_across_the_corpus(tmp_path):
    """Window means, standardised within each video (subject baselines and gains differ
    a lot), follow the mapping table: smiles with valence, frowns against it, eye
    widening / jaw drop and the MFCC energy term (librosa's c0, our mfcc_1) with
    arousal; blinks with neither."""
    from affect_lib.lasca.folders import load_windows
    from affect_lib.lasca.names import FEATURE_NAMES

    cfg = LascaConfig(
        n_subjects=8,
        videos_per_subject=1,
        video_seconds=60.0,
        fps=10.0,
        audio_sr=8000,
        windows_s=(2.0,),
    )
    ws = load_windows(
        generate_synth_affwild(cfg, seed=0, out_dir=tmp_path / "d"), 2.0
    ).per_video_zscore()
    col = {n: i for i, n in enumerate(FEATURE_NAMES)}

    def corr(names: list[str], target: np.ndarray) -> float:
        return float(
            np.corrcoef(ws.X[:, [col[n] for n in names]].mean(axis=1), target)[0, 1]
        )

    lr = ("Left", "Right")
    assert (
        corr([f"{c}{s}" for c in ("mouthSmile", "cheekSquint") for s in lr], ws.valence)
        > 0.2
    )
    assert (
        corr(
            [f"{c}{s}" for c in ("mouthFrown", "browDown", "noseSneer") for s in lr],
            ws.valence,
        )
        < -0.25
    )
    assert (
        corr(["eyeWideLeft", "eyeWideRight", "jawOpen", "browInnerUp"], ws.arousal)
        > 0.2
    )
    assert corr(["mfcc_1"], ws.arousal) > 0.05
    # chance level only (autocorrelated)
    assert abs(corr(["eyeBlinkLeft", "eyeBlinkRight"], ws.valence)) < 0.4


@pytest.mark.parametrize(
    "bad",
    [
        {"noise_std": -1.0},
        {"lag_s": (2.0, 1.0)},
        {"fast_tau_s": 0.0},
        {"cue_gain": float("nan")},
    ],
)
def test_bad_generator_parameters_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        SynthAffWildParams(**bad)
