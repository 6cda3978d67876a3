"""CMU-MOSEI alignment at full size (budget: <= 60 s and <= 4 GB peak RSS on 2 cores).

    .venv/bin/python benchmarks/bench_mosei_alignment.py [--seq-len 50] \\
        [--out _build/bench/mosei_alignment.json]

Generates, once, a synthetic file set of CMU-MOSEI's real size in the CMU-MultimodalSDK
layout under ``_build/bench/mosei_fileset/`` (kept and reused while its manifest
matches): 3,228 videos (the 3,227 standard-fold videos + 1 outside the folds), 23,454
labelled segments, about 64 hours; words ~3 Hz 300-d, COVAREP 100 Hz 74-d with ``-inf``
values, FACET 30 Hz 35-d (1 % of videos without FACET), about 9 GB. Then times
``align_mosei`` in a fresh child process, so the peak RSS is the alignment's alone, and
writes the JSON report. Exits 1 when a budget is missed.

Wall time depends on the disk when the files are not in the operating system's page
cache: the report gives the CPU time and the bytes read from the disk next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from affect_lib.data.mosei.csd_writer import CsdWriter
from affect_lib.data.mosei.dataset import DEFAULT_FEATURES, DEFAULT_LABELS, align_mosei
from affect_lib.data.mosei.labels import standard_folds
from affect_lib.io import read_json, write_json

BUDGET_S, BUDGET_RSS_GB = 60.0, 4.0
VERSION = 1  # bump when the generator changes: the cached file set is then rebuilt
N_SEGMENTS, SEED = 23_454, 0
RATES = {"audio": (100.0, 74), "video": (30.0, 35)}
TEXT_DIM, POOL_ROWS = 300, 1 << 16


def _plan(rng: np.random.Generator) -> list[tuple[str, int]]:
    """(video id, number of labelled segments): the standard-fold videos plus one
    outside the folds."""
    vids = [v for ids in standard_folds().values() for v in ids] + [
        "bench_outside_folds"
    ]
    counts = 1 + rng.multinomial(
        N_SEGMENTS - len(vids), np.full(len(vids), 1 / len(vids))
    )
    return list(zip(vids, counts.tolist(), strict=True))


def _video(rng: np.random.Generator, n_seg: int):
    """Label rows, segment intervals and the video's duration: segments of 3-11 s with
    0.5-5 s gaps."""
    seg_len, gaps = rng.uniform(3, 11, n_seg), rng.uniform(0.5, 5, n_seg)
    start = 2.0 + np.cumsum(gaps + seg_len) - seg_len
    intervals = np.stack([start, start + seg_len], axis=1)
    thirds = rng.integers(0, 10, (n_seg, 6)) * (rng.random((n_seg, 6)) < 0.35)
    labels = np.column_stack([rng.integers(-9, 10, n_seg) / 3, thirds / 3]).astype(
        np.float32
    )
    return labels, intervals, float(intervals[-1, 1] + 1.0)


def _frames(duration: float, hz: float) -> np.ndarray:
    k = np.arange(int(duration * hz))
    return np.stack([k, k + 1], axis=1) / hz


def _rows(pool: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    return pool[(rng.integers(0, len(pool)) + np.arange(n)) % len(pool)]


def generate(folder: Path) -> dict:
    """Write the four .csd files (streamed, one video at a time) and return the
    manifest."""
    rng = np.random.default_rng(SEED)
    pools = {"text": rng.standard_normal((POOL_ROWS, TEXT_DIM), dtype=np.float32)}
    pools |= {
        m: rng.standard_normal((POOL_ROWS, d), dtype=np.float32)
        for m, (_, d) in RATES.items()
    }
    pools["audio"][
        rng.random(POOL_ROWS) < 0.01, 0
    ] = -np.inf  # COVAREP's -inf, about 1 % of rows
    names = dict(zip(("text", "audio", "video"), DEFAULT_FEATURES, strict=True)) | {
        "labels": DEFAULT_LABELS
    }
    writers = {
        m: CsdWriter(
            folder / n,
            root=n[:-4] if m != "labels" else "All Labels",
            metadata={
                "root name": n[:-4],
                "dataset name": "CMU-MOSEI (synthetic benchmark)",
            },
        )
        for m, n in names.items()
    }
    stats = {
        "videos": 0,
        "segments": 0,
        "seconds": 0.0,
        "rows": dict.fromkeys(("text", "audio", "video"), 0),
    }
    try:
        for vid, n_seg in _plan(rng):
            labels, intervals, duration = _video(rng, n_seg)
            writers["labels"].add(vid, labels, intervals)
            words = np.cumsum(rng.uniform(0.15, 0.5, int(duration / 0.3) + 8))
            words = words[words < duration]
            w_iv = np.stack([np.r_[0, words[:-1]], words], axis=1)
            zero = rng.random(len(w_iv)) < 0.01
            # a few zero-length words (the SDK skips them)
            w_iv[zero, 1] = w_iv[zero, 0]
            writers["text"].add(vid, _rows(pools["text"], rng, len(w_iv)), w_iv)
            stats["rows"]["text"] += len(w_iv)
            for m, (hz, _) in RATES.items():
                if m == "video" and rng.random() < 0.01:
                    continue  # a video without FACET: missing modality
                iv = _frames(duration, hz)
                writers[m].add(vid, _rows(pools[m], rng, len(iv)), iv)
                stats["rows"][m] += len(iv)
            stats["videos"] += 1
            stats["segments"] += n_seg
            stats["seconds"] += duration
    except BaseException:
        for w in writers.values():
            w.__exit__(RuntimeError, RuntimeError("aborted"), None)
        raise
    for w in writers.values():
        w.__exit__(None, None, None)
    files = {n: (folder / n).stat().st_size for n in names.values()}
    return {"version": VERSION, "seed": SEED, "files": files, **stats}


def fileset(folder: Path, regenerate: bool) -> tuple[dict, bool]:
    """The cached file set's manifest, generating the files when absent, stale or asked
    to."""
    manifest_path = folder / "manifest.json"
    if not regenerate and manifest_path.is_file():
        m = read_json(manifest_path)
        if m.get("version") == VERSION and all(
            (folder / n).is_file() and (folder / n).stat().st_size == s
            for n, s in m.get("files", {}).items()
        ):
            return m, False
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    print(
        f"generating the file set in {folder} (once; several minutes) ...", flush=True
    )
    start = time.perf_counter()
    manifest = generate(folder)
    manifest["generation_s"] = round(time.perf_counter() - start, 1)
    write_json(manifest_path, manifest)
    return manifest, True


def _disk_read_bytes() -> int | None:
    """Bytes this process made the kernel fetch from the disk (page cache misses), where
    Linux tells."""
    try:
        with open("/proc/self/io") as fh:
            return next(
                int(line.split()[1]) for line in fh if line.startswith("read_bytes:")
            )
    except (OSError, StopIteration):
        return None


def measure(folder: Path, seq_len: int) -> dict:
    """Run in the child: time one alignment and report this process's peak RSS, CPU time
    and disk reads."""
    start, disk0 = time.perf_counter(), _disk_read_bytes()
    data = align_mosei(folder, seq_len=seq_len)
    seconds = time.perf_counter() - start
    usage, disk1 = resource.getrusage(resource.RUSAGE_SELF), _disk_read_bytes()
    return {
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_gb": usage.ru_maxrss * 1024 / 1e9,
        "disk_read_gb": None if disk0 is None else (disk1 - disk0) / 1e9,
        "segments": {s: len(c) for s, c in data.corpora.items()},
        "stats": data.stats,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seq-len", type=int, default=50)
    parser.add_argument("--fileset", default="_build/bench/mosei_fileset")
    parser.add_argument("--out", default="_build/bench/mosei_alignment.json")
    parser.add_argument("--regenerate", action="store_true")
    # child mode
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.fileset)
    if args.measure:
        print(json.dumps(measure(folder, args.seq_len)))
        return 0
    manifest, generated = fileset(folder, args.regenerate)
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            "--fileset",
            str(folder),
            "--seq-len",
            str(args.seq_len),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode:
        print(child.stderr, file=sys.stderr)
        return child.returncode
    result = json.loads(child.stdout.strip().splitlines()[-1])
    ok = {
        "time": result["seconds"] <= BUDGET_S,
        "rss": result["peak_rss_gb"] <= BUDGET_RSS_GB,
    }
    report = {
        "benchmark": "mosei_alignment",
        "cores": os.cpu_count(),
        "seq_len": args.seq_len,
        "fileset": {k: v for k, v in manifest.items() if k != "seed"},
        "fileset_generated_now": generated,
        **result,
        "budget_s": BUDGET_S,
        "budget_rss_gb": BUDGET_RSS_GB,
        "within_budget": all(ok.values()),
    }
    write_json(args.out, report)
    gb = sum(manifest["files"].values()) / 1e9
    print(
        f"file set: {manifest['videos']:,} videos, {manifest['segments']:,} segments, "
        f"{manifest['seconds'] / 3600:.1f} h, {gb:.1f} GB (rows: "
        + ", ".join(f"{m} {n:,}" for m, n in manifest["rows"].items())
        + ")"
    )
    print(f"{'measure':<22} {'value':>10} {'budget':>10}  ok")
    print(
        f"{'alignment time (s)':<22} {result['seconds']:>10.1f} {BUDGET_S:>10.0f}  "
        f"{ok['time']}"
    )
    print(
        f"{'peak RSS (GB)':<22} {result['peak_rss_gb']:>10.2f} "
        f"{BUDGET_RSS_GB:>10.1f}  {ok['rss']}"
    )
    disk = result["disk_read_gb"]
    print(
        f"CPU time {result['cpu_s']:.1f} s; read from disk (not page cache) "
        f"{'n/a' if disk is None else f'{disk:.1f} GB'}: a slow disk shows as wall "
        f"time above CPU time"
    )
    print(
        "segments per split: "
        + ", ".join(f"{s} {n:,}" for s, n in result["segments"].items())
    )
    return 0 if report["within_budget"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
