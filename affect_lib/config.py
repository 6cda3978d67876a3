"""Validated, frozen run configuration: profiles ``smoke`` / ``book`` / ``paper`` plus overrides.

Every notebook calls :func:`load_profile` right after its ``parameters`` cell, so a wrong papermill
parameter fails there with one message that lists the valid choices.

Overrides are flat keyword names (``seed=3``, ``n_train=500``): top-level fields of
:class:`RunConfig` or fields of one of its sections (``data``, ``model``, ``train``, ``lasca``,
``ablation``; defined in :mod:`affect_lib.config_sections`, imported from here). Field names are
unique across sections (tested), so a flat name is never ambiguous; ``"data.n_train"`` also works.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affect_lib.config_sections import (
    ALL_VARIANTS,
    AblationConfig,
    ConfigError,
    DataConfig,
    LascaConfig,
    ModelConfig,
    TrainConfig,
    choices,
)

__all__ = [
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "LascaConfig",
    "AblationConfig",
    "RunConfig",
    "PROFILES",
    "load_profile",
    "override_keys",
    "config_hash",
]


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything a notebook needs: profile, seed, where data come from and where artifacts go."""

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
                f"data_source {self.data_source!r} needs data_dir (the folder holding the dataset's "
                "released files; see its data card)"
            )

    @property
    def run_path(self) -> Path:
        """Artifact folder of this run (created on demand by the code that writes there)."""
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
            ablation_seeds=5,
            ablation_epochs=60,
            ablation_n_cf=1000,
            ablation_variants=ALL_VARIANTS,
        ),
    ),
}

_SECTIONS = ("data", "model", "train", "lasca", "ablation")


def _section_fields() -> dict[str, str | None]:
    """Map every override key to its section (None for top-level fields)."""
    keys: dict[str, str | None] = {}
    for f in dataclasses.fields(RunConfig):
        if f.name in _SECTIONS:
            section_cls = typing.get_type_hints(RunConfig)[f.name]
            for sf in dataclasses.fields(section_cls):
                keys[sf.name] = f.name
        elif f.name != "profile":
            keys[f.name] = None
    return keys


def override_keys() -> list[str]:
    """All parameter names that :func:`load_profile` accepts as overrides."""
    return sorted(_section_fields())


def text_keys() -> set[str]:
    """Override keys whose value is text (``str`` or ``str | None``): a CLI keeps their value as typed."""
    keys = set()
    for cls in (RunConfig, *(typing.get_type_hints(RunConfig)[s] for s in _SECTIONS)):
        for name, tp in typing.get_type_hints(cls).items():
            if tp is str or (
                typing.get_origin(tp) in (typing.Union, types.UnionType)
                and {a for a in typing.get_args(tp) if a is not type(None)} == {str}
            ):
                keys.add(name)
    return keys - {"profile"}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check ``value`` against the annotation ``tp``; promote int→float and list→tuple only."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(
            f"parameter '{key}' expects {_type_name(tp)}, got {value!r} ({type(value).__name__})"
        )
    if origin is tuple:
        (elem, _ellipsis) = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ConfigError(
                f"parameter '{key}' expects a list of {_type_name(elem)}, got {value!r}"
            )
        return tuple(_coerce(f"{key}[{i}]", v, elem) for i, v in enumerate(value))
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"parameter '{key}' expects float, got {value!r} ({type(value).__name__})"
            )
        if not math.isfinite(value):
            raise ConfigError(
                f"parameter '{key}' must be a finite number, got {value!r}"
            )
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"parameter '{key}' expects int, got {value!r} ({type(value).__name__})"
            )
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(
                f"parameter '{key}' expects bool (True/False), got {value!r}"
            )
        return value
    if tp is str:
        if isinstance(value, Path):
            return str(value)
        if not isinstance(value, str):
            raise ConfigError(
                f"parameter '{key}' expects str, got {value!r} ({type(value).__name__})"
            )
        return value
    raise TypeError(
        f"unsupported config annotation {tp!r} for '{key}'"
    )  # a bug in this module


def _apply(obj: Any, changes: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(type(obj))
    fields = {f.name: f for f in dataclasses.fields(obj)}
    checked = {}
    for key, value in changes.items():
        value = _coerce(key, value, hints[key])
        allowed = fields[key].metadata.get("choices")
        if allowed and value not in allowed:
            raise ConfigError(
                f"parameter '{key}' must be one of {', '.join(allowed)}; got {value!r}"
            )
        checked[key] = value
    return dataclasses.replace(obj, **checked)


def load_profile(name: str, **overrides: Any) -> RunConfig:
    """Return the frozen config of profile ``name`` with ``overrides`` applied and validated.

    Raises :class:`ConfigError` naming the valid profiles, the valid parameter names (with the
    closest matches) or the expected type.
    """
    if name not in PROFILES:
        raise ConfigError(
            f"unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}"
        )
    keys = _section_fields()
    per_section: dict[str | None, dict[str, Any]] = {}
    given: dict[str, str] = {}
    for raw_key, value in overrides.items():
        section, dot, key = raw_key.rpartition(".")
        if (
            key not in keys
            or (section and keys[key] != section)
            or (dot and not section)
        ):
            close = difflib.get_close_matches(key, keys, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(
                f"unknown parameter {raw_key!r}{hint}; valid parameters: {', '.join(sorted(keys))}"
            )
        if (
            key in given
        ):  # 'n_train' and 'data.n_train': which one was meant is not ours to guess
            raise ConfigError(
                f"parameter {key!r} given twice (as {given[key]!r} and {raw_key!r})"
            )
        given[key] = raw_key
        per_section.setdefault(keys[key], {})[key] = value
    cfg = PROFILES[name]
    sections = {s: _apply(getattr(cfg, s), per_section.get(s, {})) for s in _SECTIONS}
    return _apply(dataclasses.replace(cfg, **sections), per_section.get(None, {}))


def config_hash(
    cfg: Any, *, exclude: tuple[str, ...] = ("run_dir", "device", "data_dir")
) -> str:
    """SHA-256 (hex, 16 chars) of a config's content, ignoring where things live and run."""
    content = dataclasses.asdict(cfg)
    for key in exclude:
        content.pop(key, None)
    blob = json.dumps(content, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
