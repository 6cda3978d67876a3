"""The Lightning module's training steps without the Trainer, for many short runs in one process.

Chapter 6 trains 30-odd ablation models; a ``Trainer`` costs a second or two to set up and adds
per-step hooks (logging, callbacks), which at that scale is a large share of the budget. This
loop calls the *same* methods Lightning calls, in the same order, so a run here and a
``Trainer.fit`` without validation produce the same weights (tested):

    on_train_batch_start (reseed at an epoch's first batch) -> training_step -> backward
    -> clip_grad_norm_(grad_clip) -> optimiser step -> LR scheduler step -> on_train_batch_end
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from affect_lib.affect_diff.module import AffectDiffModule
from affect_lib.devices import to_device

__all__ = ["fit_plain"]


def fit_plain(
    module: AffectDiffModule, loader: DataLoader, *, epochs: int
) -> list[float]:
    """Train ``module`` for ``epochs`` epochs over ``loader``; returns the mean training loss per epoch.

    No validation, checkpoints or early stopping: a fixed budget, identical for every variant.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    opt_cfg = module.configure_optimizers()
    opt, sched = opt_cfg["optimizer"], opt_cfg["lr_scheduler"]["scheduler"]
    device = next(module.parameters()).device
    clip = module.cfg.train.grad_clip
    module.train()
    losses = []
    for epoch in range(epochs):
        if callable(getattr(loader.sampler, "set_epoch", None)):
            loader.sampler.set_epoch(
                epoch
            )  # what Lightning does for samplers that have it
        total, count = 0.0, 0
        for i, batch in enumerate(loader):
            batch = to_device(batch, device)
            module.reseed(epoch, i)
            loss = module.step_loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), clip)
            opt.step()
            sched.step()
            module.model.graph.step()
            total += float(loss.detach()) * len(batch["label"])
            count += len(batch["label"])
        losses.append(total / count)
    return losses
