"""Affect-Diff: encoders → causal attention graph → causal-weighted VAE bottleneck → 1D
diffusion prior.

Training (one forward pass, :meth:`AffectDiff.losses`):
    h_m = Enc_m(x_m)                   per-modality sequences (B, T, d)
    infl = Graph(pool(h))              influence weights (B, 3)
    z ~ q(z | Σ_m infl_m h_m)          VAE bottleneck (B, T, latent_dim)
    loss = CE(classifier(pool(z)), y) + λ_ml·BCE(multilabel(pool(z)), emotions > 0)
         + λ₁·‖ε − ε_θ(z_t, t, y or ∅, infl)‖² + λ₂·β-KL + λ_rec·Σ_m ‖Dec_m(z) − x_m‖²
    (CE is focal when focal_gamma > 0)

Inference path (:meth:`AffectDiff.predict`): encode → μ → partial noising to
``denoise_t_start`` → DDIM denoising (unconditional, or guided toward a label with
classifier-free guidance) → classify the denoised latent. ``predict`` also classifies μ
directly, so the two can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from affect_lib.affect_diff.bottleneck import (
    BottleneckOutput,
    LatentBottleneck,
)
from affect_lib.affect_diff.causal_graph import CausalAttentionGraph, GraphOutput
from affect_lib.affect_diff.diffusion import (
    DiffusionSchedule,
    UNet1D,
    drop_labels,
    guided_eps_fn,
)
from affect_lib.affect_diff.encoders import POOLING, ModalityEncoders
from affect_lib.affect_diff.focal import focal_cross_entropy
from affect_lib.config import ModelConfig
from affect_lib.schema import EMOTIONS, MODALITIES

__all__ = ["AffectDiff", "Encoded"]


@dataclass(frozen=True)
class Encoded:
    """What the encoder side produces for a batch."""

    graph: GraphOutput  # adjacency (B,3,3), influence (B,3)
    latent: BottleneckOutput  # z, mu, logvar (B,T,latent_dim), kl (scalar, β included)


class AffectDiff(nn.Module):
    """The full model, built from its :class:`~affect_lib.config.sections.ModelConfig`.

    Batches follow the contract of :mod:`affect_lib.schema`.
    """

    def __init__(
        self,
        config: ModelConfig,
        dims: dict[str, int],
        *,
        anneal_steps: int,
        use_graph: bool = True,
    ) -> None:
        """``dims``: feature width per modality; ``anneal_steps``: training steps over
        which the graph's temperature falls from ``tau_start`` to ``tau_end``;
        ``use_graph=False`` fuses with uniform weights (the ablation without the
        graph)."""
        super().__init__()
        c = self.config = config
        if c.pooling not in POOLING:
            raise ValueError(
                f"pooling must be one of {sorted(POOLING)}, got {c.pooling!r}"
            )
        self.use_graph = use_graph
        self.encoders = ModalityEncoders(
            dims=dims, d_model=c.d_model, dropout=c.dropout, n_heads=c.n_heads
        )
        # equal energy per graph node
        self.node_norm = nn.LayerNorm(c.d_model, elementwise_affine=False)
        self.graph = CausalAttentionGraph(
            d_model=c.d_model,
            tau_start=c.tau_start,
            tau_end=c.tau_end,
            anneal_steps=anneal_steps,
            schedule=c.gumbel_schedule,
            hard=c.gumbel_hard,
        )
        self.bottleneck = LatentBottleneck(
            d_model=c.d_model,
            latent_dim=c.latent_dim,
            modality_dims=dims,
            beta=c.beta,
            free_bits=c.free_bits,
            decoder_influence=c.decoder_influence,
        )
        self.unet = UNet1D(
            channels=c.latent_dim,
            base_channels=c.unet_base,
            channel_mults=c.unet_mults,
            num_classes=len(EMOTIONS),
            n_modalities=len(MODALITIES),
        )
        self.schedule = DiffusionSchedule(timesteps=c.diffusion_steps)
        self.classifier = nn.Linear(c.latent_dim, len(EMOTIONS))
        # CMU-MOSEI labels are multi-label
        self.multilabel = nn.Linear(c.latent_dim, len(EMOTIONS))

    # -- encoder side ------------------------------------------------------------------
    def encode(
        self, batch: dict[str, torch.Tensor], *, sample: bool | None = None
    ) -> Encoded:
        """Encoders, graph and bottleneck. ``use_graph=False`` fuses with uniform
        weights (ablation)."""
        encoded = self.encoders(batch)
        # (B, 3, d)
        nodes = self.node_norm(
            self.encoders.pool(encoded, batch["mask"], how=self.config.pooling)
        )
        graph = self.graph(nodes)
        if not self.use_graph:
            uniform = torch.full_like(graph.influence, 1.0 / len(MODALITIES))
            graph = GraphOutput(graph.adjacency, uniform, graph.scores, graph.tau)
        return Encoded(
            graph,
            self.bottleneck(encoded, graph.influence, batch["mask"], sample=sample),
        )

    def classify(
        self, z: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """z (B, T, latent_dim) → single-label logits (B, 6) and multi-label logits (B,
        6)."""
        pooled = POOLING[self.config.pooling](z, mask)
        return self.classifier(pooled), self.multilabel(pooled)

    # -- training ----------------------------------------------------------------------
    def losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Unweighted loss terms (``ce``, ``ml``, ``diff``, ``kl``, ``rec``) plus
        ``logits`` and ``influence``."""
        mask, label = batch["mask"], batch["label"]
        enc = self.encode(batch)
        z = enc.latent.z
        logits, ml_logits = self.classify(z, mask)
        # gamma 0: plain cross-entropy
        ce = focal_cross_entropy(logits, label, self.config.focal_gamma)
        ml = F.binary_cross_entropy_with_logits(
            ml_logits, (batch["emotions"] > 0).to(ml_logits.dtype)
        )
        # The prior learns the latent distribution; with diffusion_detach its gradient
        # stops at z and at the influence weights, so it cannot reshape the encoder
        # against the classifier.
        z0 = z.detach() if self.config.diffusion_detach else z
        influence = (
            enc.graph.influence.detach()
            if self.config.diffusion_detach
            else enc.graph.influence
        )
        cond_label = (
            drop_labels(label, p=self.config.p_uncond, null_label=self.unet.null_label)
            if self.training
            else label
        )
        diff = self.schedule.loss(
            self.unet, z0, mask=mask, label=cond_label, influence=influence
        )
        # Decoders that read the influence weights take them as given: reconstruction
        # must not train the graph.
        rec, _ = self.bottleneck.reconstruction(
            z, mask, {m: batch[m] for m in MODALITIES}, enc.graph.influence.detach()
        )
        return {
            "ce": ce,
            "ml": ml,
            "diff": diff,
            "kl": enc.latent.kl,
            "rec": rec,
            "logits": logits,
            "ml_logits": ml_logits,
            "influence": enc.graph.influence,
        }

    # -- inference ---------------------------------------------------------------------
    @torch.no_grad()
    def denoise(
        self,
        z: torch.Tensor,
        mask: torch.Tensor,
        influence: torch.Tensor,
        *,
        t_start: int,
        steps: int,
        label: torch.Tensor | int | None = None,
        cfg_scale: float = 0.0,
        sampler: str = "ddim",
        eta: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Noise z (B, T, L) to ``t_start`` and denoise it back, toward ``label`` with
        CFG scale ``cfg_scale`` (``label=None``: unconditional, the null label). ``eta``
        is DDIM's noise level (0 deterministic, 1 DDPM's posterior variance). Returns z′
        (B, T, L)."""
        if sampler not in ("ddim", "ddpm"):
            raise ValueError(f"sampler must be 'ddim' or 'ddpm', got {sampler!r}")
        scale = 0.0 if label is None else cfg_scale
        eps_fn = guided_eps_fn(
            self.unet,
            label=self.unet.null_label if label is None else label,
            scale=scale,
            influence=influence,
            mask=mask,
        )
        x_t = self.schedule.noise_to(z, t_start, generator=generator)
        if sampler == "ddim":
            return self.schedule.ddim_sample(
                eps_fn,
                tuple(z.shape),
                steps=steps,
                eta=eta,
                x_T=x_t,
                t_start=t_start,
                mask=mask,
                generator=generator,
            )
        return self.schedule.p_sample_loop(
            eps_fn,
            tuple(z.shape),
            x_T=x_t,
            t_start=t_start,
            mask=mask,
            generator=generator,
        )

    @torch.no_grad()
    def predict(
        self,
        batch: dict[str, torch.Tensor],
        *,
        t_start: int | None = None,
        steps: int | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Eval-mode predictions: logits on μ and on the unconditionally denoised μ,
        influence, μ.

        ``t_start`` and ``steps`` default to the config's ``denoise_t_start`` and
        ``ddim_steps``.
        """
        if t_start is None:
            t_start = self.config.denoise_t_start
        if steps is None:
            steps = self.config.ddim_steps
        enc = self.encode(batch, sample=False)
        mu, mask = enc.latent.mu, batch["mask"]
        logits_mu, ml_mu = self.classify(mu, mask)
        z_den = self.denoise(
            mu,
            mask,
            enc.graph.influence,
            t_start=t_start,
            steps=steps,
            generator=generator,
        )
        logits_den, _ = self.classify(z_den, mask)
        return {
            "logits_mu": logits_mu,
            "ml_logits_mu": ml_mu,
            "logits_denoised": logits_den,
            "influence": enc.graph.influence,
            "adjacency": enc.graph.adjacency,
            "mu": mu,
        }
