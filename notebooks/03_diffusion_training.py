# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Training Affect-Diff
#
# This chapter trains the full model of the Affect-Diff project page {cite}`affectdiff`: the
# modality encoders and causal graph of chapter 2 feed a **VAE latent bottleneck**, and a
# **conditional 1D diffusion U-Net** learns the distribution of the latent affect sequences, with
# classifier-free guidance {cite}`ho2022cfg` so that chapter 4 can ask counterfactual questions.
#
# **What you will learn**
# - the combined loss (classification + diffusion + β-KL + reconstruction) and why the diffusion
#   gradient is stopped at the latent;
# - how to train the model with PyTorch Lightning on a laptop CPU and read its logs;
# - how well it classifies, whether its causal graph still recovers the planted driver, and how it
#   compares with a late-fusion baseline and the linear probes of chapter 1;
# - what the inference path (encode → partial noising → denoising → classify) does to accuracy.

# %% tags=["parameters"]
profile = "book"  # smoke | book | paper
seed = 0
device = "auto"
data_source = "synthetic"
data_dir = None
run_dir = None  # None: _build/runs/<profile>
# any other config key, e.g. {"max_epochs": 20, "diffusion_detach": False}
overrides = {}
baseline_epochs = 10  # late-fusion baseline (best validation epoch kept)

# %%
import lightning as L
import matplotlib.pyplot as plt
import pandas as pd
import torch
from myst_nb import glue

from affect_lib.affect_diff.evaluate import evaluate_affect_diff
from affect_lib.affect_diff.train import read_metrics, train_affect_diff
from affect_lib.baselines.late_fusion import (
    LateFusionMLP,
    evaluate_baseline,
    fit_baseline,
)
from affect_lib.config import load_profile
from affect_lib.data.datamodule import build_datamodule
from affect_lib.devices import resolve_device
from affect_lib.eval.probes import probe_modalities
from affect_lib.io import write_json
from affect_lib.plots.chapters import confusion, loss_curves
from affect_lib.publish.tolerances import measured_runs
from affect_lib.schema import MODALITIES

cfg = load_profile(
    profile,
    seed=seed,
    device=device,
    data_source=data_source,
    data_dir=data_dir,
    run_dir=run_dir,
    **overrides,
)
L.seed_everything(cfg.seed, workers=True, verbose=False)
torch.use_deterministic_algorithms(True)
dev = resolve_device(cfg.device)
pd.set_option("display.precision", 3)
print(f"profile={cfg.profile} seed={cfg.seed}")
print(
    {
        k: getattr(cfg.model, k)
        for k in (
            "latent_dim",
            "unet_base",
            "unet_mults",
            "diffusion_steps",
            "p_uncond",
            "lambda_diff",
            "lambda_kl",
            "lambda_rec",
            "diffusion_detach",
        )
    }
)
print(
    {
        k: getattr(cfg.train, k)
        for k in ("max_epochs", "lr", "warmup_steps", "grad_clip", "patience")
    }
)

# %% [markdown]
# ## The model and its loss
#
# For an utterance with features $x_m$ and mask $M$:
#
# 1. encoders give $h_m \in \mathbb{R}^{T\times d}$; the causal graph of chapter 2 gives influence
#    weights $\text{infl} \in \Delta^3$;
# 2. the VAE bottleneck fuses $\sum_m \text{infl}_m h_m$ and outputs $\mu, \log\sigma^2$ (clamped to
#    $[-10, 2]$) and $z = \mu + \sigma\odot\epsilon \in \mathbb{R}^{T\times L}$;
# 3. a linear classifier reads the pooled $z$ (and a multi-label head predicts which emotions are
#    present, since CMU-MOSEI's labels are multi-label);
# 4. the diffusion prior $\epsilon_\theta(z_t, t, y, \text{infl})$, a 1D U-Net over time
#    conditioned on the timestep, the label (replaced by a *null* label with probability
#    `p_uncond`, which is what makes classifier-free guidance possible) and the influence weights,
#    learns to denoise $z_t = \sqrt{\bar\alpha_t} z + \sqrt{1-\bar\alpha_t}\,\epsilon$ under the
#    cosine schedule {cite}`nichol2021improved`;
# 5. light decoders read $z$ back into each modality's feature space; they also read the
#    influence weights, because how strongly an utterance shows its affect in modality $m$
#    depends on whether $m$ drives it (chapter 4 uses this to say which modality an edit changes).
#
# $$
# \begin{aligned}
# \mathcal{L} = {} & \text{CE} + \lambda_{ml}\,\text{BCE}
#   + \lambda_1\, \mathbb{E}\,\lVert\epsilon - \epsilon_\theta(z_t, t, y, \text{infl})\rVert^2 \\
#   & + \lambda_2\, \beta\, \text{KL}\big(q(z\mid x)\,\Vert\,\mathcal{N}(0, I)\big)
#   + \lambda_{rec} \textstyle\sum_m \lVert \hat x_m - x_m \rVert^2 .
# \end{aligned}
# $$
#
# With `diffusion_detach=True` the diffusion loss does not reach the encoder: the prior learns the
# latent distribution without reshaping it against the classifier (a lesson of the public
# implementation). AdamW with a linear warmup, gradient clipping at norm 1, early stopping on
# `val_loss`, and best/last checkpoints are set up by `affect_lib.affect_diff.train`.

# %%
dm = build_datamodule(cfg)
result = train_affect_diff(cfg, dm)
model = result.module.model.to(dev)
print(
    f"trained {result.epochs} epochs; checkpoints: {result.best_checkpoint.name}, "
    f"{result.last_checkpoint.name}"
)
history = read_metrics(result.metrics_csv)
columns = [
    "train_loss",
    "train_ce",
    "train_diff",
    "train_kl",
    "train_rec",
    "val_loss",
    "val_acc",
    "val_driver_acc",
]
# val_driver_acc only where a driver is planted
history[[c for c in columns if c in history]].round(3)

# %%
loss_curves(history)
plt.show()

# %% [markdown]
# The classification loss falls within a few epochs, while the diffusion loss keeps improving
# slowly: learning the distribution of whole latent sequences is the harder task, and it is what
# chapter 4's counterfactuals rely on.
#
# ## Test metrics

# %%
ev = evaluate_affect_diff(
    model,
    dm.test_dataloader(),
    t_start=cfg.model.denoise_t_start,
    steps=cfg.model.ddim_steps,
    seed=cfg.seed,
)
headline = {k: round(v, 4) for k, v in ev.metrics.items()}
glue("test_accuracy", headline["accuracy"], display=False)
glue("test_macro_f1", headline["macro_f1"], display=False)
glue("test_weighted_f1", headline["weighted_f1"], display=False)
glue("driver_recovery_acc", headline["driver_recovery_acc"], display=False)
glue("driver_auroc", headline["driver_auroc"], display=False)
glue("test_mean_weighted_accuracy", headline["mean_weighted_accuracy"], display=False)
glue(
    "test_mean_weighted_f1_presence",
    headline["mean_weighted_f1_presence"],
    display=False,
)
pd.Series(headline, name="test").to_frame()

# %%
pd.DataFrame(
    {
        "F1 (single-label)": ev.per_class_f1,
        "weighted accuracy (multi-label head)": ev.weighted_accuracy,
        "weighted F1 (multi-label head)": ev.weighted_f1_presence,
    }
).round(4)

# %%
confusion(ev.label, ev.pred_mu)
plt.show()

# %% [markdown]
# The single-label metrics score the dominant emotion; the CMU-MOSEI convention instead scores
# each emotion's presence (> 0) with weighted accuracy and weighted F1 (the F1 of "present" and of
# "absent", weighted by their supports), here {glue:text}`test_mean_weighted_accuracy` and
# {glue:text}`test_mean_weighted_f1_presence` averaged over the emotions. That is harder here because
# co-occurring emotions are weak and carry no cue of their own in SynthMOSEI.
#
# ## Does the full model still recover the driver?

# %%
test = dm.corpora["test"]
pd.crosstab(
    pd.Categorical.from_codes(ev.driver, MODALITIES),
    pd.Categorical.from_codes(ev.influence.argmax(axis=1), MODALITIES),
    rownames=["true driver"],
    colnames=["most influential"],
)

# %% [markdown]
# ## Classifying μ or the denoised latent
#
# The inference path of the seed classifies a *denoised* latent: encode, noise $\mu$ to step
# $t_0$, denoise it with DDIM {cite}`song2021ddim` (unconditionally: the label is what we want to
# predict), classify. The larger $t_0$, the more of the sample is replaced by what the prior
# believes:

# %%
t_grid = sorted(
    {
        max(1, cfg.model.denoise_t_start // 4),
        cfg.model.denoise_t_start,
        min(cfg.model.diffusion_steps - 1, 3 * cfg.model.denoise_t_start),
    }
)
rows = {}
for t0 in t_grid:
    e = evaluate_affect_diff(
        model,
        dm.test_dataloader(),
        t_start=t0,
        steps=min(cfg.model.ddim_steps, t0 + 1),
        seed=cfg.seed,
    )
    rows[t0] = {
        "accuracy on μ": e.metrics["accuracy"],
        "accuracy on denoised z": e.metrics["accuracy_denoised"],
        "same decision as on μ": float((e.pred_denoised == e.pred_mu).mean()),
    }
denoise_table = pd.DataFrame(rows).T.rename_axis("t_0")
glue(
    "denoise_min_agreement",
    round(float(denoise_table["same decision as on μ"].min()), 4),
    display=False,
)
denoise_table.round(3)

# %% [markdown]
# Denoising barely moves the decisions, even from three times the default $t_0$: the classifier
# on the denoised latent takes the same decision as on $\mu$ for at least
# {glue:text}`denoise_min_agreement` of the test utterances at every $t_0$ of the table. Asked
# without a label, the prior returns a latent of the same emotion as its input. Classifying $\mu$
# is the cheaper default; the denoising path matters for generation, where chapter 4 *does* pass a
# label and guides toward it.
#
# ## Baselines

# %%
L.seed_everything(cfg.seed, workers=True, verbose=False)
baseline = LateFusionMLP(dims=dm.dims).to(dev)
fit_baseline(
    baseline,
    dm.train_dataloader(),
    dm.val_dataloader(),
    epochs=baseline_epochs,
    lr=3e-3,
)
baseline_acc = round(evaluate_baseline(baseline, dm.test_dataloader()).accuracy, 4)
glue("baseline_late_fusion_accuracy", baseline_acc, display=False)
probes = probe_modalities(dm.corpora["train"], test)
comparison = {
    f"linear probe: {m}": round(probes[m].accuracy, 4) for m in (*MODALITIES, "concat")
}
comparison |= {"late-fusion MLP": baseline_acc, "Affect-Diff": headline["accuracy"]}
pd.Series(comparison, name="test accuracy").to_frame()

# %% [markdown]
# Affect-Diff reaches {glue:text}`test_accuracy` test accuracy (macro-F1
# {glue:text}`test_macro_f1`) against {glue:text}`baseline_late_fusion_accuracy` for a late-fusion
# MLP with early stopping, and its most influential modality is the planted driver for
# {glue:text}`driver_recovery_acc` of the test utterances (influence AUROC
# {glue:text}`driver_auroc`, as defined in chapter 2). The late-fusion baseline averages three
# votes and cannot tell which one to trust; the causal graph can.

# %% [markdown]
# These are the numbers of one training run. How far another seed, or another processor's rounding,
# moves them was measured by re-executing this chapter (`make tolerances`: seeds 1 and 2, other CPU
# code paths); the last column is how far a rerun may land from the stored number before `make test`
# calls it a regression:

# %%
measured_runs(
    "03_diffusion_training.ipynb",
    [
        "test_accuracy",
        "test_macro_f1",
        "driver_recovery_acc",
        "driver_auroc",
        "baseline_late_fusion_accuracy",
    ],
).round(3)

# %%
singles = max(probes[m].accuracy for m in MODALITIES)
# the floors are defined for the book profile
if cfg.profile == "book" and cfg.data_source == "synthetic":
    # the chapter's claims, with thresholds that held in every run measured for
    # notebooks/tolerances.json
    assert headline["accuracy"] > singles, (headline["accuracy"], singles)
    assert headline["accuracy"] >= baseline_acc + 0.05, (
        headline["accuracy"],
        baseline_acc,
    )
    assert headline["driver_recovery_acc"] >= 0.80, headline["driver_recovery_acc"]
    assert headline["driver_auroc"] >= 0.9, headline["driver_auroc"]
    assert headline["mean_weighted_accuracy"] <= headline["accuracy"] - 0.1, headline
    assert headline["mean_weighted_f1_presence"] <= headline["macro_f1"] - 0.1, headline
    assert denoise_table["same decision as on μ"].min() >= 0.95, denoise_table
    curve = history.dropna(subset=["train_ce", "train_diff"]).reset_index(drop=True)
    assert (
        curve["train_ce"].iloc[min(3, len(curve) - 1)]
        <= 0.25 * curve["train_ce"].iloc[0]
    ), curve["train_ce"]
    assert curve["train_diff"].iloc[-1] < curve["train_diff"].iloc[len(curve) // 2], (
        curve["train_diff"]
    )
write_json(
    cfg.run_path / "affect_diff" / "metrics.json",
    {
        "profile": cfg.profile,
        "seed": cfg.seed,
        "epochs": result.epochs,
        "test": headline,
        "per_class_f1": ev.per_class_f1,
        "weighted_accuracy": ev.weighted_accuracy,
        "weighted_f1_presence": ev.weighted_f1_presence,
        "baseline_late_fusion_accuracy": baseline_acc,
        "checkpoint": "affect_diff/checkpoints/best.ckpt",
    },
)
print(
    "wrote affect_diff/metrics.json; chapter 4 loads "
    "affect_diff/checkpoints/best.ckpt from the run folder"
)

# %% [markdown]
# ## Summary
#
# - The combined loss trains a classifier, a causal graph, a VAE latent and a diffusion prior in
#   one pass; stopping the diffusion gradient at the latent keeps the prior from fighting the
#   classifier.
# - On SynthMOSEI the model beats every single-modality probe and a late-fusion baseline, and its
#   graph still names the planted driver.
# - The checkpoint (`affect_diff/checkpoints/best.ckpt` in the run folder) carries the library
#   version and the config; `affect_lib.affect_diff.module.load_affect_diff` refuses a
#   mismatched one. Chapter 4 uses it for counterfactual explanations.

# %% [markdown]
# ## Exercises
#
# The exercises use this notebook's trained `model`, `dm`, `cfg` and `t_grid`, and run in seconds.
# In the book the solution is folded away below each exercise; in a student copy (`make student`) a
# `# TODO` cell takes its place: write your answer there.
#
# ```{exercise} Implement the DDIM step
# :label: ex-03-ddim-step
#
# One deterministic DDIM step ($\eta = 0$) from step $t$ to an earlier step $t'$ predicts the clean
# latent and noises it again to the lower level with the *same* predicted noise:
#
# $$
# \hat z_0 = \frac{z_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon}{\sqrt{\bar\alpha_t}}, \qquad
# z_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat z_0 + \sqrt{1-\bar\alpha_{t'}}\,\hat\epsilon,
# $$
#
# with $\bar\alpha$ = `model.schedule.alphas_cumprod` and $\bar\alpha = 1$ after the last step. Write
# `ddim_step(z_t, eps, t, t_prev)` and run it over the steps $t_0 \to t_0/2 \to 0 \to$ clean on one test
# batch, starting from $\mu$ noised to $t_0$ (`model.schedule.noise_to`), with the unconditional
# `eps_fn = guided_eps_fn(model.unet, label=model.unet.null_label, scale=0.0, influence=..., mask=...)`
# from `affect_lib.affect_diff.diffusion`. Check that you get what
# `model.schedule.ddim_sample(eps_fn, shape, steps=3, x_T=z_t, t_start=t0, mask=mask)` returns.
# Where things are: `model.encode(batch, sample=False)` (under `torch.no_grad()`) returns the
# encoding, whose `.latent.mu` is $\mu$ (B, T, d) and `.graph.influence` the graph's weights; the
# mask is `batch["mask"]`; `eps_fn(z, t)` takes `t` as a (B,) long tensor; keep padded steps at
# zero by multiplying with `mask[..., None]` after every step, as the samplers do.
# ```
#
# ```{solution-start} ex-03-ddim-step
# :class: dropdown
# ```

# %% tags=["solution"]
from affect_lib.affect_diff.diffusion import guided_eps_fn

abar = model.schedule.alphas_cumprod.double()


def ddim_step(z_t, eps, t, t_prev):
    """One eta = 0 DDIM step from t to t_prev (None: to the clean latent, alpha-bar =
    1)."""
    a_t = abar[t].item()
    a_prev = 1.0 if t_prev is None else abar[t_prev].item()
    z0_hat = (z_t - (1 - a_t) ** 0.5 * eps) / a_t**0.5
    return a_prev**0.5 * z0_hat + (1 - a_prev) ** 0.5 * eps


batch = {
    k: v.to(dev) if torch.is_tensor(v) else v
    for k, v in next(iter(dm.test_dataloader())).items()
}
mask = batch["mask"]
t0 = cfg.model.denoise_t_start
steps = [t0, round(t0 / 2), 0]
with torch.no_grad():
    enc = model.encode(batch, sample=False)
    args = dict(label=model.unet.null_label, scale=0.0, mask=mask)
    eps_fn = guided_eps_fn(model.unet, influence=enc.graph.influence, **args)
    z_t = model.schedule.noise_to(
        enc.latent.mu, t0, generator=torch.Generator().manual_seed(cfg.seed)
    )
    z_t = z_t * mask[..., None]  # padded steps stay zero, as in the samplers
    z = z_t
    for k, t in enumerate(steps):
        eps = eps_fn(z, torch.full((z.shape[0],), t, dtype=torch.long, device=z.device))
        z = (
            ddim_step(z, eps, t, steps[k + 1] if k + 1 < len(steps) else None)
            * mask[..., None]
        )
    reference = model.schedule.ddim_sample(
        eps_fn, tuple(z_t.shape), steps=3, x_T=z_t, t_start=t0, mask=mask
    )
print(
    f"batch {tuple(z.shape)}, steps {steps}: equal to ddim_sample: "
    f"{torch.allclose(z, reference, atol=1e-5)}"
)

# %% [markdown]
# The sampler's only extra work is choosing the evenly spaced steps
# (`torch.linspace(t_start, 0, steps).round()`) and, for $\eta > 0$, adding fresh noise of standard
# deviation $\sigma_t$ while shrinking the $\hat\epsilon$ term so the variance stays right.
#
# ```{solution-end}
# ```
#
# ```{exercise} How much of μ survives the noising?
# :label: ex-03-snr
#
# Denoising starts from $z_{t_0} = \sqrt{\bar\alpha_{t_0}}\,\mu + \sqrt{1-\bar\alpha_{t_0}}\,\epsilon$.
# For each $t_0$ of the table above (`t_grid`), compute the weight $\sqrt{\bar\alpha_{t_0}}$ of $\mu$
# and the signal-to-noise ratio $\bar\alpha_{t_0} / (1 - \bar\alpha_{t_0})$, and find the first step at
# which the SNR falls below 1. Does this explain why denoising barely changes the decisions?
# ```
#
# ```{solution-start} ex-03-snr
# :class: dropdown
# ```

# %% tags=["solution"]
abar = model.schedule.alphas_cumprod.double()
snr = abar / (1 - abar)
print(
    f"the SNR falls below 1 at t = {int(torch.nonzero(snr < 1)[0])} of T = "
    f"{model.schedule.timesteps}"
)
pd.DataFrame(
    {
        "weight of μ, sqrt(ᾱ)": {t: abar[t].sqrt().item() for t in t_grid},
        "SNR ᾱ/(1-ᾱ)": {t: snr[t].item() for t in t_grid},
    }
).rename_axis("t_0").round(3)

# %% [markdown]
# Only in part. At the default $t_0$ the noised latent is still mostly $\mu$ (SNR well above 1), so
# denoising can only nudge it. At the largest $t_0$ noise dominates (SNR below 1), and the decisions
# still mostly hold (the table's last column): there it is the prior that returns a latent of the
# input's emotion, from the coarse structure that survives the noise. With the cosine schedule the
# SNR crosses 1 near $T/2$.
#
# ```{solution-end}
# ```
