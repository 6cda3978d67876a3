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
# # 2. The causal modality graph
#
# Affect-Diff's first question is *which modality drives this prediction?* Its answer is a
# **causal attention graph**: the three pooled modality embeddings are the nodes, attention between
# them becomes a 3×3 adjacency sampled with Gumbel-Softmax, and each modality's **influence** (how
# much the others attend to it) weights the fusion. This notebook studies the graph on its own,
# before the VAE and the diffusion prior are added.
#
# **What you will learn**
# - how self-loop masking, Gumbel-Softmax sampling and temperature annealing shape the adjacency;
# - how to train a small fusion classifier whose only route from a modality to the prediction is
#   that modality's influence weight;
# - that the learned influence weights recover SynthMOSEI's planted driver modality, and what the
#   graph buys over uniform modality weights.

# %% tags=["parameters"]
profile = "book"  # smoke | book | paper
seed = 0
device = "auto"
data_source = "synthetic"
data_dir = None
run_dir = None  # None: _build/runs/<profile>
overrides = {}  # any other config key, e.g. {"gumbel_hard": True, "tau_end": 0.3}
graph_epochs = 6  # training epochs of the fusion classifier
graph_lr = 3e-3

# %%
import lightning as L
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from myst_nb import glue

from affect_lib.affect_diff.causal_graph import (
    CausalAttentionGraph,
    gumbel_temperature,
    sample_adjacency,
)
from affect_lib.baselines.graph_fusion import (
    GraphFusionClassifier,
    evaluate_graph_classifier,
    fit_graph_classifier,
)
from affect_lib.config import load_profile
from affect_lib.data.datamodule import build_datamodule
from affect_lib.devices import resolve_device
from affect_lib.eval.explanations import influence_auroc
from affect_lib.io import write_json
from affect_lib.plots.chapters import (
    adjacency_by_driver,
    gumbel_samples,
    training_curves,
)
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
            "d_model",
            "pooling",
            "tau_start",
            "tau_end",
            "gumbel_schedule",
            "gumbel_hard",
        )
    }
)

# %% [markdown]
# ## From attention scores to a sampled adjacency
#
# With pooled modality embeddings $h_i$ (text, audio, video) the graph computes scaled dot-product
# scores $s_{ij} = \langle W_q h_i, W_k h_j\rangle / \sqrt{d}$ and masks the self-loops **before**
# normalising ($s_{ii} = -\infty$), so each row $i$ spreads all of its attention over the *other*
# modalities. Each row is then sampled with Gumbel-Softmax at temperature $\tau$:
#
# $$
# A_{ij} = \frac{\exp\big((s_{ij} + g_{ij})/\tau\big)}{\sum_{k \ne i} \exp\big((s_{ik} + g_{ik})/\tau\big)},
# \qquad g_{ij} = -\log(-\log U_{ij}),\ U_{ij} \sim \mathcal{U}(0, 1).
# $$
#
# A high $\tau$ gives soft, exploratory edges; as $\tau \to 0$ every row becomes one-hot (a hard
# choice of parent). The *straight-through* variant (`gumbel_hard=True`) uses the one-hot row in
# the forward pass and the soft sample's gradient. Modality $j$'s influence is the attention the
# others pay to it, $\text{infl}_j \propto \sum_i A_{ij}$, and the fusion is
# $\sum_j \text{infl}_j\, h_j$. In evaluation the noise is dropped, so the graph is deterministic.
#
# Here is one row (text looking at audio and video) with fixed scores $s = (1, 0)$, sampled 2,000
# times at four temperatures:

# %%
scores = torch.tensor(
    [[[-np.inf, 1.0, 0.0], [0.0, -np.inf, 0.0], [0.0, 0.0, -np.inf]]]
).repeat(2000, 1, 1)
gen = torch.Generator().manual_seed(cfg.seed)
samples = {
    tau: sample_adjacency(scores, tau=tau, hard=False, stochastic=True, generator=gen)[
        :, 0, 1
    ].numpy()
    for tau in (2.0, 1.0, 0.5, 0.1)
}
gumbel_samples(samples, ("audio", "video"))
plt.show()
pd.DataFrame(
    {
        "mean weight on audio": {t: w.mean() for t, w in samples.items()},
        "share nearly hard (<0.05 or >0.95)": {
            t: np.mean((w < 0.05) | (w > 0.95)) for t, w in samples.items()
        },
    },
).rename_axis("tau")

# %% [markdown]
# A hard Gumbel-max sample would pick audio with probability $\sigma(1) \approx 0.73$. At a high
# $\tau$ the soft samples are blurred mixtures whose mean is pulled toward 1/2; as
# $\tau$ falls they become near-binary choices and their mean approaches 0.73. Training anneals
# $\tau$ from `tau_start` to `tau_end` over all optimisation steps:

# %%
train_steps = graph_epochs * -(-cfg.data.n_train // cfg.data.batch_size)
steps = np.arange(train_steps + 1)
fig, ax = plt.subplots(figsize=(5, 2.6))
for schedule in ("exp", "linear"):
    ax.plot(
        steps,
        [
            gumbel_temperature(
                int(s),
                tau_start=cfg.model.tau_start,
                tau_end=cfg.model.tau_end,
                anneal_steps=train_steps,
                schedule=schedule,
            )
            for s in steps
        ],
        label=schedule,
    )
ax.set_xlabel("optimisation step")
ax.set_ylabel("τ")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# The graph module does all of this for a batch of pooled embeddings. Even untrained, on random
# embeddings, every row of its adjacency must be a distribution over the *other* modalities (self-loops
# masked before the softmax, not zeroed after it) and the influence weights must sum to 1:

# %%
# leaves the global generator where the training below expects it
with torch.random.fork_rng(devices=[]):
    torch.manual_seed(cfg.seed)
    untrained = CausalAttentionGraph(d_model=cfg.model.d_model).train()
    out = untrained(torch.randn(256, len(MODALITIES), cfg.model.d_model))
rows, infl = out.adjacency.sum(dim=-1), out.influence.sum(dim=-1)
print(
    f"rows sum to {rows.min():.4f}..{rows.max():.4f}; largest self-loop weight "
    f"{out.adjacency.diagonal(dim1=1, dim2=2).max():.4f}; influence sums to "
    f"{infl.min():.4f}..{infl.max():.4f}"
)

# %% [markdown]
# ## A fusion classifier that must choose
#
# Each modality has its own encoder (a small Transformer for text, a 1D convolution for audio, an
# MLP for video; see `affect_lib.affect_diff.encoders`), pooled over time by a masked maximum (a short
# salient event survives, where a mean over the utterance would dilute it) and layer-normalised, so
# every modality reaches the fusion with the same energy. The prediction is a linear function of
# $\sum_j \text{infl}_j h_j$: the classifier can only listen to a modality through its influence
# weight. Nothing tells the model which modality is the driver; we only check afterwards.
#
# For comparison the same network is trained with **uniform** weights (the graph switched off).

# %%
dm = build_datamodule(cfg)
train_loader = dm.train_dataloader()
models, history = {}, {}
for name, use_graph in (("graph", True), ("uniform", False)):
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    models[name] = GraphFusionClassifier(
        cfg.model,
        dm.dims,
        anneal_steps=graph_epochs * len(train_loader),
        use_graph=use_graph,
    ).to(dev)
    history[name] = fit_graph_classifier(
        models[name],
        train_loader,
        dm.val_dataloader(),
        epochs=graph_epochs,
        lr=graph_lr,
    )
pd.DataFrame(history["graph"]).set_index("epoch").round(3)

# %%
training_curves(history, ("train_loss", "val_accuracy", "val_driver_acc"))
plt.show()

# %% [markdown]
# (The uniform model's "driver accuracy" is meaningless, its weights are all 1/3; it is drawn only
# to show the scale.)
#
# ## Does the influence recover the planted driver?

# %%
test = dm.corpora["test"]
results = {
    name: evaluate_graph_classifier(m, dm.test_dataloader())
    for name, m in models.items()
}
graph_eval = results["graph"]
graph_driver_acc = round(graph_eval.driver_acc, 4)
glue("graph_driver_acc", graph_driver_acc, display=False)
glue("graph_test_accuracy", round(graph_eval.accuracy, 4), display=False)
glue(
    "graph_uniform_test_accuracy", round(results["uniform"].accuracy, 4), display=False
)
conflict = test.conflict.any(axis=1)
pd.DataFrame(
    {
        name: {
            "test accuracy": r.accuracy,
            "accuracy, some modality conflicts": float(
                np.mean(r.predictions[conflict] == test.label[conflict])
            ),
            "accuracy, no conflict": float(
                np.mean(r.predictions[~conflict] == test.label[~conflict])
            ),
        }
        for name, r in results.items()
    }
).round(3)

# %%
pd.crosstab(
    pd.Categorical.from_codes(test.driver, MODALITIES),
    pd.Categorical.from_codes(graph_eval.influence.argmax(axis=1), MODALITIES),
    rownames=["true driver"],
    colnames=["most influential"],
)

# %%
driver_auroc = {
    name: influence_auroc(r.influence, test.driver) for name, r in results.items()
}
glue("graph_driver_auroc", round(driver_auroc["graph"]["mean"], 4), display=False)
pd.DataFrame(driver_auroc).T.rename_axis("influence AUROC").round(3)

# %%
adjacency_by_driver(graph_eval.adjacency, test.driver)
plt.show()

# %% [markdown]
# The most influential modality is the planted driver for {glue:text}`graph_driver_acc` of the
# test utterances. Top-1 recovery looks only at the largest weight; the AUROC asks of each
# modality whether its weight is higher on the utterances it drives than on the others (0.5 is
# chance, and exactly what the uniform model scores, its weights being all ties). Averaged over the
# three modalities the graph reaches {glue:text}`graph_driver_auroc`. The mean adjacencies show
# how: when text drives, audio and video both attend to text. With the graph the classifier
# reaches {glue:text}`graph_test_accuracy` test accuracy against
# {glue:text}`graph_uniform_test_accuracy` with uniform weights; the gap is
# largest where a non-driver modality shows a conflicting (sarcasm-like) cue, because uniform
# weights let the conflicting modality vote as loudly as the driver.

# %%
# The paragraph's claims, with thresholds that held in every run measured for
# notebooks/tolerances.json. the floors are defined for the book profile
if cfg.profile == "book" and cfg.data_source == "synthetic":
    assert graph_driver_acc >= 0.80, (
        f"graph_driver_acc {graph_driver_acc} is below the 0.80 floor"
    )
    assert (
        driver_auroc["graph"]["mean"] >= 0.9 and driver_auroc["uniform"]["mean"] == 0.5
    ), driver_auroc
    # row = from, column = to
    text_driven = graph_eval.adjacency[test.driver == 0].mean(axis=0)
    assert (
        text_driven[1, 0] > text_driven[1, 2] + 0.2
        and text_driven[2, 0] > text_driven[2, 1] + 0.2
    ), text_driven
    assert graph_eval.accuracy - results["uniform"].accuracy >= 0.05, results
    graph_right = graph_eval.predictions == test.label
    uniform_right = results["uniform"].predictions == test.label
    gap_conflict = graph_right[conflict].mean() - uniform_right[conflict].mean()
    gap_plain = graph_right[~conflict].mean() - uniform_right[~conflict].mean()
    # the gap is largest under conflict
    assert gap_conflict >= gap_plain + 0.03, (
        gap_conflict,
        gap_plain,
    )
write_json(
    cfg.run_path / "graph" / "metrics.json",
    {
        "profile": cfg.profile,
        "seed": cfg.seed,
        "graph_driver_acc": graph_driver_acc,
        "graph_driver_auroc": driver_auroc["graph"],
        "test_accuracy": {name: round(r.accuracy, 4) for name, r in results.items()},
        "history": history,
    },
)
print("wrote graph/metrics.json in the run folder")

# %% [markdown]
# ### One training run among many
#
# The numbers above come from one trained model. `make tolerances` re-executes this chapter with
# seeds 1 and 2 (new data and training) and with other CPU code paths; the table gives what each run
# printed, and the last column how far a rerun may land from the stored number before `make test`
# calls it a regression:

# %%
measured_runs(
    "02_causal_graph.ipynb",
    [
        "graph_driver_acc",
        "graph_driver_auroc",
        "graph_test_accuracy",
        "graph_uniform_test_accuracy",
    ],
).round(3)

# %% [markdown]
# On other processors with the same seed the graph's driver accuracy hardly moves, but with other
# seeds it fell by up to about 15 points, so its tolerance is wide: nbval alone would not notice a
# regression of that size. The claims of this chapter are checked by the asserts above instead, with
# thresholds that held in every one of these runs.
#
# ## Summary
#
# - Self-loops are masked before normalisation, so each row of the adjacency is a distribution
#   over the *other* modalities; Gumbel-Softmax with an annealed temperature moves the edges from
#   soft to nearly discrete.
# - Trained only to classify emotions, the graph learns to route each utterance through its driver
#   modality; uniform weights cannot, and lose accuracy on conflicting cues.
# - Notebook 3 puts this graph in front of the VAE bottleneck and the diffusion prior of the full
#   Affect-Diff model. Try `-p gumbel_hard True` or `-p pooling mean` to see what each choice does.

# %% [markdown]
# ## Exercises
#
# The exercises use this notebook's objects (`scores`, `samples`, `models`, `results`, `test`,
# `conflict`) and run in a few seconds. In the book the solution is folded away below each
# exercise; in a student copy (`make student`) a `# TODO` cell takes its place: write your answer there.
#
# ```{exercise} Gumbel-Softmax by hand
# :label: ex-02-gumbel
#
# Sample the row "text looks at audio and video" with scores $s = (1, 0)$ yourself, with NumPy only:
# draw $U \sim \mathcal{U}(0, 1)$, set $g = -\log(-\log U)$, and compute 2,000 times the soft weight on
# audio, $\operatorname{softmax}\big((s + g)/\tau\big)_\text{audio}$ at $\tau = 0.5$, and the hard
# choice $\arg\max(s + g)$. Compare your mean soft weight with the table above, and the share of hard
# choices that pick audio with $\sigma(1) \approx 0.731$.
# ```
#
# ```{solution-start} ex-02-gumbel
# :class: dropdown
# ```

# %% tags=["solution"]
rng = np.random.default_rng(cfg.seed)
s = np.array([1.0, 0.0])  # scores of audio and video; the self-loop is masked out
g = -np.log(-np.log(rng.uniform(size=(2000, 2))))
tau = 0.5
soft = np.exp((s + g) / tau)
soft_audio = soft[:, 0] / soft.sum(axis=1)
pd.Series(
    {
        "mean soft weight on audio (NumPy)": soft_audio.mean(),
        "mean soft weight on audio (sample_adjacency)": samples[tau].mean(),
        "share of hard choices of audio": np.mean(np.argmax(s + g, axis=1) == 0),
        "sigma(1)": 1 / (1 + np.exp(-1)),
    }
).round(3).to_frame(f"tau = {tau}")

# %% [markdown]
# The two soft means agree up to sampling noise (2,000 draws: a standard error of about 0.01), and the
# share of hard choices of audio matches $\sigma(1)$ up to the same noise: the arg max of Gumbel-perturbed scores is an exact
# sample from $\operatorname{softmax}(s)$ (the *Gumbel-max trick*), and Gumbel-Softmax is its
# differentiable relaxation, which approaches it as $\tau \to 0$.
#
# ```{solution-end}
# ```
#
# ```{exercise} Switch the graph off after training
# :label: ex-02-uniform-at-test
#
# The graph model learned to route each utterance through its influence weights. What happens to its
# test accuracy if you replace them by uniform weights at test time (`models["graph"].use_graph = False`)?
# Predict first: about the uniform model's accuracy, lower, or higher? Then measure it with
# `evaluate_graph_classifier` on all test utterances and on those with a conflicting cue, and switch the
# graph back on afterwards.
# ```
#
# ```{solution-start} ex-02-uniform-at-test
# :class: dropdown
# ```

# %% tags=["solution"]
graph_model = models["graph"]
graph_model.use_graph = False
try:
    ablated = evaluate_graph_classifier(graph_model, dm.test_dataloader())
finally:
    graph_model.use_graph = True
compared = {
    "graph model": graph_eval,
    "graph model, uniform weights at test time": ablated,
    "uniform model": results["uniform"],
}
pd.DataFrame(
    {
        name: {
            "test accuracy": r.accuracy,
            "accuracy, some modality conflicts": float(
                np.mean(r.predictions[conflict] == test.label[conflict])
            ),
        }
        for name, r in compared.items()
    }
).round(3)


# %% tags=["solution"]
def accuracy_on(r, mask):
    return float(np.mean(r.predictions[mask] == test.label[mask]))


# the answer is about the book profile
if cfg.profile == "book" and cfg.data_source == "synthetic":
    drop, drop_conflict = (
        graph_eval.accuracy - ablated.accuracy,
        accuracy_on(graph_eval, conflict) - accuracy_on(ablated, conflict),
    )
    assert (
        0 < drop < drop_conflict
        and ablated.accuracy >= results["uniform"].accuracy + 0.03
    ), (drop, drop_conflict)

# %% [markdown]
# Accuracy drops, most on the utterances with a conflicting cue, but stays above the uniform model:
# training through the graph also shaped the encoders, so that even an equal-weight sum of their
# embeddings does better than a model trained with equal weights. The influence weights add the last
# points, and they matter most exactly where a non-driver modality contradicts the driver.
#
# ```{solution-end}
# ```
