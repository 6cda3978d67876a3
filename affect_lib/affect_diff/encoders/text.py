"""Text encoder: linear projection + small Transformer over the valid steps, then
LayerNorm."""

from __future__ import annotations

import math

import torch
from torch import nn

from affect_lib.schema import check_mask, check_sequence

__all__ = ["TextEncoder", "sinusoidal_positions"]


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """(B, T) integer positions -> (B, T, dim) sinusoidal embedding (Vaswani et al.,
    2017)."""
    half = (dim + 1) // 2
    freqs = torch.exp(
        -math.log(10000.0) * torch.arange(half, device=positions.device) / half
    )
    angles = positions.unsqueeze(-1).float() * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)[..., :dim]


class TextEncoder(nn.Module):
    """(B, T, input_dim), mask (B, T) -> (B, T, d_model); zeros at padded steps.

    Positions count from the first valid step (sequences are left-padded), so the output
    at valid steps does not depend on how much padding precedes them.
    """

    def __init__(
        self,
        *,
        input_dim: int,
        d_model: int,
        n_layers: int = 1,
        n_heads: int = 4,
        dropout: float = 0.1,
        ff_mult: int = 4,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(
                f"TextEncoder: d_model ({d_model}) must be divisible by n_heads "
                f"({n_heads})"
            )
        self.input_dim, self.d_model = input_dim, d_model
        self.proj = nn.Linear(input_dim, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            dim_feedforward=ff_mult * d_model,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # Nested tensors need post-norm layers; pre-norm trains more stably at this
        # size.
        self.transformer = nn.TransformerEncoder(
            layer, n_layers, enable_nested_tensor=False
        )
        self.norm = nn.LayerNorm(d_model)  # energy-level normalisation of the modality

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        check_sequence(x, name="TextEncoder: text", dim=self.input_dim)
        check_mask(mask, where="TextEncoder", shape=tuple(x.shape[:2]))
        keep = mask.unsqueeze(-1)
        positions = (mask.long().cumsum(dim=1) - 1).clamp(min=0)
        # proj(0) = bias at padded steps, as proj(x * keep) would give, without a pass
        # over the (B, T, input_dim) input
        h = torch.where(keep, self.proj(x), self.proj.bias) + sinusoidal_positions(
            positions, self.d_model
        ).to(x.dtype)
        # padded steps are never attended to
        h = self.transformer(h, src_key_padding_mask=~mask)
        return self.norm(h) * keep.to(h.dtype)
