"""Figures of chapter 5 (LaScA). Each returns the matplotlib Figure; notebooks end with ``plt.show()``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["otsu_histogram", "ablation_bars"]

VARIANT_COLORS = {"features": "#8C8C8C", "st": "#4C72B0", "fusion": "#C44E52", "namelex": "#DD8452"}


def otsu_histogram(z: np.ndarray, threshold: float, names: tuple[str, ...], mask: np.ndarray, *,
                   top: int = 6) -> Figure:
    """Histogram of one window's normalised feature values with the Otsu threshold; the ``top``
    salient features are named."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.hist(z[~mask], bins=30, color="#8C8C8C", label="not salient")
    ax.hist(z[mask], bins=15, color="#C44E52", label=f"salient ({int(mask.sum())})")
    ax.axvline(threshold, color="black", ls="--", label=f"Otsu threshold {threshold:.2f}")
    order = np.argsort(-np.where(mask, z, -np.inf))[:top]
    ax.set_title("salient: " + ", ".join(names[i] for i in order if mask[i]), fontsize=8)
    ax.set_xlabel("feature value, z-scored within the video")
    ax.set_ylabel("features")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def ablation_bars(summary: pd.DataFrame, encoder: str) -> Figure:
    """Mean ± std pairwise accuracy per variant, one panel per target, cells (window, τ) on the x axis."""
    targets = list(dict.fromkeys(summary["target"]))
    fig, axes = plt.subplots(1, len(targets), figsize=(5.5 * len(targets), 3.4), sharey=True, squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        part = summary[(summary["target"] == target) & summary["encoder"].isin([encoder, "none"])]
        cells = list(dict.fromkeys(zip(part["window_s"], part["tau"], strict=True)))
        variants = list(dict.fromkeys(part["variant"]))
        width = 0.8 / len(variants)
        for k, variant in enumerate(variants):
            rows = part[part["variant"] == variant].set_index(["window_s", "tau"]).loc[cells]
            ax.bar(np.arange(len(cells)) + k * width, rows["mean"], width, yerr=rows["std"], capsize=2,
                   color=VARIANT_COLORS.get(variant), label=variant)
        ax.set_xticks(np.arange(len(cells)) + width * (len(variants) - 1) / 2,
                      [f"{w:g} s / {t:.0%}" for w, t in cells])
        ax.axhline(0.5, color="black", lw=0.8, ls=":")
        ax.set_ylim(0.4, 1.0)
        ax.set_title(target)
    axes[0, 0].set_ylabel("pairwise accuracy")
    axes[0, -1].legend(frameon=False, fontsize=8, ncol=2)
    fig.tight_layout()
    return fig
