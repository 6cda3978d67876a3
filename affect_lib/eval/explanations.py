"""Metrics of counterfactual explanations (REFERENCE.md, "Explainability metrics worth
reporting").

- validity: share of counterfactuals the classifier assigns to the target;
- proximity: ‖z′ − z‖ / ‖z‖ per utterance (over valid steps), averaged;
- sparsity: share of latent dimensions that moved (mean |Δ| over valid steps > ``tol`` ×
  the dimension's mean |z|);
- realism: Fréchet distance between time-pooled counterfactual latents and time-pooled
  real latents of the target class;
- attribution accuracy: top-1 agreement of the most-changed modality with the planted
  driver;
- influence AUROC: per modality, how well its influence weight ranks the utterances it
  drives above the others (one-vs-rest; 0.5 is chance, and what uniform weights score);
- perceptual score: accuracy drop when one modality is permuted across the test set.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

from affect_lib.affect_diff.model import AffectDiff
from affect_lib.devices import to_device
from affect_lib.eval.metrics import auroc
from affect_lib.schema import MODALITIES

__all__ = [
    "validity",
    "proximity",
    "sparsity",
    "frechet_distance",
    "pool_latent",
    "realism",
    "attribution_accuracy",
    "influence_auroc",
    "perceptual_scores",
]


def validity(pred_after: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean(np.asarray(pred_after) == np.asarray(target)))


def _valid(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x * mask[..., None].to(x.dtype)


def proximity(z: torch.Tensor, z_cf: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """(B,) ‖z′ − z‖ / ‖z‖ over valid steps."""
    num = _valid(z_cf - z, mask).flatten(1).norm(dim=1)
    den = _valid(z, mask).flatten(1).norm(dim=1).clamp_min(1e-8)
    return (num / den).cpu().numpy()


def sparsity(
    z: torch.Tensor, z_cf: torch.Tensor, mask: torch.Tensor, *, tol: float = 0.1
) -> np.ndarray:
    """(B,) share of latent dimensions whose mean |Δ| over valid steps exceeds tol ×
    mean |z|."""
    steps = mask.sum(dim=1, keepdim=True).clamp_min(1).to(z.dtype)  # (B, 1)
    delta = _valid((z_cf - z).abs(), mask).sum(dim=1) / steps  # (B, L)
    size = _valid(z.abs(), mask).sum(dim=1) / steps
    return (delta > tol * size.clamp_min(1e-8)).float().mean(dim=1).cpu().numpy()


def pool_latent(z: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """(B, T, L) → (B, L) mean over valid steps (the representation realism is measured
    on)."""
    return (
        (
            _valid(z, mask).sum(dim=1)
            / mask.sum(dim=1, keepdim=True).clamp_min(1).to(z.dtype)
        )
        .cpu()
        .numpy()
    )


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``a`` (N, L) and ``b``
    (M, L): ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2(Σ_a Σ_b)^{1/2})."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"frechet_distance: need (N, L) and (M, L), got {a.shape} and {b.shape}"
        )
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"frechet_distance: need at least 2 rows each, got {len(a)} and {len(b)}"
        )
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    covmean = covmean.real  # tiny imaginary parts are numerical noise
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * covmean))


def realism(
    z: torch.Tensor,
    z_cf: torch.Tensor,
    mask: torch.Tensor,
    labels: np.ndarray,
    target: np.ndarray,
    n_classes: int,
    *,
    min_rows: int = 3,
) -> tuple[float, float]:
    """Realism of edits toward other emotions, and the scale to read it on: (edit FD,
    reference FD).

    ``z``, ``z_cf`` (B, T, L) original and edited latents, ``mask`` (B, T); ``labels``,
    ``target`` (B,). Edit FD: per emotion k, the Fréchet distance between the
    time-pooled edits aimed at k and the pooled real latents of k, averaged over the
    emotions with at least ``min_rows`` of each. Reference FD: per emotion, its real
    latents against all other emotions' real latents, averaged likewise. Edits as
    realistic as the data score well below the reference. NaN when no emotion qualifies.
    """
    labels, target = np.asarray(labels), np.asarray(target)
    real = pool_latent(z, mask)
    edits = []
    for k in range(n_classes):
        aimed = target == k
        if aimed.sum() >= min_rows and (labels == k).sum() >= min_rows:
            rows = torch.as_tensor(aimed)
            edits.append(
                frechet_distance(pool_latent(z_cf[rows], mask[rows]), real[labels == k])
            )
    reference = [
        frechet_distance(real[labels == k], real[labels != k])
        for k in range(n_classes)
        if (labels == k).sum() >= min_rows and (labels != k).sum() >= 2
    ]
    return (
        float(np.mean(edits)) if edits else float("nan"),
        float(np.mean(reference)) if reference else float("nan"),
    )


def attribution_accuracy(attribution: np.ndarray, driver: np.ndarray) -> float:
    """Top-1 agreement of the attributed modality with the planted driver (utterances
    with driver >= 0)."""
    known = np.asarray(driver) >= 0
    if not known.any():
        return float("nan")
    return float(np.mean(np.asarray(attribution)[known] == np.asarray(driver)[known]))


def influence_auroc(influence: np.ndarray, driver: np.ndarray) -> dict[str, float]:
    """One-vs-rest AUROC of each modality's influence weight (``influence`` (N, 3)) for
    "this modality drives" (``driver`` (N,), -1 where unknown, those rows left out),
    plus ``"mean"`` over the modalities that drive some but not all utterances. NaN
    where it is undefined."""
    influence, driver = np.asarray(influence, dtype=float), np.asarray(driver)
    if (
        influence.ndim != 2
        or influence.shape[1] != len(MODALITIES)
        or driver.shape != influence.shape[:1]
    ):
        raise ValueError(
            f"influence_auroc: need influence (N, {len(MODALITIES)}) and driver (N,), "
            f"got {influence.shape} and {driver.shape}"
        )
    if driver.size and (driver.min() < -1 or driver.max() >= len(MODALITIES)):
        raise ValueError(
            f"influence_auroc: driver must be -1 (unknown) or a modality index "
            f"0..{len(MODALITIES) - 1}"
        )
    known = driver >= 0
    out = {
        m: auroc(influence[known, i], driver[known] == i)
        for i, m in enumerate(MODALITIES)
    }
    defined = [v for v in out.values() if not np.isnan(v)]
    out["mean"] = float(np.mean(defined)) if defined else float("nan")
    return out


@torch.no_grad()
def perceptual_scores(model: AffectDiff, loader, *, seed: int) -> dict[str, float]:
    """Accuracy on μ minus accuracy when modality m is permuted across the split (one
    fixed permutation), for each m: how much the classifier relies on each modality."""
    model.eval()
    device = next(model.parameters()).device
    batches = [to_device(b, device) for b in loader]
    full = {
        k: torch.cat([b[k] for b in batches]) for k in (*MODALITIES, "mask", "label")
    }
    perm = torch.randperm(
        len(full["label"]), generator=torch.Generator().manual_seed(seed)
    ).to(device)

    def accuracy(data: dict[str, torch.Tensor]) -> float:
        hits = 0
        for i in range(0, len(data["label"]), 256):
            chunk = {k: v[i : i + 256] for k, v in data.items()}
            logits, _ = model.classify(
                model.encode(chunk, sample=False).latent.mu, chunk["mask"]
            )
            hits += int((logits.argmax(-1) == chunk["label"]).sum())
        return hits / len(data["label"])

    base = accuracy(full)
    scores = {}
    for m in MODALITIES:
        # Permuted features keep their own padding pattern only if masks agree: use each
        # donor's features cut to the receiver's valid steps (left-aligned padding keeps
        # the tail).
        donor = full[m][perm] * full["mask"][..., None].to(full[m].dtype)
        scores[m] = base - accuracy({**full, m: donor})
    return scores
