"""What the notebook kernels' code-path pins cost in speed: one chapter-6 training run under each pin set.

    .venv/bin/python benchmarks/bench_kernel_pins.py [--repeats 1]

The notebook kernels run with :func:`affect_lib.provenance.kernel_pins` (each library's AVX2 code on
x86-64), so that machines of different kinds run the same code. :data:`affect_lib.kernel_probe.PORTABLE_PINS`
are the libraries' most conservative paths, a candidate for bitwise agreement across processor
vendors (the notebooks' stamps record both pin sets' kernel hashes). The variables are read when
numpy and torch load, so each pin set gets a fresh interpreter, which trains and scores chapter 6's
``full`` variant once (book profile, seed 0, one thread; the data are built before the timing).

Claim: the pins cost at most 25 % against the libraries' own choice (pinned / unpinned run time
<= 1.25). The portable pins' cost is reported, not budgeted: it is what a switch to them would cost.
The scores of each run are reported too: another code path gives other trained numbers, not worse ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import report  # noqa: E402

from affect_lib.kernel_probe import PORTABLE_PINS  # noqa: E402
from affect_lib.provenance import X86_PINS, kernel_pins  # noqa: E402

WORKLOAD = """
import json, sys
from affect_lib.config import load_profile
from affect_lib.eval.ablation import VARIANTS, _data, run_variant
cfg = load_profile("book", seed=0)
_data(cfg)  # the corpus, built once per process (cached), outside the timed runs
runs = [run_variant(cfg, VARIANTS["full"], 0) for _ in range(int(sys.argv[1]))]
print(json.dumps({"seconds": min(r.scores["seconds"] for r in runs),
                  **{k: round(runs[-1].scores[k], 4) for k in ("accuracy", "driver_acc", "cf_validity")}}))
"""


def timed_run(pins: dict[str, str], repeats: int) -> dict:
    """Seconds of the best of ``repeats`` runs and the last run's scores, in a fresh interpreter with ``pins``."""
    env = {k: v for k, v in os.environ.items() if k not in X86_PINS}
    env.update(pins, HF_HUB_OFFLINE="1", PYTHONHASHSEED="0")
    done = subprocess.run([sys.executable, "-c", WORKLOAD, str(repeats)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"[bench_kernel_pins] run with {pins} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", default="_build/bench/kernel_pins.json")
    args = parser.parse_args()
    pinned = kernel_pins()
    if not set(X86_PINS) <= set(pinned):
        print("[bench_kernel_pins] the kernels are not pinned on this CPU (not x86-64 with AVX2 and FMA): nothing to compare")
        return 0
    sets = {"unpinned": {}, "pinned": pinned, "portable": dict(PORTABLE_PINS)}
    results = {name: timed_run(pins, args.repeats) for name, pins in sets.items()}
    base = results["unpinned"]["seconds"]
    rows = [{"name": name, **r, "vs unpinned": r["seconds"] / base} for name, r in results.items()]
    checks = {"pinned / unpinned run time": (results["pinned"]["seconds"] / base, "<=", 1.25)}
    return report("kernel_pins", args.out, rows, checks,
                  extra={"pin_sets": sets, "workload": "chapter 6's full variant, book profile, seed 0, one thread",
                         "portable_vs_pinned": results["portable"]["seconds"] / results["pinned"]["seconds"]})


if __name__ == "__main__":
    sys.exit(main())
