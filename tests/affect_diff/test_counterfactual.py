"""Counterfactual API and metrics (issue: counterfactual explanations)."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from affect_lib.affect_diff.counterfactual import counterfactual, modality_scales
from affect_lib.affect_diff.diffusion import classifier_free_guidance
from affect_lib.affect_diff.train import train_affect_diff
from affect_lib.data.datamodule import build_datamodule
from affect_lib.eval.explanations import (
    attribution_accuracy,
    frechet_distance,
    perceptual_scores,
    pool_latent,
    proximity,
    realism,
    sparsity,
    validity,
)
from affect_lib.experiments.counterfactual_study import (
    other_emotion,
    sampler_race,
    scale_sweep,
    validity_matrix,
)
from affect_lib.schema import MODALITIES


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory, smoke_cfg):
    cfg = dataclasses.replace(smoke_cfg, run_dir=str(tmp_path_factory.mktemp("cf")))
    dm = build_datamodule(cfg)
    return cfg, dm, train_affect_diff(cfg, dm).module.model.eval()


def test_cfg_formula_and_scale_zero():
    cond, uncond = torch.randn(4, 5, 3), torch.randn(4, 5, 3)
    for s in (0.0, 1.0, 2.5):
        torch.testing.assert_close(
            classifier_free_guidance(cond, uncond, s), uncond + s * (cond - uncond)
        )


def test_scale_zero_ignores_the_target(model_and_data):
    cfg, dm, model = model_and_data
    batch = next(iter(dm.test_dataloader()))
    kw = dict(cfg_scale=0.0, t_start=20, steps=5)
    a = counterfactual(
        model, batch, 0, generator=torch.Generator().manual_seed(0), **kw
    )
    b = counterfactual(
        model, batch, 3, generator=torch.Generator().manual_seed(0), **kw
    )
    torch.testing.assert_close(a.z_cf, b.z_cf)


def test_toward_own_label_at_t0_barely_moves(model_and_data):
    cfg, dm, model = model_and_data
    batch = next(iter(dm.test_dataloader()))
    own = counterfactual(
        model,
        batch,
        batch["label"],
        cfg_scale=2.0,
        t_start=0,
        steps=1,
        generator=torch.Generator().manual_seed(0),
    )
    # one denoising step from t=0
    assert float(proximity(own.z, own.z_cf, own.mask).mean()) < 0.15
    far = counterfactual(
        model,
        batch,
        (batch["label"] + 1) % 6,
        cfg_scale=2.0,
        t_start=40,
        steps=5,
        generator=torch.Generator().manual_seed(0),
    )
    assert float(proximity(far.z, far.z_cf, far.mask).mean()) > float(
        proximity(own.z, own.z_cf, own.mask).mean()
    )


def test_outputs_shapes_and_sampler_choice(model_and_data):
    cfg, dm, model = model_and_data
    batch = next(iter(dm.test_dataloader()))
    scales = modality_scales(model, dm.val_dataloader())
    assert scales.shape == (3,) and torch.all(scales > 0)
    for sampler in ("ddim", "ddpm"):
        cf = counterfactual(
            model,
            batch,
            2,
            cfg_scale=3.0,
            t_start=10,
            steps=4,
            sampler=sampler,
            scales=scales,
            generator=torch.Generator().manual_seed(1),
        )
        b = len(batch["label"])
        assert (
            cf.z_cf.shape == cf.z.shape
            and cf.change.shape == (b, 3)
            and cf.attribution.shape == (b,)
        )
        assert torch.all(cf.target == 2) and torch.all(cf.z_cf[~cf.mask] == 0)
        assert set(cf.recon_cf) == {"text", "audio", "video"}
    with pytest.raises(ValueError, match="target_label"):
        counterfactual(model, batch, 6, cfg_scale=1.0, t_start=5, steps=2)


def test_metrics_golden_values():
    assert validity(np.array([1, 2, 3, 3]), np.array([1, 2, 0, 3])) == 0.75
    z = torch.ones(1, 2, 4)
    mask = torch.tensor([[True, True]])
    z_cf = z.clone()
    z_cf[..., 0] += 2.0  # one of four dims moves, by 2 at both steps
    np.testing.assert_allclose(proximity(z, z_cf, mask), [np.sqrt(8) / np.sqrt(8)])
    np.testing.assert_allclose(sparsity(z, z_cf, mask), [0.25])
    np.testing.assert_allclose(pool_latent(z_cf, mask), [[3.0, 1.0, 1.0, 1.0]])
    assert attribution_accuracy(
        np.array([0, 1, 2, 0]), np.array([0, 1, 0, -1])
    ) == pytest.approx(2 / 3)


def test_metrics_use_plain_norms_and_only_valid_steps():
    """‖Δ‖ ≠ ‖z‖ and padded steps hold non-zero values: catches squared norms, norms or
    sparsity over padding, and time pooling that divides by T or sums the padding."""
    mask = torch.tensor([[False, True, True], [True, True, True]])
    z = torch.tensor(
        [
            [[50.0, 50.0, 50.0, 50.0], [2.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0]],
            [[1.0, 2.0, 2.0, 0.0], [1.0, 2.0, 2.0, 0.0], [1.0, 2.0, 2.0, 0.0]],
        ]
    )
    z_cf = z.clone()
    # padded step: moves a lot, must not count
    z_cf[0, 0] += torch.tensor([0.0, 40.0, 40.0, 0.0])
    z_cf[0, 1, 0] += 3.0  # valid steps of utterance 0: ‖z‖ = √10, ‖Δ‖ = 5
    z_cf[0, 2, 0] += 4.0
    z_cf[0, 1:, 3] += 0.05  # mean |Δ| = 0.05 < 0.1 × mean |z| = 0.1: not moved
    z_cf[1, :, 1] -= 1.0  # utterance 1: ‖z‖ = √27, ‖Δ‖ = √3; one of four dims moved
    expected = [np.sqrt(25 + 2 * 0.05**2) / np.sqrt(10), np.sqrt(3) / np.sqrt(27)]
    np.testing.assert_allclose(proximity(z, z_cf, mask), expected, rtol=1e-6)
    np.testing.assert_allclose(sparsity(z, z_cf, mask), [0.25, 0.25])
    np.testing.assert_allclose(
        pool_latent(z, mask), [[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 2.0, 0.0]], rtol=1e-6
    )
    np.testing.assert_allclose(
        pool_latent(z_cf, mask)[0], [4.5, 1.0, 1.0, 1.05], rtol=1e-6
    )


class _AudioOnlyModel(torch.nn.Module):
    """Stub for perceptual_scores: μ is the audio features, the logits their sum over
    valid steps."""

    def __init__(self):
        super().__init__()
        # perceptual_scores reads the device from it
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def encode(self, batch, sample=True):
        return SimpleNamespace(latent=SimpleNamespace(mu=batch["audio"]))

    def classify(self, mu, mask):
        return (mu * mask[..., None].to(mu.dtype)).sum(dim=1), None


def test_perceptual_score_is_the_accuracy_drop_of_the_permuted_modality():
    """A model that reads only audio: the audio score is base − permuted accuracy (> 0),
    text and video 0.

    Catches a flipped sign, permuting the wrong modality (or the labels with it), no
    permutation, and a score that ignores the base accuracy."""
    n, steps, classes = 300, 4, 6
    rng = np.random.default_rng(0)
    audio_class = torch.as_tensor(rng.integers(0, classes, n))
    label = audio_class.clone()
    label[:30] = (label[:30] + 1) % classes  # base accuracy 0.9, not 1
    lengths = torch.as_tensor(rng.integers(1, steps + 1, n))
    # left padding, as the SDK's
    mask = torch.arange(steps)[None, :] >= steps - lengths[:, None]
    audio = (
        torch.nn.functional.one_hot(audio_class, classes)
        .float()[:, None, :]
        .expand(n, steps, classes)
    )
    audio = audio * mask[..., None]
    data = {
        "text": torch.randn(n, steps, 5),
        "audio": audio,
        "video": torch.randn(n, steps, 3),
        "mask": mask,
        "label": label,
    }
    loader = [{k: v[i : i + 64] for k, v in data.items()} for i in range(0, n, 64)]
    scores = perceptual_scores(_AudioOnlyModel(), loader, seed=7)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(7))
    permuted = int((audio_class[perm] == label).sum()) / n
    assert set(scores) == set(MODALITIES)
    assert (
        scores["audio"] == pytest.approx(0.9 - permuted, abs=1e-12)
        and scores["audio"] > 0.5
    )
    assert scores["text"] == 0.0 and scores["video"] == 0.0


def test_realism_compares_edits_with_their_target_and_emotions_with_each_other():
    rng = np.random.default_rng(0)
    centre = {0: 0.0, 1: 5.0}
    labels = np.repeat([0, 1], 40)
    z = torch.tensor(
        np.stack([rng.normal(centre[k], 1.0, size=(3, 2)) for k in labels]),
        dtype=torch.float32,
    )
    mask = torch.ones(80, 3, dtype=torch.bool)
    mask[:, 0] = False  # a padded step holding junk: realism must pool valid steps only
    z[:, 0] = 100.0
    target = 1 - labels
    # every edit is a real latent of its target emotion (same valid steps)
    perfect = z.flip(0)
    edit_fd, reference = realism(z, perfect, mask, labels, target, n_classes=2)
    assert edit_fd == pytest.approx(0.0, abs=1e-6)
    # pooled latents: mean of 2 steps with sd 1 -> per-dimension variance 1/2; emotions
    # 5 apart in both dims
    assert reference == pytest.approx(2 * 5.0**2, rel=0.15)
    # edits that stayed at their source
    unchanged = realism(z, z, mask, labels, target, n_classes=2)[0]
    assert unchanged == pytest.approx(reference, rel=1e-6)
    # too few rows
    assert np.isnan(
        realism(z[:4], z[:4], mask[:4], labels[:4], target[:4], n_classes=2)[0]
    )


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # N(0, I) vs N(m, I): FD = |m|^2 (covariances equal)
    assert frechet_distance(a, a + np.array([2.0, 0, 0])) == pytest.approx(
        4.0, rel=1e-6
    )
    # N(0, I) vs N(0, 4I) in 3-d: 3 * (1 + 4 - 2*2) = 3
    assert frechet_distance(a, 2 * a) == pytest.approx(3.0, rel=0.05)
    with pytest.raises(ValueError, match="need"):
        frechet_distance(a[:, :2], a)


def test_perceptual_scores_run_and_are_bounded(model_and_data):
    cfg, dm, model = model_and_data
    scores = perceptual_scores(model, dm.test_dataloader(), seed=0)
    assert set(scores) == {"text", "audio", "video"}
    assert all(-1.0 <= v <= 1.0 for v in scores.values())


def test_modality_scales_ignore_offsets(model_and_data):
    """The yardstick is the spread of reconstructions: adding a constant to a decoder
    changes nothing."""
    cfg, dm, model = model_and_data
    before = modality_scales(model, dm.val_dataloader())
    dec = model.bottleneck.decoders["audio"]
    last = [m for m in dec.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.bias += 5.0
    try:
        after = modality_scales(model, dm.val_dataloader())
    finally:
        with torch.no_grad():
            last.bias -= 5.0
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


def test_other_emotion_never_own_label():
    label = torch.arange(6).repeat(50)
    target = other_emotion(label, seed=3)
    assert torch.all(target != label) and set(target.tolist()) == set(range(6))
    torch.testing.assert_close(target, other_emotion(label, seed=3))


def test_study_helpers(model_and_data):
    cfg, dm, model = model_and_data
    batch = next(iter(dm.test_dataloader()))
    target = other_emotion(batch["label"], seed=0)
    edit = dict(t_start=30, steps=5, eta=1.0)
    sweep = scale_sweep(model, batch, target, [0.0, 4.0], seed=0, **edit)
    assert (
        list(sweep["cfg_scale"]) == [0.0, 4.0]
        and sweep[["validity", "sparsity"]].le(1).all().all()
    )
    race, cfs = sampler_race(
        model, batch, target, ddim_steps=[5], seed=0, cfg_scale=2.0, **edit
    )
    assert list(race.index) == ["DDIM 5", "DDPM"] and race.loc["DDPM", "steps"] == 31
    assert race.loc["DDPM", "speedup_vs_ddpm"] == 1.0 and set(cfs) == {"DDIM 5", "DDPM"}
    small = {k: v[:12] for k, v in batch.items()}
    matrix = validity_matrix(model, small, seed=0, cfg_scale=2.0, **edit)
    assert matrix.shape == (6, 6)
    present = np.unique(small["label"].numpy())
    assert np.all((matrix[present] >= 0) & (matrix[present] <= 1))
    absent = np.setdiff1d(np.arange(6), present)
    assert np.isnan(matrix[absent]).all()
