"""Chapter 6's ablation runner, paired tests and report tables."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from affect_lib.eval.paired import holm, paired_t, sign_flip_test
from affect_lib.experiments.ablation import (
    AblationResult,
    AblationRun,
    _driver_hit,
    run_ablations,
    run_variant,
)
from affect_lib.experiments.ablation_report import compare, findings, summary
from affect_lib.experiments.ablation_variants import VARIANTS


# -- paired tests ----------------------------------------------------------------------
def test_paired_t_matches_scipy_and_handles_constant_differences():
    a, b = np.array([0.9, 0.8, 0.85, 0.95]), np.array([0.7, 0.75, 0.7, 0.8])
    assert paired_t(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert paired_t(a, a) == 1.0
    assert paired_t(a, a - 0.1) == 0.0  # identical non-zero differences: infinite t


def test_sign_flip_test_separates_a_real_difference_from_none():
    rng = np.random.default_rng(0)
    base = (rng.random(400) < 0.7).astype(float)
    # flips some wrong answers to right
    better = np.where(rng.random(400) < 0.3, 1.0, base)
    assert sign_flip_test(better, base, n_resamples=2000) < 0.01
    # another draw from the same distribution: no difference
    same = (rng.random(400) < 0.7).astype(float)
    assert sign_flip_test(same, base, n_resamples=2000) > 0.05
    assert sign_flip_test(base, base) == 1.0


def test_sign_flip_test_is_close_to_the_exact_binomial_for_discordant_pairs():
    # 0/1 outcomes: the sign-flip test of the mean difference is McNemar's exact test
    a = np.array([1] * 30 + [0] * 14 + [1] * 50 + [0] * 6, dtype=float)
    b = np.array([0] * 30 + [1] * 14 + [1] * 50 + [0] * 6, dtype=float)
    exact = stats.binomtest(30, 44).pvalue
    assert sign_flip_test(a, b, n_resamples=40_000, seed=1) == pytest.approx(
        exact, abs=0.01
    )


def test_holm_step_down():
    p = holm([0.01, 0.04, 0.03, float("nan"), 0.5])
    # 4 tests: 4p, 3p, max(2p, prev), p
    np.testing.assert_allclose(p[[0, 2, 1, 4]], [0.04, 0.09, 0.09, 0.5])
    assert math.isnan(p[3])


@pytest.mark.parametrize(
    "bad", [([1.0, 2.0], [1.0]), ([], []), ([1.0, float("nan")], [1.0, 2.0])]
)
def test_paired_tests_reject_bad_input(bad):
    with pytest.raises(ValueError, match="paired_t|sign_flip_test"):
        paired_t(*map(np.array, bad))
    with pytest.raises(ValueError, match="sign_flip_test"):
        sign_flip_test(*map(np.array, bad))


# -- runner ----------------------------------------------------------------------------
def test_driver_hit_scores_ties_fractionally():
    infl = np.array(
        [[0.6, 0.3, 0.1], [1 / 3, 1 / 3, 1 / 3], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0]]
    )
    hit = _driver_hit(infl, np.array([0, 1, 0, -1]))
    np.testing.assert_allclose(hit[:3], [1.0, 1 / 3, 0.0])
    assert math.isnan(hit[3])  # unknown driver (real data)


def test_run_ablations_rejects_bad_requests(smoke_cfg):
    with pytest.raises(ValueError, match="unknown ablation variant.*no_such"):
        run_ablations(smoke_cfg, ["full", "no_such"])
    with pytest.raises(ValueError, match="must include 'full'"):
        run_ablations(smoke_cfg, ["no_graph"])
    with pytest.raises(ValueError, match="n_jobs"):
        run_ablations(smoke_cfg, ["full"], n_jobs=0)


SMOKE_VARIANTS = ["full", "aa", "no_graph", "no_diffusion", "no_cfg"]


@pytest.fixture(scope="module")
def smoke_result(smoke_cfg):
    return run_ablations(smoke_cfg, SMOKE_VARIANTS, n_jobs=1)


def test_ablation_runs_are_deterministic_and_independent_of_n_jobs(
    smoke_cfg, smoke_result
):
    again = run_ablations(smoke_cfg, SMOKE_VARIANTS, n_jobs=2)
    cols = ["variant", "seed", "accuracy", "driver_acc", "cf_validity", "train_loss"]
    pd.testing.assert_frame_equal(smoke_result.table()[cols], again.table()[cols])


def test_the_aa_control_trains_with_disjoint_seeds(smoke_cfg, smoke_result):
    t = smoke_result.table()
    s = smoke_cfg.ablation.ablation_seeds
    full, aa = (set(t.loc[t["variant"] == v, "seed"]) for v in ("full", "aa"))
    assert full == {smoke_cfg.seed + i for i in range(s)}
    assert aa == {smoke_cfg.seed + s + i for i in range(s)}


def test_the_detached_prior_cannot_change_the_classifier(smoke_result):
    # clipped apart from the encoder, a detached prior's loss (its weight, its CFG
    # dropout) cannot move what the encoder and classifier learn: same outcomes
    for variant in ("no_cfg", "no_diffusion"):
        for what in ("correct", "driver_hit"):
            np.testing.assert_array_equal(
                smoke_result.outcomes(variant, what),
                smoke_result.outcomes("full", what),
                err_msg=f"{variant} {what}",
            )
    c = compare(smoke_result, n_boot=200, n_resamples=200)
    assert c.loc[("no_cfg", "accuracy"), "identical"]
    assert not c.loc[("aa", "accuracy"), "identical"]
    assert (c.loc[("no_cfg", "accuracy"), ["delta", "lo", "hi"]] == 0).all()


def test_a_run_restores_the_callers_torch_settings(smoke_cfg):
    threads, deterministic = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
    )
    try:
        torch.set_num_threads(2)
        torch.use_deterministic_algorithms(False)
        run_variant(smoke_cfg, VARIANTS["no_diffusion"], smoke_cfg.seed)
        assert (
            torch.get_num_threads() == 2
            and not torch.are_deterministic_algorithms_enabled()
        )
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def test_ablation_scores_follow_the_variant(smoke_cfg, smoke_result):
    t = smoke_result.table()
    assert len(t) == len(SMOKE_VARIANTS) * smoke_cfg.ablation.ablation_seeds
    no_graph = t[t["variant"] == "no_graph"]
    # uniform weights: every modality ties
    assert np.allclose(no_graph["driver_acc"], 1 / 3)
    no_diff = t[t["variant"] == "no_diffusion"]
    assert no_diff["cf_validity"].isna().all() and no_diff["accuracy"].notna().all()
    full = t[t["variant"] == "full"]
    assert full["cf_validity"].notna().all()
    n_test = smoke_cfg.data.n_test
    assert smoke_result.outcomes("full", "correct").shape == (
        smoke_cfg.ablation.ablation_seeds,
        n_test,
    )
    assert smoke_result.outcomes("full", "cf_hit").shape[1] == min(
        smoke_cfg.ablation.ablation_n_cf, n_test
    )


def test_summary_compare_and_findings(smoke_result):
    s = summary(smoke_result)
    assert list(s.index) == SMOKE_VARIANTS
    c = compare(smoke_result, n_boot=500, n_resamples=500)
    # no prior, nothing to compare
    assert ("no_diffusion", "cf_validity") not in c.index
    assert {
        ("aa", "accuracy"),
        ("no_graph", "accuracy"),
        ("no_graph", "driver_acc"),
        ("no_diffusion", "accuracy"),
    } <= set(c.index)
    assert ((c["lo"] <= c["delta"]) & (c["delta"] <= c["hi"])).all()
    assert ((c["p_holm"] >= c["p"]) & (c["p_holm"] <= 1)).all()
    # the A/A control is no claim: outside the Holm family
    assert (c.loc["aa", "p_holm"] == c.loc["aa", "p"]).all()
    lines = findings(c)
    assert len(lines) == len(c)
    assert sum(line.startswith("A/A control (aa)") for line in lines) == 3
    assert all(
        line.split()[0].rstrip(":") in set(SMOKE_VARIANTS) | {"A/A"} for line in lines
    )


def test_compare_detects_a_planted_difference():
    rng = np.random.default_rng(0)

    def run(variant, seed, p):
        correct = (rng.random(300) < p).astype(float)
        hit = (rng.random(300) < 0.9).astype(float)
        return AblationRun(
            variant,
            seed,
            {
                "accuracy": correct.mean(),
                "driver_acc": hit.mean(),
                "cf_validity": math.nan,
                "seconds": 1.0,
            },
            correct,
            hit,
            np.zeros(0),
        )

    result = AblationResult(
        [
            run(v, s, p)
            for v, p in (("full", 0.9), ("no_graph", 0.6), ("no_cfg", 0.9))
            for s in range(5)
        ]
    )
    unknown_driver = AblationResult(
        [
            dataclasses.replace(
                r,
                scores={**r.scores, "driver_acc": math.nan},
                driver_hit=np.full(300, math.nan),
            )
            for r in result.runs
        ]
    )
    assert set(
        compare(unknown_driver, n_resamples=100).index.get_level_values("metric")
    ) == {"accuracy"}
    c = compare(result, n_boot=2000, n_resamples=2000)
    assert c.loc[("no_graph", "accuracy"), "significant"]
    assert c.loc[("no_graph", "accuracy"), "hi"] < 0
    assert not c.loc[("no_cfg", "accuracy"), "significant"]
    assert c.loc[("no_cfg", "accuracy"), "lo"] < 0 < c.loc[("no_cfg", "accuracy"), "hi"]
    assert c.loc[("no_graph", "accuracy"), "delta"] == pytest.approx(-0.3, abs=0.06)
    lines = dict(zip(c.index, findings(c), strict=True))
    assert lines[("no_graph", "accuracy")].startswith("no_graph lowers accuracy by")
    assert "95% CI" in lines[("no_graph", "accuracy")]
    assert lines[("no_cfg", "accuracy")].startswith("no_cfg: no difference")


def _no_graph_accuracy(**row) -> pd.DataFrame:
    """A one-row comparison table: no_graph's accuracy with ``row``'s columns."""
    fixed = {"reference": 0.9, "identical": False, "p_items": 0.0, "n_seeds": 5}
    index = pd.MultiIndex.from_tuples([("no_graph", "accuracy")])
    return pd.DataFrame([{**fixed, "n_items": 100, **row}], index=index)


def test_findings_claim_nothing_whose_interval_contains_zero():
    c = _no_graph_accuracy(
        ablation=0.85, delta=-0.05, lo=-0.1, hi=0.01, p=0.001, p_holm=0.001,
        significant=True,
    )  # fmt: skip
    assert findings(c) == [
        "no_graph: no difference in accuracy detected (Δ = -0.050, 95% CI -0.100 to "
        "+0.010, Holm p = 0.001)"
    ]


def test_findings_report_an_interval_that_does_not_survive_holm_as_not_claimed():
    c = _no_graph_accuracy(
        ablation=0.8, delta=-0.1, lo=-0.2, hi=-0.01, p=0.03, p_holm=0.2,
        significant=False,
    )  # fmt: skip
    assert findings(c) == [
        "no_graph: Δ accuracy = -0.100 (95% CI -0.200 to -0.010), not claimed: Holm p "
        "= 0.2 over the accuracy family"
    ]
