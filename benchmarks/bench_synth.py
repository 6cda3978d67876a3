"""SynthMOSEI generation at paper scale (budget: <= 30 s on 2 cores).

    .venv/bin/python benchmarks/bench_synth.py [--repeats 2] [--out _build/bench/synth.json]

Also times 1 worker vs all cores on the same corpus (a ratio, robust to a noisy machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from affect_lib.config import load_profile
from affect_lib.data.synthetic import generate_synth_mosei
from affect_lib.io import write_json

BUDGET_S = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="_build/bench/synth.json")
    args = parser.parse_args()
    cfg = load_profile("paper").data
    times = {"all_cores": [], "one_worker": []}
    for _ in range(args.repeats):
        for name, workers in (("all_cores", None), ("one_worker", 1)):
            start = time.perf_counter()
            corpora = generate_synth_mosei(cfg, seed=0, workers=workers)
            times[name].append(time.perf_counter() - start)
            del corpora
    best = {k: min(v) for k, v in times.items()}
    result = {"benchmark": "synth_mosei_paper_generation", "cores": os.cpu_count(),
              "utterances": cfg.n_train + cfg.n_val + cfg.n_test, "seconds": best,
              "speedup_all_cores_vs_one": best["one_worker"] / best["all_cores"],
              "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
              "budget_s": BUDGET_S, "within_budget": best["all_cores"] <= BUDGET_S}
    write_json(args.out, result)
    print(f"{'contender':<12} {'best s':>8}")
    for k, v in best.items():
        print(f"{k:<12} {v:8.2f}")
    print(f"ratio one/all = {result['speedup_all_cores_vs_one']:.2f}x; budget {BUDGET_S:.0f} s: "
          f"{'OK' if result['within_budget'] else 'MISSED'}; peak RSS {result['peak_rss_gb']:.1f} GB")
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
