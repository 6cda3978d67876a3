"""Tables of chapter 6 from an :class:`~affect_lib.experiments.ablation.AblationResult`.

* :func:`summary` — mean ± std over seeds per variant and metric;
* :func:`compare` — every ablation against ``full``: mean difference, paired t-test over
  seeds, sign-flip test over test utterances (outcomes averaged over seeds),
  Holm-adjusted;
* :func:`findings` — one plain sentence per ablation, generated from ``compare`` (the
  book's prose must hold for any seed, so the per-run verdicts are computed, not
  written);
* its figures are in :mod:`affect_lib.plots.ablation`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from affect_lib.eval.paired import holm, paired_t, sign_flip_test
from affect_lib.experiments.ablation import AblationResult

__all__ = ["METRICS", "summary", "compare", "findings"]

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


def _seed_scores(result: AblationResult, variant: str, metric: str) -> np.ndarray:
    t = result.table()
    return t[t["variant"] == variant].sort_values("seed")[metric].to_numpy(float)


def compare(
    result: AblationResult,
    *,
    reference: str = "full",
    n_resamples: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (ablation, metric): Δ = ablation − reference (mean over seeds), p
    over seeds, p over test utterances and its Holm adjustment within the metric's
    family of ablations.

    Metrics a variant cannot be scored on (cf_validity without a prior, driver_acc
    without a planted driver) are left out.
    """
    variants = [v for v in dict.fromkeys(result.table()["variant"]) if v != reference]
    rows = []
    for metric, outcome in METRICS.items():
        ref_items = result.outcomes(reference, outcome)
        for v in variants:
            items = result.outcomes(v, outcome)
            if items.size == 0 or ref_items.size == 0:
                continue
            a, b = (
                _seed_scores(result, v, metric),
                _seed_scores(result, reference, metric),
            )
            if not (np.isfinite(a).all() and np.isfinite(b).all()):
                # undefined here (e.g. driver accuracy on real data: no planted driver)
                continue
            if items.shape != ref_items.shape:
                raise ValueError(
                    f"{v} and {reference} were scored on different items "
                    f"({items.shape} vs "
                    f"{ref_items.shape}); run them with the same seeds and data"
                )
            # average over seeds per item; items without a known driver (NaN) are
            # dropped
            ia, ib = np.nanmean(items, axis=0), np.nanmean(ref_items, axis=0)
            keep = np.isfinite(ia) & np.isfinite(ib)
            rows.append(
                {
                    "variant": v,
                    "metric": metric,
                    "reference": float(np.mean(b)),
                    "ablation": float(np.mean(a)),
                    "delta": float(np.mean(a) - np.mean(b)),
                    "p_seeds": paired_t(a, b) if len(a) >= 2 else math.nan,
                    "p_items": sign_flip_test(
                        ia[keep], ib[keep], n_resamples=n_resamples, seed=seed
                    )
                    if keep.any()
                    else math.nan,
                    "n_items": int(keep.sum()),
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_holm"] = np.nan
    for idx in table.groupby("metric").groups.values():
        table.loc[idx, "p_holm"] = holm(table.loc[idx, "p_items"].to_numpy())
    table["significant"] = table["p_holm"] < ALPHA
    return table.set_index(["variant", "metric"])


def findings(comparison: pd.DataFrame) -> list[str]:
    """One sentence per ablation and metric, e.g. 'no_graph lowers accuracy by 0.187
    (p_holm = 0.0001)'."""
    out = []
    for (variant, metric), r in comparison.iterrows():
        if r["significant"]:
            verb = "raises" if r["delta"] > 0 else "lowers"
            out.append(
                f"{variant} {verb} {metric} by {abs(r['delta']):.3f} "
                f"({r['reference']:.3f} -> {r['ablation']:.3f}; Holm-adjusted p = "
                f"{r['p_holm']:.2g})"
            )
        else:
            out.append(
                f"{variant} leaves {metric} unchanged within noise (Δ = "
                f"{r['delta']:+.3f}, "
                f"Holm-adjusted p = {r['p_holm']:.2g})"
            )
    return out
