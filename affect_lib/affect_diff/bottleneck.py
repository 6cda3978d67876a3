"""Causal-weighted fusion and the VAE latent bottleneck the diffusion model works in.

fused = Σ_m influence[:, m] · h_m, then a Gaussian posterior q(z | fused) per step, a
β-KL to N(0, I) and light per-modality decoders that read z back into each modality's
raw feature space, so a counterfactual edit of z can be inspected modality by modality.

With ``decoder_influence=True`` the decoders also read the influence weights (B, 3),
broadcast over time: how strongly an utterance expresses its affect in modality m
depends on whether m drives it, and a decoder that reads z alone can only predict every
modality's *average* expression of the affect in z. Chapter 4's counterfactuals keep the
utterance's influence weights and change z, so the change then lands in the modalities
that carry the affect.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from affect_lib.schema import MODALITIES, check_mask, check_sequence, value_checks_on

__all__ = ["BottleneckOutput", "LatentBottleneck", "gaussian_kl", "reconstruction_loss"]


@dataclass(frozen=True)
class BottleneckOutput:
    """z, mu, logvar (B, T, latent_dim), zero at padded steps; kl scalar (β and free
    bits applied); fused (B, T, d_model) the causal-weighted fusion."""

    z: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    kl: torch.Tensor
    fused: torch.Tensor


def gaussian_kl(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    mask: torch.Tensor,
    *,
    free_bits: float = 0.0,
) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, averaged over valid
    steps then batch.

    mu, logvar (B, T, L); mask (B, T) bool. With free_bits > 0 each latent dim's average
    KL is floored at free_bits nats (Kingma et al., 2016), so the optimiser gains
    nothing by collapsing a dim below it.
    """
    per_dim = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)  # (B, T, L)
    w = mask.to(per_dim.dtype)
    # each sample's valid steps weigh 1/B in total
    w = w / w.sum(dim=1, keepdim=True) / mask.shape[0]
    # (L,) masked steps contribute exactly 0
    per_dim = (per_dim * w.unsqueeze(-1)).sum(dim=(0, 1))
    if free_bits > 0:
        per_dim = per_dim.clamp(min=free_bits)
    return per_dim.sum()


def reconstruction_loss(
    recon: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], mask: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Masked MSE per modality (mean over valid steps and feature dims) and their sum.

    recon, targets {m: (B, T, D_m)}; mask (B, T) bool. Padded steps are ignored.
    """
    if not recon:
        raise ValueError("reconstruction_loss: recon is empty")
    per_modality: dict[str, torch.Tensor] = {}
    for m, pred in recon.items():
        if m not in targets:
            raise ValueError(
                f"reconstruction_loss: targets lack modality {m!r}; got keys "
                f"{sorted(targets)}"
            )
        check_sequence(
            targets[m],
            name=f"reconstruction_loss: targets[{m!r}]",
            dim=pred.shape[-1],
            batch_time=tuple(pred.shape[:2]),
        )
        check_mask(mask, where="reconstruction_loss", shape=tuple(pred.shape[:2]))
        w = mask.to(pred.dtype).unsqueeze(-1)
        sq = (pred - targets[m]).pow(2) * w
        per_modality[m] = sq.sum() / (w.sum() * pred.shape[-1])
    return torch.stack(list(per_modality.values())).sum(), per_modality


class LatentBottleneck(nn.Module):
    """Encoded {m: (B, T, d_model)}, influence (B, 3), mask (B, T) ->
    :class:`BottleneckOutput`.

    Modalities follow MODALITIES order (text, audio, video): influence column m weighs
    modality m. Training samples z = mu + sigma·eps; eval returns z = mu unless
    ``sample=True``.
    """

    def __init__(
        self,
        *,
        d_model: int,
        latent_dim: int,
        modality_dims: dict[str, int],
        beta: float = 1.0,
        logvar_min: float = -10.0,
        logvar_max: float = 2.0,
        free_bits: float = 0.0,
        decoder_hidden: int | None = None,
        decoder_influence: bool = False,
    ) -> None:
        super().__init__()
        if sorted(modality_dims) != sorted(MODALITIES):
            raise ValueError(
                f"LatentBottleneck: modality_dims keys {sorted(modality_dims)}, "
                f"expected {list(MODALITIES)}"
            )
        if not logvar_min < logvar_max:
            raise ValueError(
                f"LatentBottleneck: logvar_min ({logvar_min}) must be < logvar_max "
                f"({logvar_max})"
            )
        if beta < 0 or free_bits < 0:
            raise ValueError(
                f"LatentBottleneck: beta ({beta}) and free_bits ({free_bits}) must be "
                f">= 0"
            )
        self.d_model, self.latent_dim = d_model, latent_dim
        self.modality_dims = {m: int(modality_dims[m]) for m in MODALITIES}
        self.beta, self.free_bits = beta, free_bits
        self.logvar_min, self.logvar_max = logvar_min, logvar_max
        self.fc_mu = nn.Linear(d_model, latent_dim)
        self.fc_logvar = nn.Linear(d_model, latent_dim)
        hidden = decoder_hidden or 2 * latent_dim
        self.decoder_influence = decoder_influence
        n_in = latent_dim + (len(MODALITIES) if decoder_influence else 0)
        self.decoders = nn.ModuleDict(
            {
                m: nn.Sequential(
                    nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, dim)
                )
                for m, dim in self.modality_dims.items()
            }
        )

    def fuse(
        self, encoded: dict[str, torch.Tensor], influence: torch.Tensor
    ) -> torch.Tensor:
        """Σ_m influence[:, m] · h_m: (B, 3) weights broadcast over time -> (B, T,
        d_model)."""
        return sum(
            influence[:, i, None, None] * encoded[m] for i, m in enumerate(MODALITIES)
        )

    def forward(
        self,
        encoded: dict[str, torch.Tensor],
        influence: torch.Tensor,
        mask: torch.Tensor,
        *,
        sample: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> BottleneckOutput:
        self._check_inputs(encoded, influence, mask)
        fused = self.fuse(encoded, influence)
        keep = mask.unsqueeze(-1).to(fused.dtype)
        fused = fused * keep
        # Clamped so exp(logvar) can neither overflow nor vanish, whatever the encoders
        # emit.
        mu = self.fc_mu(fused) * keep
        logvar = self.fc_logvar(fused).clamp(self.logvar_min, self.logvar_max) * keep
        z = mu
        stochastic = self.training if sample is None else sample
        if stochastic:
            eps = torch.randn(
                mu.shape, generator=generator, device=mu.device, dtype=mu.dtype
            )
            z = (mu + torch.exp(0.5 * logvar) * eps) * keep
        kl = self.beta * gaussian_kl(mu, logvar, mask, free_bits=self.free_bits)
        return BottleneckOutput(z, mu, logvar, kl, fused)

    def decode(
        self, z: torch.Tensor, mask: torch.Tensor, influence: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """(B, T, latent_dim) -> {m: (B, T, D_m)} in each modality's raw feature space,
        zero at padding.

        ``influence`` (B, 3) is required when the decoders read it
        (``decoder_influence``), ignored otherwise.
        """
        x = self._decoder_input(z, mask, influence, where="decode")
        keep = mask.unsqueeze(-1).to(z.dtype)
        return {m: dec(x) * keep for m, dec in self.decoders.items()}

    def reconstruction(
        self,
        z: torch.Tensor,
        mask: torch.Tensor,
        targets: dict[str, torch.Tensor],
        influence: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``reconstruction_loss(self.decode(z, mask, influence), targets, mask)`` up to
        float rounding, with no (B, T, D_m) mask products: the squared error is summed
        over features, then masked per step. Static shapes (no boolean indexing: a GPU
        never waits on the mask); targets' values are left to the encoders' checks.

        z (B, T, latent_dim); mask (B, T) bool; targets {m: (B, T, D_m)}; influence (B,
        3) as in :meth:`decode`."""
        x = self._decoder_input(z, mask, influence, where="reconstruction")
        keep = mask.to(z.dtype)  # (B, T)
        n_valid = keep.sum()
        per_modality: dict[str, torch.Tensor] = {}
        for m, dec in self.decoders.items():
            if m not in targets:
                raise ValueError(
                    f"LatentBottleneck.reconstruction: targets lack modality {m!r}; "
                    f"got keys {sorted(targets)}"
                )
            expected = (*z.shape[:2], self.modality_dims[m])
            if tuple(targets[m].shape) != expected:
                raise ValueError(
                    f"LatentBottleneck.reconstruction: targets[{m!r}]: got shape "
                    f"{tuple(targets[m].shape)}, expected {expected}"
                )
            pred = dec(x)  # (B, T, D_m); padded steps are weighted 0 below
            sq = F.mse_loss(pred, targets[m].to(pred.dtype), reduction="none").sum(-1)
            per_modality[m] = (sq * keep).sum() / (n_valid * pred.shape[-1])
        return torch.stack(list(per_modality.values())).sum(), per_modality

    def _decoder_input(
        self,
        z: torch.Tensor,
        mask: torch.Tensor,
        influence: torch.Tensor | None,
        *,
        where: str,
    ) -> torch.Tensor:
        """z (B, T, latent_dim), with the influence weights (B, 3) broadcast over time
        appended when the decoders read them."""
        name = f"LatentBottleneck.{where}"
        check_sequence(z, name=f"{name}: z", dim=self.latent_dim)
        check_mask(mask, where=name, shape=tuple(z.shape[:2]))
        if not self.decoder_influence:
            return z
        n = len(MODALITIES)
        if not isinstance(influence, torch.Tensor) or tuple(influence.shape) != (
            z.shape[0],
            n,
        ):
            got = (
                tuple(influence.shape) if isinstance(influence, torch.Tensor) else None
            )
            raise ValueError(
                f"{name}: the decoders read the influence weights; influence is {got}, "
                f"expected ({z.shape[0]}, {n})"
            )
        return torch.cat(
            [z, influence[:, None, :].to(z.dtype).expand(-1, z.shape[1], -1)], dim=-1
        )

    def _check_inputs(
        self,
        encoded: dict[str, torch.Tensor],
        influence: torch.Tensor,
        mask: torch.Tensor,
    ) -> None:
        missing = [m for m in MODALITIES if m not in encoded]
        if missing:
            raise ValueError(
                f"LatentBottleneck: encoded lacks modality {missing}; expected keys "
                f"{list(MODALITIES)}"
            )
        check_mask(mask, where="LatentBottleneck")
        for m in MODALITIES:
            check_sequence(
                encoded[m],
                name=f"LatentBottleneck: encoded[{m!r}]",
                dim=self.d_model,
                batch_time=tuple(mask.shape),
            )
        n = len(MODALITIES)
        if not isinstance(influence, torch.Tensor) or tuple(influence.shape) != (
            mask.shape[0],
            n,
        ):
            got = (
                tuple(influence.shape)
                if isinstance(influence, torch.Tensor)
                else type(influence).__name__
            )
            raise ValueError(
                f"LatentBottleneck: influence has shape {got}, expected "
                f"({mask.shape[0]}, {n})"
            )
        if value_checks_on(influence) and not torch.isfinite(influence).all():
            raise ValueError("LatentBottleneck: influence contains NaN or inf")
