"""Figures of chapter 5 (LaScA). Each returns the matplotlib Figure; notebooks end with
``plt.show()``."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from affect_lib.experiments.lasca_draws import mean_interval

__all__ = ["otsu_histogram", "ablation_bars", "draws_figure", "prereg_intervals"]

VARIANT_COLORS = {
    "features": "#8C8C8C",
    "st": "#4C72B0",
    "fusion": "#C44E52",
    "namelex": "#DD8452",
    "zfeatures": "#55A868",
}


def otsu_histogram(
    z: np.ndarray,
    threshold: float,
    names: tuple[str, ...],
    mask: np.ndarray,
    *,
    top: int = 6,
) -> Figure:
    """Histogram of one window's normalised feature values with the Otsu threshold; the
    ``top`` salient features are named."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.hist(z[~mask], bins=30, color="#8C8C8C", label="not salient")
    ax.hist(z[mask], bins=15, color="#C44E52", label=f"salient ({int(mask.sum())})")
    ax.axvline(
        threshold, color="black", ls="--", label=f"Otsu threshold {threshold:.2f}"
    )
    order = np.argsort(-np.where(mask, z, -np.inf))[:top]
    ax.set_title(
        "salient: " + ", ".join(names[i] for i in order if mask[i]), fontsize=8
    )
    ax.set_xlabel("feature value, z-scored within the video")
    ax.set_ylabel("features")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def ablation_bars(summary: pd.DataFrame, encoder: str) -> Figure:
    """Mean ± std pairwise accuracy per variant, one panel per target, cells (window, τ)
    on the x axis."""
    targets = list(dict.fromkeys(summary["target"]))
    fig, axes = plt.subplots(
        1, len(targets), figsize=(5.5 * len(targets), 3.4), sharey=True, squeeze=False
    )
    for ax, target in zip(axes[0], targets, strict=True):
        part = summary[
            (summary["target"] == target) & summary["encoder"].isin([encoder, "none"])
        ]
        cells = list(dict.fromkeys(zip(part["window_s"], part["tau"], strict=True)))
        variants = list(dict.fromkeys(part["variant"]))
        width = 0.8 / len(variants)
        for k, variant in enumerate(variants):
            rows = (
                part[part["variant"] == variant]
                .set_index(["window_s", "tau"])
                .loc[cells]
            )
            ax.bar(
                np.arange(len(cells)) + k * width,
                rows["mean"],
                width,
                yerr=rows["std"],
                capsize=2,
                color=VARIANT_COLORS.get(variant),
                label=variant,
            )
        ax.set_xticks(
            np.arange(len(cells)) + width * (len(variants) - 1) / 2,
            [f"{w:g} s / {t:.0%}" for w, t in cells],
        )
        ax.axhline(0.5, color="black", lw=0.8, ls=":")
        ax.set_ylim(0.4, 1.0)
        ax.set_title(target)
    axes[0, 0].set_ylabel("pairwise accuracy")
    axes[0, -1].legend(frameon=False, fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def draws_figure(
    by_batch: Mapping[int, pd.DataFrame],
    batch_size: int,
    *,
    floor: float = 0.02,
    of: str = "fusion",
    over: tuple[str, ...] = ("features", "st"),
    extra: tuple[str, ...] = (),
) -> Figure:
    """Left: the gaps ``of - b`` on every draw at ``batch_size`` (dots), their mean and
    95 % interval, and the ``floor``, per target. Then one panel per target: the mean
    accuracy (95 % interval) over the draws per batch size of ``over``, ``of`` and the
    ``extra`` variants (dashed: controls), larger batches (fewer Adam steps within the
    epoch cap) on the left.

    ``by_batch``: batch size ->
    :func:`~affect_lib.experiments.lasca_draws.cell_over_draws` table (same draws).
    """
    table = by_batch[batch_size]
    targets = list(dict.fromkeys(table["target"]))
    fig, axes = plt.subplots(
        1,
        1 + len(targets),
        figsize=(4.2 + 3.6 * len(targets), 3.4),
        squeeze=False,
        gridspec_kw={"width_ratios": [1.3] + [1] * len(targets)},
    )
    left, panels = axes[0, 0], axes[0, 1:]
    ticks, labels = [], []
    for i, target in enumerate(targets):
        part = table[table["target"] == target]
        for k, b in enumerate(over):
            x = i * (len(over) + 0.6) + k
            gap = (part[of] - part[b]).to_numpy(dtype=np.float64)
            mean, half = mean_interval(gap)
            left.scatter(
                x - 0.15 + np.linspace(-0.1, 0.1, len(gap)),
                gap,
                s=12,
                color=VARIANT_COLORS.get(b),
                alpha=0.7,
            )
            left.errorbar(
                x + 0.2, mean, yerr=half, fmt="o", color="black", capsize=3, ms=4
            )
            ticks.append(x)
            labels.append(f"{target}\n{of} − {b}")
    left.axhline(0, color="black", lw=0.8, ls=":")
    left.axhline(
        floor, color="#C44E52", lw=0.8, ls="--", label=f"+{floor * 100:g} points"
    )
    left.set_xticks(ticks, labels, fontsize=7)
    left.set_ylabel("accuracy gap (one dot per draw)")
    left.set_title(
        f"{table['data_seed'].nunique()} draws, {batch_size}-row batches", fontsize=9
    )
    left.legend(frameon=False, fontsize=7)
    sizes = sorted(by_batch, reverse=True)
    for ax, target in zip(panels, targets, strict=True):
        for k, v in enumerate((*over, of, *extra)):
            cells = [
                by_batch[bs][by_batch[bs]["target"] == target][v].to_numpy(
                    dtype=np.float64
                )
                for bs in sizes
            ]
            stats_ = [mean_interval(c) for c in cells]
            ax.errorbar(
                np.arange(len(sizes)) + 0.04 * (k - 1),
                [m for m, _ in stats_],
                yerr=[h for _, h in stats_],
                marker="o",
                ms=4,
                capsize=3,
                color=VARIANT_COLORS.get(v),
                label=v,  # offset: bars side by side
                ls="--" if v in extra else "-",
            )
        ax.set_xticks(range(len(sizes)), [str(bs) for bs in sizes])
        ax.set_xlabel("mini-batch rows (fewer: more Adam steps)")
        ax.set_title(target, fontsize=9)
    panels[0].set_ylabel("pairwise accuracy, mean over draws")
    panels[-1].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def prereg_intervals(table: pd.DataFrame, *, min_gain: float = 0.03) -> Figure:
    """One panel per pre-registered experiment: each estimate's mean difference over
    draws (dot) and 95 % interval (bar), 0 dotted, ``min_gain`` (prediction 1's +3
    points) dashed in the substitution panel.

    ``table``: :meth:`~affect_lib.experiments.lasca_prereg_results.PreregResult.table`
    (columns experiment, variant, mean, lo, hi).
    """
    experiments = list(dict.fromkeys(table["experiment"]))
    sizes = [int((table["experiment"] == x).sum()) for x in experiments]
    fig, axes = plt.subplots(
        len(experiments),
        1,
        figsize=(6.4, 0.9 + 0.28 * sum(sizes) + 0.35 * len(experiments)),
        squeeze=False,
        gridspec_kw={"height_ratios": sizes},
        sharex=True,
    )
    for ax, x in zip(axes[:, 0], experiments, strict=True):
        part = table[table["experiment"] == x]
        mean, lo, hi = (part[c].to_numpy(np.float64) for c in ("mean", "lo", "hi"))
        y = np.arange(len(part))[::-1]
        ax.errorbar(
            mean,
            y,
            xerr=[mean - lo, hi - mean],
            fmt="o",
            color="black",
            capsize=3,
            ms=4,
        )
        ax.axvline(0, color="black", lw=0.8, ls=":")
        if x == "substitution":
            ax.axvline(min_gain, color="#C44E52", lw=0.8, ls="--")
        ax.set_yticks(y, part["variant"].str.replace("_", " "), fontsize=7)
        ax.set_title(x, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("accuracy difference, mean over draws (95 % interval)")
    fig.tight_layout()
    return fig
