"""Counterfactual explanations: "what would this utterance's latent affect look like
under another emotion, and which modality had to change?"

Editing (SDEdit-style, so the result stays close to the original): take the utterance's
own latent μ (B, T, L), noise it to ``t_start``, then denoise it with classifier-free
guidance toward ``target_label``: ε̂ = ε(z_t, ∅) + s·(ε(z_t, target) − ε(z_t, ∅)). The
edited z′ is read back into each modality's feature space by the bottleneck's decoders;
the modality whose reconstruction moved most, relative to that modality's scale, is the
counterfactual's attribution.

A modality's *scale* is the spread of its reconstructions over a reference split (RMS
deviation from the split's mean reconstruction, :func:`modality_scales`): raw scales
differ by design (COVAREP-like audio is 8x larger than FACET-like video), and a constant
offset must not count as "scale".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from affect_lib.affect_diff.model import AffectDiff
from affect_lib.schema import MODALITIES, value_checks_on

__all__ = ["Counterfactual", "counterfactual", "modality_scales"]


@dataclass(frozen=True)
class Counterfactual:
    """A batch of counterfactuals. Latents (B, T, L); reconstructions {m: (B, T, D_m)};
    (B,) vectors."""

    z: torch.Tensor  # original latent μ
    z_cf: torch.Tensor  # edited latent z′
    recon: dict[str, torch.Tensor]  # decoders(μ)
    recon_cf: dict[str, torch.Tensor]  # decoders(z′)
    pred_before: torch.Tensor  # classifier on μ
    pred_after: torch.Tensor  # classifier on z′
    target: torch.Tensor
    # (B, 3) RMS change of each modality's reconstruction / that modality's scale
    change: torch.Tensor
    mask: torch.Tensor  # (B, T)

    @property
    def attribution(self) -> torch.Tensor:
        """(B,) index of the modality that changed most (0 text, 1 audio, 2 video)."""
        return self.change.argmax(dim=1)


def _rms(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D), (B, T) → (B,) root mean square over valid steps and features."""
    m = mask[..., None].to(x.dtype)
    return ((x**2 * m).sum(dim=(1, 2)) / (m.sum(dim=(1, 2)) * x.shape[-1])).sqrt()


def _spread(recon: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
    """(3,) RMS deviation of each modality's valid reconstruction steps from their
    mean."""
    out = []
    for m in MODALITIES:
        steps = recon[m][mask]  # (N_valid, D_m)
        out.append((steps - steps.mean(dim=0)).pow(2).mean().sqrt())
    return torch.stack(out)


@torch.no_grad()
def modality_scales(model: AffectDiff, loader) -> torch.Tensor:
    """(3,) spread of each modality's reconstruction from μ over a split: the yardstick
    of ``change``."""
    model.eval()
    device = next(model.parameters()).device
    recon: dict[str, list[torch.Tensor]] = {m: [] for m in MODALITIES}
    masks = []
    for batch in loader:
        batch = {
            k: v.to(device) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()
        }
        enc = model.encode(batch, sample=False)
        decoded = model.bottleneck.decode(
            enc.latent.mu, batch["mask"], enc.graph.influence
        )
        for m in MODALITIES:
            recon[m].append(decoded[m][batch["mask"]].cpu())
        masks.append(batch["mask"][batch["mask"]].cpu())
    flat = {m: torch.cat(v)[None] for m, v in recon.items()}  # (1, N_valid, D_m)
    return _spread(flat, torch.cat(masks)[None])


@torch.no_grad()
def counterfactual(
    model: AffectDiff,
    batch: dict[str, torch.Tensor],
    target_label: int | torch.Tensor,
    *,
    cfg_scale: float,
    t_start: int,
    steps: int,
    sampler: str = "ddim",
    eta: float = 0.0,
    scales: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Counterfactual:
    """Edit each utterance of ``batch`` toward ``target_label`` (an int or a (B,)
    tensor).

    ``steps`` is the number of DDIM steps and ``eta`` DDIM's noise level (both ignored
    by ``sampler="ddpm"``, which runs every step from ``t_start`` to 0). ``scales`` (3,)
    normalises the per-modality change (default: the batch's own reconstruction spread,
    :func:`modality_scales`).
    """
    model.eval()
    mask = batch["mask"]
    batch_size = mask.shape[0]
    target = torch.as_tensor(target_label, dtype=torch.long, device=mask.device)
    target = target.expand(batch_size) if target.ndim == 0 else target
    n_classes = model.classifier.out_features
    if target.shape != (batch_size,) or (
        value_checks_on(target) and (target.min() < 0 or target.max() >= n_classes)
    ):
        raise ValueError(
            f"target_label must be in [0, {n_classes}) with shape "
            f"({batch_size},), "
            f"got {target_label!r}"
        )
    enc = model.encode(batch, sample=False)
    z = enc.latent.mu
    z_cf = model.denoise(
        z,
        mask,
        enc.graph.influence,
        t_start=t_start,
        steps=steps,
        label=target,
        cfg_scale=cfg_scale,
        sampler=sampler,
        eta=eta,
        generator=generator,
    )
    # the edit changes z only; the utterance keeps its influence weights
    infl = enc.graph.influence
    recon, recon_cf = (
        model.bottleneck.decode(z, mask, infl),
        model.bottleneck.decode(z_cf, mask, infl),
    )
    if scales is None:
        scales = _spread(recon, mask)
    scales = scales.to(z.device).clamp_min(1e-8)
    change = (
        torch.stack([_rms(recon_cf[m] - recon[m], mask) for m in MODALITIES], dim=1)
        / scales
    )
    before, _ = model.classify(z, mask)
    after, _ = model.classify(z_cf, mask)
    return Counterfactual(
        z,
        z_cf,
        recon,
        recon_cf,
        before.argmax(-1),
        after.argmax(-1),
        target,
        change,
        mask,
    )
