"""SynthMOSEI generation at paper scale (budget: <= 30 s on 2 cores).

    .venv/bin/python benchmarks/bench_synth.py [--repeats 2] \\
        [--out _build/bench/synth.json]

Also times 1 worker vs all cores on the same corpus.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, report  # noqa: E402

from affect_lib.config import load_profile  # noqa: E402
from affect_lib.data.synthetic.mosei import generate_synth_mosei  # noqa: E402

BUDGET_S = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="_build/bench/synth.json")
    args = parser.parse_args()
    cfg = load_profile("paper").data
    n = cfg.n_train + cfg.n_val + cfg.n_test
    t_all, _ = best_time(lambda: len(generate_synth_mosei(cfg, seed=0)), args.repeats)
    t_one, _ = best_time(lambda: len(generate_synth_mosei(cfg, seed=0, workers=1)), 1)
    rows = [
        {
            "contender": f"all {os.cpu_count()} cores",
            "seconds": t_all,
            "utterances_per_s": n / t_all,
        },
        {"contender": "1 worker", "seconds": t_one, "utterances_per_s": n / t_one},
    ]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return report(
        "synth_mosei_paper_generation",
        args.out,
        rows,
        {"paper-scale generation seconds": (t_all, "<=", BUDGET_S)},
        extra={
            "utterances": n,
            "peak_rss_gb": peak,
            "speedup_all_vs_one": t_one / t_all,
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
