"""``affect-train`` on two CPU processes (DDP over gloo), for the tests that check the
replicas stay in sync."""

import json
import subprocess
import sys
from pathlib import Path


def run_two_gloo_ranks(run_dir: Path, *overrides: str, timeout: int = 300):
    """Run the CLI with ``overrides`` on 2 CPU ranks; returns (per-rank parameter
    fingerprints, metrics.json). Fails the test with the CLI's stderr on an error."""
    cmd = [
        sys.executable,
        "-m",
        "affect_lib.affect_diff.cli",
        *overrides,
        f"run_dir={run_dir}",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.strategy=ddp",
        "trainer.progress_bar=false",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = run_dir / "affect_diff"
    ranks = [json.loads((out / f"params_rank{r}.json").read_text()) for r in (0, 1)]
    return ranks, json.loads((out / "metrics.json").read_text())
