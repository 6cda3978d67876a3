"""A run is a folder: ``_build/runs/<name>/`` holds everything one ``affect-book run``
produces.

Inside: ``notebooks/`` (the executed copies), ``sources/``, ``timings.json``, the
chapters' artifacts (data caches, checkpoints, metrics) and ``run.json``, which records
the profile, the parameters, the commit and the date. The run of a profile without
parameters is called after the profile (``_build/runs/book``, the default book run, as
before); a run with parameters gets a name derived from them (``book-seed_3``) or the
one given with ``--name``, so runs with different parameters never share a folder. Path
parameters (``data_dir``, ``run_dir``) are resolved against the caller's working
directory before any kernel starts, which runs in ``notebooks/``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from affect_lib.io import read_json, write_json
from affect_lib.publish.machine import git_output
from affect_lib.publish.notebooks import BookError

__all__ = [
    "NEEDS",
    "PATH_PARAMETERS",
    "RUN_RECORD",
    "check_needs",
    "check_record",
    "find_run",
    "resolve_paths",
    "run_folder",
    "run_name",
    "start_record",
]

RUN_RECORD = "run.json"
PATH_PARAMETERS = ("data_dir", "run_dir")
# chapter -> (the chapter that writes what it reads, that file inside the run folder)
NEEDS = {"04": ("03", Path("affect_diff") / "checkpoints" / "best.ckpt")}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def resolve_paths(params: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """``params`` with every path parameter made absolute against ``cwd`` (where the
    user typed it). A ``data_dir`` that does not exist fails here, naming the absolute
    path that was tried."""
    out = dict(params)
    for key in PATH_PARAMETERS:
        value = out.get(key)
        if isinstance(value, str) and value:
            out[key] = str((cwd / Path(value).expanduser()).resolve())
    data_dir = out.get("data_dir")
    if isinstance(data_dir, str) and data_dir and not Path(data_dir).is_dir():
        raise BookError(
            f"data_dir {data_dir} is not a folder (tried as typed: "
            f"{params['data_dir']})"
        )
    return out


def run_name(profile: str, params: dict[str, Any]) -> str:
    """The folder name of a run: the profile alone without parameters, else the profile
    and the parameters (``book-seed_3``); a long or path-like name is shortened to a
    hash of the parameters."""
    if not params:
        return profile
    parts = []
    for key, value in sorted(params.items()):
        text = Path(value).name if key in PATH_PARAMETERS and value else str(value)
        parts.append(f"{key}_{re.sub(r'[^A-Za-z0-9._]+', '-', text).strip('-')}")
    name = f"{profile}-{'-'.join(parts)}"
    if len(name) > 60:
        blob = json.dumps(params, sort_keys=True, default=str).encode()
        name = f"{profile}-{hashlib.sha256(blob).hexdigest()[:10]}"
    return name


def run_folder(root: Path, name: str) -> Path:
    """``<root>/_build/runs/<name>``; a name must be a plain folder name."""
    if not _NAME.fullmatch(name):
        raise BookError(
            f"run name {name!r}: use letters, digits, '_', '-' and '.', no path"
        )
    return root / "_build" / "runs" / name


def check_record(folder: Path, profile: str, params: dict[str, Any]) -> None:
    """Refuse a folder that holds a run with another profile or other parameters, so one
    run never overwrites another (reads only)."""
    path = folder / RUN_RECORD
    record = read_json(path) if path.is_file() else None
    if record is not None and (
        record.get("profile") != profile or record.get("parameters") != params
    ):
        raise BookError(
            f"{folder} holds the run {record.get('profile')!r} with parameters "
            f"{record.get('parameters')}; this run ({profile!r}, {params}) needs "
            "another folder: give --name, or delete that folder"
        )


def start_record(
    folder: Path, root: Path, name: str, profile: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Write (or update) ``run.json`` for a run of ``profile`` with ``params`` in
    ``folder``, after :func:`check_record`."""
    check_record(folder, profile, params)
    commit = git_output(root, "rev-parse", "HEAD")
    dirty = git_output(root, "status", "--porcelain") not in ("", "unknown")
    record = {
        "name": name,
        "profile": profile,
        "parameters": params,
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json(folder / RUN_RECORD, record)
    return record


def check_needs(folder: Path, chapters: list[str], command: str) -> None:
    """Refuse to start a chapter that reads a file an earlier chapter writes into the
    run folder when that file is missing and the earlier chapter is not part of this
    run; the message gives the command that produces it."""
    for chapter in chapters:
        if chapter not in NEEDS:
            continue
        before, needed = NEEDS[chapter]
        if before not in chapters and not (folder / needed).is_file():
            raise BookError(
                f"chapter {chapter} reads {folder / needed}, which chapter {before} "
                f"writes: run `{command} --only {before}` first (or add --only "
                f"{before})"
            )


def find_run(root: Path, run: str) -> tuple[Path, dict[str, Any]]:
    """The folder and ``run.json`` of a run given by name (``_build/runs/<name>``) or by
    path."""
    folder = Path(run) if ("/" in run or run in (".", "..")) else run_folder(root, run)
    if not (folder / "notebooks").is_dir():
        known = sorted(
            p.name
            for p in (root / "_build" / "runs").glob("*")
            if (p / "notebooks").is_dir()
        )
        raise BookError(
            f"no executed notebooks under {folder.resolve()}; runs here: "
            f"{', '.join(known) or 'none (run `affect-book run` first)'}"
        )
    path = folder / RUN_RECORD
    if path.is_file():
        return folder, read_json(path)
    # a run written before run.json existed: its timings record profile and parameters
    timings = folder / "timings.json"
    record = read_json(timings) if timings.is_file() else {}
    return folder, {
        "name": folder.name,
        "profile": record.get("profile", folder.name),
        "parameters": record.get("parameters", {}),
    }
