"""Chapter 6's figures from an :class:`~affect_lib.experiments.ablation.AblationResult`.

:func:`ablation_deltas` shows every variant's difference from the full model per
metric, per seed and as an interval over seeds and items; :func:`sweep_lines` follows
the metrics along the λ₁ and λ₂ sweeps. The metrics are those of
:data:`~affect_lib.experiments.ablation_report.METRICS`; the tables and tests are in
:mod:`affect_lib.experiments.ablation_report`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from affect_lib.experiments.ablation import AblationResult
from affect_lib.experiments.ablation_report import METRICS
from affect_lib.experiments.ablation_variants import VARIANTS

__all__ = ["ablation_deltas", "sweep_lines"]


def ablation_deltas(result: AblationResult, comparison: pd.DataFrame) -> Figure:
    """One panel per metric: for every variant, one dot per seed (its score minus the
    full model's with the same seed where ``comparison`` pairs them, else minus the full
    model's mean), and Δ with its 95 % interval over seeds and items (bar) from
    :func:`~affect_lib.experiments.ablation_report.compare`; 0 (no difference) dashed.
    """
    table = result.table()
    order = [v for v in dict.fromkeys(table["variant"]) if v != "full"]
    full = table[table["variant"] == "full"]
    fig, axes = plt.subplots(
        1, len(METRICS), figsize=(13, 0.4 * len(order) + 1.8), sharey=True
    )
    y = np.arange(len(order))
    for ax, metric in zip(axes, METRICS, strict=True):
        ax.axvline(0, ls="--", lw=1, color="grey")
        for i, v in enumerate(order):
            key = (v, metric)
            if key not in comparison.index:
                ax.text(
                    0.02,
                    i,
                    "not defined",
                    va="center",
                    fontsize=8,
                    color="grey",
                    transform=ax.get_yaxis_transform(),
                )
                continue
            r = comparison.loc[key]
            scores = table[table["variant"] == v].set_index("seed")[metric]
            ref = full.set_index("seed")[metric]
            dots = (
                scores - ref.reindex(scores.index)
                if r["paired"]
                else scores - ref.mean()
            ).to_numpy(float)
            ax.plot(dots, np.full(len(dots), i), "o", ms=3.5, color="#9fb3cf", zorder=2)
            colour = "#c44e52" if r["significant"] else "#2b4c7e"
            ax.plot(
                [r["lo"], r["hi"]],
                [i, i],
                lw=3,
                color=colour,
                zorder=3,
                solid_capstyle="butt",
            )
            ax.plot(r["delta"], i, "|", ms=12, mew=2, color=colour, zorder=4)
        ax.set_title(f"Δ {metric.replace('_', ' ')} (variant − full)")
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
