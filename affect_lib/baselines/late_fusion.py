"""Baselines trained on the same data as Affect-Diff.

LateFusionMLP: one MLP per modality on its pooled raw features, class probabilities
averaged (late fusion, no cross-modal interaction and no notion of which modality to
trust).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from affect_lib.affect_diff.encoders import POOLING
from affect_lib.baselines.fit import fit_classifier
from affect_lib.devices import to_device
from affect_lib.schema import EMOTIONS, MODALITIES

__all__ = ["LateFusionMLP", "BaselineEval", "evaluate_baseline", "fit_baseline"]


class LateFusionMLP(nn.Module):
    """Per modality: pool over time → LayerNorm → MLP → logits; output log of the mean
    probability."""

    def __init__(
        self,
        *,
        dims: dict[str, int],
        hidden: int = 64,
        dropout: float = 0.2,
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        if pooling not in POOLING:
            raise ValueError(
                f"pooling must be one of {sorted(POOLING)}, got {pooling!r}"
            )
        self.pool = POOLING[pooling]
        self.heads = nn.ModuleDict(
            {
                m: nn.Sequential(
                    nn.LayerNorm(dims[m]),
                    nn.Dropout(dropout),
                    nn.Linear(dims[m], hidden),
                    nn.GELU(),
                    nn.Linear(hidden, len(EMOTIONS)),
                )
                for m in MODALITIES
            }
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Batch → (B, 6) log of the averaged class probabilities (a valid input to
        cross-entropy)."""
        probs = [
            self.heads[m](self.pool(batch[m], batch["mask"])).softmax(-1)
            for m in MODALITIES
        ]
        return torch.stack(probs).mean(0).clamp_min(1e-8).log()


@dataclass(frozen=True)
class BaselineEval:
    accuracy: float
    predictions: np.ndarray


@torch.no_grad()
def evaluate_baseline(model: nn.Module, loader: DataLoader) -> BaselineEval:
    model.eval()
    device = next(model.parameters()).device
    preds, labels = [], []
    for batch in loader:
        preds.append(model(to_device(batch, device)).argmax(-1).cpu())
        labels.append(batch["label"])
    pred, label = torch.cat(preds).numpy(), torch.cat(labels).numpy()
    return BaselineEval(float(np.mean(pred == label)), pred)


def fit_baseline(
    model: nn.Module, train: DataLoader, val: DataLoader, *, epochs: int, lr: float
) -> list[dict[str, float]]:
    """Train and keep the epoch with the best validation accuracy (the baseline gets
    early stopping too)."""
    return fit_classifier(
        model,
        train,
        val,
        epochs=epochs,
        lr=lr,
        evaluate=evaluate_baseline,
        restore_best=True,
    )
