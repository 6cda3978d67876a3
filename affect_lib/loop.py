"""The one plain PyTorch training loop of the library, beside Lightning's.

Why it exists: chapter 2's graph-fusion classifier and chapter 3's fusion baselines are
small enough that a readable loop teaches more than a Trainer, and chapter 6 trains
30-odd ablation models, where a Trainer's set-up (a second or two) and per-step hooks
are a large share of the budget. Affect-Diff itself trains with Lightning
(:mod:`affect_lib.affect_diff.train`); :func:`affect_lib.affect_diff.loop.fit_plain`
replays Lightning's steps through this loop and is tested to give the Trainer's weights.

One step: ``before_step(i)`` → ``loss = step_loss(batch)`` → zero grad → backward →
clip the gradient norm of each of ``clip_groups`` (default: ``params`` as one group) to
``clip`` → optimiser step → ``after_step()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader

from affect_lib.devices import to_device

__all__ = ["run_epoch"]


def run_epoch(
    params: Sequence[torch.nn.Parameter],
    loader: DataLoader,
    step_loss: Callable[[dict[str, Any]], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    clip: float,
    epoch: int,
    before_step: Callable[[int], Any] | None = None,
    after_step: Callable[[], Any] | None = None,
    clip_groups: Sequence[Sequence[torch.nn.Parameter]] | None = None,
) -> float:
    """One epoch over ``loader``; returns the mean training loss per sample.

    ``epoch`` (from 0) seeds the sampler's order where it has ``set_epoch`` (as
    Lightning does). ``step_loss(batch)`` returns the scalar loss of a batch already
    moved to the parameters' device. ``clip_groups`` are clipped to ``clip`` one by
    one, so a large gradient in one group does not shrink the others' steps.
    """
    if callable(getattr(loader.sampler, "set_epoch", None)):
        loader.sampler.set_epoch(epoch)
    device = params[0].device
    groups = [list(params)] if clip_groups is None else [list(g) for g in clip_groups]
    # summed on the device: a float() per step would make a GPU host wait every step
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    for i, batch in enumerate(loader):
        batch = to_device(batch, device)
        if before_step is not None:
            before_step(i)
        loss = step_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for group in groups:
            torch.nn.utils.clip_grad_norm_(group, clip)
        optimizer.step()
        if after_step is not None:
            after_step()
        total += loss.detach().double() * len(batch["label"])
        count += len(batch["label"])
    return float(total) / count
