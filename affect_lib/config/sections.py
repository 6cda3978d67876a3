"""The sections of a run's configuration that describe data, model and training.

One frozen dataclass per part: :class:`DataConfig` (SynthMOSEI), :class:`ModelConfig`
(Affect-Diff's architecture and loss weights), :class:`TrainConfig` (optimisation). Each
checks its own values when it is built and raises :class:`ConfigError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ConfigError", "DataConfig", "ModelConfig", "TrainConfig", "choices"]


class ConfigError(ValueError):
    """A profile name, parameter name or parameter value that is not valid."""


def choices(*values: str) -> dict[str, tuple[str, ...]]:
    """Field metadata: the values a text field admits (an override outside them is a
    ConfigError)."""
    return {"choices": values}


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """SynthMOSEI sizes and generative knobs (see ``data_cards/synth_mosei.md``).

    Splits are speaker-disjoint. Sequences are ``seq_len`` steps, left-padded like the
    CMU-MultimodalSDK (valid steps at the end); ``mask`` marks valid steps.
    """

    n_train: int
    n_val: int
    n_test: int
    seq_len: int
    min_len: int
    text_dim: int = 768
    audio_dim: int = 74
    video_dim: int = 35
    n_speakers: int = 200
    # dimension of the affect subspace each modality embeds its cues in
    latent_rank: int = 8
    class_probs: tuple[float, ...] = (0.26, 0.18, 0.16, 0.14, 0.14, 0.12)
    driver_mix: tuple[float, ...] = (0.4, 0.3, 0.3)  # P(driver = text, audio, video)
    # norm of the class cue inside the driver's evidence window
    driver_strength: float = 5.0
    window_frac: float = 0.3  # evidence window length / valid length
    # class-agnostic salience burst of the driver inside its window
    burst_strength: float = 3.0
    # norm of the (possibly conflicting) cue in the other modalities
    weak_strength: float = 0.5
    conflict_prob: float = 0.35  # P(a non-driver modality shows another emotion's cue)
    co_occurrence: float = 0.25  # P(each non-dominant emotion is also present)
    speaker_std: float = 0.2  # speaker offset inside the affect subspace (per modality)
    latent_noise: float = 0.6  # AR(1) noise inside the affect subspace, per step
    noise_std: float = 1.0  # i.i.d. feature noise, per step and dimension
    # raw scales differ, as COVAREP vs FACET do
    modality_scale: tuple[float, ...] = (
        1.0,
        4.0,
        0.5,
    )
    batch_size: int = 64
    num_workers: int = 0

    def __post_init__(self) -> None:
        for name in (
            "n_train",
            "n_val",
            "n_test",
            "seq_len",
            "min_len",
            "text_dim",
            "audio_dim",
            "video_dim",
            "n_speakers",
            "latent_rank",
            "batch_size",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0, got {self.num_workers}")
        if self.min_len > self.seq_len:
            raise ConfigError(
                f"min_len ({self.min_len}) must be <= seq_len ({self.seq_len})"
            )
        if self.min_len < 4:
            raise ConfigError(
                f"min_len must be >= 4 (room for an evidence window), got "
                f"{self.min_len}"
            )
        if self.n_speakers < 3:
            raise ConfigError(
                f"n_speakers must be >= 3 (speaker-disjoint splits), got "
                f"{self.n_speakers}"
            )
        low = min(self.text_dim, self.audio_dim, self.video_dim)
        if self.latent_rank > low:
            raise ConfigError(
                f"latent_rank ({self.latent_rank}) must be <= every feature dim "
                f"(smallest is {low})"
            )
        if self.latent_rank < 7:
            raise ConfigError(
                f"latent_rank must be >= 7 (6 orthogonal emotion prototypes + a "
                f"burst), got {self.latent_rank}"
            )
        _check_simplex("class_probs", self.class_probs, 6)
        _check_simplex("driver_mix", self.driver_mix, 3)
        for name in ("window_frac", "conflict_prob", "co_occurrence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")
        if self.window_frac <= 0:
            raise ConfigError("window_frac must be > 0")
        for name in (
            "driver_strength",
            "burst_strength",
            "weak_strength",
            "speaker_std",
            "latent_noise",
            "noise_std",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if len(self.modality_scale) != 3 or min(self.modality_scale) <= 0:
            raise ConfigError(
                f"modality_scale must be 3 positive numbers (text, audio, video), got "
                f"{self.modality_scale}"
            )

    @property
    def dims(self) -> dict[str, int]:
        return {"text": self.text_dim, "audio": self.audio_dim, "video": self.video_dim}


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Affect-Diff architecture: modality encoders and the causal attention graph."""

    d_model: int = 64
    n_heads: int = 4
    dropout: float = 0.1
    # graph nodes: pooled over time
    pooling: str = field(default="max", metadata=choices("max", "mean"))
    # Gumbel-Softmax temperature at the start of training (soft edges)
    tau_start: float = 1.0
    tau_end: float = 0.1  # ... and at the end of the annealing (nearly hard edges)
    gumbel_schedule: str = field(default="exp", metadata=choices("exp", "linear"))
    gumbel_hard: bool = False  # straight-through one-hot edges in training
    latent_dim: int = 16  # z (B, T, latent_dim); the seed uses 256 (paper profile)
    unet_base: int = 32  # UNet1D channels at the first level
    unet_mults: tuple[int, ...] = (1, 2)  # channel multiplier per U-Net level
    diffusion_steps: int = 1000  # T of the cosine schedule (as in the seed)
    # classifier-free guidance: label replaced by the null label in training. 0.25 is a
    # little above the usual 0.1-0.2 (REFERENCE.md); measured once on the book profile
    # (seed 0, an earlier build and CPU), 0.15 gave chapter 4's validity 0.963 against
    # 0.983 and test accuracy 0.982 against 0.977: one seed, not a tuned optimum
    p_uncond: float = 0.25
    beta: float = 1.0  # β of the β-KL
    free_bits: float = 0.0  # per-dimension KL floor against posterior collapse
    lambda_diff: float = 1.0  # λ₁: weight of the diffusion (ε-prediction) loss
    lambda_kl: float = 1e-3  # λ₂: weight of the β-KL
    lambda_rec: float = 0.05  # weight of the per-modality reconstruction loss
    # weight of the multi-label (sigmoid, one per emotion) head's BCE
    lambda_ml: float = 0.5
    # focal-loss γ of the single-label head (affect_lib.affect_diff.focal): 0 is plain
    # cross-entropy; try 2 on real CMU-MOSEI, about two thirds "happy", so the majority
    # class does not dominate training
    focal_gamma: float = 0.0
    # stop the diffusion gradient at z (the prior must not fight the classifier)
    diffusion_detach: bool = True
    # decoders read the influence weights too (where each modality expresses affect)
    decoder_influence: bool = True
    # inference: noise μ to this step, then denoise (≤ diffusion_steps − 1)
    denoise_t_start: int = 200
    ddim_steps: int = 20  # DDIM steps used at inference

    def __post_init__(self) -> None:
        if self.d_model < 1 or self.n_heads < 1 or self.d_model % self.n_heads:
            raise ConfigError(
                f"d_model ({self.d_model}) must be a positive multiple of n_heads "
                f"({self.n_heads})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 < self.tau_end <= self.tau_start:
            raise ConfigError(
                f"need 0 < tau_end <= tau_start, got tau_start={self.tau_start}, "
                f"tau_end={self.tau_end}"
            )
        for name in ("latent_dim", "unet_base", "diffusion_steps", "ddim_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.unet_mults or min(self.unet_mults) < 1:
            raise ConfigError(
                f"unet_mults must be positive integers, got {self.unet_mults}"
            )
        if self.unet_base % 8:
            raise ConfigError(
                f"unet_base must be a multiple of 8 (GroupNorm groups), got "
                f"{self.unet_base}"
            )
        if not 0.0 <= self.p_uncond < 1.0:
            raise ConfigError(f"p_uncond must be in [0, 1), got {self.p_uncond}")
        for name in (
            "beta",
            "free_bits",
            "lambda_diff",
            "lambda_kl",
            "lambda_rec",
            "lambda_ml",
            "focal_gamma",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.denoise_t_start < self.diffusion_steps:
            raise ConfigError(
                f"denoise_t_start must be in [0, "
                f"diffusion_steps={self.diffusion_steps}), "
                f"got {self.denoise_t_start}"
            )
        if self.ddim_steps > self.denoise_t_start + 1:
            raise ConfigError(
                f"ddim_steps ({self.ddim_steps}) must be <= denoise_t_start + 1 "
                f"({self.denoise_t_start + 1})"
            )


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Optimisation of the Affect-Diff LightningModule (AdamW, warmup, clipping, early
    stopping)."""

    max_epochs: int = 12
    lr: float = 2e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 30  # linear LR warmup, then constant
    grad_clip: float = 1.0  # gradient-norm clipping (the seed's "DeepMind standard")
    patience: int = 5  # EarlyStopping on val_loss (50 in the paper profile)
    precision: str = field(
        default="auto", metadata=choices("auto", "32", "bf16-mixed", "16-mixed")
    )
    logger: str = field(default="csv", metadata=choices("csv", "tensorboard", "wandb"))

    def __post_init__(self) -> None:
        for name in ("max_epochs", "patience"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if (
            self.lr <= 0
            or self.weight_decay < 0
            or self.grad_clip <= 0
            or self.warmup_steps < 0
        ):
            raise ConfigError(
                "lr and grad_clip must be > 0, weight_decay and warmup_steps >= 0"
            )


def _check_simplex(name: str, values: tuple[float, ...], n: int) -> None:
    if len(values) != n:
        raise ConfigError(f"{name} must have {n} entries, got {len(values)}")
    if min(values) < 0 or abs(sum(values) - 1.0) > 1e-6:
        raise ConfigError(f"{name} must be non-negative and sum to 1, got {values}")
