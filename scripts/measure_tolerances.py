"""Measure how much each stored number moves, and write ``notebooks/tolerances.json``
(``make tolerances``).

    .venv/bin/python scripts/measure_tolerances.py [--only NN]... \\
        [--runs seed1,aten_default] [--reuse]
        [--git-rev REV[=NAME]]...
    .venv/bin/python scripts/measure_tolerances.py --rekey REV

Each run of :data:`RUNS` re-executes the stored notebooks (``notebooks/NN_*.ipynb``)
with papermill, into ``_build/tolerances/<run>/``, with its own run folder and model
cache so that nothing computed by another run or by ``make notebooks`` is reused: other
seeds (data and training draw anew) and other CPU code paths (the libraries' own
variables: torch's vector kernels, OpenBLAS's and MKL's kernel choice). ``--git-rev
REV[=NAME]`` adds the notebooks stored at a git revision as one more same-seed run, for
the cells whose source has not changed since: outputs another machine computed (the
stored file's run ``git:HEAD`` is the Intel Xeon's outputs of commit 3d207e4).

Then :func:`affect_lib.publish.tolerances.measure` lists every cell whose outputs
changed on another code path, with one tolerance per printed number by
:data:`affect_lib.publish.tolerances.RULE`, and the file is rewritten (with ``--only``,
only those notebooks' entries; chapter 4 also executes chapter 3 first, whose checkpoint
it reads). Cells whose *text* changed on another code path are printed as warnings: no
tolerance absorbs them, so print them otherwise. Numbers whose tolerance is a large
share of their value are listed: the chapter's prose must say that the test cannot see a
regression of that number. A full measurement takes about 35 minutes on 2 cores.

``--rekey REV`` measures nothing: after an edit that leaves every cell's outputs as they
were (reformatting, renamed imports), it moves each entry to its cell's new key, pairing
the cells of the notebooks stored at REV with the current ones by position. It refuses a
notebook whose cells were added, removed or reordered, or whose paired cell's outputs
differ.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from affect_lib.publish.compare import Tolerances  # noqa: E402
from affect_lib.publish.kernel import kernel_env, warm_font_cache  # noqa: E402
from affect_lib.publish.notebooks import notebook_paths  # noqa: E402
from affect_lib.publish.outputs import cell_key, nbval_ignores  # noqa: E402
from affect_lib.publish.tolerances import RULE, measure  # noqa: E402

TARGET = ROOT / "notebooks" / "tolerances.json"
OUT = ROOT / "_build" / "tolerances"

# Same-seed runs change nothing but the kernels' code paths; seed runs redraw data and
# training.
RUNS: dict[str, dict] = {
    "seed1": {"params": {"seed": 1}, "env": {}},
    "seed2": {"params": {"seed": 2}, "env": {}},
    "aten_default": {"params": {}, "env": {"ATEN_CPU_CAPABILITY": "default"}},
    "blas_sandybridge": {
        "params": {},
        "env": {"OPENBLAS_CORETYPE": "Sandybridge", "MKL_CBWR": "COMPATIBLE"},
    },
}
NEEDS = {"04": ("03",)}  # chapter 4 reads chapter 3's checkpoint from the run folder
ABOUT = (
    "Tolerances of the stored notebook outputs that change with the CPU's code paths "
    "(affect_lib/publish/tolerances.py). Written by `make tolerances`; never edit by "
    "hand."
)
# a tolerance above this share of |value| is reported as too wide to catch a regression
WIDE = 0.2


def execute(run: str, spec: dict, paths: list[Path], reuse: bool) -> dict[str, Path]:
    """Execute ``paths`` in order for one run; returns ``{notebook name: executed
    copy}``."""
    folder = OUT / run
    (folder / "notebooks").mkdir(parents=True, exist_ok=True)
    env = kernel_env(ROOT)
    warm_font_cache(env)
    env.update(spec["env"], AFFECT_MODEL_CACHE=str(folder / "models"))
    papermill = Path(sys.executable).parent / "papermill"
    done = {}
    for path in paths:
        out = folder / "notebooks" / path.name
        if not (reuse and out.is_file()):
            params = {**spec["params"], "run_dir": str(folder / "run")}
            cmd = [
                str(papermill),
                str(path),
                str(out),
                "-k",
                "python3",
                "--cwd",
                str(path.parent),
                "--no-progress-bar",
                "--log-level",
                "WARNING",
            ]
            for key, value in params.items():
                cmd += ["-p", key, str(value)]
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            took = time.perf_counter() - start
            # an assert of the chapter failed: its cells up to there still count
            if proc.returncode != 0:
                print(
                    f"[tolerances] WARNING {run}: {path.name} failed after {took:.0f} "
                    f"s (cells after the "
                    f"failure are not measured):\n{proc.stderr[-1500:]}",
                    flush=True,
                )
            else:
                print(f"[tolerances] {run}: {path.name} in {took:.0f} s", flush=True)
        done[path.name] = out
    return done


def code_cells(path: Path | str, text: str | None = None) -> dict[str, list]:
    nb = (
        nbformat.reads(text, as_version=4)
        if text is not None
        else nbformat.read(path, as_version=4)
    )
    return {
        c.source: c.get("outputs", [])
        for c in nb.cells
        if c.cell_type == "code" and not _ignored(c)
    }


def _ignored(cell) -> bool:
    """nbval does not compare this cell's outputs (its comment marker or tag), or they
    show this file: a ``measured_runs`` table depends on the tolerance file, not on the
    machine, and is compared exactly."""
    return nbval_ignores(cell) or "measured_runs(" in cell.source


def rekey(rev: str) -> int:
    """Re-key every entry of the tolerance file from the cells stored at ``rev`` to the
    current cells at the same position (same outputs required); returns the number of
    entries moved."""
    tols = Tolerances.load(TARGET)
    moved = 0
    for name, entries in tols.cells.items():
        text = subprocess.run(
            ["git", "show", f"{rev}:notebooks/{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        before = nbformat.reads(text, as_version=4).cells
        after = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells
        kinds = [c.cell_type for c in before], [c.cell_type for c in after]
        if kinds[0] != kinds[1]:
            raise SystemExit(
                f"{name}: cells were added, removed or reordered since {rev}"
            )
        pairs = {cell_key(b.source): a for b, a in zip(before, after, strict=True)}
        new = {}
        for key, entry in entries.items():
            cell = pairs.get(key)
            if cell is None:
                raise SystemExit(f"{name}: entry {key} matches no cell stored at {rev}")
            old_cell = next(b for b in before if cell_key(b.source) == key)
            if old_cell.get("outputs") != cell.get("outputs"):
                raise SystemExit(
                    f"{name}: outputs of the cell '{entry['first_line']}' changed "
                    f"since "
                    f"{rev}; measure it again (make tolerances ONLY={name[:2]})"
                )
            first = cell.source.strip().splitlines()[0][:80]
            new[cell_key(cell.source)] = {**entry, "first_line": first}
            moved += key != cell_key(cell.source)
        tols.cells[name] = new
    tols.data["cells"] = tols.cells
    tols.data["about"] = ABOUT
    TARGET.write_text(json.dumps(tols.data, indent=1, ensure_ascii=False) + "\n")
    return moved


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NN",
        help="measure only notebook NN (repeatable)",
    )
    parser.add_argument(
        "--runs", default=",".join(RUNS), help=f"comma-separated, of {', '.join(RUNS)}"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep executed copies already in _build/tolerances",
    )
    parser.add_argument(
        "--git-rev",
        action="append",
        default=[],
        metavar="REV[=NAME]",
        help="also compare with the notebooks stored at REV, as a same-seed run "
        "called NAME "
        "(default: its short hash); only cells unchanged since REV count",
    )
    parser.add_argument(
        "--rekey",
        metavar="REV",
        help="move every entry to its cell's new source key (cells paired by position "
        "with the notebooks stored at REV); executes nothing",
    )
    args = parser.parse_args()
    if args.rekey:
        print(f"[tolerances] re-keyed {rekey(args.rekey)} entries")
        return 0
    revs = {}  # run name -> full commit
    for spec in args.git_rev:
        rev, _, name = spec.partition("=")
        sha = subprocess.run(
            ["git", "rev-parse", rev],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        revs[name or sha[:7]] = sha.strip()
    chosen = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in RUNS]
    if unknown:
        raise SystemExit(
            f"unknown run(s) {', '.join(unknown)}; valid: {', '.join(RUNS)}"
        )
    paths = notebook_paths(ROOT, args.only)
    needed = notebook_paths(
        ROOT,
        sorted(
            {p.name[:2] for p in paths}
            | {n for p in paths for n in NEEDS.get(p.name[:2], ())}
        ),
    )
    executed = {run: execute(run, RUNS[run], needed, args.reuse) for run in chosen}

    old = Tolerances.load(TARGET)
    cells = {
        nb: entries
        for nb, entries in old.cells.items()
        if args.only and nb not in {p.name for p in paths}
    }
    same_seed = [r for r in chosen if not RUNS[r]["params"]]
    # kept notebooks
    report = [
        line for line in old.data.get("wide", []) if line.split(" ", 1)[0] in cells
    ]
    for path in paths:
        runs = {run: code_cells(executed[run][path.name]) for run in chosen}
        for name, sha in revs.items():
            text = subprocess.run(
                ["git", "show", f"{sha}:notebooks/{path.name}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs[name] = code_cells(path, text)
        found, warnings = measure(code_cells(path), runs, same_seed + list(revs))
        cells[path.name] = found
        for w in warnings:
            print(f"[tolerances] WARNING {path.name}: {w}")
        for key, entry in found.items():
            for label, item in entry["outputs"].items():
                stored = _stored_numbers(path, key, label)
                for value, tol in zip(stored, item["tol"], strict=True):
                    if tol and (
                        tol == float("inf") or tol > WIDE * max(abs(value), 1e-12)
                    ):
                        report.append(
                            f"{path.name} "
                            f"{item.get('glue') or entry['first_line'][:40]} {label}: "
                            f"{value:g} +- {tol:g}"
                        )
    data = {
        "about": ABOUT,
        "rule": RULE,
        "runs": {r: RUNS[r] for r in chosen}
        | {name: {"stored notebooks at": sha} for name, sha in revs.items()},
        "machine": f"{platform.machine()} {_cpu()}, {os.cpu_count()} cores",
        "date": date.today().isoformat(),
        "wide": report,
        "cells": dict(sorted(cells.items())),
    }
    TARGET.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    n = sum(len(e) for e in cells.values())
    print(
        f"[tolerances] wrote {TARGET.relative_to(ROOT)}: {n} cells compared within "
        f"tolerance"
    )
    for line in report:
        print(f"[tolerances] wide: {line}")
    return 0


def _stored_numbers(path: Path, key: str, label: str) -> list[float]:
    from affect_lib.publish.outputs import flatten, numbers

    for source, outputs in code_cells(path).items():
        if cell_key(source) == key:
            return [float(t) for t in numbers(flatten(outputs)[label])[1]]
    return []


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    raise SystemExit(main())
