"""Epochs of the plain loop (:mod:`affect_lib.loop`) for the book's small classifiers
(graph fusion, late fusion), with a validation pass per epoch and optional early
stopping."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from affect_lib.loop import run_epoch

__all__ = ["fit_classifier"]


def fit_classifier(
    model: nn.Module,
    train: DataLoader,
    val: DataLoader,
    *,
    epochs: int,
    lr: float,
    evaluate: Callable[[nn.Module, DataLoader], Any],
    weight_decay: float = 1e-2,
    after_step: Callable[[], Any] | None = None,
    restore_best: bool = False,
) -> list[dict[str, float]]:
    """AdamW + cross-entropy + gradient clipping at norm 1; ``model(batch)`` returns
    logits (B, C) or a tuple whose first item is the logits. ``after_step`` runs after
    every optimiser step. ``restore_best`` reloads the weights of the epoch with the
    best validation accuracy (early stopping).

    Returns one record per epoch: ``train_loss``, ``val_accuracy`` and, when
    ``evaluate``'s result has them, ``val_driver_acc``; ``tau`` when the model has a
    graph.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    params = list(model.parameters())
    history, best = [], (-1.0, None)

    def cross_entropy(batch: dict[str, Any]) -> torch.Tensor:
        out = model(batch)
        logits = out[0] if isinstance(out, tuple) else out
        loss = nn.functional.cross_entropy(logits, batch["label"])
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"non-finite cross-entropy at epoch {epoch}: {loss.item()}"
            )
        return loss

    for epoch in range(1, epochs + 1):
        model.train()
        train_loss = run_epoch(
            params,
            train,
            cross_entropy,
            opt,
            clip=1.0,
            epoch=epoch - 1,
            after_step=after_step,
        )
        ev = evaluate(model, val)
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_accuracy": ev.accuracy,
        }
        if hasattr(ev, "driver_acc"):
            record["val_driver_acc"] = ev.driver_acc
        if hasattr(model, "graph"):
            record["tau"] = model.graph.tau
        history.append(record)
        if restore_best and ev.accuracy > best[0]:
            best = (ev.accuracy, copy.deepcopy(model.state_dict()))
    if restore_best:
        model.load_state_dict(best[1])
    return history
