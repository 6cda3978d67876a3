"""Causal-weighted fusion of the modalities and the VAE latent bottleneck."""

from __future__ import annotations

from affect_lib.models.fusion.latent_bottleneck import (
    BottleneckOutput,
    LatentBottleneck,
    gaussian_kl,
    reconstruction_loss,
)

__all__ = ["BottleneckOutput", "LatentBottleneck", "gaussian_kl", "reconstruction_loss"]
