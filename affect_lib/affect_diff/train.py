"""Building the Lightning Trainer of a run and training Affect-Diff (notebook 03,
``affect-train``).

Artifacts under ``<run_dir>/affect_diff/``: ``checkpoints/best.ckpt`` (lowest
``val_loss``), ``checkpoints/last.ckpt`` (resume point) and ``logs/metrics.csv`` (CSV
logger; TensorBoard or offline W&B with ``logger=tensorboard|wandb``).
"""

from __future__ import annotations

import logging
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import pandas as pd
import torch
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger
from lightning.pytorch.plugins.io import TorchCheckpointIO

from affect_lib.affect_diff.module import AffectDiffModule
from affect_lib.config import RunConfig
from affect_lib.data.datamodule import AffectDataModule
from affect_lib.io import atomic_path

__all__ = [
    "TrainResult",
    "make_trainer",
    "train_affect_diff",
    "read_metrics",
    "quiet_lightning",
    "AtomicCheckpointIO",
]


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written beside their target and renamed over it
    (:func:`affect_lib.io.atomic_path`).

    Lightning stages a checkpoint in the system temp folder and moves it; across
    filesystems the move copies into the target in place, so a crash mid-copy would
    truncate ``last.ckpt``.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(
                f"AtomicCheckpointIO takes no storage_options, got {storage_options!r}"
            )
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


@contextmanager
def quiet_lightning():
    """Silence Lightning's banners and hints (they would land in the stored notebook
    outputs)."""
    loggers = [
        logging.getLogger(n)
        for n in ("lightning.pytorch", "lightning.fabric", "lightning")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=(
                r".*(does not have many workers|smaller than the logging "
                r"interval).*"
            ),
        )
        warnings.filterwarnings(
            "ignore", message=r".*(LeafSpec|TBPTT|sync_dist|litlogger|tensorboardX).*"
        )
        warnings.filterwarnings("ignore", message=r".*exists and is not empty.*")
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def _precision(name: str) -> str:
    # bf16 where the hardware has it, full precision on CPU (deterministic)
    if name == "auto":
        return (
            "bf16-mixed"
            if torch.cuda.is_available() and torch.cuda.is_bf16_supported()
            else "32-true"
        )
    return "32-true" if name == "32" else name


def _logger(cfg: RunConfig, out: Path) -> Logger:
    if cfg.train.logger == "tensorboard":
        from lightning.pytorch.loggers import TensorBoardLogger

        return TensorBoardLogger(save_dir=str(out), name="logs", version="")
    if cfg.train.logger == "wandb":
        # needs `pip install wandb`; runs offline
        from lightning.pytorch.loggers import (
            WandbLogger,
        )

        return WandbLogger(project="Affect-Diff", save_dir=str(out), offline=True)
    return CSVLogger(save_dir=str(out), name="logs", version="")


def make_trainer(
    cfg: RunConfig,
    out: Path,
    *,
    devices: int | str = 1,
    num_nodes: int = 1,
    strategy: str = "auto",
    accelerator: str | None = None,
    max_epochs: int | None = None,
    progress_bar: bool = False,
    extra_callbacks: list[Any] | None = None,
) -> L.Trainer:
    """Trainer with best/last checkpoints, early stopping on ``val_loss`` and gradient
    clipping."""
    checkpoint = ModelCheckpoint(
        dirpath=str(out / "checkpoints"),
        filename="best",
        monitor="val_loss",
        mode="min",
        save_last=True,
        enable_version_counter=False,
    )
    early = EarlyStopping(monitor="val_loss", patience=cfg.train.patience, mode="min")
    if accelerator is None:
        accelerator = "cpu" if cfg.device == "cpu" else "auto"
    return L.Trainer(
        max_epochs=max_epochs or cfg.train.max_epochs,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=_precision(cfg.train.precision),
        gradient_clip_val=cfg.train.grad_clip,
        deterministic=True,
        logger=_logger(cfg, out),
        callbacks=[checkpoint, early, *(extra_callbacks or [])],
        enable_progress_bar=progress_bar,
        plugins=[AtomicCheckpointIO()],
        enable_model_summary=False,
        log_every_n_steps=10,
        num_sanity_val_steps=0,
    )


@dataclass(frozen=True)
class TrainResult:
    module: AffectDiffModule
    best_checkpoint: Path
    last_checkpoint: Path
    metrics_csv: Path
    epochs: int


def train_affect_diff(
    cfg: RunConfig,
    dm: AffectDataModule,
    *,
    out: Path | None = None,
    resume: bool = False,
    use_graph: bool = True,
    progress_bar: bool = False,
    max_epochs: int | None = None,
    **trainer_kwargs: Any,
) -> TrainResult:
    """Train Affect-Diff on ``dm``; artifacts in ``out`` (default
    ``<run_dir>/affect_diff``).

    A fresh run (``resume=False``) clears ``out`` first, so reruns with one seed give
    identical files; ``resume=True`` continues from ``checkpoints/last.ckpt``.
    """
    out = Path(out or cfg.run_path / "affect_diff")
    last = out / "checkpoints" / "last.ckpt"
    if resume and not last.is_file():
        raise FileNotFoundError(f"resume=True but {last} does not exist")
    # other DDP/SLURM ranks must not delete rank 0's files
    if not resume and rank_zero_only.rank == 0:
        shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    steps_per_epoch = len(dm.train_dataloader())
    module = AffectDiffModule(
        cfg, dm.dims, steps_per_epoch=steps_per_epoch, use_graph=use_graph
    )
    with quiet_lightning():
        trainer = make_trainer(
            cfg, out, progress_bar=progress_bar, max_epochs=max_epochs, **trainer_kwargs
        )
        trainer.fit(module, datamodule=dm, ckpt_path=str(last) if resume else None)
    return TrainResult(
        module,
        out / "checkpoints" / "best.ckpt",
        last,
        out / "logs" / "metrics.csv",
        trainer.current_epoch,
    )


def read_metrics(csv_path: Path) -> pd.DataFrame:
    """Per-epoch metrics from the CSV logger: one row per epoch, train and val columns
    merged."""
    df = pd.read_csv(csv_path)
    return df.drop(columns=[c for c in ("step",) if c in df]).groupby("epoch").first()
