"""A run's whole configuration (:class:`RunConfig`) and the three profiles of the book.

``smoke`` (seconds, for tests), ``book`` (the stored outputs, about ten minutes on two
cores) and ``paper`` (the seeds' sizes, for a GPU).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from affect_lib.config.sections import (
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
    choices,
)
from affect_lib.config.studies import ALL_VARIANTS, AblationConfig, LascaConfig

__all__ = ["PROFILES", "SECTIONS", "RunConfig"]


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything a notebook needs: profile, seed, where data come from and where
    artifacts go."""

    profile: str
    seed: int = 0
    device: str = field(default="auto", metadata=choices("auto", "cpu", "cuda", "mps"))
    data_source: str = field(
        default="synthetic",
        metadata=choices("synthetic", "cmu_mosei", "aff_wild2", "sewa"),
    )
    data_dir: str | None = None
    run_dir: str | None = None  # None: <project>/_build/runs/<profile>
    data: DataConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    lasca: LascaConfig = field(default_factory=LascaConfig)
    ablation: AblationConfig = field(default_factory=AblationConfig)

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        if self.data_source != "synthetic" and not self.data_dir:
            raise ConfigError(
                f"data_source {self.data_source!r} needs data_dir (the folder holding "
                f"the dataset's "
                "released files; see its data card)"
            )

    @property
    def run_path(self) -> Path:
        """Artifact folder of this run (created on demand by the code that writes
        there)."""
        from affect_lib.paths import default_run_dir

        return Path(self.run_dir) if self.run_dir else default_run_dir(self.profile)


PROFILES: dict[str, RunConfig] = {
    "smoke": RunConfig(
        profile="smoke",
        data=DataConfig(
            n_train=240,
            n_val=60,
            n_test=90,
            seq_len=12,
            min_len=6,
            text_dim=24,
            audio_dim=12,
            video_dim=10,
            n_speakers=24,
            batch_size=32,
        ),
        model=ModelConfig(
            d_model=16,
            n_heads=2,
            latent_dim=8,
            unet_base=16,
            diffusion_steps=50,
            denoise_t_start=20,
            ddim_steps=5,
        ),
        train=TrainConfig(max_epochs=2, warmup_steps=5, patience=2),
        lasca=LascaConfig(
            n_subjects=4,
            videos_per_subject=1,
            video_seconds=20.0,
            fps=10.0,
            audio_sr=8000,
            encoders=("minilm",),
            n_seeds=1,
            hidden=16,
            max_iter=5,
            gap_draws=2,
        ),
        ablation=AblationConfig(
            ablation_seeds=2,
            ablation_epochs=1,
            ablation_n_cf=16,
            ablation_variants=ALL_VARIANTS,
        ),
    ),
    "book": RunConfig(
        profile="book",
        data=DataConfig(
            n_train=2000, n_val=300, n_test=600, seq_len=32, min_len=12, n_speakers=200
        ),
    ),
    "paper": RunConfig(
        profile="paper",
        data=DataConfig(
            n_train=16326,
            n_val=1871,
            n_test=4659,
            seq_len=50,
            min_len=12,
            n_speakers=1000,
            batch_size=128,
            num_workers=4,
        ),
        model=ModelConfig(
            d_model=256,
            n_heads=8,
            latent_dim=256,
            unet_base=128,
            unet_mults=(1, 2, 4),
            ddim_steps=50,
        ),
        train=TrainConfig(max_epochs=300, lr=3e-4, warmup_steps=1000, patience=50),
        lasca=LascaConfig(
            n_subjects=60,
            videos_per_subject=3,
            video_seconds=180.0,
            n_seeds=15,
            gap_draws=15,
        ),
        ablation=AblationConfig(
            ablation_seeds=10,
            ablation_epochs=60,
            ablation_batch_size=128,
            ablation_n_cf=1000,
            ablation_variants=ALL_VARIANTS,
        ),
    ),
}

SECTIONS = ("data", "model", "train", "lasca", "ablation")
