"""Classifier-free guidance (Ho & Salimans, 2022): label dropout in training, the guided
ε at sampling time, and the closure the samplers call."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from affect_lib.affect_diff.diffusion.sampling import EpsFn

__all__ = ["classifier_free_guidance", "guided_eps_fn", "drop_labels"]


def classifier_free_guidance(
    eps_cond: torch.Tensor, eps_uncond: torch.Tensor, scale: float
) -> torch.Tensor:
    """Ho & Salimans (2022): ``ε̃ = ε_uncond + s·(ε_cond − ε_uncond)``; s=0
    unconditional, s=1 conditional."""
    if eps_cond.shape != eps_uncond.shape:
        raise ValueError(
            f"eps_cond {tuple(eps_cond.shape)} and eps_uncond "
            f"{tuple(eps_uncond.shape)} "
            "must have the same shape"
        )
    return eps_uncond + scale * (eps_cond - eps_uncond)


def guided_eps_fn(
    model: Callable[..., torch.Tensor],
    *,
    label: int | torch.Tensor,
    null_label: int | None = None,
    scale: float,
    **cond: Any,
) -> EpsFn:
    """Closure ``eps_fn(x, t)`` for the samplers: CFG between ``model(x, t, label,
    **cond)`` and the same call with ``null_label`` (default ``model.null_label``).

    ``label`` is an int or a (B,) long tensor; ``cond`` (e.g. ``influence``, ``mask``)
    goes to both calls unchanged. s=0 and s=1 run the model once, so the label is then
    exactly ignored / used.
    """
    scale = float(scale)
    if not math.isfinite(scale):
        raise ValueError(f"scale must be finite, got {scale}")
    if null_label is None:
        null_label = getattr(model, "null_label", None)
        if null_label is None:
            raise ValueError(
                "null_label must be given for a model without a null_label attribute"
            )

    def as_batch(value: int | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        value = torch.as_tensor(value, dtype=torch.long, device=x.device)
        if value.ndim == 0:
            return value.expand(x.shape[0])
        if tuple(value.shape) != (x.shape[0],):
            raise ValueError(
                f"label must be an int or of shape ({x.shape[0]},), got "
                f"{tuple(value.shape)}"
            )
        return value

    checked = not hasattr(model, "check_inputs")

    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        nonlocal checked
        if not checked:  # values once per sampling run, not at every step
            model.check_inputs(x, t, as_batch(label, x), **cond)
            checked = True
        if scale == 0.0:
            return model(x, t, as_batch(null_label, x), **cond)
        eps_cond = model(x, t, as_batch(label, x), **cond)
        if scale == 1.0:
            return eps_cond
        return classifier_free_guidance(
            eps_cond, model(x, t, as_batch(null_label, x), **cond), scale
        )

    return eps_fn


def drop_labels(
    label: torch.Tensor,
    *,
    p: float,
    null_label: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """CFG training: replace each label by ``null_label`` with probability ``p`` (one
    model learns both)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    gen_device = generator.device if generator is not None else label.device
    drop = (torch.rand(label.shape, generator=generator, device=gen_device) < p).to(
        label.device
    )
    return torch.where(drop, torch.full_like(label, null_label), label)
