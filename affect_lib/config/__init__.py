"""Validated, frozen run configuration: profiles ``smoke`` / ``book`` / ``paper`` plus
overrides.

Every notebook calls :func:`load_profile` right after its ``parameters`` cell, so a
wrong papermill parameter fails there with one message that lists the valid choices. A
:class:`RunConfig` holds the run's own fields (profile, seed, data source, folders) and
five sections: ``data``, ``model``, ``train`` (:mod:`.sections`), ``lasca`` and
``ablation`` (:mod:`.studies`); :mod:`.profiles` defines the profiles and
:mod:`.overrides` applies overrides.
"""

from affect_lib.config.overrides import (
    config_hash,
    load_profile,
    override_keys,
    text_keys,
)
from affect_lib.config.profiles import PROFILES, SECTIONS, RunConfig
from affect_lib.config.sections import (
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
)
from affect_lib.config.studies import ALL_VARIANTS, AblationConfig, LascaConfig

__all__ = [
    "ALL_VARIANTS",
    "PROFILES",
    "SECTIONS",
    "AblationConfig",
    "ConfigError",
    "DataConfig",
    "LascaConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "config_hash",
    "load_profile",
    "override_keys",
    "text_keys",
]
