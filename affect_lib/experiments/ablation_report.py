"""Tables and figures of chapter 6 from an :class:`~affect_lib.experiments.ablation.AblationResult`.

* :func:`summary` — mean ± std over seeds per variant and metric;
* :func:`compare` — every ablation against ``full``: mean difference, paired t-test over seeds,
  sign-flip test over test utterances (outcomes averaged over seeds), Holm-adjusted;
* :func:`findings` — one plain sentence per ablation, generated from ``compare`` (the book's
  prose must hold for any seed, so the per-run verdicts are computed, not written);
* :func:`ablation_dots`, :func:`sweep_lines` — the figures.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from affect_lib.eval.paired import holm, paired_t, sign_flip_test
from affect_lib.experiments.ablation import VARIANTS, AblationResult

__all__ = ["METRICS", "summary", "compare", "findings", "ablation_dots", "sweep_lines"]

# metric -> the per-utterance outcome it averages
METRICS = {"accuracy": "correct", "driver_acc": "driver_hit", "cf_validity": "cf_hit"}
ALPHA = 0.05


def summary(result: AblationResult) -> pd.DataFrame:
    """Rows: variants (in run order); columns: (metric, mean|std) for accuracy, driver_acc,
    cf_validity and seconds per run."""
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
    """One row per (ablation, metric): Δ = ablation − reference (mean over seeds), p over seeds,
    p over test utterances and its Holm adjustment within the metric's family of ablations.

    Metrics a variant cannot be scored on (cf_validity without a prior, driver_acc without a planted
    driver) are left out.
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
                continue  # undefined here (e.g. driver accuracy on real data: no planted driver)
            if items.shape != ref_items.shape:
                raise ValueError(
                    f"{v} and {reference} were scored on different items ({items.shape} vs "
                    f"{ref_items.shape}); run them with the same seeds and data"
                )
            # average over seeds per item; items without a known driver (NaN) are dropped
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
    """One sentence per ablation and metric, e.g. 'no_graph lowers accuracy by 0.187 (p_holm = 0.0001)'."""
    out = []
    for (variant, metric), r in comparison.iterrows():
        if r["significant"]:
            verb = "raises" if r["delta"] > 0 else "lowers"
            out.append(
                f"{variant} {verb} {metric} by {abs(r['delta']):.3f} "
                f"({r['reference']:.3f} -> {r['ablation']:.3f}; Holm-adjusted p = {r['p_holm']:.2g})"
            )
        else:
            out.append(
                f"{variant} leaves {metric} unchanged within noise (Δ = {r['delta']:+.3f}, "
                f"Holm-adjusted p = {r['p_holm']:.2g})"
            )
    return out


def ablation_dots(result: AblationResult) -> Figure:
    """One panel per metric: each seed as a dot, the mean as a bar; the full model's mean dashed."""
    table = result.table()
    order = list(dict.fromkeys(table["variant"]))
    fig, axes = plt.subplots(
        1, len(METRICS), figsize=(13, 0.38 * len(order) + 1.6), sharey=True
    )
    y = np.arange(len(order))
    for ax, metric in zip(axes, METRICS, strict=True):
        means = table.groupby("variant", sort=False)[metric].mean().reindex(order)
        ax.barh(y, means.fillna(0), color="#cfd8e3", height=0.6)
        for i, v in enumerate(order):
            vals = table.loc[table["variant"] == v, metric].to_numpy(float)
            ax.plot(vals, np.full(len(vals), i), "o", ms=4, color="#2b4c7e")
            if not np.isfinite(vals).any():
                ax.text(0.02, i, "not defined", va="center", fontsize=8, color="grey")
        full = means.get("full", np.nan)
        if np.isfinite(full):
            ax.axvline(full, ls="--", lw=1, color="#c44e52")
        ax.set_xlim(0, 1.02)
        ax.set_title(metric.replace("_", " "))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, order)
    axes[0].invert_yaxis()
    fig.tight_layout()
    return fig


def sweep_lines(result: AblationResult) -> Figure:
    """Accuracy, driver accuracy and CF validity along the λ₁ (joint) and λ₂ sweeps, mean ± std."""
    table = result.table()
    sweeps = {
        "lambda1": ("λ₁ (diffusion gradient reaches the encoder)", "lambda_diff"),
        "lambda2": ("λ₂ (weight of the β-KL)", "lambda_kl"),
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, (group, (title, key)) in zip(axes, sweeps.items(), strict=True):
        names = [
            n for n in dict.fromkeys(table["variant"]) if VARIANTS[n].group == group
        ]
        if group == "lambda2" and "full" in set(table["variant"]):
            names.append("full")  # the full model is the λ₂ = 1e-3 point of this sweep
        if not names:
            ax.set_visible(False)
            continue
        xs = {
            n: VARIANTS[n].model.get(key, 1e-3 if key == "lambda_kl" else 1.0)
            for n in names
        }
        names.sort(key=xs.get)
        for metric, marker in zip(METRICS, "osd", strict=True):
            stats_ = (
                table[table["variant"].isin(names)]
                .groupby("variant")[metric]
                .agg(["mean", "std"])
                .reindex(names)
            )
            if stats_["mean"].isna().all():
                continue
            ax.errorbar(
                [xs[n] for n in names],
                stats_["mean"],
                yerr=stats_["std"].fillna(0),
                marker=marker,
                capsize=3,
                label=metric.replace("_", " "),
            )
        ax.set_xscale("symlog", linthresh=1e-3 if key == "lambda_kl" else 0.1)
        ax.set_xlabel(title)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
