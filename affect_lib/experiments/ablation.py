"""Chapter 6's ablations: Affect-Diff variants trained on the same data, budget and
seeds.

A :class:`~affect_lib.experiments.ablation_variants.Variant` is the full model of
chapter 3 with one thing changed (a component removed, a loss weight swept, the Gumbel
edges made hard). Every (variant, seed) run

1. trains with :func:`affect_lib.affect_diff.loop.fit_plain` for
   ``cfg.ablation.ablation_epochs`` epochs of ``ablation_batch_size`` mini-batches
   (fixed budget, no early stopping), seed ``s`` for initialisation, data order and
   noise;
2. scores the test split:

   * ``accuracy`` — the classifier on μ (chapter 3's ``test_accuracy``; denoising μ
     first changes it by well under a point there, and would cost a third of a run);
   * ``driver_acc`` — the most influential modality is the planted driver; a tie among k
     modalities scores 1/k, so uniform weights (``no_graph``) score exactly chance, 1/3;
   * ``cf_validity`` — share of ``ablation_n_cf`` test utterances that the classifier
     reads as the target after a counterfactual edit toward another emotion with chapter
     4's settings (:data:`CF_EDIT`); NaN without a diffusion prior.

Runs are independent, so they can be spread over processes (``n_jobs``); each uses one
thread, so the numbers do not depend on ``n_jobs`` or on the machine's core count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import lightning as L
import numpy as np
import pandas as pd
import torch

from affect_lib.affect_diff.counterfactual import counterfactual
from affect_lib.affect_diff.loop import fit_plain
from affect_lib.affect_diff.model import AffectDiff
from affect_lib.affect_diff.module import AffectDiffModule
from affect_lib.config import RunConfig, config_hash
from affect_lib.data.datamodule import AffectDataModule, build_datamodule
from affect_lib.devices import to_device
from affect_lib.experiments.ablation_variants import (
    VARIANTS,
    Variant,
    variant_config,
)
from affect_lib.experiments.counterfactual_study import other_emotion

__all__ = [
    "CF_EDIT",
    "AblationRun",
    "AblationResult",
    "run_variant",
    "run_ablations",
]

# Chapter 4's edit: start at 0.85 T, guidance scale 10, DDIM with eta = 1 (its
# `ddim_steps` steps).
CF_EDIT = {"t_start_frac": 0.85, "cfg_scale": 10.0, "eta": 1.0}


@dataclass(frozen=True)
class AblationRun:
    """Scores of one (variant, seed) run and the per-utterance outcomes behind them."""

    variant: str
    seed: int
    scores: dict[str, float]  # accuracy, driver_acc, cf_validity, train_loss, seconds
    correct: np.ndarray  # (N_test,) 0/1: the variant's inference path is right
    # (N_test,) in [0, 1]: 1/k when the driver is among k tied maxima; NaN if unknown
    driver_hit: np.ndarray
    # (n_cf,) 0/1: the edit reached its target (empty without a prior)
    cf_hit: np.ndarray


@dataclass(frozen=True)
class AblationResult:
    runs: list[AblationRun]

    def table(self) -> pd.DataFrame:
        """One row per run: variant, seed and its scores."""
        return pd.DataFrame(
            [{"variant": r.variant, "seed": r.seed, **r.scores} for r in self.runs]
        )

    def outcomes(self, variant: str, what: str) -> np.ndarray:
        """(n_seeds, N) per-utterance outcomes ``what`` (correct, driver_hit, cf_hit),
        rows in seed order."""
        runs = sorted(
            (r for r in self.runs if r.variant == variant), key=lambda r: r.seed
        )
        if not runs:
            raise KeyError(
                f"no runs of variant {variant!r}; have "
                f"{sorted({r.variant for r in self.runs})}"
            )
        return np.stack([getattr(r, what) for r in runs])


def _driver_hit(influence: np.ndarray, driver: np.ndarray) -> np.ndarray:
    top = influence >= influence.max(axis=1, keepdims=True) - 1e-6  # (N, 3) tied maxima
    hit = np.full(len(driver), math.nan)
    known = driver >= 0
    hit[known] = top[known, driver[known]] / top[known].sum(axis=1)
    return hit


@torch.no_grad()
def _score(
    model: AffectDiff, dm: AffectDataModule, cfg: RunConfig, variant: Variant, n_cf: int
) -> tuple[dict[str, float], np.ndarray, np.ndarray, np.ndarray]:
    model.eval()
    right, hits = [], []
    for batch in dm.test_dataloader():
        batch = to_device(batch, "cpu")
        enc = model.encode(batch, sample=False)
        logits, _ = model.classify(enc.latent.mu, batch["mask"])
        right.append((logits.argmax(1) == batch["label"]).numpy())
        hits.append(_driver_hit(enc.graph.influence.numpy(), batch["driver"].numpy()))
    correct, hit = np.concatenate(right).astype(float), np.concatenate(hits)
    cf_hit = np.zeros(0)
    if variant.diffusion:
        test = dm.datasets["test"]
        batch = test.__getitems__(list(range(min(n_cf, len(test)))))
        target = other_emotion(batch["label"], seed=cfg.seed)
        t_start = min(
            cfg.model.diffusion_steps - 1,
            round(CF_EDIT["t_start_frac"] * cfg.model.diffusion_steps),
        )
        cf = counterfactual(
            model,
            batch,
            target,
            cfg_scale=CF_EDIT["cfg_scale"],
            t_start=t_start,
            steps=min(cfg.model.ddim_steps, t_start + 1),
            eta=CF_EDIT["eta"],
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        cf_hit = (cf.pred_after == target).numpy().astype(float)
    scores = {
        "accuracy": float(correct.mean()),
        "driver_acc": float(np.nanmean(hit)) if np.isfinite(hit).any() else math.nan,
        "cf_validity": float(cf_hit.mean()) if cf_hit.size else math.nan,
    }
    return scores, correct, hit, cf_hit


# Each worker process builds the (deterministic) dataset once and keeps it for its later
# runs.
_DATA: dict[str, AffectDataModule] = {}


def _data(cfg: RunConfig) -> AffectDataModule:
    key = config_hash(
        cfg, exclude=("run_dir", "device", "lasca", "ablation", "model", "train")
    )
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = build_datamodule(cfg)
    return _DATA[key]


def run_variant(cfg: RunConfig, variant: Variant, seed: int) -> AblationRun:
    """Train and score one variant with training seed ``seed`` on ``cfg``'s data (CPU,
    one thread)."""
    # one thread and deterministic kernels for the run only: the caller's settings come
    # back afterwards
    threads, deterministic, fill = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.utils.deterministic.fill_uninitialized_memory,
    )
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        base = _data(cfg)
        vcfg = variant_config(cfg, variant, seed)
        dm = AffectDataModule(
            base.corpora, batch_size=cfg.ablation.ablation_batch_size, seed=seed
        )
        torch.use_deterministic_algorithms(True)
        # deterministic mode also fills every new tensor with NaN: a pass over memory
        # that deterministic kernels do not need
        torch.utils.deterministic.fill_uninitialized_memory = False
        L.seed_everything(seed, workers=True, verbose=False)
        loader = dm.train_dataloader()
        epochs = cfg.ablation.ablation_epochs
        module = AffectDiffModule(
            vcfg, dm.dims, steps_per_epoch=len(loader), use_graph=variant.use_graph
        )
        losses = fit_plain(module, loader, epochs=epochs)
        scores, correct, hit, cf_hit = _score(
            module.model, dm, vcfg, variant, cfg.ablation.ablation_n_cf
        )
        scores.update(train_loss=losses[-1], seconds=time.perf_counter() - start)
        return AblationRun(variant.name, seed, scores, correct, hit, cf_hit)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        torch.utils.deterministic.fill_uninitialized_memory = fill


def run_ablations(
    cfg: RunConfig, variants: list[str] | None = None, *, n_jobs: int = 1
) -> AblationResult:
    """Every variant (default: ``cfg.ablation.ablation_variants``) × seeds ``cfg.seed +
    i``, i < S = ``ablation_seeds`` (the A/A control: ``cfg.seed + S + i``).

    ``n_jobs`` > 1 spreads the runs over that many processes (joblib); results are
    identical.
    """
    names = list(cfg.ablation.ablation_variants if variants is None else variants)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(
            f"unknown ablation variant(s) {unknown}; valid: {', '.join(VARIANTS)}"
        )
    if "full" not in names:
        raise ValueError(
            "the variants must include 'full' (every ablation is compared with it)"
        )
    if cfg.device not in ("auto", "cpu"):
        raise ValueError(
            f"ablations run on the CPU (one thread per run); got device={cfg.device!r}"
        )
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    n_seeds = cfg.ablation.ablation_seeds
    tasks = [
        (VARIANTS[n], cfg.seed + VARIANTS[n].seed_block * n_seeds + i)
        for n in names
        for i in range(n_seeds)
    ]
    if n_jobs == 1:
        runs = [run_variant(cfg, v, s) for v, s in tasks]
    else:
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=n_jobs, backend="loky")(
            delayed(run_variant)(cfg, v, s) for v, s in tasks
        )
    return AblationResult(list(runs))
