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
# # 4. Counterfactual explanations
#
# Affect-Diff's promise {cite}`affectdiff` is explanation: *what would this utterance's latent
# affect look like under another emotion, and which modality had to change?* This chapter answers
# it with the model trained in chapter 3: the utterance's own latent is partially noised and then
# denoised with classifier-free guidance {cite}`ho2022cfg` toward a target emotion, so the result
# stays tied to the original; the decoders read the edited latent back into each modality.
#
# **What you will learn**
# - how a guided, partial-noising edit works and which knobs trade validity for proximity;
# - how to score counterfactuals: validity, proximity, sparsity, realism (Fréchet distance);
# - why DDIM {cite}`song2021ddim` with a few dozen steps replaces the full DDPM chain
#   {cite}`ho2020ddpm`, measured;
# - whether the modality that changed most is the one that drove the emotion.

# %% tags=["parameters"]
profile = "book"  # smoke | book | paper
seed = 0
device = "auto"
data_source = "synthetic"
data_dir = None
run_dir = None  # None: _build/runs/<profile>
overrides = {}  # any other config key; must match the config chapter 3 trained with
n_edit = 300  # test utterances edited toward a random other emotion
t_start_frac = 0.85  # edits start from step round(t_start_frac * T) of the T-step chain
cfg_scale = 10.0  # classifier-free guidance scale of the edits
ddim_steps = 20  # DDIM steps of the edits, at most 50
eta = 1.0  # DDIM noise level: 0 deterministic, 1 DDPM's posterior variance
sweep_scales = [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
n_sweep = 150  # utterances in the scale sweep
# utterances in the DDIM-vs-DDPM race (DDPM runs all 851 steps: the costly part)
n_race = 64
race_steps = [10, 20]
n_matrix = 60  # utterances edited toward all six emotions

# %%
import lightning as L
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from myst_nb import glue

from affect_lib.affect_diff.counterfactual import counterfactual, modality_scales
from affect_lib.affect_diff.module import load_affect_diff
from affect_lib.config import load_profile
from affect_lib.data.datamodule import build_datamodule
from affect_lib.eval.explanations import (
    attribution_accuracy,
    perceptual_scores,
    realism,
)
from affect_lib.experiments.counterfactual_study import (
    other_emotion,
    sampler_race,
    scale_sweep,
    summarise,
    validity_matrix,
)
from affect_lib.io import write_json
from affect_lib.plots.counterfactual import (
    attribution_by_driver,
    counterfactual_example,
    sampler_bars,
    tradeoff_curve,
    validity_heatmap,
)
from affect_lib.publish.tolerances import measured_runs
from affect_lib.schema import EMOTIONS, MODALITIES

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
pd.set_option("display.precision", 3)
t_start = min(
    cfg.model.diffusion_steps - 1, round(t_start_frac * cfg.model.diffusion_steps)
)
steps = min(ddim_steps, t_start + 1)
edit = {"t_start": t_start, "steps": steps, "eta": eta}
print(
    f"profile={cfg.profile} seed={cfg.seed} T={cfg.model.diffusion_steps} "
    f"t_start={t_start} "
    f"cfg_scale={cfg_scale} DDIM steps={steps} eta={eta}"
)

# %% [markdown]
# ## The model of chapter 3
#
# Counterfactuals need a trained model: chapter 3 writes its best checkpoint to the run folder.
# When it is missing, run `affect-book run --profile book --only 03` (this run's profile), or the
# notebook, first. The checkpoint records the library version and the config it was trained with,
# and loading refuses a mismatch.

# %%
ckpt = cfg.run_path / "affect_diff" / "checkpoints" / "best.ckpt"
if not ckpt.is_file():
    raise FileNotFoundError(
        f"{ckpt} is missing: run chapter 3 first "
        f"(affect-book run --profile {cfg.profile} --only 03)"
    )
model = load_affect_diff(ckpt, cfg)
dm = build_datamodule(cfg)
test = dm.datasets["test"]
n = min(n_edit, len(test))
batch = test.__getitems__(list(range(n)))
target = other_emotion(batch["label"], seed=cfg.seed)
scales = modality_scales(model, dm.val_dataloader())
print(
    f"{n} test utterances; modality scales (spread of reconstructions on val): "
    + ", ".join(
        f"{m} {s:.3f}" for m, s in zip(MODALITIES, scales.tolist(), strict=True)
    )
)

# %% [markdown]
# ## Editing toward another emotion
#
# With $\bar\alpha$ the cosine schedule's signal level, the edit of a latent $\mu$ (B, T, L) is
#
# $$z_{t_0} = \sqrt{\bar\alpha_{t_0}}\,\mu + \sqrt{1-\bar\alpha_{t_0}}\,\varepsilon,\qquad
# \hat\varepsilon = \varepsilon_\theta(z_t, \varnothing) + s\,\big(\varepsilon_\theta(z_t, y') - \varepsilon_\theta(z_t, \varnothing)\big),$$
#
# then DDIM steps from $t_0$ down to 0 with the guided $\hat\varepsilon$. $t_0$ sets how much of the
# original survives (at $t_0/T = 0.85$, $\sqrt{\bar\alpha}$ is about 0.23: the coarse structure and the
# length stay, the details are re-imagined), $s$ how hard the prior is pushed toward the target $y'$.
# The classifier of chapter 3 then reads $z'$: an edit is *valid* when it says $y'$.

# %%
cf = counterfactual(
    model,
    batch,
    target,
    cfg_scale=cfg_scale,
    scales=scales,
    generator=torch.Generator().manual_seed(cfg.seed),
    **edit,
)
summary = summarise(cf)
fd, fd_ref = realism(
    cf.z, cf.z_cf, cf.mask, batch["label"].numpy(), cf.target.numpy(), len(EMOTIONS)
)
headline = {
    "cf_validity": round(summary["validity"], 4),
    "cf_proximity": round(summary["proximity"], 4),
    "cf_sparsity": round(summary["sparsity"], 4),
    "cf_fd_latent": round(float(fd), 4),
}
for key, value in headline.items():
    glue(key, value, display=False)
glue("cf_fd_reference", round(float(fd_ref), 4), display=False)
glue("cf_fd_ratio", round(float(fd / fd_ref), 4), display=False)
pd.Series(
    {**headline, "FD real class vs other classes (reference)": round(float(fd_ref), 4)},
    name=f"s={cfg_scale:g}, t0={t_start}",
).to_frame()

# %% [markdown]
# **Realism** is the Fréchet distance between the time-pooled counterfactual latents aimed at an
# emotion and the real latents of that emotion, averaged over emotions; the reference row gives the
# distance between one emotion's real latents and all others', the scale of how far apart the
# emotions lie. Edits as realistic as the data would score well below it. In the book run they
# score {glue:text}`cf_fd_ratio:.2f` times the reference ({glue:text}`cf_fd_latent:.1f` against
# {glue:text}`cf_fd_reference:.1f`; the lower, the more realistic): at this guidance scale the
# edited latents cross into the region the classifier reads as the target, yet they lie about as
# far from the target emotion's real latents as the emotions lie from each other. This ratio moves a
# lot between training runs (the table after the attribution section below), so read it as "of the
# order of 1", not as a measured value. Validity says the edit changed the decision, not that it looks like a
# real utterance of the target.
#
# ## A worked example
#
# One utterance: its reconstruction from $\mu$ in each modality, the reconstruction of the edited
# latent, and their difference (first features only, valid steps only). The title gives each
# modality's change relative to that modality's scale; the largest is in bold.

# %%
# NBVAL_IGNORE_OUTPUT
# which utterance is shown, and what the classifier says of it, changes with training
shown = np.flatnonzero(
    (cf.pred_after == cf.target).numpy() & (batch["driver"].numpy() >= 0)
)
# a valid edit with a planted driver, when there is one
i = int(shown[0]) if len(shown) else 0
drv = int(batch["driver"][i])
print(
    f"utterance {batch['id'][i]}: {EMOTIONS[int(batch['label'][i])]} (driver "
    f"{MODALITIES[drv] if drv >= 0 else '?'}) "
    f"→ {EMOTIONS[int(cf.target[i])]}; classifier before: "
    f"{EMOTIONS[int(cf.pred_before[i])]}, "
    f"after: {EMOTIONS[int(cf.pred_after[i])]}; most changed: "
    f"{MODALITIES[int(cf.attribution[i])]}"
)
counterfactual_example(cf, i)
plt.show()

# %% [markdown]
# ## Validity against proximity
#
# The guidance scale is the main knob. $s = 0$ ignores the target (the prior only re-imagines the
# utterance: validity is the rate at which that alone lands on the target); larger $s$ buys validity,
# until it saturates, with distance from the original. Same utterances, targets and noise at every
# scale.
#
# Read the proximity column honestly: even at $s = 0$ the edited latent is about as far from the
# original as the original is from zero. On this model an edit has to start this deep in the chain:
# from half-way down the chain the prior mostly keeps the original emotion (the second exercise
# below measures it), so the "counterfactual" here keeps an utterance's length, padding and coarse
# temporal layout rather than its fine detail. Sparsity is 1 for the same reason: every latent dimension moves.

# %%
m = min(n_sweep, n)
sweep = scale_sweep(
    model,
    {key: v[:m] for key, v in batch.items()},
    target[:m],
    sweep_scales,
    seed=cfg.seed,
    scales=scales,
    **edit,
)
sweep

# %%
tradeoff_curve(sweep, cfg_scale)
plt.show()

# %% [markdown]
# ## DDIM or the full DDPM chain?
#
# DDPM runs every one of the $t_0 + 1$ steps; DDIM jumps over evenly spaced steps. With $\eta = 1$
# DDIM keeps DDPM's per-step noise, so both samplers draw a fresh noise at every step; a
# deterministic DDIM ($\eta = 0$) edit instead follows one path from the noised latent it starts
# from (not compared here: `eta` is a parameter of this chapter). Both samplers
# edit the same utterances toward the same targets from the same noised latent; times are best of
# two runs in this process (timings vary between machines; the ratio is the claim, and
# `benchmarks/bench_counterfactual.py` measures it outside the book).

# %%
# NBVAL_IGNORE_OUTPUT
race_batch = {k: v[:n_race] for k, v in batch.items()}
race, race_cfs = sampler_race(
    model,
    race_batch,
    target[:n_race],
    ddim_steps=[s for s in race_steps if s <= t_start + 1],
    seed=cfg.seed,
    repeats=2,
    cfg_scale=cfg_scale,
    scales=scales,
    **edit,
)
name = f"DDIM {steps}"
ddim_speedup = round(float(race.loc[name, "speedup_vs_ddpm"]), 1)
glue("ddim_speedup", ddim_speedup, display=False)
race[["steps", "seconds", "speedup_vs_ddpm"]].round(3)

# %% [markdown]
# The times above vary between runs and machines, so nbval does not check them; what the samplers
# produce is deterministic given the seed, and is checked:

# %%
ddim_validity_gap = round(
    abs(float(race.loc["DDPM", "validity"] - race.loc[name, "validity"])), 4
)
glue("ddim_validity_gap", ddim_validity_gap, display=False)
race.drop(columns=["seconds", "speedup_vs_ddpm"]).round(3)

# %%
# NBVAL_IGNORE_OUTPUT
sampler_bars(race)
plt.show()

# %% [markdown]
# DDIM with {glue:text}`ddim_speedup`× less time differs from DDPM's validity by
# {glue:text}`ddim_validity_gap:.3f` (the validities are deterministic given the seed; the times are
# not).
#
# ## Which emotions are easy to reach?
#
# Every one of `n_matrix` utterances edited toward all six emotions: the share that the classifier
# assigns to the target, by source emotion. The diagonal (an edit toward the utterance's own
# emotion) should stay high.

# %%
k = min(n_matrix, n)
matrix = validity_matrix(
    model,
    {key: v[:k] for key, v in batch.items()},
    seed=cfg.seed,
    cfg_scale=cfg_scale,
    scales=scales,
    **edit,
)
validity_heatmap(matrix)
plt.show()
# utterances behind each row
per_source = np.bincount(batch["label"][:k].numpy(), minlength=len(EMOTIONS))
# edits toward another emotion
off = np.where(np.eye(len(EMOTIONS), dtype=bool), np.nan, matrix)
if np.isfinite(
    off
).any():  # which pair is lowest changes with training: the heatmap names it
    src, tgt = np.unravel_index(np.nanargmin(off), off.shape)
    print(
        f"edits toward another emotion: {np.nanmean(off):.2f} valid on average; the "
        f"lowest cell: "
        f"{off[src, tgt]:.2f}, of {per_source[src]} utterances of its source emotion"
    )

# %% [markdown]
# A row rests on the utterances of its source emotion among the `n_matrix` edited (the line above
# gives the count behind the lowest cell), so with a rare source emotion one cell is a handful of
# edits: read a single low cell as a hint, not a finding.
#
# ## Which modality had to change?
#
# SynthMOSEI plants, per utterance, the modality that carries the emotion (chapter 1). A faithful
# explanation should change that modality most. We score the attribution (the modality whose
# reconstruction changed most, relative to its scale) against the planted driver, and, as a
# dataset-level check that needs no ground truth, against each modality's **perceptual score**: how
# much test accuracy drops when that modality is permuted across the test set.

# %%
driver = batch["driver"].numpy()
attribution = cf.attribution.numpy()
cf_attribution_acc = round(attribution_accuracy(attribution, driver), 4)
glue("cf_attribution_acc", cf_attribution_acc, display=False)
perceptual = {
    m: round(v, 4)
    for m, v in perceptual_scores(model, dm.test_dataloader(), seed=cfg.seed).items()
}
for m, v in perceptual.items():
    glue(f"perceptual_score_{m}", v, display=False)
pd.DataFrame(
    {
        "perceptual score (accuracy drop)": perceptual,
        "share attributed": {
            m: float(np.mean(attribution == j)) for j, m in enumerate(MODALITIES)
        },
        "share planted driver": {
            m: float(np.mean(driver == j)) for j, m in enumerate(MODALITIES)
        },
    }
)

# %%
attribution_by_driver(attribution, driver)
plt.show()

# %% [markdown]
# ### One training run among many
#
# Every number of this chapter comes from one trained model, and training is noisy: another seed,
# or another processor rounding its last bits differently, trains another model. `make tolerances`
# re-executes chapters 3 and 4 with seeds 1 and 2 and with other CPU code paths, and records what
# each run printed (`notebooks/tolerances.json`); the last column is how far a rerun may land from
# the stored number before `make test` calls it a regression.

# %%
spread = measured_runs(
    "04_counterfactuals.ipynb",
    [
        "cf_validity",
        "cf_attribution_acc",
        "cf_fd_ratio",
        "ddim_validity_gap",
        "perceptual_score_text",
    ],
)
runs = (
    spread.drop(columns="tolerance")
    if "tolerance" in spread
    else pd.DataFrame(np.nan, index=spread.index, columns=["not measured"])
)
glue(
    "cf_attribution_acc_runs_min",
    float(runs.loc["cf_attribution_acc"].min()),
    display=False,
)
glue(
    "cf_attribution_acc_runs_max",
    float(runs.loc["cf_attribution_acc"].max()),
    display=False,
)
spread.round(3)

# %% [markdown]
# The most-changed modality agrees with the planted driver for {glue:text}`cf_attribution_acc` of
# the edits (chance: 1/3), and over the measured training runs of the table above it ranged from
# {glue:text}`cf_attribution_acc_runs_min:.2f` to {glue:text}`cf_attribution_acc_runs_max:.2f`:
# "most edits" holds in every run, the exact share is a property of one trained model. The reason
# to expect agreement is a design choice of chapter 3: the decoders read the causal graph's
# influence weights next to $z$. A decoder that reads $z$ alone could only learn each modality's
# *average* expression of the affect in $z$, so an edit would change every modality's
# reconstruction by the target emotion's average cue, whichever modality drove this utterance.
# Reading the influence weights, a decoder can learn that the affect shows in the modality that
# drives the utterance; the edit changes $z$ and keeps the utterance's influence weights, so the
# change lands there. That is an argument, not a measurement (no decoder without the weights is
# trained here), and it ties the explanation to the graph's driver recovery (chapter 3).
# The dataset-level check agrees: permuting a modality costs accuracy roughly in proportion to how
# often it drives (text {glue:text}`perceptual_score_text`, audio {glue:text}`perceptual_score_audio`,
# video {glue:text}`perceptual_score_video`; the book profile's `driver_mix` plants text as the
# driver of 40 % of the utterances, audio and video of 30 % each). "Roughly": each modality's share
# of the three costs stays within 8 points of its share of the mix in every measured run, but one
# trained model need not rank text first (the model trained with seed 2 lost most without video).

# %%
# the floors are defined for the book profile
if cfg.profile == "book" and cfg.data_source == "synthetic":
    # the chapter's claims, with thresholds that held in every run measured for
    # notebooks/tolerances.json
    assert headline["cf_validity"] >= 0.80, headline
    assert np.nanmean(np.diag(matrix)) >= 0.8, np.diag(matrix)
    assert cf_attribution_acc >= 0.70, cf_attribution_acc
    assert headline["cf_sparsity"] == 1.0 and (sweep["sparsity"] == 1.0).all(), sweep
    s0 = sweep.loc[sweep["cfg_scale"] == 0]
    assert s0["validity"].item() < 0.25 and abs(s0["proximity"].item() - 1) <= 0.25, s0
    # guidance buys validity
    assert sweep["validity"].iloc[-1] >= s0["validity"].item() + 0.5, sweep
    # ... with distance
    assert sweep["proximity"].iloc[-1] > s0["proximity"].item(), sweep
    assert ddim_validity_gap <= 0.05, ddim_validity_gap
    # "roughly in proportion to the driver mix" (not always led by text: seed 2 was not)
    shares = np.array([perceptual[m] for m in MODALITIES])
    mix = np.asarray(cfg.data.driver_mix)
    assert np.abs(shares / shares.sum() - mix).max() <= 0.08, shares
write_json(
    cfg.run_path / "affect_diff" / "counterfactuals.json",
    {
        "profile": cfg.profile,
        "seed": cfg.seed,
        "t_start": t_start,
        "cfg_scale": cfg_scale,
        "steps": steps,
        "eta": eta,
        **headline,
        "cf_attribution_acc": cf_attribution_acc,
        "perceptual": perceptual,
        "sweep": sweep.to_dict(orient="records"),
        "validity_matrix": matrix.tolist(),
    },
)
print("wrote affect_diff/counterfactuals.json")

# %% [markdown]
# ## Summary
#
# - An edit noises the utterance's own latent part-way and denoises it with classifier-free
#   guidance toward the target; $t_0$ and $s$ trade validity for proximity.
# - DDIM with $\eta = 1$ and a few dozen steps differs from the full DDPM chain's validity by
#   {glue:text}`ddim_validity_gap:.3f`, at a fraction of its cost.
# - The most-changed modality names the planted driver for most edits; the decoders read the causal
#   graph's influence weights, which is the design's reason to expect it (a model whose decoders
#   ignore the graph is not trained here, so how much of the agreement the graph buys is not
#   measured in this book).

# %% [markdown]
# ## Exercises
#
# The exercises use this notebook's `model`, `batch`, `target`, `scales`, `edit` and `cfg`, and run in
# seconds. In the book the solution is folded away below each
# exercise; in a student copy (`make student`) a `# TODO` cell takes its place: write your answer there.
#
# ```{exercise} Classifier-free guidance by hand
# :label: ex-04-cfg
#
# For the first 8 utterances, noise $\mu$ to `t_start` and call the U-Net twice: with the target
# labels and with the null label `model.unet.null_label` (arguments: `z_t`, the step as a (B,) tensor,
# the labels, `influence=` the graph's influence weights, `mask=`). Combine the two predictions with
# the guidance formula at scale `cfg_scale` and check that you get what
# `guided_eps_fn(model.unet, label=..., scale=cfg_scale, influence=..., mask=...)` from
# `affect_lib.affect_diff.diffusion` returns. What does a scale of 1 give? Where things are:
# `model.encode(batch, sample=False)` (under `torch.no_grad()`) returns the encoding, whose
# `.latent.mu` is $\mu$ and `.graph.influence` the influence weights; `model.schedule.noise_to(mu, t)`
# noises a latent to step `t`.
# ```
#
# ```{solution-start} ex-04-cfg
# :class: dropdown
# ```

# %% tags=["solution"]
from affect_lib.affect_diff.diffusion import guided_eps_fn

few = {key: v[:8] for key, v in batch.items()}
with torch.no_grad():
    enc = model.encode(few, sample=False)
    z_t = model.schedule.noise_to(
        enc.latent.mu, t_start, generator=torch.Generator().manual_seed(0)
    )
    t = torch.full((8,), t_start, dtype=torch.long)
    kw = {"influence": enc.graph.influence, "mask": few["mask"]}
    eps_cond = model.unet(z_t, t, target[:8], **kw)
    eps_uncond = model.unet(z_t, t, torch.full((8,), model.unet.null_label), **kw)
    by_hand = eps_uncond + cfg_scale * (eps_cond - eps_uncond)
    library = guided_eps_fn(model.unet, label=target[:8], scale=cfg_scale, **kw)(z_t, t)
    scale_one = guided_eps_fn(model.unet, label=target[:8], scale=1.0, **kw)(z_t, t)
print(
    f"equal to guided_eps_fn: {torch.allclose(by_hand, library, atol=1e-5)}; "
    f"guided_eps_fn at scale 1 is the conditional prediction: "
    f"{torch.allclose(scale_one, eps_cond, atol=1e-5)}"
)

# %% [markdown]
# At $s = 1$ guidance is plain conditional sampling; $s > 1$ extrapolates away from the unconditional
# prediction, which is what pushes an edit across the class boundary.
#
# ```{solution-end}
# ```
#
# ```{exercise} A shallower edit
# :label: ex-04-shallow
#
# Edit the first 64 utterances toward their targets from $t_0 = 0.5\,T$ instead of the chosen
# $t_0$, at the same scale and DDIM steps, and compare validity and proximity with it
# (`summarise` from `affect_lib.experiments.counterfactual_study`). Which would you show a
# reader, and why?
# ```
#
# ```{solution-start} ex-04-shallow
# :class: dropdown
# ```

# %% tags=["solution"]
few = {key: v[:64] for key, v in batch.items()}
rows = {}
for t0 in (round(0.5 * cfg.model.diffusion_steps), t_start):
    shallow = counterfactual(
        model,
        few,
        target[:64],
        cfg_scale=cfg_scale,
        t_start=min(t0, cfg.model.diffusion_steps - 1),
        steps=min(steps, t0 + 1),
        eta=eta,
        scales=scales,
        generator=torch.Generator().manual_seed(0),
    )
    # still read as what it was before
    kept = (shallow.pred_after == shallow.pred_before).float().mean()
    rows[t0] = summarise(shallow) | {"keeps its emotion": float(kept)}
pd.DataFrame(rows).T.rename_axis("t_0").round(3)

# %% tags=["solution"]
# the answer is about the book profile
if cfg.profile == "book" and cfg.data_source == "synthetic":
    half, deep = rows[round(0.5 * cfg.model.diffusion_steps)], rows[t_start]
    assert (
        half["proximity"] < deep["proximity"]
        and half["validity"] <= deep["validity"] - 0.3
    ), rows
    # most misses keep their emotion
    assert half["keeps its emotion"] > 0.5 * (1 - half["validity"]), half

# %% [markdown]
# From half-way the edit stays much closer to the original but reaches the target far less often,
# and most of the edits that miss are still read as the emotion they had (the last column): too
# little noise leaves the utterance's affect in $z_t$, and the prior cannot overwrite it. A
# counterfactual that is not valid explains nothing, so the deeper start is the honest choice on
# this model, with its distance stated.
#
# ```{solution-end}
# ```
