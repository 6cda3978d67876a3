"""Gaussian diffusion on latent sequences: cosine schedule, ε-prediction loss, DDPM and DDIM samplers, CFG.

Notation of Ho et al. (2020): ``x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε`` with ``ᾱ_t = ∏_{s≤t}(1−β_s)``, ``t ∈ {0..T−1}``.
Samplers take a closure ``eps_fn(x, t) -> ε̂`` so conditioning and classifier-free guidance stay with the
caller (see :func:`guided_eps_fn`). Latents are not images, so the predicted ``x_0`` is never clipped.

Shapes: ``x0`` is ``(B, ...)``; with a ``mask`` it must be ``(B, T, C)`` and the mask ``(B, T)`` bool,
True on valid steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "cosine_beta_schedule",
    "linear_beta_schedule",
    "DiffusionSchedule",
    "classifier_free_guidance",
    "guided_eps_fn",
    "drop_labels",
]

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cosine_beta_schedule(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """(T,) float64 betas of Nichol & Dhariwal (2021): ``ᾱ(u) = cos²(((u + s)/(1 + s))·π/2)``, ``u = t/T``.

    ``β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), 0.999)``; the clip (only hit at the last step for T=1000) avoids
    the singularity ``ᾱ(1) = 0``.
    """
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    u = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - f[1:] / f[:-1]).clamp(max=0.999)


def linear_beta_schedule(timesteps: int) -> torch.Tensor:
    """(T,) float64 betas of Ho et al. (2020), rescaled so any T spans the same noise range as T=1000."""
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    scale = 1000 / timesteps
    return torch.linspace(
        scale * 1e-4, min(scale * 0.02, 0.999), timesteps, dtype=torch.float64
    )


_SCHEDULES = {"cosine": cosine_beta_schedule, "linear": linear_beta_schedule}


def _randn(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    # Draw on the generator's device, then move: a CPU generator gives the same numbers on any device.
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device).to(device)


def _check_finite(name: str, x: torch.Tensor) -> None:
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")


def _check_mask(mask: torch.Tensor | None, shape: tuple[int, ...]) -> None:
    if mask is None:
        return
    if len(shape) != 3:
        raise ValueError(f"mask needs (B, T, C) data, got data shape {tuple(shape)}")
    if mask.dtype != torch.bool or tuple(mask.shape) != tuple(shape[:2]):
        raise ValueError(
            f"mask must be a bool tensor of shape {tuple(shape[:2])}, "
            f"got {mask.dtype} {tuple(mask.shape)}"
        )


def _apply_mask(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask[..., None].to(x.dtype)


class DiffusionSchedule(nn.Module):
    """Noise schedule and the closed forms that use it; float32 buffers computed in float64.

    Buffers are non-persistent: they are a pure function of ``(timesteps, schedule)``, so checkpoints
    stay small and never disagree with the code.
    """

    def __init__(self, *, timesteps: int = 1000, schedule: str = "cosine") -> None:
        super().__init__()
        if schedule not in _SCHEDULES:
            raise ValueError(
                f"schedule must be one of {sorted(_SCHEDULES)}, got {schedule!r}"
            )
        self.timesteps = int(timesteps)
        self.schedule = schedule
        betas = _SCHEDULES[schedule](self.timesteps)
        alphas_cumprod = torch.cumprod(1 - betas, dim=0)
        alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
        # "Fixed small" variance σ²_t = β̃_t of the true posterior q(x_{t-1} | x_t, x_0); it is 0 at t=0.
        posterior_variance = betas * (1 - alphas_cumprod_prev) / (1 - alphas_cumprod)
        # log(0) at t=0 is replaced by the t=1 value (as in improved-diffusion); t=0 never adds noise anyway.
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

    def extra_repr(self) -> str:
        return f"timesteps={self.timesteps}, schedule={self.schedule!r}"

    # -- helpers --------------------------------------------------------------------------------------
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
        if batch and (t.min() < 0 or t.max() >= self.timesteps):
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
        """``buf[t]`` reshaped to ``(B, 1, ..., 1)`` to broadcast against ``x`` of shape ``(B, ...)``."""
        return (
            buf.to(x.device)[t.to(x.device)].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        )

    # -- closed forms ---------------------------------------------------------------------------------
    def q_sample(
        self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        """Sample ``x_t ~ q(x_t | x_0)``: ``√ᾱ_t·x0 + √(1−ᾱ_t)·noise``. x0, noise (B, ...); t (B,) long."""
        if x0.ndim < 1:
            raise ValueError(
                f"x0 must have a batch dimension (B, ...), got shape {tuple(x0.shape)}"
            )
        if noise.shape != x0.shape:
            raise ValueError(
                f"noise {tuple(noise.shape)} must have the shape of x0 {tuple(x0.shape)}"
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
        """Invert :meth:`q_sample` given ``ε``: ``(x_t − √(1−ᾱ_t)·ε)/√ᾱ_t``; not clipped (latents)."""
        if eps.shape != x_t.shape:
            raise ValueError(
                f"eps {tuple(eps.shape)} must have the shape of x_t {tuple(x_t.shape)}"
            )
        self._check_t(t, x_t.shape[0])
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
        """Noise ``x0`` (B, ...) to step ``t_start``; pass the result as ``x_T`` with the same ``t_start``
        to a sampler to edit a sample (counterfactuals keep its coarse structure, SDEdit-style)."""
        t_start = self._check_t_start(t_start)
        t = torch.full((x0.shape[0],), t_start, dtype=torch.long, device=x0.device)
        return self.q_sample(
            x0, t, _randn(tuple(x0.shape), generator, x0.device).to(x0.dtype)
        )

    # -- training -------------------------------------------------------------------------------------
    def loss(
        self,
        eps_model: Callable[..., torch.Tensor],
        x0: torch.Tensor,
        *,
        mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        **cond: Any,
    ) -> torch.Tensor:
        """ε-prediction MSE at uniform random ``t``: ``E‖ε − eps_model(x_t, t, **cond)‖²``.

        With ``mask`` (B, T) bool for ``x0`` (B, T, C), padded steps of ``x_t`` are zeroed (as in the
        samplers), ``mask`` is forwarded to ``eps_model`` as a keyword, and the mean runs over valid steps.
        """
        _check_mask(mask, tuple(x0.shape))
        if mask is not None and not mask.any():
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

    # -- sampling -------------------------------------------------------------------------------------
    def _init_x(
        self,
        shape: tuple[int, ...],
        generator: torch.Generator | None,
        x_T: torch.Tensor | None,
        mask: torch.Tensor | None,
    ) -> torch.Tensor:
        shape = tuple(int(s) for s in shape)
        _check_mask(mask, shape)
        if x_T is None:
            x_T = _randn(shape, generator, self.betas.device)
        elif tuple(x_T.shape) != shape:
            raise ValueError(
                f"x_T {tuple(x_T.shape)} must have the requested shape {shape}"
            )
        _check_finite("x_T", x_T)
        return _apply_mask(x_T, mask)

    @staticmethod
    def _eps(eps_fn: EpsFn, x: torch.Tensor, step: int) -> torch.Tensor:
        t = torch.full((x.shape[0],), step, dtype=torch.long, device=x.device)
        eps = eps_fn(x, t)
        if eps.shape != x.shape:
            raise ValueError(
                f"eps_fn returned {tuple(eps.shape)}, expected {tuple(x.shape)}"
            )
        return eps

    @torch.no_grad()
    def p_sample_loop(
        self,
        eps_fn: EpsFn,
        shape: tuple[int, ...],
        *,
        generator: torch.Generator | None = None,
        x_T: torch.Tensor | None = None,
        t_start: int | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """DDPM ancestral sampling from ``t_start`` (default T−1) to 0 with variance β̃_t ("fixed small").

        ``x_{t−1} = μ̃_t(x_t, x̂_0) + σ_t·z``, no noise at t=0. ``x_T`` (``shape``) replaces the initial
        Gaussian draw, e.g. the output of :meth:`noise_to`. Padded steps (``mask`` False) stay 0.
        """
        t_start = self._check_t_start(t_start)
        x = self._init_x(shape, generator, x_T, mask)
        for step in range(t_start, -1, -1):
            t = torch.full((x.shape[0],), step, dtype=torch.long, device=x.device)
            x0_hat = self.predict_x0(x, t, self._eps(eps_fn, x, step))
            x = (
                self._extract(self.posterior_mean_coef1, t, x) * x0_hat
                + self._extract(self.posterior_mean_coef2, t, x) * x
            )
            if step > 0:
                std = (
                    0.5 * self._extract(self.posterior_log_variance_clipped, t, x)
                ).exp()
                x = x + std * _randn(tuple(x.shape), generator, x.device).to(x.dtype)
            x = _apply_mask(x, mask)
        return x

    @torch.no_grad()
    def ddim_sample(
        self,
        eps_fn: EpsFn,
        shape: tuple[int, ...],
        *,
        steps: int,
        eta: float = 0.0,
        generator: torch.Generator | None = None,
        x_T: torch.Tensor | None = None,
        t_start: int | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """DDIM (Song et al., 2021) over ``steps`` evenly spaced timesteps from ``t_start`` down to 0.

        ``η = 0`` is deterministic given ``x_T``; ``η = 1`` matches DDPM's posterior variance. The step
        after t=0 goes to ``ᾱ = 1``, i.e. returns ``x̂_0``. Padded steps (``mask`` False) stay 0.
        """
        t_start = self._check_t_start(t_start)
        if not 1 <= steps <= t_start + 1:
            raise ValueError(
                f"steps must be in [1, t_start + 1 = {t_start + 1}], got {steps}"
            )
        if not (math.isfinite(eta) and eta >= 0):
            raise ValueError(f"eta must be a finite number >= 0, got {eta}")
        x = self._init_x(shape, generator, x_T, mask)
        # Spacing >= 1, so rounding keeps the timesteps distinct; both ends are always included.
        seq = (
            torch.linspace(t_start, 0, steps, dtype=torch.float64)
            .round()
            .long()
            .tolist()
        )
        abar = self.alphas_cumprod.double().tolist()
        for k, step in enumerate(seq):
            a_t = abar[step]
            a_prev = abar[seq[k + 1]] if k + 1 < len(seq) else 1.0
            eps = self._eps(eps_fn, x, step)
            x0_hat = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
            sigma = eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
            x = (
                math.sqrt(a_prev) * x0_hat
                + math.sqrt(max(1 - a_prev - sigma**2, 0.0)) * eps
            )
            if sigma > 0:
                x = x + sigma * _randn(tuple(x.shape), generator, x.device).to(x.dtype)
            x = _apply_mask(x, mask)
        return x


def classifier_free_guidance(
    eps_cond: torch.Tensor, eps_uncond: torch.Tensor, scale: float
) -> torch.Tensor:
    """Ho & Salimans (2022): ``ε̃ = ε_uncond + s·(ε_cond − ε_uncond)``; s=0 unconditional, s=1 conditional."""
    if eps_cond.shape != eps_uncond.shape:
        raise ValueError(
            f"eps_cond {tuple(eps_cond.shape)} and eps_uncond {tuple(eps_uncond.shape)} "
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
    """Closure ``eps_fn(x, t)`` for the samplers: CFG between ``model(x, t, label, **cond)`` and the
    same call with ``null_label`` (default ``model.null_label``).

    ``label`` is an int or a (B,) long tensor; ``cond`` (e.g. ``influence``, ``mask``) goes to both
    calls unchanged. s=0 and s=1 run the model once, so the label is then exactly ignored / used.
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
                f"label must be an int or of shape ({x.shape[0]},), got {tuple(value.shape)}"
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
    """CFG training: replace each label by ``null_label`` with probability ``p`` (one model learns both)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    gen_device = generator.device if generator is not None else label.device
    drop = (torch.rand(label.shape, generator=generator, device=gen_device) < p).to(
        label.device
    )
    return torch.where(drop, torch.full_like(label, null_label), label)
