"""Chapters 1-4 and 6 on a full-size CMU-MOSEI file set, as a researcher runs them
(budget: <= 45 min on 2 cores, each chapter ending ``ok``).

    .venv/bin/python benchmarks/bench_real_layout_run.py \\
        [--fileset _build/bench/mosei_fileset] [--name mosei-fullsize] \\
        [--out _build/bench/real_layout_run.json]

The file set is ``bench_mosei_alignment.py``'s (3,228 videos, 23,454 labelled segments
in the CMU-MultimodalSDK layout, about 9 GB; generated once and reused). The run is the
README's command, typed at the repository root with the folder as a relative path:

    affect-book run --profile book --only 01 --only 02 --only 03 --only 04 --only 06 \\
        -p data_source cmu_mosei -p data_dir _build/bench/mosei_fileset --name NAME

The chapters' wall times come from the run's ``timings.json`` (``--from-timings``: of
the run already there, without running again). Exits 1 when a chapter fails or a budget
is missed. The budget is 1.5 times the first measurement (29.5 min on an AMD EPYC, 22
of them chapter 6's 30 ablation runs), so that a slower CPU of the same size meets it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import report  # noqa: E402
from bench_mosei_alignment import fileset  # noqa: E402

from affect_lib.io import read_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("01", "02", "03", "04", "06")
TOTAL_BUDGET_S = 2700.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fileset", default="_build/bench/mosei_fileset")
    parser.add_argument("--name", default="mosei-fullsize")
    parser.add_argument("--out", default="_build/bench/real_layout_run.json")
    parser.add_argument(
        "--from-timings", action="store_true", help="report the existing run's times"
    )
    args = parser.parse_args()
    os.chdir(ROOT)  # the folder is typed relative to the repository root
    manifest, generated = fileset(Path(args.fileset), regenerate=False)
    cmd = [str(Path(sys.executable).parent / "affect-book"), "run", "--profile", "book"]
    for nn in CHAPTERS:
        cmd += ["--only", nn]
    cmd += ["-p", "data_source", "cmu_mosei", "-p", "data_dir", args.fileset]
    cmd += ["--name", args.name]
    exit_code = wall = None
    if not args.from_timings:
        start = time.perf_counter()
        exit_code = subprocess.run(cmd, check=False).returncode
        wall = time.perf_counter() - start
    timings_path = ROOT / "_build" / "runs" / args.name / "timings.json"
    notebooks = read_json(timings_path)["notebooks"] if timings_path.is_file() else {}
    rows, done = [], 0
    for nn in CHAPTERS:
        stem = next((s for s in notebooks if s.startswith(nn + "_")), None)
        entry = notebooks.get(stem, {}) if stem else {}
        ok = entry.get("status") == "ok"
        done += ok
        rows.append(
            {
                "notebook": stem or nn,
                "seconds": entry.get("seconds"),
                "status": entry.get("status", "not run"),
            }
        )
    total = sum(r["seconds"] or 0.0 for r in rows)
    return report(
        "real_layout_run",
        args.out,
        rows,
        {
            "chapters 1-4 and 6 ending ok": (float(done), ">=", float(len(CHAPTERS))),
            "chapters 1-4 and 6, total seconds": (total, "<=", TOTAL_BUDGET_S),
        },
        extra={
            "command": " ".join(
                Path(c).name if i == 0 else c for i, c in enumerate(cmd)
            ),
            "exit_code": exit_code,
            "wall_s_with_kernel_starts": wall,
            "videos": manifest.get("videos"),
            "segments": manifest.get("segments"),
            "hours": manifest.get("seconds", 0.0) / 3600,
            "fileset_gb": sum(manifest.get("files", {}).values()) / 1e9,
            "fileset_generated_now": generated,
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
