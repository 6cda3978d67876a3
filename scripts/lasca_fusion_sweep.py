"""How much does LaScA's fusion add over features and over the sentence embedding, across data draws?

Chapter 5 reports one SynthAffWild draw (the ``seed`` parameter). With ~40 test pairs per split a
difference of two points on one draw is mostly noise, so this script repeats one protocol cell
(default: arousal, 5 s windows, tau 20 %, the default encoder) over several *data* seeds, data sizes
and generator settings, and prints the gaps ``fusion - features`` and ``fusion - st`` per draw and
on average. Examples::

    .venv/bin/python scripts/lasca_fusion_sweep.py --data-seeds 0-5
    .venv/bin/python scripts/lasca_fusion_sweep.py --data-seeds 0-5 -p n_subjects 24 -p video_seconds 80
    .venv/bin/python scripts/lasca_fusion_sweep.py --data-seeds 0-3 -g base_std 2.2 -g gain_std 1.0

``-p`` sets a config key of the ``book`` profile (as the notebooks' parameters do), ``-g`` a field of
:class:`affect_lib.data.synth_affwild.SynthAffWildParams`. Data and windows are cached under
``--cache`` (one folder per setting and seed); results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from affect_lib.config import load_profile
from affect_lib.data.synth_affwild import SynthAffWildParams
from affect_lib.io import write_json
from affect_lib.lasca.features import synth_affwild_windows
from affect_lib.lasca.protocol import VARIANTS, run_protocol
from affect_lib.lasca.semantic import embedding_cache_dir


def _seeds(text: str) -> list[int]:
    """``"0-5"`` or ``"0,2,7"`` -> seeds."""
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(x) for x in text.split(",")]


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-seeds", type=_seeds, default=_seeds("0-3"))
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"), help="config key")
    ap.add_argument("-g", nargs=2, action="append", default=[], metavar=("FIELD", "VALUE"),
                    help="SynthAffWildParams field")
    ap.add_argument("--target", default="arousal", choices=("arousal", "valence"))
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--tau", type=float, default=0.2)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path("_build/lasca_sweep"))
    ap.add_argument("--out", type=Path, default=Path("_build/lasca_sweep/results.json"))
    args = ap.parse_args(argv)

    overrides = {k: _value(v) for k, v in args.p}
    gen = {k: tuple(v) if isinstance(v := _value(raw), list) else v for k, raw in args.g}
    params = SynthAffWildParams(**gen)  # unknown fields and bad values fail here, with the field's name
    tag = hashlib.sha256(json.dumps([overrides, dataclasses.asdict(params)], sort_keys=True, default=str)
                         .encode()).hexdigest()[:10]
    rows = []
    for seed in args.data_seeds:
        cfg = load_profile("book", seed=seed, **overrides)
        if args.window not in cfg.lasca.windows_s:
            ap.error(f"--window {args.window:g} is not one of windows_s {cfg.lasca.windows_s}")
        start = time.perf_counter()
        ws = synth_affwild_windows(cfg.lasca, seed, args.window, args.cache / f"{tag}_{seed}", params=params)
        result = run_protocol({args.window: ws}, cfg.lasca, seed=seed, targets=(args.target,), taus=(args.tau,),
                              encoders=(cfg.lasca.encoder,), cache_dir=embedding_cache_dir(), n_jobs=args.n_jobs)
        acc = result.summary.set_index("variant")["mean"].to_dict()
        row = {"data_seed": seed, **{v: acc[v] for v in VARIANTS},
               "fusion_minus_features": acc["fusion"] - acc["features"], "fusion_minus_st": acc["fusion"] - acc["st"],
               "test_pairs": float(result.summary["test_pairs"].mean()), "seconds": time.perf_counter() - start}
        rows.append(row)
        print(f"data seed {seed}: " + "  ".join(f"{v} {acc[v]:.3f}" for v in VARIANTS)
              + f"  | fusion-features {row['fusion_minus_features']:+.3f}  fusion-st {row['fusion_minus_st']:+.3f}"
              f"  ({row['test_pairs']:.0f} test pairs per split)", flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("fusion_minus_features", "fusion_minus_st", *VARIANTS)}
    print(f"mean over {len(rows)} draws: fusion-features {mean['fusion_minus_features']:+.3f}, "
          f"fusion-st {mean['fusion_minus_st']:+.3f}")
    write_json(args.out, {"cell": {"target": args.target, "window_s": args.window, "tau": args.tau},
                          "overrides": overrides, "generator": gen, "draws": rows, "mean": mean})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
