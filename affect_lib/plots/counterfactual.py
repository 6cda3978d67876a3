"""Figures of chapter 4 (counterfactuals). Each returns the matplotlib Figure; notebooks
end the cell with ``plt.show()``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from affect_lib.affect_diff.counterfactual import Counterfactual
from affect_lib.schema import EMOTIONS, MODALITIES

__all__ = [
    "counterfactual_example",
    "tradeoff_curve",
    "sampler_bars",
    "validity_heatmap",
    "attribution_by_driver",
]


def counterfactual_example(cf: Counterfactual, i: int, *, max_dims: int = 24) -> Figure:
    """Rows: original reconstruction, counterfactual reconstruction, difference;
    columns: modalities. Each panel is (features × valid time steps) of utterance ``i``;
    the change per modality is in the column title, the most-changed modality's title is
    bold."""
    valid = cf.mask[i].cpu().numpy()
    fig, axes = plt.subplots(3, len(MODALITIES), figsize=(11, 6.4), squeeze=False)
    top = int(cf.attribution[i])
    for col, m in enumerate(MODALITIES):
        a = cf.recon[m][i].cpu().numpy()[valid][:, :max_dims].T
        b = cf.recon_cf[m][i].cpu().numpy()[valid][:, :max_dims].T
        lim = float(np.abs(np.concatenate([a, b])).max()) or 1.0
        for row, (x, cmap, vmax) in enumerate(
            (
                (a, "RdBu_r", lim),
                (b, "RdBu_r", lim),
                (b - a, "PuOr_r", float(np.abs(b - a).max()) or 1.0),
            )
        ):
            axes[row, col].imshow(
                x,
                aspect="auto",
                cmap=cmap,
                vmin=-vmax,
                vmax=vmax,
                interpolation="nearest",
            )
            axes[row, col].set_yticks([])
        axes[0, col].set_title(
            f"{m}: change {float(cf.change[i, col]):.2f}",
            fontweight="bold" if col == top else "normal",
        )
        axes[2, col].set_xlabel("time step")
    for row, name in enumerate(
        ("original", f"→ {EMOTIONS[int(cf.target[i])]}", "difference")
    ):
        axes[row, 0].set_ylabel(name)
    fig.tight_layout()
    return fig


def tradeoff_curve(sweep: pd.DataFrame, chosen: float) -> Figure:
    """Validity against proximity over the CFG scale (annotated), chosen scale
    highlighted."""
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    ax.plot(sweep["proximity"], sweep["validity"], "-o", color="#4C72B0")
    for _, row in sweep.iterrows():
        ax.annotate(
            f"s={row.cfg_scale:g}",
            (row.proximity, row.validity),
            textcoords="offset points",
            xytext=(5, -10),
            fontsize=8,
        )
    pick = sweep[sweep["cfg_scale"] == chosen]
    ax.plot(
        pick["proximity"],
        pick["validity"],
        "o",
        ms=12,
        mfc="none",
        mec="#C44E52",
        mew=2,
        label="chosen",
    )
    ax.set_xlabel("proximity ‖z′ − z‖ / ‖z‖ (lower = closer)")
    ax.set_ylabel("validity (share classified as target)")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def sampler_bars(race: pd.DataFrame) -> Figure:
    """Seconds (log scale) and validity per sampler."""
    fig, (ax_t, ax_v) = plt.subplots(1, 2, figsize=(9, 3.2))
    names = list(race.index)
    ax_t.barh(names, race["seconds"], color="#8172B3")
    ax_t.set_xscale("log")
    ax_t.set_xlabel("seconds for the batch (log)")
    ax_v.barh(names, race["validity"], color="#55A868")
    ax_v.set_xlim(0, 1)
    ax_v.set_xlabel("validity")
    ax_v.set_yticks([])
    fig.tight_layout()
    return fig


def validity_heatmap(matrix: np.ndarray) -> Figure:
    """Source emotion (rows) × target emotion (columns) validity, values in the
    cells."""
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    ax.imshow(matrix, vmin=0, vmax=1, cmap="Greens")
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(
                j,
                i,
                f"{matrix[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if matrix[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("target emotion")
    ax.set_ylabel("source emotion")
    fig.tight_layout()
    return fig


def attribution_by_driver(attribution: np.ndarray, driver: np.ndarray) -> Figure:
    """Row-normalised planted driver (rows) × attributed modality (columns), counts in
    the cells."""
    k = len(MODALITIES)
    counts = np.zeros((k, k), dtype=int)
    known = driver >= 0
    np.add.at(counts, (driver[known], attribution[known]), 1)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(rates, vmin=0, vmax=1, cmap="Oranges")
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                color="white" if rates[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(k), MODALITIES)
    ax.set_yticks(range(k), MODALITIES)
    ax.set_xlabel("modality that changed most")
    ax.set_ylabel("planted driver")
    fig.tight_layout()
    return fig
