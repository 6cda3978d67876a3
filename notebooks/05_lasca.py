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
# # 5. LaScA: language-conditioned affect dynamics
#
# LaScA {cite}`lasca` keeps handcrafted behaviour features but gives them *words*: each window's
# salient facial and vocal cues (chosen per window by Otsu thresholding) are described with a fixed
# affective lexicon, the description is embedded by a frozen sentence transformer, and a small
# preference learner predicts whether arousal or valence goes up or down between consecutive
# windows from the fused vector $[x \,\|\, s]$. This chapter rebuilds the pipeline on SynthAffWild
# (or your copy of Aff-Wild2 {cite}`kollias2019affwild2` or SEWA {cite}`kossaifi2019sewa`), reruns
# the paper's ablation next to the paper's table, and reports four predictions about the
# lexicon's mechanism that were fixed before they were tested.
#
# **What you will learn**: the lexicon, the Otsu saliency mask and the template on real windows;
# preference pairs and pairwise accuracy; what the semantic embedding adds to the features, next
# to the paper's numbers; which of four pre-registered predictions held ({doc}`the appendix
# <07_lasca_mechanism>` has their runs, the draws, two controls and the costs).

# %% tags=["parameters"]
profile = "book"  # smoke | book | paper
seed = 0
device = "auto"
data_source = "synthetic"  # | aff_wild2 | sewa (folders: data_cards/aff_wild2, sewa)
data_dir = None
run_dir = None  # None: _build/runs/<profile>
overrides = {}  # any other config key, e.g. {"n_seeds": 15, "encoders": ["minilm"]}
mode = "pooled"  # embedding: pooled (fast) | template (the paper's, minutes on CPU)
n_jobs = 2  # parallel preference fits (results do not depend on it)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from affect_lib.config import load_profile
from affect_lib.experiments.lasca_protocol import run_protocol
from affect_lib.io import write_json
from affect_lib.lasca.embedding_store import embedding_cache_dir
from affect_lib.lasca.folders import load_windows, synth_affwild_windows
from affect_lib.lasca.lexicon import load_lexicon
from affect_lib.lasca.names import FEATURE_NAMES
from affect_lib.lasca.saliency import normalise, otsu_threshold, salient_mask
from affect_lib.lasca.template import describe
from affect_lib.plots.lasca import ablation_bars, otsu_histogram

cfg = load_profile(
    profile,
    seed=seed,
    device=device,
    data_source=data_source,
    data_dir=data_dir,
    run_dir=run_dir,
    **overrides,
)
if cfg.data_source not in ("synthetic", "aff_wild2", "sewa"):
    raise ValueError(
        f"chapter 5 reads synthetic, aff_wild2 or sewa, not {cfg.data_source!r}"
    )
pd.set_option("display.precision", 3)
pd.set_option("display.max_colwidth", None)  # the lexicon's sentences
out = cfg.run_path / "lasca"
print(
    f"profile={cfg.profile} seed={cfg.seed} windows={cfg.lasca.windows_s} "
    f"taus={cfg.lasca.taus} encoders={cfg.lasca.encoders} seeds={cfg.lasca.n_seeds} "
    f"mode={mode} mlp_batch_size={cfg.lasca.mlp_batch_size}"
)

# %% [markdown]
# ## Windows of behaviour
#
# Per video: 52 MediaPipe blendshapes and the 6-DoF head pose per frame (LaScA's 58 facial
# features, our reading), 15 MFCCs per frame from the audio (librosa), and the valence/arousal
# annotation. Non-overlapping windows of 3 s and 5 s average each feature over the window's frames
# and the annotation over its valid frames (SynthAffWild's data card gives the details).

# %%
if cfg.data_source != "synthetic":  # videos.csv's frame rates, else the config's fps
    print(f"videos without an fps in videos.csv are read at {cfg.lasca.fps:g} fps")
windows = {
    w: synth_affwild_windows(cfg.lasca, cfg.seed, w, out)
    if cfg.data_source == "synthetic"
    else load_windows(cfg.data_dir, w, fps=cfg.lasca.fps, layout=cfg.data_source)
    for w in cfg.lasca.windows_s
}
pd.DataFrame(
    {w: [len(s), len(set(s.video)), len(set(s.subject))] for w, s in windows.items()},
    index=["windows", "videos", "subjects"],
).rename(columns="{:g} s".format)

# %% [markdown]
# ## The lexicon
#
# LaScA prompts a language model once for an affective description of every feature. We cannot
# call one here, so `affect_lib/lasca/lexicons/affective.yaml` was written once by hand for this
# book from FACS, MediaPipe's blendshape definitions and acoustic phonetics, and is versioned with
# the code; the ablation's *feature-name lexicon* is derived mechanically from the names.

# %%
affective, names_lex = load_lexicon("affective"), load_lexicon("feature_names")
excerpt = ["mouthSmileLeft", "browDownLeft", "eyeWideLeft", "jawOpen", "yaw", "mfcc_1"]
lexicons = {"affective lexicon": affective, "feature-name lexicon": names_lex}
pd.DataFrame({k: [lex[f] for f in excerpt] for k, lex in lexicons.items()}, excerpt)

# %% [markdown]
# ## Saliency: Otsu on one window
#
# Each feature is z-scored within its video (saliency is relative to the person), with the mean
# and standard deviation of the *whole* video, test videos included: a window's mask also depends
# on later frames, so every number here is an offline analysis (an online system would z-score
# with running statistics). Otsu's method then splits the window's 73 values in two at the
# threshold maximising the between-class variance $w_0 w_1 (\mu_0-\mu_1)^2$; the upper class is
# the window's salient set.

# %%
ws = windows[max(windows)]
Z = normalise(ws.X, ws.video)
masks = salient_mask(Z)
i = int(np.argmax(np.abs(ws.arousal)))
print(
    f"window {i} of {ws.video[i]}: valence {ws.valence[i]:.2f}, arousal "
    f"{ws.arousal[i]:.2f}; {masks.sum(1).mean():.1f} salient features per window"
)
otsu_histogram(Z[i], otsu_threshold(Z[i]), FEATURE_NAMES, masks[i])
plt.show()

# %% [markdown]
# ## From mask to text
#
# The salient features' descriptions go into a fixed template, in feature order, so the same mask
# always gives the same text (tested). The most and the least aroused window:

# %%
for j in (int(np.argmax(ws.arousal)), int(np.argmin(ws.arousal))):
    text = describe(masks[j], affective)
    print(f"[arousal {ws.arousal[j]:+.2f}] {text[:300]}{' ...' * (len(text) > 300)}\n")

# %% [markdown]
# A full template runs to more word pieces than the encoder reads (the appendix counts them), so the
# book uses the **pooled** embedding by default: a window's embedding is the normalised mean of its
# salient cues' embeddings, each encoded once. Nothing is truncated; what it gives up is the encoder
# reading the cues together. `mode="template"` runs the paper's encoding (compared in the appendix).
#
# ## Preference pairs and the ablation
#
# Consecutive windows of a video form a pair when the target moves by more than $\tau$ of the
# annotation scale's range: $|y_{t+1}-y_t|/2 > \tau$. The learner sees $\Delta z = z_{t+1} - z_t$
# and predicts the direction; training pairs are also added reversed, so a majority direction
# gains nothing. The learner is our reading of the paper's scikit-learn `MLPClassifier` (two
# layers, sigmoid output, BCE, Adam, L2 $\alpha = 1$, early stopping within 25 iterations),
# computed bit for bit by `affect_lib.lasca.mlp.AdamMLP` with {glue:text}`lasca_batch_size`-row
# mini-batches (why not 200: the appendix). Every cell is repeated over seeds, each with its own
# subject-independent split (a quarter of the subjects held out), shared by every variant.

# %%
result = run_protocol(
    windows,
    cfg.lasca,
    seed=cfg.seed,
    mode=mode,
    cache_dir=embedding_cache_dir(),
    n_jobs=n_jobs,
)

# %%
summary, default = result.summary, cfg.lasca.encoder
acc = summary["mean"].map("{:.3f} ± ".format) + summary["std"].map("{:.3f}".format)
cells = ["target", "window_s", "tau"]
shown = summary.assign(acc=acc)[summary["encoder"].isin([default, "none"])]
shown.pivot_table("acc", cells, "variant", aggfunc="first", sort=False)[
    ["features", "st", "fusion", "namelex"]
]

# %%
ablation_bars(summary, default)
plt.show()

# %%
means = summary.set_index(["target", "window_s", "tau", "variant", "encoder"])["mean"]


def headline(target: str, variant: str) -> float:
    """The 5 s / 20 % cell (the paper's), default encoder; NaN if it did not run."""
    encoder = "none" if variant == "features" else default
    return float(means.get((target, 5.0, 0.2, variant, encoder), np.nan))


# fusion per encoder: the encoder gap is its mean spread (0 with one encoder)
fusion = summary[summary["variant"] == "fusion"].pivot_table("mean", cells, "encoder")
values = {
    "lasca_arousal_5s_20_features": headline("arousal", "features"),
    "lasca_arousal_5s_20_st": headline("arousal", "st"),
    "lasca_arousal_5s_20_fusion": headline("arousal", "fusion"),
    "lasca_arousal_5s_20_namelex": headline("arousal", "namelex"),
    "lasca_valence_5s_20_features": headline("valence", "features"),
    "lasca_valence_5s_20_st": headline("valence", "st"),
    "lasca_valence_5s_20_fusion": headline("valence", "fusion"),
    "lasca_valence_5s_20_namelex": headline("valence", "namelex"),
    "lasca_encoder_gap": float((fusion.max(axis=1) - fusion.min(axis=1)).mean()),
    "lasca_mlp_params": result.parameters.get(f"fusion/{default}", np.nan),
    "lasca_batch_size": cfg.lasca.mlp_batch_size,
}
for key, value in values.items():
    glue(key, value, display=False)
# the chapter's claims on SynthAffWild (informative features, no large fusion gain);
# thresholds that held in every run measured for notebooks/tolerances.json
if cfg.profile == "book" and cfg.data_source == "synthetic":
    for target in ("arousal", "valence"):
        assert 0.65 <= headline(target, "features") < 0.9, values  # informative
    assert headline("arousal", "fusion") - headline("arousal", "features") < 0.1, values
meta = {"profile": cfg.profile, "seed": cfg.seed, "mode": mode}
meta |= {"parameters": result.parameters, "summary": summary.to_dict(orient="records")}
write_json(out / "protocol.json", meta)
fusion.round(3)

# %% [markdown]
# The encoders differ by {glue:text}`lasca_encoder_gap:.3f` on average over the fusion cells (table
# above: fusion accuracy per encoder). The fusion MLP with the default encoder has
# {glue:text}`lasca_mlp_params` trainable parameters (the paper: 129–230K).
#
# ## Next to the paper
#
# LaScA's ablation on Aff-Wild2 at 5 s / 20 % (Arousal, Valence) and ours on the data this notebook
# ran on:

# %%
paper = pd.DataFrame(
    {
        "paper arousal": [0.55, 0.60, 0.74, 0.74],
        "paper valence": [0.52, 0.67, 0.74, 0.61],
    },
    index=["features", "st", "fusion", "namelex"],
)
for target in ("arousal", "valence"):
    paper[f"ours {target}"] = [round(headline(target, v), 3) for v in paper.index]
paper

# %% [markdown]
# What differs, plainly: the data (SynthAffWild follows a documented mapping with person-specific
# baselines and gains), the lexicon (hand-written once, not generated), the embedding (pooled by
# default), the encoders (two of the paper's five), the seeds and the MLP's size. SynthAffWild's
# features alone are already informative, so the paper's large fusion gain over features (0.55 →
# 0.74 on arousal) should not be expected. One draw cannot settle a gap of a few points either:
# the appendix reruns these cells on independent draws, with intervals, and follows the semantic
# path with two controls (not in the paper) to find where the mask's information is lost.
#
# ## Does the lexicon's meaning help? Four predictions
#
# What the ablation cannot test is LaScA's *mechanism*: a fixed lexicon puts semantically related
# cues close together (left and right partners, the action units of a smile), so a learner that
# sees a cue's meaning should generalise where one that sees only a feature's index cannot. Four
# predictions were written down, and coded, before any run (issue #30;
# `affect_lib/experiments/lasca_predictions.py`), and {doc}`the appendix <07_lasca_mechanism>`
# runs them on {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_draws:d` draws:
#
# | experiment | prediction | outcome |
# |---|---|---|
# | cue substitution: training subjects use one cue of each group, test subjects its partner | fusion beats features-only by ≥ 3 points, interval above 0 | {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_substitution_held:s`: {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_substitution_fusion_minus_features:+.3f` ({glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_substitution_fusion_minus_features_lo:+.3f` to {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_substitution_fusion_minus_features_hi:+.3f`) |
# | shuffled lexicon (meaning destroyed) under substitution | shuffled − features-only contains 0 | {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_shuffled_held:s`: {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_shuffled_shuffled_minus_features:+.3f` ({glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_shuffled_shuffled_minus_features_lo:+.3f` to {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_shuffled_shuffled_minus_features_hi:+.3f`) |
# | learning curve, 2–12 training subjects | fusion − features larger at 2–4 subjects than at 12, on both targets | {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_curve_held:s` |
# | 30 % and 50 % of channels missing at test time | fusion degrades less than features-only | {glue:text}`07_lasca_mechanism.ipynb::lasca_prereg_missing_held:s` |
#
# A prediction that did not hold is a result: on this corpus and at this size, the evidence does
# not show the mechanism at work, and the intervals say how large an effect could have been missed.

# %% [markdown]
# ## Exercises
#
# The exercises use this notebook's `Z`, `i`, `masks` and `affective`. In the book the solutions
# are folded away; in a student copy (`make student`) a `# TODO` cell takes their place.
#
# ```{exercise} Otsu's threshold by hand
# :label: ex-05-otsu
#
# For window `i`, build a 256-bin histogram of its 73 normalised values `Z[i]` over their range,
# and for every cut between bins compute the between-class variance $w_0 w_1 (\mu_0 - \mu_1)^2$
# (weights and means of the two sides, bin centres as values). Take the bin centre that maximises
# it and compare with `otsu_threshold(Z[i])`.
# ```
#
# ```{solution-start} ex-05-otsu
# :class: dropdown
# ```

# %% tags=["solution"]
counts, edges = np.histogram(Z[i], bins=256, range=(Z[i].min(), Z[i].max()))
centres = (edges[:-1] + edges[1:]) / 2
n_low = np.cumsum(counts)[:-1]
w0 = n_low / counts.sum()
mu0 = np.cumsum(counts * centres)[:-1] / np.maximum(n_low, 1)
mu1 = np.cumsum((counts * centres)[::-1])[::-1][1:] / np.maximum(
    np.cumsum(counts[::-1])[::-1][1:], 1
)
between = w0 * (1 - w0) * (mu0 - mu1) ** 2
print(
    f"by hand {centres[:-1][np.argmax(between)]:.4f}, "
    f"library {otsu_threshold(Z[i]):.4f}"
)

# %% [markdown]
# The cut after bin $k$ puts bins $0..k$ in the lower class; the threshold is that bin's centre.
#
# ```{solution-end}
# ```
#
# ```{exercise} Write a lexicon entry
# :label: ex-05-lexicon
#
# Replace the description of `jawOpen` with your own and print, for a window where `jawOpen` is
# salient, the template text with the book's lexicon and with yours (`describe(mask, lexicon)`).
# Which part changes, and would a window without `jawOpen` get another embedding?
# ```
#
# ```{solution-start} ex-05-lexicon
# :class: dropdown
# ```

# %% tags=["solution"]
mine = dict(
    affective, jawOpen="Mouth hanging open (AU26): mostly talking, weak arousal."
)
hits = np.flatnonzero(masks[:, FEATURE_NAMES.index("jawOpen")])
j = int(hits[0]) if len(hits) else 0  # a window where jawOpen is salient
for lexicon in (affective, mine):
    text = describe(masks[j], lexicon)
    start = text.find(lexicon["jawOpen"][:12])
    print(f"...{text[max(0, start - 40) : start + 110]}...")

# %% [markdown]
# Only the `jawOpen` sentence changes, and only in windows where it is salient: a window without it
# keeps its text and its embedding. An edited lexicon starts a new embedding store (the store's name
# carries a hash of the whole lexicon), so stale embeddings are never reused.
#
# ```{solution-end}
# ```
