"""Tables of chapter 6 from an :class:`~affect_lib.experiments.ablation.AblationResult`.

* :func:`summary` — mean ± std over seeds per variant and metric;
* :func:`compare` — every variant against ``full``: Δ with a 95 % interval from the
  two-level bootstrap over seeds and test items
  (:func:`~affect_lib.eval.hierarchical.hierarchical_bootstrap_delta`, paired by seed
  where the variant was trained with ``full``'s seeds), Holm-adjusted
  within each metric's family of ablations; the A/A control ``aa`` is reported beside
  the family, not in it (it checks the test, it is not a claim). The item-only
  sign-flip test ``p_items`` is kept for comparison: it treats the trained models as
  fixed and rejects far too often (``tests/eval/test_hierarchical.py``);
* :func:`findings` — one plain sentence per row, generated from the intervals (the
  book's prose must hold for any seed, so the verdicts are computed, not written);
* its figures are in :mod:`affect_lib.plots.ablation`.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from affect_lib.eval.hierarchical import (
    HierarchicalDelta,
    family,
    hierarchical_bootstrap_delta,
)
from affect_lib.eval.paired import sign_flip_test
from affect_lib.experiments.ablation import AblationResult
from affect_lib.experiments.ablation_variants import VARIANTS

__all__ = ["ALPHA", "METRICS", "summary", "compare", "findings"]

# metric -> the per-utterance outcome it averages
METRICS = {"accuracy": "correct", "driver_acc": "driver_hit", "cf_validity": "cf_hit"}
ALPHA = 0.05


def summary(result: AblationResult) -> pd.DataFrame:
    """Rows: variants (in run order); columns: (metric, mean|std) for accuracy,
    driver_acc, cf_validity and seconds per run."""
    table = result.table()
    cols = ["accuracy", "driver_acc", "cf_validity", "seconds"]
    order = list(dict.fromkeys(table["variant"]))
    return table.groupby("variant", sort=False)[cols].agg(["mean", "std"]).loc[order]


def _rng(seed: int, variant: str, metric: str) -> np.random.Generator:
    """A row's own stream: its interval does not depend on which other rows exist."""
    return np.random.default_rng([seed, zlib.crc32(f"{variant}/{metric}".encode())])


def compare(
    result: AblationResult,
    *,
    reference: str = "full",
    n_boot: int = 4000,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (variant, metric), indexed so: ``reference`` and ``ablation`` (means
    over seeds), ``delta`` = ablation − reference, ``lo``/``hi`` (95 % interval over
    seeds and items), ``p``, ``p_holm`` (Holm within the metric's ablations; the
    control's own ``p``), ``significant`` (``p_holm`` < 0.05, so the interval excludes
    0), ``identical`` (every outcome equal on every seed and item: Δ = 0 exactly, by
    construction, and the interval is [0, 0]), ``paired`` (same seeds as the
    reference: resampled jointly),
    ``p_items`` (the item-only test), ``n_seeds`` and ``n_items``.

    Metrics a variant cannot be scored on (cf_validity without a prior, driver_acc
    without a planted driver) are left out.
    """
    table = result.table()
    variants = [v for v in dict.fromkeys(table["variant"]) if v != reference]
    seeds = table.groupby("variant")["seed"].apply(sorted)
    rows = []
    for metric, outcome in METRICS.items():
        ref = result.outcomes(reference, outcome)
        for v in variants:
            items = result.outcomes(v, outcome)
            if items.size == 0 or ref.size == 0:
                continue
            if items.shape[1] != ref.shape[1]:
                raise ValueError(
                    f"{v} and {reference} were scored on different items "
                    f"({items.shape[1]} vs {ref.shape[1]}); run them on the same data"
                )
            # items without a known outcome (no planted driver: NaN) are dropped
            keep = np.isfinite(items).all(axis=0) & np.isfinite(ref).all(axis=0)
            if keep.sum() < 2:
                continue
            a, b = items[:, keep], ref[:, keep]
            identical = a.shape == b.shape and bool(np.array_equal(a, b))
            if identical:  # an exact result: nothing to infer
                n_seeds = (a.shape[0], b.shape[0])
                test = HierarchicalDelta(
                    0.0, 0.0, 0.0, 1.0, 0.0, np.nan, n_seeds, a.shape[1]
                )
            else:
                test = hierarchical_bootstrap_delta(
                    a,
                    b,
                    n_boot=n_boot,
                    alpha=ALPHA,
                    paired=seeds[v] == seeds[reference],
                    rng=_rng(seed, v, metric),
                )
            rows.append(
                {
                    "variant": v,
                    "metric": metric,
                    "reference": float(b.mean()),
                    "ablation": float(a.mean()),
                    "delta": test.delta,
                    "lo": test.lo,
                    "hi": test.hi,
                    "p": test.p,
                    "identical": identical,
                    "paired": seeds[v] == seeds[reference],
                    "p_items": sign_flip_test(
                        a.mean(axis=0),
                        b.mean(axis=0),
                        n_resamples=n_resamples,
                        seed=seed,
                    ),
                    "n_seeds": a.shape[0],
                    "n_items": int(keep.sum()),
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.set_index(["variant", "metric"])
    control = table.index.get_level_values("variant").map(
        lambda v: VARIANTS[v].group == "control"
    )
    table["p_holm"] = table["p"]
    for metric in dict.fromkeys(table.index.get_level_values("metric")):
        claims = table[~control & (table.index.get_level_values("metric") == metric)]
        for key, p in family(claims["p"].to_dict()).items():
            table.loc[key, "p_holm"] = p
    table["significant"] = table["p_holm"] < ALPHA
    cols = ["reference", "ablation", "delta", "lo", "hi", "p", "p_holm"]
    cols += ["significant", "identical", "paired", "p_items", "n_seeds", "n_items"]
    return table[cols]


def findings(comparison: pd.DataFrame) -> list[str]:
    """One sentence per row, each with its interval, e.g. 'no_graph lowers accuracy by
    0.187 (0.953 -> 0.766; 95% CI -0.21 to -0.16, Holm p = 0.0001)'.

    A difference is claimed only when its Holm-adjusted p is below 0.05, which implies
    that its interval excludes 0; an interval that excludes 0 without surviving Holm's
    correction is reported as not claimed; rows equal by construction say so.
    """
    out = []
    for (variant, metric), r in comparison.iterrows():
        ci = f"95% CI {r['lo']:+.3f} to {r['hi']:+.3f}"
        if VARIANTS[variant].group == "control":
            verdict = (
                "contains 0, as it must"
                if r["lo"] <= 0 <= r["hi"]
                else "excludes 0: training noise is larger than the interval allows"
            )
            out.append(
                f"A/A control ({variant}): Δ {metric} = {r['delta']:+.3f} ({ci}); "
                f"the interval {verdict}"
            )
        elif r["identical"]:
            out.append(
                f"{variant} leaves {metric} exactly unchanged: the same outcome on "
                f"every seed and item (by construction)"
            )
        elif r["significant"] and not r["lo"] <= 0 <= r["hi"]:
            verb = "raises" if r["delta"] > 0 else "lowers"
            out.append(
                f"{variant} {verb} {metric} by {abs(r['delta']):.3f} "
                f"({r['reference']:.3f} -> {r['ablation']:.3f}; {ci}, Holm p = "
                f"{r['p_holm']:.2g})"
            )
        elif r["lo"] > 0 or r["hi"] < 0:
            out.append(
                f"{variant}: Δ {metric} = {r['delta']:+.3f} ({ci}), not claimed: "
                f"Holm p = {r['p_holm']:.2g} over the {metric} family"
            )
        else:
            out.append(
                f"{variant}: no difference in {metric} detected (Δ = "
                f"{r['delta']:+.3f}, {ci}, Holm p = {r['p_holm']:.2g})"
            )
    return out
