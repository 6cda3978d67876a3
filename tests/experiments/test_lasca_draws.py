"""One LaScA cell over SynthAffWild draws (tiny data, fake sentence encoder) and the
gap's t-interval."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from affect_lib.config import LascaConfig
from affect_lib.data.synthetic.affwild_spec import SynthAffWildParams
from affect_lib.experiments.lasca_draws import cell_over_draws, gap_summary
from affect_lib.experiments.lasca_protocol import run_protocol
from affect_lib.lasca.folders import synth_affwild_windows
from conftest import ROOT
from tests.experiments.test_lasca_protocol import fake_caches

# big enough to fit the 5 s / tau 5 % cell (about 30 pairs), small enough to generate in
# a second
SMALL = LascaConfig(
    n_subjects=6,
    videos_per_subject=1,
    video_seconds=50.0,
    fps=10.0,
    audio_sr=8000,
    taus=(0.05,),
    encoders=("minilm",),
    n_seeds=2,
    hidden=8,
    max_iter=4,
)


def test_the_draw_of_the_chapters_seed_is_the_chapters_cell(tmp_path):
    caches = fake_caches(("minilm",))
    variants = ("features", "st", "fusion", "namelex")
    draws = cell_over_draws(
        SMALL,
        [3, 4],
        tmp_path,
        targets=("arousal", "valence"),
        tau=0.05,
        caches=caches,
        variants=(*variants, "zfeatures"),
    )
    assert list(zip(draws["data_seed"], draws["target"], strict=True)) == [
        (3, "arousal"),
        (3, "valence"),
        (4, "arousal"),
        (4, "valence"),
    ]
    assert draws[list(variants)].notna().all().all()
    # only window caches kept
    assert not list(tmp_path.glob("**/*.wav")) and not list(tmp_path.glob("**/*.csv"))
    # the whole grid on the chapter's own data (seed 3) has the same accuracies in those
    # cells
    ws = synth_affwild_windows(SMALL, 3, 5.0, tmp_path)
    grid = run_protocol(
        [synth_affwild_windows(SMALL, 3, 3.0, tmp_path), ws],
        SMALL,
        seed=3,
        caches=caches,
    ).summary
    for i, target in enumerate(("arousal", "valence")):
        cell = grid[(grid["window_s"] == 5.0) & (grid["target"] == target)].set_index(
            "variant"
        )["mean"]
        for variant in variants:
            assert draws.loc[i, variant] == cell[variant], (target, variant)
    # the control
    assert draws["zfeatures"].notna().all() and not draws["zfeatures"].equals(
        draws["features"]
    )
    # another draw: other data
    assert draws.loc[2, "features"] != draws.loc[0, "features"]


def test_draws_follow_the_protocol_config(tmp_path):
    caches = fake_caches(("minilm",))
    a = cell_over_draws(
        SMALL, [3], tmp_path, tau=0.05, caches=caches, variants=("features",)
    )
    b = cell_over_draws(
        dataclasses.replace(SMALL, test_subjects=0.5),
        [3],
        tmp_path,
        tau=0.05,
        caches=caches,
        variants=("features",),
    )
    # three test subjects instead of two
    assert b.loc[0, "test_pairs"] > a.loc[0, "test_pairs"]


def test_bad_requests_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown variants"):
        cell_over_draws(SMALL, [0], tmp_path, variants=("fusion", "late"))
    with pytest.raises(ValueError, match=r"\['dominance'\]"):
        cell_over_draws(SMALL, [0], tmp_path, targets=("dominance",))
    with pytest.raises(ValueError, match="window_s 4 is not one of"):
        cell_over_draws(SMALL, [0], tmp_path, window_s=4.0)
    with pytest.raises(ValueError, match="no column"):
        gap_summary(pd.DataFrame({"fusion": [0.7]}))
    with pytest.raises(ValueError, match="level"):
        gap_summary(
            pd.DataFrame(
                {"target": ["arousal"], "fusion": [0.7], "features": [0.6], "st": [0.6]}
            ),
            level=95,
        )


def test_gap_summary_is_a_student_t_interval():
    draws = pd.DataFrame(
        {
            "target": "arousal",
            "fusion": [0.70, 0.74, 0.78, 0.72],
            "features": [0.68, 0.70, 0.71, 0.73],
            "st": [0.71, 0.70, np.nan, 0.72],
        }
    )
    valence = draws.assign(target="valence", fusion=draws["fusion"] + 0.1)
    out = gap_summary(pd.concat([draws, valence], ignore_index=True))
    assert list(out.index) == [
        ("arousal", "fusion - features"),
        ("arousal", "fusion - st"),
        ("valence", "fusion - features"),
        ("valence", "fusion - st"),
    ]
    gaps = np.array([0.02, 0.04, 0.07, -0.01])
    half = 3.182446305284263 * gaps.std(ddof=1) / 2  # t(0.975, 3 df) x sd / sqrt(4)
    row = out.loc[("arousal", "fusion - features")]
    assert row["mean"] == pytest.approx(0.03) and row["std"] == pytest.approx(
        gaps.std(ddof=1)
    )
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.03 - half, 0.03 + half))
    assert row["draws"] == 4 and row["positive"] == 0.75
    # targets kept apart
    assert out.loc[("valence", "fusion - features"), "mean"] == pytest.approx(0.13)
    st = out.loc[("arousal", "fusion - st")]  # the NaN draw is left out
    assert st["draws"] == 3 and st["mean"] == pytest.approx((-0.01 + 0.04 + 0.0) / 3)
    one = gap_summary(draws.iloc[:1])
    assert one.loc[("arousal", "fusion - features"), "draws"] == 1
    assert np.isnan(one.loc[("arousal", "fusion - features"), "ci_low"])


def test_draws_figure_draws_every_panel_and_survives_unfitted_cells():
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.collections import PathCollection

    from affect_lib.plots.lasca import draws_figure

    one = pd.DataFrame(
        {
            "data_seed": [0, 1, 2],
            "features": [0.70, 0.72, 0.74],
            "st": [0.71, 0.70, 0.69],
            "fusion": [0.73, 0.75, 0.72],
        }
    )
    table = pd.concat(
        [one.assign(target="arousal"), one.assign(target="valence")], ignore_index=True
    )
    worse = table.assign(**{v: table[v] - 0.01 for v in ("features", "st", "fusion")})
    fig = draws_figure({200: worse, 8: table}, 8)
    gaps, arousal, valence = fig.axes
    dots = [c for c in gaps.collections if isinstance(c, PathCollection)]
    # one dot per draw, gap and target
    assert [len(c.get_offsets()) for c in dots] == [
        3,
        3,
        3,
        3,
    ]
    assert arousal.get_title() == "arousal" and valence.get_title() == "valence"
    assert [text.get_text() for text in valence.get_legend().get_texts()] == [
        "features",
        "st",
        "fusion",
    ]
    # smoke data: no cell fitted
    nan = table.assign(features=np.nan, st=np.nan, fusion=np.nan)
    assert len(draws_figure({8: nan}, 8).axes) == 3
    with_control = {
        bs: t.assign(zfeatures=t["features"] + 0.05)
        for bs, t in ((200, worse), (8, table))
    }
    legend = (
        draws_figure(with_control, 8, extra=("zfeatures",))
        .axes[-1]
        .get_legend()
        .get_texts()
    )
    assert [text.get_text() for text in legend] == [
        "features",
        "st",
        "fusion",
        "zfeatures",
    ]


def test_sweep_script_writes_draws_and_gaps(tmp_path, monkeypatch, capsys):
    import functools
    import importlib.util
    import json

    path = ROOT / "scripts" / "lasca_fusion_sweep.py"
    spec = importlib.util.spec_from_file_location("lasca_fusion_sweep", path)
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    monkeypatch.setattr(
        sweep,
        "cell_over_draws",
        functools.partial(cell_over_draws, caches=fake_caches(("minilm",))),
    )
    small = [
        "n_subjects",
        6,
        "videos_per_subject",
        1,
        "video_seconds",
        50,
        "fps",
        10,
        "audio_sr",
        8000,
        "n_seeds",
        2,
        "hidden",
        8,
        "max_iter",
        4,
        "taus",
        "[0.05]",
    ]
    argv = [
        a
        for k, v in zip(small[::2], small[1::2], strict=True)
        for a in ("-p", k, str(v))
    ]
    out = tmp_path / "sweep.json"
    assert (
        sweep.main(
            [
                *argv,
                "--data-seeds",
                "3,4",
                "--tau",
                "0.05",
                "--n-jobs",
                "1",
                "--cache",
                str(tmp_path),
                "--out",
                str(out),
                "-g",
                "loudness_db",
                "2.0",
                "--signal-scale",
                "0.5",
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert [d["data_seed"] for d in result["draws"]] == [3, 4]
    # the scale applies to every signal field, after -g, and to nothing else
    d = SynthAffWildParams()
    scaled = dataclasses.replace(
        d,
        cue_gain=d.cue_gain / 2,
        loudness_db=1.0,
        f0_semitones=d.f0_semitones / 2,
        tilt_arousal=d.tilt_arousal / 2,
        tilt_valence=d.tilt_valence / 2,
        turn_arousal=d.turn_arousal / 2,
    )
    assert result["params"] == json.loads(json.dumps(dataclasses.asdict(scaled)))
    assert [g["gap"] for g in result["gaps"]] == ["fusion - features", "fusion - st"]
    assert [g["gap"] for g in result["control"]] == [
        "zfeatures - features",
        "zfeatures - fusion",
        "mask - zfeatures",
        "st - mask",
    ]
    printed = capsys.readouterr().out
    assert (
        "fusion - features: mean" in printed
        and "mean over 2 draws: features 0." in printed
    )
    with pytest.raises(SystemExit):
        sweep.main([*argv, "--window", "4"])  # not a window of the config
    with pytest.raises(ValueError, match="cue_gain"):
        sweep.main([*argv, "--signal-scale", "-1"])


def test_calibration_script_prints_the_data_cards_table(tmp_path, capsys):
    import importlib.util
    import json

    path = ROOT / "scripts" / "synth_affwild_calibration.py"
    spec = importlib.util.spec_from_file_location("synth_affwild_calibration", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    small = [
        "n_subjects",
        6,
        "videos_per_subject",
        1,
        "video_seconds",
        50,
        "fps",
        10,
        "audio_sr",
        8000,
        "hidden",
        8,
        "max_iter",
        4,
    ]
    argv = [
        a
        for k, v in zip(small[::2], small[1::2], strict=True)
        for a in ("-p", k, str(v))
    ]
    out = tmp_path / "calibration.json"
    assert (
        script.main(
            [
                *argv,
                "--data-seeds",
                "1",
                "--splits",
                "2",
                "--tau",
                "0.05",
                "--n-jobs",
                "1",
                "--cache",
                str(tmp_path),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| learner")
    ]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == list(script.LEARNERS)
    fits = json.loads(out.read_text())["fits"]
    # 2 targets x 2 splits x (raw and per-video z with 3 learners + face and voice with
    # one)
    assert len(fits) == 2 * 2 * (2 * 3 + 2) and all(
        0 <= f["accuracy"] <= 1 for f in fits
    )
