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
# # 1. Data preparation: SynthMOSEI
#
# CMU-MOSEI cannot be downloaded here, and even where it can, nobody knows *which* modality caused
# an annotator's label. This book therefore starts from **SynthMOSEI**, a synthetic corpus shaped
# like CMU-MOSEI (same label space, feature dimensions, speaker structure and padding convention)
# whose causal structure is known: every utterance has a ground-truth **driver modality**.
#
# **What you will learn**
# - how SynthMOSEI is generated, and why a planted driver modality makes explanation methods testable;
# - the class and driver balance of each split;
# - what the three modalities look like over time, including conflicting (sarcasm-like) cues;
# - how much each modality tells on its own, measured with linear probes, and why no single
#   modality is enough.
#
# Real data (CMU-MOSEI computational sequences) plug in through `data_source` and `data_dir`;
# see the data cards.

# %% tags=["parameters"]
profile = "book"  # smoke | book | paper
seed = 0
device = "auto"
data_source = "synthetic"
data_dir = None
run_dir = None  # None: _build/runs/<profile>
# any other config key, e.g. {"n_train": 500, "driver_mix": [0.6, 0.2, 0.2]}
overrides = {}
probe_C = 1.0  # inverse L2 strength of the linear probes

# %%
import lightning as L
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from affect_lib.config import load_profile
from affect_lib.data.datamodule import build_datamodule
from affect_lib.eval.probes import probe_modalities
from affect_lib.io import write_json
from affect_lib.plots.chapters import (
    class_driver_balance,
    modality_heatmaps,
    probe_accuracy_bars,
)
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
pd.set_option("display.precision", 3)
print(f"profile={cfg.profile} seed={cfg.seed} data_source={cfg.data_source}")
print(
    {
        k: getattr(cfg.data, k)
        for k in ("n_train", "n_val", "n_test", "seq_len", "n_speakers")
    }
)

# %% [markdown]
# ## The generative process
#
# Each modality $m \in \{\text{text}, \text{audio}, \text{video}\}$ expresses affect in a small
# $k$-dimensional subspace: orthonormal class prototypes $P_m \in \mathbb{R}^{6\times k}$ embedded
# in the feature space by a fixed orthonormal map $W_m \in \mathbb{R}^{k \times D_m}$. For an
# utterance with dominant emotion $y$, intensity $I$, speaker $s$ and driver modality $d$, step $t$ of
# modality $m$ is
#
# $$
# x_m[t] = \sigma_m\Big(\big(a_m[t]\, P_m[c_m] + b_{m,s} + u_m[t]\big) W_m + \varepsilon_m[t]\Big),
# \qquad g = \tfrac12 + \tfrac{I}{3},
# $$
#
# where the driver ($m = d$) shows the true class, $c_d = y$, with amplitude $a_d = \alpha\, g$
# ($\alpha$ = `driver_strength`) inside a short **evidence window** and nothing outside it, while
# every other modality shows a weak cue, $a_m = \omega\, g$ ($\omega$ = `weak_strength`), of the
# true class or, with probability
# `conflict_prob`, of another emotion. $b_{m,s}$ is a speaker offset (splits are
# speaker-disjoint), $u_m$ AR(1) noise, $\varepsilon_m$ i.i.d. feature noise and $\sigma_m$ a raw
# scale that differs between modalities (as COVAREP and FACET features do). Labels are
# multi-label intensities in $[0, 3]$ in multiples of $1/3$, in the CMU-MOSEI order
# happy, sad, anger, surprise, disgust, fear; `label` is the dominant one.

# %%
dm = build_datamodule(cfg)
corpora = dm.corpora
sizes = {split: len(c) for split, c in corpora.items()}
glue("n_train", sizes["train"], display=False)
glue("n_val", sizes["val"], display=False)
glue("n_test", sizes["test"], display=False)
pd.DataFrame(
    {
        "utterances": sizes,
        "speakers": {s: len(np.unique(c.speaker)) for s, c in corpora.items()},
    }
).T

# %% [markdown]
# The splits hold {glue:text}`n_train` / {glue:text}`n_val` / {glue:text}`n_test` utterances
# (train / validation / test), and no speaker appears in two splits, like CMU-MOSEI's standard folds.
#
# ## Class and driver balance

# %%
train = corpora["train"]
balance = pd.crosstab(
    pd.Categorical.from_codes(train.label, EMOTIONS),
    pd.Categorical.from_codes(train.driver, MODALITIES),
    rownames=["emotion"],
    colnames=["driver"],
    margins=True,
)
balance

# %%
class_driver_balance(corpora)
plt.show()

# %% [markdown]
# Emotions are mildly imbalanced (happy is the most frequent, as in CMU-MOSEI, though far less
# extreme), and the driver mix is independent of the emotion, so a model cannot shortcut the driver
# from the label. Co-occurring emotions make the labels multi-label:

# %%
present = (train.emotions > 0).sum(axis=1)
pd.Series(present).value_counts().sort_index().rename_axis("emotions present").to_frame(
    "utterances"
).T

# %% [markdown]
# ## What an utterance looks like
#
# One test utterance per driver modality. Each panel is one modality's features (rows, at most 35
# shown) over time (columns), z-scored per feature; the white columns on the left are padding
# (sequences are left-padded like the CMU-MultimodalSDK's). The black box marks the driver's
# evidence window. Note how little of the sequence carries the strong cue.

# %%
test = corpora["test"]
# one utterance per planted driver; real data have no driver (-1): then the first three
# utterances
examples = [
    int(np.flatnonzero(test.driver == d)[0])
    for d in range(len(MODALITIES))
    if np.any(test.driver == d)
]
examples = examples if len(examples) == len(MODALITIES) else [0, 1, 2][: len(test)]
modality_heatmaps(test, examples)
plt.show()

# %% [markdown]
# ## How much does each modality tell on its own?
#
# A linear probe (standardised features, multinomial logistic regression) is trained on the
# mean over valid steps of one modality, or of all three concatenated, and scored on the test split.

# %%
probes = probe_modalities(train, test, C=probe_C)
overall = {name: round(r.accuracy, 4) for name, r in probes.items()}
by_driver = {
    name: [
        round(
            float(
                np.mean(r.predictions[test.driver == d] == test.label[test.driver == d])
            ),
            4,
        )
        for d in range(len(MODALITIES))
    ]
    for name, r in probes.items()
}
for name, acc in overall.items():
    glue(f"probe_acc_{name}", acc, display=False)
# each single-modality probe on the utterances its modality drives
for d, m in enumerate(MODALITIES):
    glue(f"probe_acc_{m}_driven", by_driver[m][d], display=False)
table = pd.DataFrame(
    {
        "accuracy": overall,
        "balanced accuracy": {
            n: round(r.balanced_accuracy, 4) for n, r in probes.items()
        },
        "macro F1": {n: round(r.macro_f1, 4) for n, r in probes.items()},
    }
    | {
        f"acc | driver={m}": {n: v[d] for n, v in by_driver.items()}
        for d, m in enumerate(MODALITIES)
    }
)
table

# %%
# always the most frequent class
chance = round(float(np.max(np.bincount(test.label)) / len(test)), 4)
glue("probe_chance", chance, display=False)
probe_accuracy_bars(overall, by_driver, chance=chance)
plt.show()

# %% [markdown]
# Each single-modality probe is right mostly on the utterances that its modality drives: text
# {glue:text}`probe_acc_text_driven:.3f`, audio {glue:text}`probe_acc_audio_driven:.3f` and video
# {glue:text}`probe_acc_video_driven:.3f` there, against {glue:text}`probe_acc_text:.3f`,
# {glue:text}`probe_acc_audio:.3f` and {glue:text}`probe_acc_video:.3f` over the whole test split
# (always answering the most frequent class scores {glue:text}`probe_chance:.3f`). Elsewhere it
# only sees weak or conflicting cues (the table's other columns). The concatenation reaches
# {glue:text}`probe_acc_concat:.3f`: the evidence is
# spread across modalities, which is exactly the setting where a model has to learn *which*
# modality to trust for each utterance, the job of Affect-Diff's causal attention graph.

# %%
# The book's claims, checked where they are made (book profile, SynthMOSEI): no modality
# alone solves the task, the concatenation is far better, and each probe is right mostly
# where its modality drives.
if cfg.profile == "book" and cfg.data_source == "synthetic":
    assert max(overall[m] for m in MODALITIES) <= 0.9, overall
    assert overall["concat"] >= max(overall[m] for m in MODALITIES) + 0.15, overall
    for d, m in enumerate(MODALITIES):
        assert (
            by_driver[m][d]
            >= max(v for j, v in enumerate(by_driver[m]) if j != d) + 0.2
        ), (m, by_driver[m])
summary = {
    "profile": cfg.profile,
    "seed": cfg.seed,
    "sizes": sizes,
    "probe_accuracy": overall,
    "probe_accuracy_by_driver": by_driver,
    "fingerprints": {split: c.fingerprint() for split, c in corpora.items()},
}
write_json(cfg.run_path / "data" / "synth_mosei_summary.json", summary)
print(
    "wrote data/synth_mosei_summary.json (sizes, probe accuracies, SHA-256 of each "
    "split) in the run folder"
)

# %% [markdown]
# ## Summary
#
# - SynthMOSEI reproduces CMU-MOSEI's interface (labels, dims, padding, speaker-disjoint folds)
#   with a known driver modality per utterance.
# - No single modality is enough; together they are far better. This is what the causal graph of
#   notebook 2 has to exploit, and what the counterfactual explanations are scored against.
# - Rerun with other parameters, e.g. a text-dominated corpus:
#   `affect-book run --profile book --only 01 -p driver_mix "[0.7, 0.15, 0.15]"`.

# %% [markdown]
# ## Exercises
#
# Each exercise works on this notebook's objects (`cfg`, `corpora`, `train`, `test`, `by_driver`) and
# runs in a few seconds. In the book the solution is folded away below each
# exercise; in a student copy (`make student`) a `# TODO` cell takes its place: write your answer there.
#
# ```{exercise} Change the driver mix
# :label: ex-01-driver-mix
#
# A text-dominated corpus draws the driver with probabilities `driver_mix = (0.7, 0.15, 0.15)`
# instead of `(0.4, 0.3, 0.3)`. **Predict** the text probe's test accuracy on it from the
# `acc | driver=...` columns of the probe table, assuming the probe itself does not change. Then
# **measure** it: generate the corpus with
# `generate_synth_mosei(dataclasses.replace(cfg.data, driver_mix=...), seed=cfg.seed)` (from
# `affect_lib.data.synthetic.mosei`) and fit `linear_probe` on `pool_features(corpus, "text")` (from
# `affect_lib.eval.probes`). Is the prediction too low or too high, and why?
# ```
#
# ```{solution-start} ex-01-driver-mix
# :class: dropdown
# ```
#
# A fixed probe's accuracy is the driver-weighted mean of its per-driver accuracies,
# $\sum_d \pi_d\, \text{acc}(\text{text} \mid \text{driver}=d)$, with the new mix $\pi$:

# %% tags=["solution"]
import dataclasses

from affect_lib.data.synthetic.mosei import generate_synth_mosei
from affect_lib.eval.probes import linear_probe, pool_features

text_mix = (0.7, 0.15, 0.15)
predicted = float(np.dot(text_mix, by_driver["text"]))
text_corpora = generate_synth_mosei(
    dataclasses.replace(cfg.data, driver_mix=text_mix), seed=cfg.seed
)
tr, te = text_corpora["train"], text_corpora["test"]
text_probe = linear_probe(
    pool_features(tr, "text"),
    tr.label,
    pool_features(te, "text"),
    te.label,
    modality="text",
)
text_driven = te.driver == 0
pd.Series(
    {
        "predicted (probe unchanged)": predicted,
        "measured": text_probe.accuracy,
        "measured | driver=text": float(
            np.mean(text_probe.predictions[text_driven] == te.label[text_driven])
        ),
        "this notebook's probe | driver=text": by_driver["text"][0],
    }
).round(3).to_frame("text probe accuracy")

# %% tags=["solution"]
# the answer is about the book profile
if cfg.profile == "book" and cfg.data_source == "synthetic":
    assert text_probe.accuracy > predicted + 0.03, (text_probe.accuracy, predicted)
    assert (
        np.mean(text_probe.predictions[text_driven] == te.label[text_driven])
        > by_driver["text"][0] + 0.03
    )

# %% [markdown]
# The measurement beats the prediction because the probe does change: trained on a corpus where
# most utterances carry the strong text cue, it learns that cue better and is more accurate on the
# text-driven utterances than the probe of this notebook. The mixture formula holds for a fixed
# model; shifting the training distribution also moves the per-driver accuracies.
#
# ```{solution-end}
# ```
#
# ```{exercise} Pool over the evidence window
# :label: ex-01-evidence-window
#
# The probes average each feature over the whole utterance, but the driver shows its cue only inside
# the evidence window `corpus.window[i] = [start, end)` (time-step indices of the padded sequence,
# like `corpus.mask`'s columns). Pool the text features over that window only
# (train and test), refit the text probe, and compare its accuracy on text-driven test utterances
# with the probe table's `acc | driver=text`. What does the gap say a model must learn besides
# *which* modality to trust?
# ```
#
# ```{solution-start} ex-01-evidence-window
# :class: dropdown
# ```

# %% tags=["solution"]
from affect_lib.data.synthetic.mosei import generate_synth_mosei
from affect_lib.eval.probes import linear_probe


def window_pool(corpus, modality):
    """(N, D) mean of one modality over each utterance's evidence window."""
    steps = np.arange(corpus.seq_len)
    inside = (
        (steps >= corpus.window[:, :1]) & (steps < corpus.window[:, 1:]) & corpus.mask
    )
    return (getattr(corpus, modality) * inside[..., None]).sum(axis=1) / inside.sum(
        axis=1, keepdims=True
    )


# Evidence windows are known only in SynthMOSEI (real data have window = -1): generate
# it if needed.
synth = (
    corpora
    if cfg.data_source == "synthetic"
    else generate_synth_mosei(cfg.data, seed=cfg.seed)
)
w_train, w_test = synth["train"], synth["test"]
window_probe = linear_probe(
    window_pool(w_train, "text"),
    w_train.label,
    window_pool(w_test, "text"),
    w_test.label,
    modality="text",
)
text_driven = w_test.driver == 0
pd.Series(
    {
        "whole utterance (probe table)": by_driver["text"][0],
        "evidence window only": float(
            np.mean(window_probe.predictions[text_driven] == w_test.label[text_driven])
        ),
    },
).round(3).to_frame("text probe accuracy | driver=text")

# %% tags=["solution"]
# the answer is about the book profile
if cfg.profile == "book" and cfg.data_source == "synthetic":
    window_errors = 1 - np.mean(
        window_probe.predictions[text_driven] == w_test.label[text_driven]
    )
    # "most of the errors disappear"
    assert window_errors < 0.5 * (1 - by_driver["text"][0]), window_errors

# %% [markdown]
# Averaging over the whole utterance dilutes the driver's cue with the steps around the window
# (about a third of an utterance), and most of the text probe's errors on text-driven utterances
# disappear once it looks at the right steps. A model therefore has to find *when* the evidence
# appears as well as *which* modality carries it: the encoders' masked max pooling (chapter 2) and
# attention over time are there for this.
#
# ```{solution-end}
# ```
