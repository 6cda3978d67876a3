"""The full model: loss terms, training through Lightning, checkpoints, inference
path."""

import dataclasses
import itertools

import pytest
import torch

from affect_lib.affect_diff.evaluate import evaluate_affect_diff
from affect_lib.affect_diff.model import AffectDiff
from affect_lib.affect_diff.module import (
    LOSS_WEIGHTS,
    AffectDiffModule,
    CheckpointMismatchError,
    load_affect_diff,
)
from affect_lib.affect_diff.train import read_metrics, train_affect_diff
from affect_lib.config import load_profile
from affect_lib.data.datamodule import build_datamodule
from affect_lib.eval.explanations import influence_auroc


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smoke_cfg):
    cfg = dataclasses.replace(smoke_cfg, run_dir=str(tmp_path_factory.mktemp("run")))
    dm = build_datamodule(cfg)
    return cfg, dm, train_affect_diff(cfg, dm)


def test_loss_terms_are_finite_and_reach_every_part(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    model = AffectDiff(smoke_cfg.model, dm.dims, anneal_steps=10).train()
    terms = model.losses(next(iter(dm.train_dataloader())))
    assert set(terms) >= {"ce", "ml", "diff", "kl", "rec", "logits", "influence"}
    total = sum(terms[k] for k in ("ce", "ml", "diff", "kl", "rec"))
    assert torch.isfinite(total)
    total.backward()
    for name in ("encoders", "graph", "bottleneck", "unet", "classifier", "multilabel"):
        grads = [p.grad for p in getattr(model, name).parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name


def test_diffusion_detach_stops_the_prior_gradient_at_z(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    batch = next(iter(dm.train_dataloader()))
    for detach, expect_grad in ((True, False), (False, True)):
        cfg = load_profile("smoke", diffusion_detach=detach)
        torch.manual_seed(0)
        model = AffectDiff(cfg.model, dm.dims, anneal_steps=10).train()
        # zero-init would hide the gradient
        torch.nn.init.normal_(model.unet.final_conv.weight)
        model.losses(batch)["diff"].backward()
        got = model.bottleneck.fc_mu.weight.grad
        assert (got is not None and got.abs().sum() > 0) == expect_grad


def test_training_logs_checkpoints_and_learns(trained):
    cfg, dm, result = trained
    assert result.best_checkpoint.is_file() and result.last_checkpoint.is_file()
    metrics = read_metrics(result.metrics_csv)
    assert len(metrics) == cfg.train.max_epochs
    assert {"train_loss", "val_loss", "val_acc", "val_driver_acc", "train_diff"} <= set(
        metrics.columns
    )
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]


def test_checkpoint_roundtrip_and_mismatch(trained):
    cfg, dm, result = trained
    model = load_affect_diff(result.best_checkpoint, cfg)
    batch = next(iter(dm.val_dataloader()))
    # the best epoch is the last one here (val_loss keeps falling)
    ref = result.module.model.eval()
    torch.testing.assert_close(
        model.encode(batch).latent.mu, ref.encode(batch).latent.mu
    )
    with pytest.raises(CheckpointMismatchError, match="latent_dim"):
        load_affect_diff(result.best_checkpoint, load_profile("smoke", latent_dim=4))
    ckpt = torch.load(result.best_checkpoint, weights_only=True)
    ckpt["affect_lib"]["version"] = "0.0.0"
    old = result.best_checkpoint.with_name("old.ckpt")
    torch.save(ckpt, old)
    with pytest.raises(CheckpointMismatchError, match="0.0.0"):
        load_affect_diff(old, cfg)
    with pytest.raises(FileNotFoundError, match="notebook 03"):
        load_affect_diff(old.with_name("missing.ckpt"), cfg)


def test_training_is_deterministic(trained, tmp_path):
    cfg, dm, result = trained
    again = train_affect_diff(dataclasses.replace(cfg, run_dir=str(tmp_path)), dm)
    a = read_metrics(result.metrics_csv)
    b = read_metrics(again.metrics_csv)
    assert a.equals(b)


def test_evaluate_and_denoise(trained):
    cfg, dm, result = trained
    model = load_affect_diff(result.best_checkpoint, cfg)
    ev = evaluate_affect_diff(
        model,
        dm.test_dataloader(),
        t_start=cfg.model.denoise_t_start,
        steps=cfg.model.ddim_steps,
        seed=0,
    )
    assert set(ev.metrics) >= {
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "driver_recovery_acc",
        "driver_auroc",
        "accuracy_denoised",
        "mean_weighted_accuracy",
        "mean_weighted_f1_presence",
    }
    assert set(ev.weighted_f1_presence) == set(ev.weighted_accuracy) != set()
    assert ev.metrics["driver_auroc"] == pytest.approx(
        influence_auroc(ev.influence, ev.driver)["mean"]
    )
    assert 0.0 <= ev.metrics["driver_auroc"] <= 1.0
    assert ev.influence.shape == (cfg.data.n_test, 3)
    ev2 = evaluate_affect_diff(
        model,
        dm.test_dataloader(),
        t_start=cfg.model.denoise_t_start,
        steps=cfg.model.ddim_steps,
        seed=0,
    )
    assert (ev.pred_denoised == ev2.pred_denoised).all()  # seeded
    batch = next(iter(dm.test_dataloader()))
    enc = model.encode(batch)
    with pytest.raises(ValueError, match="sampler"):
        model.denoise(
            enc.latent.mu,
            batch["mask"],
            enc.graph.influence,
            t_start=5,
            steps=2,
            sampler="euler",
        )
    z0 = model.denoise(
        enc.latent.mu, batch["mask"], enc.graph.influence, t_start=0, steps=1
    )
    assert z0.shape == enc.latent.mu.shape and torch.all(z0[~batch["mask"]] == 0)


def test_total_loss_is_ce_plus_each_term_times_its_own_weight():
    """loss = CE + λ_ml·BCE + λ₁·diff + λ₂·KL + λ_rec·rec with distinct terms and
    weights: a swapped or missing weight, or a weight on CE, changes the total."""
    assert LOSS_WEIGHTS == {
        "ml": "lambda_ml",
        "diff": "lambda_diff",
        "kl": "lambda_kl",
        "rec": "lambda_rec",
    }
    lam = {"lambda_ml": 0.3, "lambda_diff": 2.0, "lambda_kl": 0.05, "lambda_rec": 7.0}
    cfg = load_profile("smoke", **lam)
    module = AffectDiffModule(
        cfg,
        {
            "text": cfg.data.text_dim,
            "audio": cfg.data.audio_dim,
            "video": cfg.data.video_dim,
        },
        steps_per_epoch=4,
    )
    values = {"ce": 1.5, "ml": 0.25, "diff": 3.0, "kl": 11.0, "rec": 0.125}
    terms = {k: torch.tensor(v, dtype=torch.float64) for k, v in values.items()}
    expected = 1.5 + 0.3 * 0.25 + 2.0 * 3.0 + 0.05 * 11.0 + 7.0 * 0.125
    # The data can tell the weights apart: every other assignment of them to the terms
    # gives another total.
    others = [
        1.5
        + sum(
            w * values[t]
            for w, t in zip(perm, ("ml", "diff", "kl", "rec"), strict=True)
        )
        for perm in itertools.permutations(lam.values())
    ][1:]
    assert min(abs(o - expected) for o in others) > 0.1
    assert module._total(terms, "training").item() == pytest.approx(expected, rel=1e-12)
    module.model.losses = lambda batch: terms  # the training paths use the same total
    assert module.step_loss({}).item() == pytest.approx(expected, rel=1e-12)
    assert module.training_step({"label": torch.zeros(2)}, 0).item() == pytest.approx(
        expected, rel=1e-12
    )


def test_non_finite_loss_names_step_and_term(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    module = AffectDiffModule(smoke_cfg, dm.dims, steps_per_epoch=4)
    terms = {
        "ce": torch.tensor(1.0),
        "ml": torch.tensor(1.0),
        "diff": torch.tensor(float("nan")),
        "kl": torch.tensor(0.0),
        "rec": torch.tensor(0.0),
    }
    with pytest.raises(FloatingPointError, match="'diff'.*global step 0"):
        module._total(terms, "training")
    # finite terms whose sum overflows: every term is named
    huge = {t: torch.tensor(3e38) for t in terms}
    with pytest.raises(FloatingPointError, match="overflow.*'ce' = 3.*'rec' = 3"):
        module._total(huge, "training")


def test_classification_terms_are_the_label_ce_and_the_presence_bce(smoke_cfg):
    """``ce`` is the single-label cross-entropy (focal with ``focal_gamma`` > 0) and
    ``ml`` the BCE of the multi-label head against *presence* (emotions > 0), not
    against the dominant label."""
    import math

    import torch.nn.functional as F

    dm = build_datamodule(smoke_cfg)
    batch = dict(next(iter(dm.train_dataloader())))
    # two emotions present in every row, weakly
    emotions = torch.zeros_like(batch["emotions"])
    emotions[torch.arange(len(emotions)), batch["label"]] = 2.0
    emotions[torch.arange(len(emotions)), (batch["label"] + 1) % emotions.shape[1]] = (
        0.3
    )
    batch["emotions"] = emotions
    for gamma in (0.0, 2.0):
        cfg = load_profile("smoke", focal_gamma=gamma)
        torch.manual_seed(0)
        model = AffectDiff(cfg.model, dm.dims, anneal_steps=10).eval()
        # away from 0.5 everywhere, so the targets matter
        torch.nn.init.normal_(model.multilabel.weight)
        terms = model.losses(batch)
        logits, label = terms["logits"], batch["label"]
        p_true = F.softmax(logits, -1)[torch.arange(len(label)), label]
        expected = (-((1 - p_true) ** gamma) * p_true.log()).mean()
        torch.testing.assert_close(terms["ce"], expected)
        present = (emotions > 0).float()
        torch.testing.assert_close(
            terms["ml"], F.binary_cross_entropy_with_logits(terms["ml_logits"], present)
        )
        one_hot = F.one_hot(label, emotions.shape[1]).float()
        assert not math.isclose(
            terms["ml"].item(),
            F.binary_cross_entropy_with_logits(terms["ml_logits"], one_hot).item(),
            rel_tol=1e-3,
        )
    assert load_profile("smoke").model.focal_gamma == 0.0


def test_focal_loss_golden_values():
    from affect_lib.affect_diff.focal import focal_cross_entropy

    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
    label = torch.tensor([0, 1])
    # p_t = e^2 / (e^2 + 2) = 0.786986 and e / (1 + e + e^3) = 0.114195
    p = torch.tensor([0.7869860, 0.1141952])
    for gamma, want in (
        (0.0, (-p.log()).mean()),
        (2.0, (-((1 - p) ** 2) * p.log()).mean()),
    ):
        torch.testing.assert_close(
            focal_cross_entropy(logits, label, gamma), want, rtol=1e-5, atol=1e-6
        )
    # (0.213014^2 * 0.239545 + 0.885805^2 * 2.169846) / 2, by hand
    assert focal_cross_entropy(logits, label, 2.0).item() == pytest.approx(
        0.8567197, rel=1e-6
    )
    assert torch.equal(
        focal_cross_entropy(logits, label),
        torch.nn.functional.cross_entropy(logits, label),
    )
    with pytest.raises(ValueError, match="gamma"):
        focal_cross_entropy(logits, label, -1.0)


def test_every_model_config_field_is_read(smoke_cfg):
    """Each ModelConfig field changes something: the model reads it while it is built,
    trains a step through the Lightning module, or predicts. A field nobody reads fails
    here."""
    from affect_lib.config import ModelConfig

    names = {f.name for f in dataclasses.fields(ModelConfig)}
    read: set[str] = set()

    @dataclasses.dataclass(frozen=True)
    class Recording(ModelConfig):
        def __getattribute__(self, name):
            if name in names:
                read.add(name)
            return super().__getattribute__(name)

    recording = Recording(**dataclasses.asdict(smoke_cfg.model))
    cfg = dataclasses.replace(smoke_cfg, model=recording)
    dm = build_datamodule(smoke_cfg)
    batch = next(iter(dm.train_dataloader()))
    read.clear()  # validation in __post_init__ reads every field
    module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=1).train()
    module.step_loss(batch).backward()
    module.model.eval().predict(batch)
    assert names - read == set(), f"ModelConfig fields never read: {names - read}"


def test_text_encoder_gets_the_configured_heads(smoke_cfg):
    for heads in (2, 8):
        cfg = load_profile("smoke", n_heads=heads)
        model = AffectDiff(
            cfg.model, {"text": 5, "audio": 4, "video": 3}, anneal_steps=1
        )
        layer = model.encoders.encoders["text"].transformer.layers[0]
        assert layer.self_attn.num_heads == heads
