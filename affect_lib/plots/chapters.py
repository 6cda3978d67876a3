"""The book's figures, one function per figure kind. Each returns the matplotlib Figure.

Figures are made with ``plt.subplots`` so Jupyter's inline backend shows them; notebooks
end the cell with ``plt.show()`` so no ``<Figure size ...>`` repr lands in the stored
output.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.schema import EMOTIONS, MODALITIES

__all__ = [
    "class_driver_balance",
    "modality_heatmaps",
    "probe_accuracy_bars",
    "gumbel_samples",
    "training_curves",
    "adjacency_by_driver",
    "loss_curves",
    "confusion",
]

MODALITY_COLORS = {
    "text": "#4C72B0",
    "audio": "#DD8452",
    "video": "#55A868",
    "concat": "#8172B3",
}


def class_driver_balance(corpora: dict[str, MultimodalCorpus]) -> Figure:
    """Left: utterances per emotion and split. Right: driver modality share per emotion
    (train)."""
    fig, (ax_cls, ax_drv) = plt.subplots(1, 2, figsize=(11, 3.6))
    width = 0.8 / len(corpora)
    x = np.arange(len(EMOTIONS))
    for i, (split, corpus) in enumerate(corpora.items()):
        counts = np.bincount(corpus.label, minlength=len(EMOTIONS))
        ax_cls.bar(
            x + i * width,
            counts / counts.sum(),
            width,
            label=f"{split} (n={len(corpus)})",
        )
    ax_cls.set_xticks(x + width * (len(corpora) - 1) / 2, EMOTIONS)
    ax_cls.set_ylabel("share of utterances")
    ax_cls.set_title("Dominant emotion per split")
    ax_cls.legend(frameon=False, fontsize=8)

    train = corpora["train"]
    bottom = np.zeros(len(EMOTIONS))
    for d, modality in enumerate(MODALITIES):
        share = np.array(
            [
                np.mean(train.driver[train.label == c] == d)
                if np.any(train.label == c)
                else 0.0
                for c in range(len(EMOTIONS))
            ]
        )
        ax_drv.bar(
            x, share, bottom=bottom, color=MODALITY_COLORS[modality], label=modality
        )
        bottom += share
    ax_drv.set_xticks(x, EMOTIONS)
    ax_drv.set_ylabel("share of utterances")
    ax_drv.set_title("Driver modality per emotion (train)")
    ax_drv.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def modality_heatmaps(
    corpus: MultimodalCorpus, indices: list[int], max_dims: int = 35
) -> Figure:
    """Rows: utterances; columns: modalities. Each panel shows (features × time) of one
    utterance, z-scored per feature over valid steps; the driver's evidence window is
    outlined."""
    fig, axes = plt.subplots(
        len(indices), len(MODALITIES), figsize=(11, 2.3 * len(indices)), squeeze=False
    )
    for row, i in enumerate(indices):
        valid = corpus.mask[i]
        for col, modality in enumerate(MODALITIES):
            ax = axes[row, col]
            x = getattr(corpus, modality)[i][:, :max_dims].T  # (D', T)
            mu = x[:, valid].mean(axis=1, keepdims=True)
            sd = x[:, valid].std(axis=1, keepdims=True) + 1e-6
            z = np.where(valid[None, :], (x - mu) / sd, np.nan)
            ax.imshow(
                z,
                aspect="auto",
                cmap="RdBu_r",
                vmin=-3,
                vmax=3,
                interpolation="nearest",
            )
            if corpus.driver[i] == col:
                start, end = corpus.window[i]
                ax.add_patch(
                    Rectangle(
                        (start - 0.5, -0.5),
                        end - start,
                        z.shape[0],
                        fill=False,
                        edgecolor="black",
                        linewidth=2,
                    )
                )
            cue = (
                "conflicting cue"
                if corpus.conflict[i, col]
                else ("driver" if corpus.driver[i] == col else "weak cue")
            )
            ax.set_title(f"{corpus.ids[i]} · {modality} ({cue})", fontsize=8)
            ax.set_yticks([])
            if row == len(indices) - 1:
                ax.set_xlabel("time step")
        axes[row, 0].set_ylabel(f"{EMOTIONS[corpus.label[i]]}\nfeatures", fontsize=8)
    fig.tight_layout()
    return fig


def probe_accuracy_bars(
    overall: dict[str, float], by_driver: dict[str, list[float]], chance: float
) -> Figure:
    """Left: test accuracy of each probe. Right: the same split by the true driver
    modality."""
    fig, (ax_all, ax_drv) = plt.subplots(1, 2, figsize=(11, 3.4))
    names = list(overall)
    ax_all.bar(
        names, [overall[n] for n in names], color=[MODALITY_COLORS[n] for n in names]
    )
    ax_all.axhline(chance, color="gray", linestyle="--", linewidth=1, label="chance")
    ax_all.set_ylim(0, 1)
    ax_all.set_ylabel("test accuracy")
    ax_all.set_title("Linear probe per modality")
    ax_all.legend(frameon=False, fontsize=8)
    x = np.arange(len(MODALITIES))
    width = 0.8 / len(names)
    for i, n in enumerate(names):
        ax_drv.bar(
            x + i * width,
            by_driver[n],
            width,
            color=MODALITY_COLORS[n],
            label=f"{n} probe",
        )
    ax_drv.set_xticks(
        x + width * (len(names) - 1) / 2, [f"driver = {m}" for m in MODALITIES]
    )
    ax_drv.set_ylim(0, 1)
    ax_drv.set_title("Accuracy by true driver modality")
    ax_drv.legend(frameon=False, fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def gumbel_samples(samples: dict[float, np.ndarray], labels: tuple[str, str]) -> Figure:
    """One panel per temperature: histogram of a row's weight on its first candidate
    edge.

    ``samples`` maps τ to (n,) weights in [0, 1]; soft samples spread, cold ones pile up
    at 0 and 1.
    """
    fig, axes = plt.subplots(
        1, len(samples), figsize=(2.7 * len(samples), 2.6), sharey=True
    )
    for ax, (tau, w) in zip(np.atleast_1d(axes), samples.items(), strict=True):
        ax.hist(w, bins=np.linspace(0, 1, 21), color=MODALITY_COLORS["text"])
        ax.set_title(f"τ = {tau:g}")
        ax.set_xlabel(f"weight on {labels[0]} (vs {labels[1]})", fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("samples")
    fig.tight_layout()
    return fig


def training_curves(
    history: dict[str, list[dict[str, float]]], keys: tuple[str, ...]
) -> Figure:
    """One panel per metric ``key``, one line per run in ``history`` (name → per-epoch
    records)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(3.7 * len(keys), 3.0))
    for ax, key in zip(np.atleast_1d(axes), keys, strict=True):
        for name, records in history.items():
            ax.plot(
                [r["epoch"] for r in records],
                [r[key] for r in records],
                marker="o",
                label=name,
            )
        ax.set_xlabel("epoch")
        ax.set_title(key.replace("_", " "))
    np.atleast_1d(axes)[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def adjacency_by_driver(adjacency: np.ndarray, driver: np.ndarray) -> Figure:
    """Mean adjacency (row = from, column = to) over the utterances of each true
    driver."""
    fig, axes = plt.subplots(1, len(MODALITIES), figsize=(11, 3.2))
    for d, ax in enumerate(axes):
        mean = adjacency[driver == d].mean(axis=0)
        im = ax.imshow(mean, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(MODALITIES)):
            for j in range(len(MODALITIES)):
                ax.text(
                    j,
                    i,
                    f"{mean[i, j]:.2f}",
                    ha="center",
                    va="center",
                    color="white" if mean[i, j] > 0.5 else "black",
                    fontsize=9,
                )
        ax.set_xticks(range(len(MODALITIES)), MODALITIES)
        ax.set_yticks(range(len(MODALITIES)), MODALITIES)
        ax.set_xlabel("attends to")
        ax.set_title(
            f"true driver = {MODALITIES[d]} (n={int(np.sum(driver == d))})", fontsize=9
        )
    axes[0].set_ylabel("modality")
    fig.colorbar(im, ax=axes, fraction=0.02)
    return fig


def loss_curves(
    metrics: pd.DataFrame, terms: tuple[str, ...] = ("loss", "ce", "diff")
) -> Figure:
    """Per-epoch train/val curves from the CSV logger (``read_metrics``), one panel per
    loss term."""
    fig, axes = plt.subplots(1, len(terms), figsize=(3.7 * len(terms), 3.0))
    for ax, term in zip(np.atleast_1d(axes), terms, strict=True):
        for split, style in (("train", "-o"), ("val", "--s")):
            col = f"{split}_{term}"
            if col in metrics:
                ax.plot(metrics.index, metrics[col], style, label=split, markersize=4)
        ax.set_xlabel("epoch")
        ax.set_title(
            {
                "loss": "total loss",
                "ce": "cross-entropy",
                "diff": "diffusion ε-MSE",
            }.get(term, term)
        )
    np.atleast_1d(axes)[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def confusion(
    label: np.ndarray, pred: np.ndarray, names: tuple[str, ...] = EMOTIONS
) -> Figure:
    """Row-normalised confusion matrix (rows: truth), with counts in the cells."""
    n = len(names)
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (label, pred), 1)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if rates[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return fig
