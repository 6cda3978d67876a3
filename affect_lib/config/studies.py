"""The sections of a run's configuration that describe the studies of chapters 5 and 6:
:class:`LascaConfig` (LaScA's protocol) and :class:`AblationConfig` (Affect-Diff's
ablations)."""

from __future__ import annotations

from dataclasses import dataclass, field

from affect_lib.config.sections import ConfigError, choices

__all__ = ["ALL_VARIANTS", "AblationConfig", "LascaConfig"]

# every ablation variant of affect_lib.experiments.ablation_variants.VARIANTS (tested to
# be the same names)
ALL_VARIANTS = (
    "full",
    "aa",
    "no_graph",
    "no_diffusion",
    "no_cfg",
    "gumbel_hard",
    "lambda1_0p1",
    "lambda1_1",
    "lambda1_10",
    "lambda2_0",
    "lambda2_0p01",
    "lambda2_0p1",
)


@dataclass(frozen=True, kw_only=True)
class LascaConfig:
    """LaScA (notebook 05): SynthAffWild size, windows, pair thresholds, encoders and
    the preference MLP."""

    n_subjects: int = 16
    videos_per_subject: int = 2
    video_seconds: float = 60.0
    # video frame rate of SynthAffWild; for aff_wild2 / sewa data, of the videos that
    # videos.csv gives no fps (Aff-Wild2's rate varies per video, 30 fps for most;
    # SEWA's 20-30)
    fps: float = 30.0
    audio_sr: int = 16000
    windows_s: tuple[float, ...] = (3.0, 5.0)  # window lengths of the protocol
    # relative-change thresholds of the preference pairs
    taus: tuple[float, ...] = (
        0.1,
        0.2,
    )
    encoders: tuple[str, ...] = ("minilm", "mpnet")  # frozen sentence encoders compared
    # the default one
    encoder: str = field(default="minilm", metadata=choices("minilm", "mpnet"))
    n_seeds: int = 5  # repetitions of every protocol cell (15 in the paper)
    # share of subjects held out (subject-independent split)
    test_subjects: float = 0.25
    hidden: int = 256  # preference MLP hidden units
    alpha: float = 1.0  # L2 penalty of the preference MLP
    max_iter: int = 25
    n_iter_no_change: int = 3
    # preference MLP mini-batch rows (why not 200: affect_lib/lasca/preference.py)
    mlp_batch_size: int = 8
    # SynthAffWild draws of chapter 5's check of the fusion gain (data seeds seed, seed
    # + 1, ...)
    gap_draws: int = 8

    def __post_init__(self) -> None:
        if (
            self.n_subjects < 4
            or self.videos_per_subject < 1
            or self.video_seconds <= 0
            or self.fps <= 0
            or self.audio_sr < 1
        ):
            raise ConfigError(
                "n_subjects >= 4, videos_per_subject >= 1, video_seconds > 0, fps > 0 "
                "and audio_sr > 0 "
                f"required, got {self.n_subjects}, {self.videos_per_subject}, "
                f"{self.video_seconds}, "
                f"{self.fps} and {self.audio_sr}"
            )
        if (
            not self.windows_s
            or min(self.windows_s) <= 0
            or max(self.windows_s) > self.video_seconds
        ):
            raise ConfigError(
                f"windows_s must be in (0, video_seconds], got {self.windows_s}"
            )
        if not self.taus or min(self.taus) < 0 or max(self.taus) >= 1:
            raise ConfigError(
                f"taus must be in [0, 1) (a share of the annotation range), got "
                f"{self.taus}"
            )
        unknown = set(self.encoders) - {"minilm", "mpnet"}
        if unknown or not self.encoders:
            raise ConfigError(
                f"encoders must be a non-empty subset of ('minilm', 'mpnet'), got "
                f"{self.encoders}"
            )
        if self.encoder not in self.encoders:
            raise ConfigError(
                f"encoder {self.encoder!r} (the default one) must be one of encoders "
                f"{self.encoders}"
            )
        if (
            not 0 < self.test_subjects < 1
            or min(
                self.n_seeds,
                self.hidden,
                self.max_iter,
                self.mlp_batch_size,
                self.n_iter_no_change,
            )
            < 1
        ):
            raise ConfigError(
                "test_subjects in (0, 1), n_seeds, hidden, max_iter, n_iter_no_change "
                "and "
                "mlp_batch_size >= 1 required"
            )
        if self.alpha < 0:
            raise ConfigError(
                f"alpha (the MLP's L2 penalty) must be >= 0, got {self.alpha}"
            )
        if self.gap_draws < 2:
            raise ConfigError(
                f"gap_draws must be >= 2 (a spread needs two draws), got "
                f"{self.gap_draws}"
            )


@dataclass(frozen=True, kw_only=True)
class AblationConfig:
    """Chapter 6: every Affect-Diff variant trains with the same fixed budget, over
    several seeds."""

    ablation_seeds: int = 5  # training seeds per variant: seed, seed + 1, ...
    # fixed epochs (no early stopping: the same budget for every variant)
    ablation_epochs: int = 2
    # training mini-batch of every run: at a fixed budget of samples, smaller batches
    # take more steps (scripts/ablation_budget.py: 2 epochs of 32 rank and converge
    # better than 3 of chapter 3's 64, in less time)
    ablation_batch_size: int = 32
    ablation_n_cf: int = 120  # test utterances edited to score counterfactual validity
    # variants trained (affect_lib.experiments.ablation_variants.VARIANTS); `book`
    # leaves out lambda2_0 for time
    ablation_variants: tuple[str, ...] = (
        "full",
        "aa",
        "no_graph",
        "no_diffusion",
        "no_cfg",
        "gumbel_hard",
        "lambda1_0p1",
        "lambda1_1",
        "lambda1_10",
        "lambda2_0p01",
        "lambda2_0p1",
    )

    def __post_init__(self) -> None:
        for name in ("ablation_epochs", "ablation_batch_size", "ablation_n_cf"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.ablation_seeds < 2:
            raise ConfigError(
                f"ablation_seeds must be >= 2 (seed variance needs two seeds), got "
                f"{self.ablation_seeds}"
            )
        if "full" not in self.ablation_variants or len(
            set(self.ablation_variants)
        ) != len(self.ablation_variants):
            raise ConfigError(
                f"ablation_variants must include 'full' and no name twice, got "
                f"{self.ablation_variants}"
            )
        unknown = [v for v in self.ablation_variants if v not in ALL_VARIANTS]
        if unknown:
            raise ConfigError(
                f"unknown ablation variant(s) {', '.join(unknown)}; valid: "
                f"{', '.join(ALL_VARIANTS)}"
            )
