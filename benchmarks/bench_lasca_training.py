"""Training the preference MLP: scikit-learn's ``MLPClassifier.partial_fit`` against
:class:`AdamMLP`.

    .venv/bin/python benchmarks/bench_lasca_training.py [--repeats 3] [--epochs 10] \\
        [--out _build/bench/lasca_training.json]

Chapter 5 fits about 1,300 preference MLPs. Both learners run ``--epochs`` Adam epochs
on the same training rows, with one BLAS thread as in the chapter, for the features-only
input (73 values) and the fusion input (73 + 384), at the book's mini-batch of 8 rows
and at 32 and 200; the weights must come out bit for bit equal. Rows: SynthAffWild at
the book profile, arousal, 5 s windows, tau 20 %, the train subjects of seed 0,
symmetrised and standardised as ``fit_preference`` does. The budget is the one this
learner exists for: at least 2x faster at the book's batch size.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, report  # noqa: E402

from affect_lib.config import load_profile  # noqa: E402
from affect_lib.experiments.lasca_protocol import subject_split  # noqa: E402
from affect_lib.experiments.lasca_representations import represent  # noqa: E402
from affect_lib.lasca.folders import synth_affwild_windows  # noqa: E402
from affect_lib.lasca.mlp import AdamMLP  # noqa: E402
from affect_lib.lasca.pairs import pair_deltas, preference_pairs, symmetrise  # noqa: E402
from affect_lib.paths import project_root  # noqa: E402

SPEEDUP_BUDGET = 2.0


def training_rows(variant: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows, D) float32 standardised pair deltas and (rows,) labels of the book's 5 s /
    20 % arousal cell."""
    cfg = load_profile("book").lasca
    ws = synth_affwild_windows(
        cfg, 0, 5.0, project_root() / "_build" / "bench" / "lasca_data"
    )
    rep = represent(
        ws, (cfg.encoder,) if variant == "fusion" else (), lexicons=("affective",)
    )
    Z = rep.inputs(variant, cfg.encoder)
    pairs = preference_pairs(ws.arousal, ws.video, ws.index, 0.2)
    train = ~np.isin(
        np.asarray(ws.subject).astype(str),
        subject_split(ws.subject, cfg.test_subjects, 0),
    )
    keep = train[pairs.first]
    X, y = symmetrise(pair_deltas(Z, pairs)[keep], pairs.label[keep])
    return StandardScaler().fit_transform(X).astype(np.float32), y


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default="_build/bench/lasca_training.json")
    args = parser.parse_args()
    hidden = load_profile("book").lasca.hidden
    rows, speedups = [], {}
    for variant in ("features", "fusion"):
        X, y = training_rows(variant)
        for batch in (8, 32, 200):

            def sk(b=batch, X=X, y=y) -> MLPClassifier:
                mlp = MLPClassifier(
                    hidden_layer_sizes=(hidden,),
                    alpha=1.0,
                    batch_size=min(b, len(y)),
                    random_state=np.random.RandomState(0),
                )
                for _ in range(args.epochs):
                    mlp.partial_fit(X, y, classes=np.array([0, 1]))
                return mlp

            def ours(b=batch, X=X, y=y) -> AdamMLP:
                mlp = AdamMLP(hidden, alpha=1.0, batch_size=b, random_state=0)
                for _ in range(args.epochs):
                    mlp.partial_fit(X, y)
                return mlp

            with threadpool_limits(limits=1, user_api="blas"):
                ours()  # loads (or compiles) the Adam kernel outside the timing
                t_sk, a = best_time(sk, args.repeats)
                t_ours, b = best_time(ours, args.repeats)
            same = all(
                np.array_equal(p, q)
                for p, q in zip(
                    a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True
                )
            )
            if not same:
                raise SystemExit(
                    f"AdamMLP's weights differ from scikit-learn's ({variant}, batch "
                    f"{batch})"
                )
            speedups[(variant, batch)] = t_sk / t_ours
            rows.append(
                {
                    "name": f"{variant} input ({X.shape[1]}), {batch}-row batches",
                    "rows": len(y),
                    "sklearn_ms_per_epoch": 1e3 * t_sk / args.epochs,
                    "adammlp_ms_per_epoch": 1e3 * t_ours / args.epochs,
                    "speedup": t_sk / t_ours,
                }
            )
    checks = {
        f"AdamMLP speed-up over MLPClassifier.partial_fit, batch 8, {v} input": (
            speedups[(v, 8)],
            ">=",
            SPEEDUP_BUDGET,
        )
        for v in ("features", "fusion")
    }
    extra = {
        "epochs": args.epochs,
        "cpu_count": os.cpu_count(),
        "identical_weights": True,
    }
    return report("lasca_training", args.out, rows, checks, extra=extra)


if __name__ == "__main__":
    raise SystemExit(main())
