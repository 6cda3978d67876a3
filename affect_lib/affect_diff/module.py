"""LightningModule for Affect-Diff: combined loss, AdamW with warmup, and checkpoint
metadata.

loss = CE + λ_ml·BCE + λ₁·MSE(noise) + λ₂·β-KL + λ_rec·reconstruction (weights from
ModelConfig). Gradients are clipped (norm ``grad_clip``, 1.0 by default) in two groups,
the diffusion prior (U-Net) and everything else, each to its own norm: with the
diffusion gradient stopped at z (``diffusion_detach``), the prior's loss then cannot
change what the encoder and classifier learn, not even through a shared clipping norm,
which is what makes the ``no_cfg`` ablation a negative control. A non-finite loss term
stops training with the step and the term named. Checkpoints carry the library version
and the config; :func:`load_affect_diff` refuses a checkpoint made by another version
or config.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import lightning as L
import torch

import affect_lib
from affect_lib.affect_diff.model import AffectDiff
from affect_lib.config import RunConfig, config_hash

__all__ = [
    "AffectDiffModule",
    "CheckpointMismatchError",
    "load_affect_diff",
    "LOSS_WEIGHTS",
]

# loss term -> ModelConfig field holding its weight (CE has weight 1)
LOSS_WEIGHTS = {
    "ml": "lambda_ml",
    "diff": "lambda_diff",
    "kl": "lambda_kl",
    "rec": "lambda_rec",
}


class CheckpointMismatchError(ValueError):
    """A checkpoint written by another library version or for another config."""


class AffectDiffModule(L.LightningModule):
    """Trains :class:`AffectDiff`; logs ``train_loss``, ``val_loss``, ``val_acc``,
    ``val_driver_acc``."""

    def __init__(
        self,
        cfg: RunConfig,
        dims: dict[str, int],
        *,
        steps_per_epoch: int,
        use_graph: bool = True,
    ) -> None:
        super().__init__()
        self.cfg, self.dims = cfg, dict(dims)
        anneal = max(1, steps_per_epoch * cfg.train.max_epochs)
        self.model = AffectDiff(
            cfg.model, self.dims, anneal_steps=anneal, use_graph=use_graph
        )
        self._epoch_sums: dict[
            str, torch.Tensor
        ] = {}  # training_step's running sums (logged per epoch)
        self._epoch_count = 0

    def _total(self, terms: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        total = terms["ce"]
        for term, weight_name in LOSS_WEIGHTS.items():
            total = total + getattr(self.cfg.model, weight_name) * terms[term]
        # The one host sync of a training step: a non-finite loss must stop training
        # before the optimiser applies it. A NaN or inf term makes the sum of the
        # unweighted terms non-finite (an inf weight cannot, weights are checked).
        names = ("ce", *LOSS_WEIGHTS)
        if not torch.isfinite(sum(terms[t].detach() for t in names)):
            bad = [t for t in names if not torch.isfinite(terms[t])]
            what = (
                "non-finite loss term" if bad else "loss terms overflow in their sum:"
            )
            shown = ", ".join(f"'{t}' = {terms[t].item()}" for t in bad or names)
            raise FloatingPointError(
                f"{stage}: {what} {shown} at global step {self.global_step} (epoch "
                f"{self.current_epoch})"
            )
        return total

    def step_loss(self, batch: dict[str, Any]) -> torch.Tensor:
        """The weighted training loss of one batch, without logging (used by
        ``loop.fit_plain``)."""
        return self._total(self.model.losses(batch), "training")

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        terms = self.model.losses(batch)
        loss = self._total(terms, "training")
        # Epoch means weighted by batch size, summed here and logged once per epoch:
        # seven self.log calls per step cost a few percent of a CPU step (measured by
        # bench_lightning_overhead).
        n = len(batch["label"])
        values = {
            "train_loss": loss,
            **{f"train_{t}": terms[t] for t in ("ce", *LOSS_WEIGHTS)},
            "tau": torch.as_tensor(self.model.graph.tau),
        }
        if batch_idx == 0:
            self._epoch_sums, self._epoch_count = {}, 0
        for key, value in values.items():
            self._epoch_sums[key] = (
                self._epoch_sums.get(key, 0.0) + value.detach().double() * n
            )
        self._epoch_count += n
        return loss

    def on_train_epoch_end(self) -> None:
        if self._epoch_count:
            self.log_dict(
                {
                    k: (v / self._epoch_count).float()
                    for k, v in self._epoch_sums.items()
                },
                on_step=False,
                on_epoch=True,
            )
        self._epoch_sums, self._epoch_count = {}, 0

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self.reseed(self.current_epoch, batch_idx)

    def reseed(self, epoch: int, batch_idx: int) -> None:
        """Dropout, Gumbel and diffusion noise restart from (seed, epoch) at each
        epoch's first batch (after the DataLoader iterator has drawn its own seed from
        the global RNG): a run resumed from last.ckpt continues exactly like an
        uninterrupted one (Lightning saves no RNG state)."""
        if batch_idx == 0:
            L.seed_everything(
                self.cfg.seed * 1_000 + epoch, workers=True, verbose=False
            )

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # anneal the Gumbel temperature once per optimisation step
        self.model.graph.step()

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        terms = self.model.losses(batch)
        n = len(batch["label"])
        self.log(
            "val_loss", self._total(terms, "validation"), on_epoch=True, batch_size=n
        )
        self.log(
            "val_acc",
            (terms["logits"].argmax(-1) == batch["label"]).float().mean(),
            on_epoch=True,
            batch_size=n,
        )
        known = batch["driver"] >= 0
        if known.any():
            hit = (
                (terms["influence"].argmax(-1)[known] == batch["driver"][known])
                .float()
                .mean()
            )
            self.log("val_driver_acc", hit, on_epoch=True, batch_size=int(known.sum()))
        for term in ("ce", "diff"):
            self.log(f"val_{term}", terms[term], on_epoch=True, batch_size=n)

    def clip_groups(self) -> list[list[torch.nn.Parameter]]:
        """[encoders, graph, bottleneck and heads], [the prior's U-Net]: the
        parameter groups whose gradient norms are clipped separately."""
        prior = {id(p) for p in self.model.unet.parameters()}
        rest = [p for p in self.parameters() if id(p) not in prior]
        return [rest, list(self.model.unet.parameters())]

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """The Trainer's hook (after unscaling under mixed precision): clip each of
        :meth:`clip_groups` to ``gradient_clip_val`` by norm."""
        if gradient_clip_val is None or gradient_clip_val <= 0:
            return
        if gradient_clip_algorithm not in (None, "norm"):
            raise ValueError(
                f"AffectDiffModule clips by norm per group; got gradient_clip_algorithm"
                f"={gradient_clip_algorithm!r}"
            )
        for group in self.clip_groups():
            torch.nn.utils.clip_grad_norm_(group, gradient_clip_val)

    def configure_optimizers(self) -> dict[str, Any]:
        t = self.cfg.train
        # fused (CPU, CUDA): one kernel per step over all tensors; foreach elsewhere.
        # Either is the same AdamW, and much cheaper than a loop over 140-odd tensors.
        params = list(self.parameters())
        fused = all(p.device.type in ("cpu", "cuda") for p in params)
        opt = torch.optim.AdamW(
            params,
            lr=t.lr,
            weight_decay=t.weight_decay,
            **({"fused": True} if fused else {"foreach": True}),
        )
        warmup = max(1, t.warmup_steps)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: min(1.0, (step + 1) / warmup)
        )
        return {
            "optimizer": opt,
            "lr_scheduler": {"scheduler": sched, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["affect_lib"] = {
            "version": affect_lib.__version__,
            "config": _plain(dataclasses.asdict(self.cfg)),
            "config_hash": config_hash(self.cfg, exclude=_NOT_AFFECT_DIFF),
            "dims": self.dims,
        }


# Where things live and run, and the LaScA and ablation sections, do not change what an
# Affect-Diff checkpoint is.
_NOT_AFFECT_DIFF = ("run_dir", "device", "data_dir", "lasca", "ablation")


def _plain(value: Any) -> Any:
    """Tuples → lists, recursively: checkpoints then hold only types ``weights_only``
    loading accepts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def load_affect_diff(
    path: str | Path, cfg: RunConfig, *, use_graph: bool = True
) -> AffectDiff:
    """Load the model weights of a checkpoint written for ``cfg`` by this library
    version (eval mode).

    Uses ``torch.load(weights_only=True)``: no code is executed. Raises
    :class:`CheckpointMismatchError` naming what differs.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} not found; notebook 03 (03_diffusion_training) writes "
            f"it"
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    meta = ckpt.get("affect_lib")
    if meta is None:
        raise CheckpointMismatchError(
            f"{path}: not an affect_lib checkpoint (no 'affect_lib' metadata)"
        )
    if meta["version"] != affect_lib.__version__:
        raise CheckpointMismatchError(
            f"{path}: written by affect_lib {meta['version']}, "
            f"this is {affect_lib.__version__}; retrain (notebook 03)"
        )
    if meta["config_hash"] != config_hash(cfg, exclude=_NOT_AFFECT_DIFF):
        ours = {
            k: v
            for k, v in _plain(dataclasses.asdict(cfg)).items()
            if k not in _NOT_AFFECT_DIFF
        }
        diff = sorted(
            f"{section}.{k}"
            for section, values in ours.items()
            if isinstance(values, dict)
            for k, v in values.items()
            if meta["config"].get(section, {}).get(k) != v
        )
        diff += sorted(
            k
            for k, v in ours.items()
            if not isinstance(v, dict) and meta["config"].get(k) != v
        )
        raise CheckpointMismatchError(
            f"{path}: written for another config (differs in "
            f"{', '.join(diff) or 'hash'}); "
            "load it with the config it was trained with, or retrain"
        )
    model = AffectDiff(cfg.model, meta["dims"], anneal_steps=1, use_graph=use_graph)
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    model.load_state_dict(state)
    return model.eval()
