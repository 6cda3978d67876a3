"""DDPM and DDIM samplers, written as methods that :class:`DiffusionSchedule` inherits.

Samplers take a closure ``eps_fn(x, t) -> ε̂`` so that conditioning and classifier-free
guidance stay with the caller
(:func:`~affect_lib.affect_diff.diffusion.guidance.guided_eps_fn`). Padded steps
(``mask`` False) are zeroed after every step. The buffers they read (``betas``,
``alphas_cumprod``, ...) are the schedule's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from affect_lib.schema import value_checks_on

__all__ = ["EpsFn", "Sampling"]

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _randn(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    # Draw on the generator's device, then move: a CPU generator gives the same numbers
    # on any device.
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device).to(device)


def _check_finite(name: str, x: torch.Tensor) -> None:
    if value_checks_on(x) and not torch.isfinite(x).all():
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


class Sampling:
    """Mixin of
    :class:`~affect_lib.affect_diff.diffusion.gaussian_diffusion.DiffusionSchedule`:
    ancestral DDPM sampling and DDIM (η ≥ 0) from ``x_T`` or from a partially noised
    ``x_t``."""

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
        """DDPM ancestral sampling from ``t_start`` (default T−1) to 0 with variance
        β̃_t ("fixed small").

        ``x_{t−1} = μ̃_t(x_t, x̂_0) + σ_t·z``, no noise at t=0. ``x_T`` (``shape``)
        replaces the initial Gaussian draw, e.g. the output of :meth:`noise_to`. Padded
        steps (``mask`` False) stay 0.
        """
        t_start = self._check_t_start(t_start)
        x = self._init_x(shape, generator, x_T, mask)
        for step in range(t_start, -1, -1):
            t = torch.full((x.shape[0],), step, dtype=torch.long, device=x.device)
            x0_hat = self._x0_from_eps(x, t, self._eps(eps_fn, x, step))
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
        """DDIM (Song et al., 2021) over ``steps`` evenly spaced timesteps from
        ``t_start`` down to 0.

        ``η = 0`` is deterministic given ``x_T``; ``η = 1`` matches DDPM's posterior
        variance. The step after t=0 goes to ``ᾱ = 1``, i.e. returns ``x̂_0``. Padded
        steps (``mask`` False) stay 0.
        """
        t_start = self._check_t_start(t_start)
        if not 1 <= steps <= t_start + 1:
            raise ValueError(
                f"steps must be in [1, t_start + 1 = {t_start + 1}], got {steps}"
            )
        if not (math.isfinite(eta) and eta >= 0):
            raise ValueError(f"eta must be a finite number >= 0, got {eta}")
        x = self._init_x(shape, generator, x_T, mask)
        # Spacing >= 1, so rounding keeps the timesteps distinct; both ends are always
        # included.
        seq = (
            torch.linspace(t_start, 0, steps, dtype=torch.float64, device="cpu")
            .round()
            .long()
            .tolist()
        )
        abar = self.alphas_cumprod_host
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
