"""Real-data runs: every notebook runs unchanged on a CMU-MOSEI folder in the released
layout.

The fixture folder is SynthMOSEI (smoke profile) written as CMU-MultimodalSDK
computational sequences: one video per utterance, one word per time step (0.5 s),
COVAREP-like audio at 10 Hz and FACET-like video at 4 Hz inside each word, a label row
per utterance, and a ``folds.json``.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures_formats import AUDIO, LABELS, TEXT, VIDEO, write_sdk_csd

from affect_lib.config import load_profile
from affect_lib.data.datamodule import build_datamodule
from affect_lib.data.synthetic.affwild import generate_synth_affwild
from affect_lib.data.synthetic.mosei import generate_synth_mosei
from conftest import ROOT

WORD_S = 0.5


def write_synth_as_mosei(root: Path, seed: int = 0) -> dict[str, list[str]]:
    corpora = generate_synth_mosei(load_profile("smoke").data, seed=seed)
    files = {m: {} for m in ("text", "audio", "video", "labels")}
    folds: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for split, fold in (("train", "train"), ("val", "valid"), ("test", "test")):
        c = corpora[split]
        for i in range(len(c)):
            vid = f"v{split}{i:04d}"
            steps = np.flatnonzero(c.mask[i])
            words = (
                np.stack([np.arange(len(steps)), np.arange(1, len(steps) + 1)], axis=1)
                * WORD_S
            )
            files["text"][vid] = (c.text[i, steps], words)
            for m, hz in (("audio", 10), ("video", 4)):
                per = int(WORD_S * hz)
                rows = np.repeat(getattr(c, m)[i, steps], per, axis=0)
                iv = (
                    np.stack(
                        [np.arange(len(rows)), np.arange(1, len(rows) + 1)], axis=1
                    )
                    / hz
                )
                files[m][vid] = (rows, iv)
            label = np.concatenate([[0.0], c.emotions[i]])[None].astype(np.float32)
            files["labels"][vid] = (label, np.array([[0.0, len(steps) * WORD_S]]))
            folds[fold].append(vid)
    root.mkdir(parents=True, exist_ok=True)
    for name, key in (
        (TEXT, "text"),
        (AUDIO, "audio"),
        (VIDEO, "video"),
        (LABELS, "labels"),
    ):
        write_sdk_csd(
            root / name, "All Labels" if key == "labels" else name[:-4], files[key]
        )
    (root / "folds.json").write_text(json.dumps(folds))
    return folds


def test_cmu_mosei_source_builds_the_batch_contract(tmp_path):
    folds = write_synth_as_mosei(tmp_path / "mosei")
    cfg = load_profile(
        "smoke", data_source="cmu_mosei", data_dir=str(tmp_path / "mosei")
    )
    dm = build_datamodule(cfg)
    assert len(dm.corpora["train"]) == len(folds["train"]) and len(
        dm.corpora["test"]
    ) == len(folds["test"])
    batch = next(iter(dm.train_dataloader()))
    assert batch["text"].shape[1:] == (cfg.data.seq_len, cfg.data.text_dim)
    assert (batch["driver"] == -1).all()  # real data have no planted driver
    synth = generate_synth_mosei(cfg.data, seed=0)["test"]
    # labels survive the round trip
    np.testing.assert_array_equal(dm.corpora["test"].label, synth.label)


@pytest.mark.slow
def test_every_notebook_runs_on_a_real_layout_folder(tmp_path):
    write_synth_as_mosei(tmp_path / "mosei")
    affect_diff = [
        arg for nn in ("01", "02", "03", "04", "06") for arg in ("--only", nn)
    ]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "affect_lib.publish.cli",
            "run",
            "--profile",
            "smoke",
            *affect_diff,
            "-p",
            "data_source",
            "cmu_mosei",
            "-p",
            "data_dir",
            str(tmp_path / "mosei"),
            "-p",
            "run_dir",
            str(tmp_path / "run"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads(
        (tmp_path / "run" / "affect_diff" / "metrics.json").read_text()
    )
    # undefined without a planted driver, not a number
    assert metrics["test"]["driver_recovery_acc"] is None
    assert (tmp_path / "run" / "affect_diff" / "counterfactuals.json").is_file()
    ablations = json.loads(
        (tmp_path / "run" / "ablations" / "summary.json").read_text()
    )
    # no planted driver on real data
    assert ablations["variants"]["full"]["driver_acc"] is None
    assert 0 <= ablations["variants"]["no_graph"]["accuracy"] <= 1

    # LaScA's chapter reads Aff-Wild2's layout: SynthAffWild's files are written in
    # exactly that layout. Without the optional videos.csv (Aff-Wild2 ships none) the
    # frame rate comes from the fps parameter.
    affwild = generate_synth_affwild(
        load_profile("smoke").lasca, seed=1, out_dir=tmp_path / "affwild"
    )
    (affwild / "videos.csv").unlink()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "affect_lib.publish.cli",
            "run",
            "--profile",
            "smoke",
            "--only",
            "05",
            "-p",
            "data_source",
            "aff_wild2",
            "-p",
            "data_dir",
            str(affwild),
            "-p",
            "fps",
            "10",
            "-p",
            "run_dir",
            str(tmp_path / "run"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "lasca" / "protocol.json").read_text())[
        "summary"
    ]

    # ... and SEWA's: the same files with the annotations as labels/<recording>.csv
    # traces (time,valence, arousal; unannotated frames left out) give the same windows,
    # hence the same tables
    sewa = generate_synth_affwild(
        load_profile("smoke").lasca, seed=1, out_dir=tmp_path / "sewa"
    )
    (sewa / "videos.csv").unlink()
    (sewa / "labels").mkdir()
    for ann in sorted((sewa / "annotations").glob("*.txt")):
        rows = [line.split(",") for line in ann.read_text().splitlines()[1:]]
        (sewa / "labels" / f"{ann.stem}.csv").write_text(
            "time,valence,arousal\n"
            + "".join(
                f"{k / 10:.4f},{v},{a}\n"
                for k, (v, a) in enumerate(rows)
                if v.strip() != "-5"
            )
        )
        ann.unlink()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "affect_lib.publish.cli",
            "run",
            "--profile",
            "smoke",
            "--only",
            "05",
            "-p",
            "data_source",
            "sewa",
            "-p",
            "data_dir",
            str(sewa),
            "-p",
            "fps",
            "10",
            "-p",
            "run_dir",
            str(tmp_path / "run_sewa"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    tables = [
        json.loads((tmp_path / run / "lasca" / "protocol.json").read_text())["summary"]
        for run in ("run", "run_sewa")
    ]
    assert tables[0] == tables[1] and any(row["mean"] is not None for row in tables[1])
