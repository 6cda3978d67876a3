"""``affect-train``: train Affect-Diff from the command line, on a laptop, a GPU box or
a SLURM cluster.

    affect-train profile=book seed=3
    affect-train profile=paper trainer.devices=4 trainer.num_nodes=2 \\
        trainer.strategy=ddp
    affect-train profile=paper model.latent_dim=128 train.lr=1e-4 resume=true

The Hydra structured config is generated from the library's own dataclasses
(``RunConfig`` with its ``data`` / ``model`` / ``train`` sections, defaults taken from
the chosen profile) plus a ``trainer`` group for the hardware, so every key of the book
is a Hydra override and nothing is defined twice. After Hydra has merged the overrides,
:func:`affect_lib.config.load_profile` validates them exactly as it does for the
notebooks. Artifacts go to ``<run_dir>/affect_diff/`` (checkpoints, logs,
``metrics.json``). Under SLURM, Lightning reads the SLURM environment (see the sbatch
template in ``scripts/slurm/``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Optional

from affect_lib.config import PROFILES, SECTIONS, ConfigError, RunConfig, load_profile

__all__ = ["main", "schema_for", "TrainerOptions"]


@dataclass
class TrainerOptions:
    """Hardware and launch options (not part of the run's config hash)."""

    accelerator: str = "auto"  # auto | cpu | gpu
    devices: Any = 1  # int or "auto"
    num_nodes: int = 1
    strategy: str = "auto"  # auto | ddp | ddp_spawn | fsdp ...
    progress_bar: bool = True


def _hydra_type(tp: Any) -> Any:
    """Our annotations → OmegaConf-friendly ones (tuples become lists, ``X | None``
    Optional)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return Optional[_hydra_type(inner)]  # noqa: UP045 (OmegaConf wants typing.Optional)
    if origin is tuple:
        return list[typing.get_args(tp)[0]]
    return tp


def _mirror(instance: Any, name: str) -> type:
    """A mutable dataclass with the fields, types and *values* of a frozen config
    instance."""
    hints = typing.get_type_hints(type(instance))
    specs = []
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        if f.name in SECTIONS:
            sub = _mirror(value, f"{name}_{f.name}")
            specs.append((f.name, sub, field(default_factory=sub)))
        elif isinstance(value, tuple):
            specs.append(
                (
                    f.name,
                    _hydra_type(hints[f.name]),
                    field(default_factory=lambda v=value: list(v)),
                )
            )
        else:
            specs.append((f.name, _hydra_type(hints[f.name]), field(default=value)))
    return dataclasses.make_dataclass(name, specs)


def schema_for(profile: str) -> type:
    """The structured config of ``affect-train`` for ``profile``: RunConfig mirror +
    trainer + resume."""
    if profile not in PROFILES:
        raise ConfigError(
            f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}"
        )
    run = _mirror(PROFILES[profile], "AffectTrainRun")
    fields = [(f.name, f.type, f) for f in dataclasses.fields(run)]
    fields += [
        ("trainer", TrainerOptions, field(default_factory=TrainerOptions)),
        ("resume", bool, field(default=False)),
    ]
    return dataclasses.make_dataclass("AffectTrainConfig", fields)


def _to_run_config(profile: str, merged: dict[str, Any]) -> RunConfig:
    """Overrides = values that differ from the profile; load_profile validates them."""
    base = PROFILES[profile]
    changes: dict[str, Any] = {}
    for key, value in merged.items():
        if key in SECTIONS:
            section = getattr(base, key)
            changes |= {
                f"{key}.{k}": v
                for k, v in value.items()
                if _plain(getattr(section, k)) != v
            }
        elif (
            key not in ("profile", "trainer", "resume")
            and _plain(getattr(base, key)) != value
        ):
            changes[key] = value
    return load_profile(profile, **changes)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _compose(argv: list[str]) -> dict[str, Any]:
    from hydra import compose, initialize
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    profile = next(
        (a.split("=", 1)[1] for a in argv if a.startswith("profile=")), "book"
    )
    ConfigStore.instance().store(name="affect_train", node=schema_for(profile))
    GlobalHydra.instance().clear()
    with initialize(version_base=None, config_path=None):
        cfg = compose(config_name="affect_train", overrides=argv)
    return OmegaConf.to_container(cfg, resolve=True)


def param_fingerprint(module: Any) -> str:
    """SHA-256 of all parameters (bytes): equal on every DDP rank after a correct
    step."""
    digest = hashlib.sha256()
    for name, p in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(p.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    try:
        merged = _compose(argv)
        cfg = _to_run_config(merged["profile"], merged)
    except ConfigError as exc:
        print(f"affect-train: error: {exc}", file=sys.stderr)
        return 2
    except (
        Exception
    ) as exc:  # Hydra's override errors (unknown key, bad type) name the key
        if type(exc).__module__.startswith(("hydra", "omegaconf")):
            print(f"affect-train: error: {exc}", file=sys.stderr)
            return 2
        raise

    import torch

    from affect_lib.affect_diff.evaluate import evaluate_affect_diff
    from affect_lib.affect_diff.train import train_affect_diff
    from affect_lib.data.datamodule import build_datamodule
    from affect_lib.io import write_json
    from affect_lib.schema import DataFormatError

    t = merged["trainer"]
    last = cfg.run_path / "affect_diff" / "checkpoints" / "last.ckpt"
    if merged["resume"] and not last.is_file():
        print(
            f"affect-train: error: resume=true but {last} does not exist (train "
            f"without resume first)",
            file=sys.stderr,
        )
        return 2
    try:
        dm = build_datamodule(cfg)
    except (
        DataFormatError
    ) as exc:  # a missing, corrupt or misaligned file: the message names it
        print(f"affect-train: error: {exc}", file=sys.stderr)
        return 2
    result = train_affect_diff(
        cfg,
        dm,
        resume=merged["resume"],
        progress_bar=t["progress_bar"],
        accelerator=t["accelerator"],
        devices=t["devices"],
        num_nodes=t["num_nodes"],
        strategy=t["strategy"],
    )
    trainer = result.module.trainer
    out = result.last_checkpoint.parent.parent
    # Every rank records its parameters' fingerprint: identical files prove the replicas
    # agree.
    write_json(
        out / f"params_rank{trainer.global_rank}.json",
        {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "sha256": param_fingerprint(result.module),
        },
    )
    if trainer.global_rank == 0:
        model = result.module.model
        ev = evaluate_affect_diff(
            model,
            dm.test_dataloader(),
            t_start=cfg.model.denoise_t_start,
            steps=cfg.model.ddim_steps,
            seed=cfg.seed,
        )
        write_json(
            out / "metrics.json",
            {
                "profile": cfg.profile,
                "seed": cfg.seed,
                "epochs": result.epochs,
                "test": {k: round(v, 4) for k, v in ev.metrics.items()},
                "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            },
        )
        print(
            f"[affect-train] {result.epochs} epochs; test "
            + ", ".join(f"{k}={v:.4f}" for k, v in ev.metrics.items())
            + f"; artifacts in {out}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
