"""Video encoder: per-step MLP over facial action-unit features, then LayerNorm."""

from __future__ import annotations

import torch
from torch import nn

from affect_lib.schema import check_mask, check_sequence

__all__ = ["VideoEncoder"]


class VideoEncoder(nn.Module):
    """(B, T, input_dim), mask (B, T) -> (B, T, d_model): Linear -> GELU -> Linear ->
    LayerNorm.

    Action units are already a compact per-frame description, so each step is encoded on
    its own.
    """

    def __init__(
        self,
        *,
        input_dim: int,
        d_model: int,
        hidden: int | None = None,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.input_dim, self.d_model = input_dim, d_model
        hidden = hidden or 2 * d_model
        self.mlp = nn.Sequential(
            nn.Linear(input_dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, d_model),
        )
        self.norm = nn.LayerNorm(d_model)  # energy-level normalisation of the modality

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        check_sequence(x, name="VideoEncoder: video", dim=self.input_dim)
        check_mask(mask, where="VideoEncoder", shape=tuple(x.shape[:2]))
        return self.norm(self.mlp(x)) * mask.unsqueeze(-1).to(x.dtype)
