"""Focal loss for the single-label emotion head (Lin et al., 2017), an option for
imbalanced data.

Real CMU-MOSEI is about two thirds *happy* by dominant emotion, so a plain cross-entropy
learns the majority class first. The focal loss scales each utterance's cross-entropy by
``(1 - p_t)^gamma``, where ``p_t`` is the predicted probability of its true class::

    FL = mean_i  -(1 - p_t,i)^gamma * log p_t,i

so well-classified (mostly majority-class) utterances weigh less. ``gamma = 0`` is
exactly the cross-entropy (the default, and what the book's synthetic, balanced data
use); Lin et al. use 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["focal_cross_entropy"]


def focal_cross_entropy(
    logits: torch.Tensor, label: torch.Tensor, gamma: float = 0.0
) -> torch.Tensor:
    """Mean focal loss of logits (B, C) against labels (B,) int64; ``gamma = 0``:
    ``F.cross_entropy``."""
    if gamma < 0:
        raise ValueError(f"focal_cross_entropy: gamma must be >= 0, got {gamma}")
    if gamma == 0:
        # the same op as before the option existed: same bits
        return F.cross_entropy(logits, label)
    log_pt = F.log_softmax(logits, dim=-1).gather(1, label[:, None])[:, 0]  # (B,)
    return (-(1.0 - log_pt.exp()).pow(gamma) * log_pt).mean()
