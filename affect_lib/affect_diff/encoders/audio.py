"""Audio encoder: two temporal convolutions (local prosody context), then LayerNorm."""

from __future__ import annotations

import torch
from torch import nn

from affect_lib.schema import check_mask, check_sequence

__all__ = ["AudioEncoder"]


class AudioEncoder(nn.Module):
    """(B, T, input_dim), mask (B, T) -> (B, T, d_model): Conv1d -> GELU -> Conv1d ->
    LayerNorm.

    Padded steps are zeroed before each convolution, so a valid step next to padding
    sees the same zeros as at a sequence border: outputs at valid steps ignore the
    amount of left padding.
    """

    def __init__(
        self,
        *,
        input_dim: int,
        d_model: int,
        kernel_size: int = 3,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"AudioEncoder: kernel_size must be odd and >= 1 (length-preserving), "
                f"got {kernel_size}"
            )
        self.input_dim, self.d_model = input_dim, d_model
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(input_dim, d_model, kernel_size, padding=pad)
        self.conv2 = nn.Conv1d(d_model, d_model, kernel_size, padding=pad)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)  # energy-level normalisation of the modality

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        check_sequence(x, name="AudioEncoder: audio", dim=self.input_dim)
        check_mask(mask, where="AudioEncoder", shape=tuple(x.shape[:2]))
        keep = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T): Conv1d wants channels first
        h = self.act(self.conv1(x.transpose(1, 2) * keep))
        # re-zero: conv1's bias made padded steps non-zero
        h = self.conv2(self.dropout(h) * keep)
        return self.norm(h.transpose(1, 2)) * keep.transpose(1, 2)
