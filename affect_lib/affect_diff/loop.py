"""The Lightning module's training steps without the Trainer, for many short runs in one
process.

Chapter 6 trains 30-odd ablation models; a ``Trainer`` costs a second or two to set up
and adds per-step hooks (logging, callbacks), which at that scale is a large share of
the budget. This loop calls the *same* methods Lightning calls, in the same order, so a
run here and a ``Trainer.fit`` without validation produce the same weights (tested):

    on_train_batch_start (reseed at an epoch's first batch) -> training_step
    -> backward -> configure_gradient_clipping (each of clip_groups() to grad_clip)
    -> optimiser step -> LR scheduler step -> on_train_batch_end
"""

from __future__ import annotations

from torch.utils.data import DataLoader

from affect_lib.affect_diff.module import AffectDiffModule
from affect_lib.loop import run_epoch

__all__ = ["fit_plain"]


def fit_plain(
    module: AffectDiffModule, loader: DataLoader, *, epochs: int
) -> list[float]:
    """Train ``module`` for ``epochs`` epochs over ``loader``; returns the mean training
    loss per epoch.

    No validation, checkpoints or early stopping: a fixed budget, identical for every
    variant.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    opt_cfg = module.configure_optimizers()
    opt, sched = opt_cfg["optimizer"], opt_cfg["lr_scheduler"]["scheduler"]
    params = list(module.parameters())

    def after_step() -> None:
        sched.step()
        module.model.graph.step()

    module.train()
    losses = []
    for epoch in range(epochs):
        losses.append(
            run_epoch(
                params,
                loader,
                module.step_loss,
                opt,
                clip=module.cfg.train.grad_clip,
                epoch=epoch,
                before_step=lambda i, epoch=epoch: module.reseed(epoch, i),
                after_step=after_step,
                clip_groups=module.clip_groups(),
            )
        )
    return losses
