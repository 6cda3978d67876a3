"""Latent diffusion of Affect-Diff: cosine-schedule DDPM/DDIM with classifier-free
guidance, 1D U-Net."""

from affect_lib.affect_diff.diffusion.gaussian_diffusion import DiffusionSchedule
from affect_lib.affect_diff.diffusion.guidance import (
    classifier_free_guidance,
    drop_labels,
    guided_eps_fn,
)
from affect_lib.affect_diff.diffusion.schedules import (
    cosine_beta_schedule,
    linear_beta_schedule,
)
from affect_lib.affect_diff.diffusion.unet1d import (
    ResnetBlock1D,
    SinusoidalTimeEmbedding,
    UNet1D,
)

__all__ = [
    "DiffusionSchedule",
    "classifier_free_guidance",
    "cosine_beta_schedule",
    "drop_labels",
    "guided_eps_fn",
    "linear_beta_schedule",
    "ResnetBlock1D",
    "SinusoidalTimeEmbedding",
    "UNet1D",
]
