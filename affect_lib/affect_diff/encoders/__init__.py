"""Per-modality encoders (B, T, D_m) -> (B, T, d_model), plus the checks and pooling
they share.

Batch contract: sequences are LEFT-padded, ``mask`` (B, T) bool is True at valid steps,
and every encoder returns exact zeros at padded steps.
"""

from __future__ import annotations

import torch
from torch import nn

from affect_lib.schema import MODALITIES, check_mask, check_sequence

__all__ = [
    "masked_mean",
    "TextEncoder",
    "AudioEncoder",
    "VideoEncoder",
    "ModalityEncoders",
    "ENCODERS",
]


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D), (B, T) bool -> (B, D): mean over valid steps only."""
    check_sequence(x, name="masked_mean: x")
    check_mask(mask, where="masked_mean", shape=tuple(x.shape[:2]))
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(dim=1) / w.sum(dim=1)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D), (B, T) bool -> (B, D): max over valid steps only (keeps short, salient
    events that a mean over the whole utterance would dilute)."""
    check_sequence(x, name="masked_max: x")
    check_mask(mask, where="masked_max", shape=tuple(x.shape[:2]))
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)


POOLING = {"mean": masked_mean, "max": masked_max}


# Submodules import the helpers above from this package, so they are imported after
# them.
from affect_lib.affect_diff.encoders.audio import AudioEncoder  # noqa: E402
from affect_lib.affect_diff.encoders.text import TextEncoder  # noqa: E402
from affect_lib.affect_diff.encoders.video import VideoEncoder  # noqa: E402

ENCODERS: dict[str, type[nn.Module]] = {
    "text": TextEncoder,
    "audio": AudioEncoder,
    "video": VideoEncoder,
}


class ModalityEncoders(nn.Module):
    """One encoder per modality: batch {m: (B, T, D_m), "mask": (B, T)} -> {m: (B, T,
    d_model)}.

    :meth:`pool` stacks the masked means in MODALITIES order, (B, 3, d_model): the
    graph's nodes.
    """

    def __init__(
        self,
        *,
        dims: dict[str, int],
        d_model: int,
        dropout: float = 0.1,
        n_heads: int = 4,
    ) -> None:
        """``n_heads``: attention heads of the text transformer."""
        super().__init__()
        missing = [m for m in MODALITIES if m not in dims]
        if missing:
            raise ValueError(
                f"ModalityEncoders: dims lacks modality {missing}; expected keys "
                f"{list(MODALITIES)}"
            )
        self.d_model = d_model
        kw = dict(d_model=d_model, dropout=dropout)
        self.encoders = nn.ModuleDict(
            {
                "text": TextEncoder(input_dim=dims["text"], n_heads=n_heads, **kw),
                "audio": AudioEncoder(input_dim=dims["audio"], **kw),
                "video": VideoEncoder(input_dim=dims["video"], **kw),
            }
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        for key in (*MODALITIES, "mask"):
            if key not in batch:
                raise ValueError(
                    f"ModalityEncoders: batch lacks key {key!r}; expected "
                    f"{[*MODALITIES, 'mask']}"
                )
        return {m: self.encoders[m](batch[m], batch["mask"]) for m in MODALITIES}

    def pool(
        self, encoded: dict[str, torch.Tensor], mask: torch.Tensor, *, how: str = "mean"
    ) -> torch.Tensor:
        """{m: (B, T, d_model)} -> (B, 3, d_model) masked means (``how="mean"``) or
        maxima (``"max"``)."""
        if how not in POOLING:
            raise ValueError(f"pool: how must be one of {sorted(POOLING)}, got {how!r}")
        return torch.stack([POOLING[how](encoded[m], mask) for m in MODALITIES], dim=1)
