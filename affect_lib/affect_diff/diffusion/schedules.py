"""Noise schedules: the betas ``β_t`` of the forward process, as (T,) float64
tensors."""

from __future__ import annotations

import math

import torch

__all__ = ["cosine_beta_schedule", "linear_beta_schedule", "SCHEDULES"]


def cosine_beta_schedule(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """(T,) float64 betas of Nichol & Dhariwal (2021): ``ᾱ(u) = cos²(((u + s)/(1 +
    s))·π/2)``, ``u = t/T``.

    ``β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), 0.999)``; the clip (only hit at the last step for
    T=1000) avoids the singularity ``ᾱ(1) = 0``.
    """
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    u = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - f[1:] / f[:-1]).clamp(max=0.999)


def linear_beta_schedule(timesteps: int) -> torch.Tensor:
    """(T,) float64 betas of Ho et al. (2020), rescaled so any T spans the same noise
    range as T=1000."""
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    scale = 1000 / timesteps
    return torch.linspace(
        scale * 1e-4, min(scale * 0.02, 0.999), timesteps, dtype=torch.float64
    )


SCHEDULES = {"cosine": cosine_beta_schedule, "linear": linear_beta_schedule}
