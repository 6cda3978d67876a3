"""Gaussian diffusion on latent sequences: the forward process and the ε-prediction
loss.

Notation of Ho et al. (2020): ``x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε`` with ``ᾱ_t =
∏_{s≤t}(1−β_s)``, ``t ∈ {0..T−1}``. The samplers (:mod:`.sampling`) are methods of the
same schedule; the betas come from :mod:`.schedules`, guidance from :mod:`.guidance`.
Latents are not images, so the predicted ``x_0`` is never clipped.

Shapes: ``x0`` is ``(B, ...)``; with a ``mask`` it must be ``(B, T, C)`` and the mask
``(B, T)`` bool, True on valid steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from affect_lib.affect_diff.diffusion.sampling import (
    Sampling,
    _apply_mask,
    _check_finite,
    _check_mask,
    _randn,
)
from affect_lib.affect_diff.diffusion.schedules import SCHEDULES
from affect_lib.schema import value_checks_on

__all__ = ["DiffusionSchedule"]


class DiffusionSchedule(Sampling, nn.Module):
    """Noise schedule and the closed forms that use it; float32 buffers computed in
    float64.

    Buffers are non-persistent: they are a pure function of ``(timesteps, schedule)``,
    so checkpoints stay small and never disagree with the code.
    """

    def __init__(self, *, timesteps: int = 1000, schedule: str = "cosine") -> None:
        super().__init__()
        if schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {sorted(SCHEDULES)}, got {schedule!r}"
            )
        self.timesteps = int(timesteps)
        self.schedule = schedule
        betas = SCHEDULES[schedule](self.timesteps)
        alphas_cumprod = torch.cumprod(1 - betas, dim=0)
        alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
        # "Fixed small" variance σ²_t = β̃_t of the true posterior q(x_{t-1} | x_t,
        # x_0); it is 0 at t=0.
        posterior_variance = betas * (1 - alphas_cumprod_prev) / (1 - alphas_cumprod)
        # log(0) at t=0 is replaced by the t=1 value (as in improved-diffusion); t=0
        # never adds noise anyway.
        clipped = (
            torch.cat([posterior_variance[1:2], posterior_variance[1:]])
            if timesteps > 1
            else betas
        )
        posterior_log_variance_clipped = torch.log(clipped)
        buffers = {
            "betas": betas,
            "alphas_cumprod": alphas_cumprod,
            "alphas_cumprod_prev": alphas_cumprod_prev,
            "sqrt_alphas_cumprod": alphas_cumprod.sqrt(),
            "sqrt_one_minus_alphas_cumprod": (1 - alphas_cumprod).sqrt(),
            "posterior_variance": posterior_variance,
            "posterior_log_variance_clipped": posterior_log_variance_clipped,
            # μ̃_t(x_t, x_0) = coef1·x_0 + coef2·x_t
            "posterior_mean_coef1": betas
            * alphas_cumprod_prev.sqrt()
            / (1 - alphas_cumprod),
            "posterior_mean_coef2": (1 - alphas_cumprod_prev)
            * (1 - betas).sqrt()
            / (1 - alphas_cumprod),
        }
        for name, value in buffers.items():
            self.register_buffer(name, value.float(), persistent=False)
        # the samplers' step sizes, read on the host: from the buffer's float32 values,
        # but never from the buffer itself (a sync per sampling run on a GPU)
        self.alphas_cumprod_host = tuple(alphas_cumprod.float().double().tolist())

    def extra_repr(self) -> str:
        return f"timesteps={self.timesteps}, schedule={self.schedule!r}"

    # -- helpers -----------------------------------------------------------------------
    def _check_t(self, t: torch.Tensor, batch: int) -> None:
        if (
            not isinstance(t, torch.Tensor)
            or t.dtype.is_floating_point
            or tuple(t.shape) != (batch,)
        ):
            got = (
                f"{t.dtype} {tuple(t.shape)}"
                if isinstance(t, torch.Tensor)
                else type(t).__name__
            )
            raise ValueError(
                f"t must be an integer tensor of shape ({batch},), got {got}"
            )
        if batch and value_checks_on(t) and (t.min() < 0 or t.max() >= self.timesteps):
            raise ValueError(
                f"t must be in [0, {self.timesteps - 1}], got values in "
                f"[{int(t.min())}, {int(t.max())}]"
            )

    def _check_t_start(self, t_start: int | None) -> int:
        t_start = self.timesteps - 1 if t_start is None else int(t_start)
        if not 0 <= t_start < self.timesteps:
            raise ValueError(
                f"t_start must be in [0, {self.timesteps - 1}], got {t_start}"
            )
        return t_start

    @staticmethod
    def _extract(buf: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``buf[t]`` reshaped to ``(B, 1, ..., 1)`` to broadcast against ``x`` of shape
        ``(B, ...)``."""
        return (
            buf.to(x.device)[t.to(x.device)].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        )

    # -- closed forms ------------------------------------------------------------------
    def q_sample(
        self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        """Sample ``x_t ~ q(x_t | x_0)``: ``√ᾱ_t·x0 + √(1−ᾱ_t)·noise``. x0, noise (B,
        ...); t (B,) long."""
        if x0.ndim < 1:
            raise ValueError(
                f"x0 must have a batch dimension (B, ...), got shape {tuple(x0.shape)}"
            )
        if noise.shape != x0.shape:
            raise ValueError(
                f"noise {tuple(noise.shape)} must have the shape of x0 "
                f"{tuple(x0.shape)}"
            )
        self._check_t(t, x0.shape[0])
        _check_finite("x0", x0)
        return (
            self._extract(self.sqrt_alphas_cumprod, t, x0) * x0
            + self._extract(self.sqrt_one_minus_alphas_cumprod, t, x0) * noise
        )

    def predict_x0(
        self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
    ) -> torch.Tensor:
        """Invert :meth:`q_sample` given ``ε``: ``(x_t − √(1−ᾱ_t)·ε)/√ᾱ_t``; not clipped
        (latents)."""
        if eps.shape != x_t.shape:
            raise ValueError(
                f"eps {tuple(eps.shape)} must have the shape of x_t {tuple(x_t.shape)}"
            )
        self._check_t(t, x_t.shape[0])
        return self._x0_from_eps(x_t, t, eps)

    def _x0_from_eps(
        self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
    ) -> torch.Tensor:
        # unchecked: the samplers' own t are in range, and a check reads t on the host
        return (
            x_t - self._extract(self.sqrt_one_minus_alphas_cumprod, t, x_t) * eps
        ) / self._extract(self.sqrt_alphas_cumprod, t, x_t)

    def noise_to(
        self,
        x0: torch.Tensor,
        t_start: int,
        *,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Noise ``x0`` (B, ...) to step ``t_start``; pass the result as ``x_T`` with
        the same ``t_start`` to a sampler to edit a sample (counterfactuals keep its
        coarse structure, SDEdit-style)."""
        t_start = self._check_t_start(t_start)
        t = torch.full((x0.shape[0],), t_start, dtype=torch.long, device=x0.device)
        return self.q_sample(
            x0, t, _randn(tuple(x0.shape), generator, x0.device).to(x0.dtype)
        )

    # -- training ----------------------------------------------------------------------
    def loss(
        self,
        eps_model: Callable[..., torch.Tensor],
        x0: torch.Tensor,
        *,
        mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        **cond: Any,
    ) -> torch.Tensor:
        """ε-prediction MSE at uniform random ``t``: ``E‖ε − eps_model(x_t, t,
        **cond)‖²``.

        With ``mask`` (B, T) bool for ``x0`` (B, T, C), padded steps of ``x_t`` are
        zeroed (as in the samplers), ``mask`` is forwarded to ``eps_model`` as a
        keyword, and the mean runs over valid steps.
        """
        _check_mask(mask, tuple(x0.shape))
        if mask is not None and value_checks_on(mask) and not mask.any():
            raise ValueError("mask has no valid step")
        batch = x0.shape[0]
        gen_device = generator.device if generator is not None else x0.device
        t = torch.randint(
            0, self.timesteps, (batch,), generator=generator, device=gen_device
        ).to(x0.device)
        noise = _randn(tuple(x0.shape), generator, x0.device).to(x0.dtype)
        x_t = _apply_mask(self.q_sample(x0, t, noise), mask)
        if mask is not None:
            cond["mask"] = mask
        if hasattr(eps_model, "check_inputs"):
            eps_model.check_inputs(x_t, t, **cond)
        eps = eps_model(x_t, t, **cond)
        if eps.shape != x0.shape:
            raise ValueError(
                f"eps_model returned {tuple(eps.shape)}, expected {tuple(x0.shape)}"
            )
        err = (eps - noise) ** 2
        if mask is None:
            return err.mean()
        m = mask[..., None].to(err.dtype)
        return (err * m).sum() / (m.sum() * x0.shape[-1])
