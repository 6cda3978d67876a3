"""Chapter 6's ablation variants: the full model of chapter 3 with one thing changed.

A :class:`Variant` removes a component (the causal graph, the diffusion prior,
classifier-free guidance dropout), sweeps a loss weight (λ₁ with the diffusion gradient
reaching the encoder, λ₂ of the KL term) or makes the Gumbel edges hard; the A/A control
``aa`` is the full model itself, trained with seeds disjoint from ``full``'s, so its
difference from ``full`` is training noise only.
:data:`VARIANTS` holds the study's variants by name; :func:`variant_config` turns one
into the :class:`~affect_lib.config.RunConfig` of a run.
:mod:`affect_lib.experiments.ablation` trains and scores them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from affect_lib.config import RunConfig

__all__ = ["Variant", "VARIANTS", "variant_config"]


@dataclass(frozen=True)
class Variant:
    """One ablation: ModelConfig overrides plus the two switches that are not config
    fields."""

    name: str  # glue-safe identifier (letters, digits, underscores)
    description: str
    # "component", "lambda1", "lambda2", "gumbel" or "control" (for tables and plots)
    group: str
    # ModelConfig fields to override
    model: dict[str, Any] = field(default_factory=dict)
    # False: uniform modality weights instead of the causal graph
    use_graph: bool = True
    # False: no prior is trained (λ₁ = 0), so there are no counterfactuals
    diffusion: bool = True
    # training seeds cfg.seed + seed_block·S + i, i < S = ablation_seeds: 1 gives seeds
    # disjoint from every other variant's (the A/A control)
    seed_block: int = 0


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "full",
            "the model of chapter 3 (λ₁ = 1 with the diffusion gradient stopped at z, "
            "λ₂ = 1e-3)",
            "component",
        ),
        Variant(
            "aa",
            "A/A control: the full model again, trained with seeds disjoint from "
            "full's",
            "control",
            seed_block=1,
        ),
        Variant(
            "no_graph",
            "uniform modality weights instead of the causal graph",
            "component",
            use_graph=False,
        ),
        Variant(
            "no_diffusion",
            "no diffusion prior (λ₁ = 0): a VAE classifier on μ, no counterfactuals",
            "component",
            {"lambda_diff": 0.0},
            diffusion=False,
        ),
        Variant(
            "no_cfg",
            "no classifier-free-guidance dropout (p_uncond = 0)",
            "component",
            {"p_uncond": 0.0},
        ),
        Variant(
            "gumbel_hard",
            "hard (straight-through one-hot) Gumbel edges in training",
            "gumbel",
            {"gumbel_hard": True},
        ),
        Variant(
            "lambda1_0p1",
            "diffusion gradient reaches the encoder, λ₁ = 0.1",
            "lambda1",
            {"diffusion_detach": False, "lambda_diff": 0.1},
        ),
        Variant(
            "lambda1_1",
            "diffusion gradient reaches the encoder, λ₁ = 1",
            "lambda1",
            {"diffusion_detach": False, "lambda_diff": 1.0},
        ),
        Variant(
            "lambda1_10",
            "diffusion gradient reaches the encoder, λ₁ = 10",
            "lambda1",
            {"diffusion_detach": False, "lambda_diff": 10.0},
        ),
        Variant("lambda2_0", "no KL term (λ₂ = 0)", "lambda2", {"lambda_kl": 0.0}),
        Variant(
            "lambda2_0p01",
            "λ₂ = 0.01 (10× the full model's)",
            "lambda2",
            {"lambda_kl": 0.01},
        ),
        Variant(
            "lambda2_0p1",
            "λ₂ = 0.1 (100× the full model's)",
            "lambda2",
            {"lambda_kl": 0.1},
        ),
    )
}


def variant_config(cfg: RunConfig, variant: Variant, seed: int) -> RunConfig:
    """``cfg`` with the variant's model overrides and training seed ``seed`` (validated
    again).

    The schedules (warmup, Gumbel temperature) stay those of chapter 3's ``max_epochs``:
    an ablation run is chapter 3's training stopped after ``ablation_epochs`` epochs."""
    unknown = set(variant.model) - {f.name for f in dataclasses.fields(cfg.model)}
    if unknown:
        raise ValueError(
            f"variant {variant.name!r}: unknown ModelConfig field(s) {sorted(unknown)}"
        )
    return dataclasses.replace(
        cfg, seed=seed, model=dataclasses.replace(cfg.model, **variant.model)
    )
