"""Issue #30's pre-registered experiments: the runner on tiny data (fake encoder) and
the predictions' rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affect_lib.config import LascaConfig
from affect_lib.data.synthetic.affwild_spec import SynthAffWildParams
from affect_lib.experiments.lasca_draws import mean_interval
from affect_lib.experiments.lasca_predictions import MIN_GAIN, PREDICTIONS, Interval
from affect_lib.experiments.lasca_prereg import PreregConfig, run_prereg
from affect_lib.experiments.lasca_protocol import run_protocol
from affect_lib.experiments.lasca_splits import fixed_split
from affect_lib.lasca.folders import synth_affwild_windows
from affect_lib.lasca.shuffled import shuffled_embedder
from tests.experiments.test_lasca_protocol import FakeEncoder, fake_caches

SMALL = LascaConfig(
    n_subjects=8,
    videos_per_subject=1,
    video_seconds=50.0,
    fps=10.0,
    audio_sr=8000,
    taus=(0.05,),
    encoders=("minilm",),
    n_seeds=2,
    hidden=32,
    max_iter=10,
)
PREREG = PreregConfig(n_draws=2, curve_sizes=(2, 4, 6))


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cache = tmp_path_factory.mktemp("prereg")
    res = run_prereg(
        SMALL,
        PREREG,
        cache,
        seed=3,
        caches=fake_caches(("minilm",)),
        model=FakeEncoder(),
    )
    return res, cache


def test_every_experiment_gives_its_estimates_and_a_verdict(result):
    res, _ = result
    keys = set(res.table().index)
    assert {
        "lasca_prereg_substitution_fusion_minus_features",
        "lasca_prereg_shuffled_shuffled_minus_features",
        "lasca_prereg_curve_valence_2",
        "lasca_prereg_curve_arousal_small_minus_largest",
        "lasca_prereg_missing_valence_clean",
        "lasca_prereg_missing_arousal_50_degrades_less",
    } <= keys
    assert set(res.held) == {"substitution", "shuffled", "curve", "missing"}
    assert all(isinstance(h, bool) for h in res.held.values())
    glue = res.glue_values()
    for key in keys:
        assert {key, f"{key}_lo", f"{key}_hi"} <= set(glue)
    assert glue["lasca_prereg_curve_held"] is res.held["curve"]
    assert set(res.timings) == {"substitution", "curve", "missing"}
    assert sorted(res.draws.data_seed.unique()) == [3, 4]
    assert res.draws[["features", "fusion"]].notna().all().all()


def test_each_estimate_is_the_mean_of_its_per_draw_difference(result):
    res, _ = result
    d = res.draws.set_index(["experiment", "target", "setting", "data_seed"])
    gap = d["fusion"] - d["features"]
    table = res.table()

    def check(key, per_draw):
        mean, half = mean_interval(per_draw.to_numpy())
        row = table.loc[key]
        assert row["mean"] == pytest.approx(mean) and row["draws"] == 2
        assert row["lo"] == pytest.approx(mean - half)
        assert row["hi"] == pytest.approx(mean + half)

    sub = d.loc["substitution"]
    check("lasca_prereg_substitution_fusion_minus_features", gap.loc["substitution"])
    check(
        "lasca_prereg_shuffled_shuffled_minus_features",
        sub["shuffled"] - sub["features"],
    )
    curve = gap.loc["curve"].loc["arousal"]
    small = (curve.loc["2"] + curve.loc["4"]) / 2
    check("lasca_prereg_curve_arousal_small_minus_largest", small - curve.loc["6"])
    missing = gap.loc["missing"].loc["valence"]
    check(
        "lasca_prereg_missing_valence_30_degrades_less",
        missing.loc["30"] - missing.loc["clean"],
    )
    # the substituted corpus' target only, other data than the default corpus
    assert set(sub.index.get_level_values("target")) == {"valence"}
    # the curve's largest size is every non-test subject: the protocol's own split
    for v in ("features", "fusion"):
        np.testing.assert_array_equal(
            d.loc[("curve", slice(None), "6"), v].to_numpy(),
            d.loc[("missing", slice(None), "clean"), v].to_numpy(),
        )


def test_the_substitution_cells_are_the_protocols_on_the_substituted_corpus(result):
    res, cache = result
    ws = synth_affwild_windows(
        SMALL, 3, 5.0, cache, params=SynthAffWildParams(substitute_subjects=2)
    )
    kw = {
        "seed": 3,
        "targets": ("valence",),
        "split": fixed_split(["s006", "s007"]),  # the substituted subjects
    }
    real = run_protocol(
        [ws],
        SMALL,
        variants=("features", "fusion"),
        caches=fake_caches(("minilm",)),
        **kw,
    ).summary.set_index("variant")["mean"]
    shuffled = run_protocol(
        [ws],
        SMALL,
        variants=("fusion",),
        caches={
            ("minilm", "affective"): shuffled_embedder(
                encoder="minilm", seed=3, model=FakeEncoder()
            )
        },
        **kw,
    ).summary.set_index("variant")["mean"]
    row = res.draws[
        (res.draws.experiment == "substitution") & (res.draws.data_seed == 3)
    ].iloc[0]
    assert row["features"] == real["features"] and row["fusion"] == real["fusion"]
    assert row["shuffled"] == shuffled["fusion"] != real["fusion"]


def test_the_predictions_read_the_issues_thresholds():
    sub, shuf = PREDICTIONS["substitution"], PREDICTIONS["shuffled"]
    assert sub.held({"fusion_minus_features": Interval(MIN_GAIN, 0.001, 0.06)})
    assert not sub.held({"fusion_minus_features": Interval(0.029, 0.01, 0.05)})
    assert not sub.held({"fusion_minus_features": Interval(0.05, -0.01, 0.11)})
    assert shuf.held({"shuffled_minus_features": Interval(0.01, -0.02, 0.04)})
    assert not shuf.held({"shuffled_minus_features": Interval(0.03, 0.01, 0.05)})
    curve = PREDICTIONS["curve"]
    ok, no = Interval(0.02, 0.01, 0.03), Interval(0.02, -0.01, 0.05)
    assert curve.held(
        {"arousal_small_minus_largest": ok, "valence_small_minus_largest": ok}
    )
    assert not curve.held(
        {"arousal_small_minus_largest": ok, "valence_small_minus_largest": no}
    )
    missing = PREDICTIONS["missing"]
    assert missing.held({"arousal_30_degrades_less": ok, "arousal_30": no})
    assert not missing.held(
        {"arousal_30_degrades_less": ok, "arousal_50_degrades_less": no}
    )
    nan = Interval(math.nan, math.nan, math.nan)
    for p, key in (
        (sub, "fusion_minus_features"),
        (shuf, "shuffled_minus_features"),
        (curve, "arousal_small_minus_largest"),
    ):
        assert not p.held({key: nan}) and not p.held({})


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_draws": 1}, "n_draws must be >= 2"),
        ({"experiments": ("substitution", "lucky")}, "experiments must be among"),
        ({"experiments": ()}, "experiments must be among"),
        ({"curve_sizes": (4, 2, 12)}, "curve_sizes must be increasing"),
        ({"curve_sizes": (2, 4)}, "curve_sizes must be increasing"),
        ({"curve_sizes": (0, 4, 8)}, "curve_sizes must be increasing"),
        ({"missing_fractions": (0.3, 1.0)}, "missing_fractions must be shares"),
        ({"missing_fractions": ()}, "missing_fractions must be shares"),
        ({"targets": ("joy",)}, "targets must be among"),
        ({"mode": "mean"}, "mode must be one of"),
    ],
)
def test_bad_settings_are_refused(kw, match):
    with pytest.raises(ValueError, match=f"PreregConfig: .*{match}"):
        PreregConfig(**kw)


def test_too_few_subjects_for_the_curve_are_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match=r"curve_sizes \(2, 4, 8, 12\) need 12 .* 6"):
        run_prereg(SMALL, PreregConfig(), tmp_path)
    assert not any(tmp_path.iterdir())


def test_the_interval_figure_has_a_panel_per_experiment_and_a_bar_per_row(result):
    from affect_lib.plots.lasca import prereg_intervals

    table = result[0].table()
    fig = prereg_intervals(table)
    experiments = list(dict.fromkeys(table["experiment"]))
    assert [ax.get_title(loc="left") for ax in fig.axes] == experiments
    for ax, x in zip(fig.axes, experiments, strict=True):
        assert len(ax.get_yticks()) == int((table["experiment"] == x).sum())
    # the predicted +3 points is drawn where it applies, in the substitution panel
    lines = {
        x: [ln.get_xdata()[0] for ln in ax.get_lines()]
        for ax, x in zip(fig.axes, experiments, strict=True)
    }
    assert MIN_GAIN in lines["substitution"] and MIN_GAIN not in lines["curve"]
