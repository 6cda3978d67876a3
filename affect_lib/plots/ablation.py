"""Chapter 6's figures from an :class:`~affect_lib.experiments.ablation.AblationResult`.

:func:`ablation_dots` shows every variant's seeds and mean per metric against the full
model; :func:`sweep_lines` follows the metrics along the λ₁ and λ₂ sweeps. The metrics
are those of :data:`~affect_lib.experiments.ablation_report.METRICS`; the tables and
tests are in :mod:`affect_lib.experiments.ablation_report`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from affect_lib.experiments.ablation import AblationResult
from affect_lib.experiments.ablation_report import METRICS
from affect_lib.experiments.ablation_variants import VARIANTS

__all__ = ["ablation_dots", "sweep_lines"]


def ablation_dots(result: AblationResult) -> Figure:
    """One panel per metric: each seed as a dot, the mean as a bar; the full model's
    mean dashed."""
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
    """Accuracy, driver accuracy and CF validity along the λ₁ (joint) and λ₂ sweeps,
    mean ± std."""
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
