"""How hard is SynthAffWild's preference task for learners on the raw features? (the
data card's table)

``data_cards/synth_affwild.md`` calibrates the generator with pairwise accuracies of
learners on the 73-d feature deltas Δx alone: raw window means and the same features
z-scored within each video (what a person-relative saliency can exploit), per target,
and with the face or the voice features only. This script produces that table::

    .venv/bin/python scripts/synth_affwild_calibration.py  # book size, 5 s / tau 20 %
    .venv/bin/python scripts/synth_affwild_calibration.py --window 3 --tau 0.1

Protocol: data seeds ``--data-seeds`` (book profile size), for each ``--splits``
subject-independent splits
(:func:`~affect_lib.experiments.lasca_protocol.subject_split`, a quarter of the subjects
held out), pairs of consecutive windows whose relative change exceeds tau
(:func:`~affect_lib.lasca.pairs.preference_pairs`), training pairs used in both orders.
Learners: logistic regression on standardised Δx (C = 0.1) and the book's preference MLP
(:func:`~affect_lib.lasca.preference.fit_preference`) with its 8-row and with
scikit-learn's 200-row mini-batches. Prints a markdown table (mean over seeds x splits)
and writes every fit to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from affect_lib.config import load_profile
from affect_lib.experiments.lasca_protocol import subject_split
from affect_lib.io import write_json
from affect_lib.lasca.folders import synth_affwild_windows
from affect_lib.lasca.names import FACE_FEATURES, N_FEATURES
from affect_lib.lasca.pairs import pair_deltas, preference_pairs, symmetrise
from affect_lib.lasca.preference import fit_preference, pairwise_accuracy
from affect_lib.lasca.saliency import normalise
from affect_lib.publish.cli import parse_value

# FEATURE_NAMES: 52 blendshapes + 6 head pose, then 15 MFCCs
N_FACE = len(FACE_FEATURES)
MLP_BATCH_ROWS = {"MLP, 8-row batches": 8, "MLP, 200-row batches": 200}
LEARNERS = ("logistic regression", *MLP_BATCH_ROWS)
FEATURES = {
    "raw": slice(0, N_FEATURES),
    "per-video z": slice(0, N_FEATURES),
    "face only (raw)": slice(0, N_FACE),
    "voice only (raw)": slice(N_FACE, N_FEATURES),
}


def _fit(
    learner: str, dZ: np.ndarray, labels: np.ndarray, train: np.ndarray, seed: int
) -> float:
    """Pairwise accuracy on the test pairs of one learner trained on the others."""
    if learner == "logistic regression":
        X, y = symmetrise(dZ[train], labels[train])
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=0.1, max_iter=1000)
        ).fit(X, y)
        return float(np.mean(model.predict(dZ[~train]) == labels[~train]))
    model = fit_preference(
        dZ[train], labels[train], seed=seed, batch_size=MLP_BATCH_ROWS[learner]
    )
    return pairwise_accuracy(model, dZ[~train], labels[~train])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-seeds", type=int, default=5, help="data seeds 0 .. N-1")
    ap.add_argument(
        "--splits", type=int, default=10, help="subject splits per data seed"
    )
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--tau", type=float, default=0.2)
    ap.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="config key of the book profile (e.g. n_subjects 24)",
    )
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument(
        "--cache", type=Path, default=Path("_build/lasca_sweep/calibration")
    )
    ap.add_argument(
        "--out", type=Path, default=Path("_build/lasca_sweep/calibration.json")
    )
    args = ap.parse_args(argv)
    cfg = load_profile("book", **{k: parse_value(v) for k, v in args.p}).lasca
    if args.window not in cfg.windows_s:
        ap.error(f"--window {args.window:g} is not one of windows_s {cfg.windows_s}")
    start = time.perf_counter()
    tasks, pair_counts = [], {}
    for seed in range(args.data_seeds):
        ws = synth_affwild_windows(cfg, seed, args.window, args.cache)
        subjects = np.asarray(ws.subject).astype(str)
        views = {
            name: (normalise(ws.X, ws.video) if name == "per-video z" else ws.X)[
                :, cols
            ]
            for name, cols in FEATURES.items()
        }
        for target in ("arousal", "valence"):
            pairs = preference_pairs(getattr(ws, target), ws.video, ws.index, args.tau)
            pair_counts.setdefault(target, []).append(len(pairs))
            # shared by splits and learners
            deltas = {name: pair_deltas(X, pairs) for name, X in views.items()}
            for split in range(args.splits):
                train = ~np.isin(
                    subjects, subject_split(subjects, cfg.test_subjects, split)
                )[pairs.first]
                for name, dZ in deltas.items():
                    learners = (
                        LEARNERS if name in ("raw", "per-video z") else LEARNERS[:1]
                    )
                    for learner in learners:
                        key = {
                            "data_seed": seed,
                            "target": target,
                            "split": split,
                            "features": name,
                            "learner": learner,
                        }
                        tasks.append((key, learner, dZ, pairs.label, train, split))
    accs = Parallel(n_jobs=args.n_jobs)(delayed(_fit)(*task[1:]) for task in tasks)
    table = pd.DataFrame(
        [{**task[0], "accuracy": acc} for task, acc in zip(tasks, accs, strict=True)]
    )
    mean = (
        table.groupby(["learner", "target", "features"], sort=False)["accuracy"]
        .mean()
        .unstack(["target", "features"])
    )
    print(
        f"SynthAffWild, {cfg.n_subjects} subjects, {args.window:g} s windows, tau "
        f"{args.tau:.0%}: pairwise accuracy, mean over "
        f"{args.data_seeds} data seeds x {args.splits} subject splits; pairs per data "
        f"seed: " + ", ".join(f"{t} {np.mean(c):.0f}" for t, c in pair_counts.items())
    )
    print(
        "\n| learner (on Δx) | "
        + " | ".join(f"{t} {f}" for t, f in mean.columns)
        + " |"
    )
    print("|---|" + "---|" * len(mean.columns))
    for learner, row in mean.iterrows():
        print(
            f"| {learner} | "
            + " | ".join("" if np.isnan(v) else f"{v:.2f}" for v in row)
            + " |"
        )
    print(f"\n{len(table)} fits in {time.perf_counter() - start:.0f} s")
    write_json(
        args.out,
        {
            "window_s": args.window,
            "tau": args.tau,
            "fits": table.to_dict(orient="records"),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
