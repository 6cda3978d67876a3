"""A run is a folder: ``_build/runs/<name>/`` holds everything one ``affect-book run``
produces.

Inside: ``notebooks/`` (the executed copies), ``sources/``, ``timings.json``, the
chapters' artifacts (data caches, checkpoints, metrics) and ``run.json``, which records
the profile and, per chapter, the parameters, the commit and the date. The run of a
profile without parameters is called after the profile (``_build/runs/book``, the
default book run, as before); a run with parameters gets a name derived from them
(``book-seed_3``) or the one given with ``--name``, and no chapter is ever replaced by a
run with other parameters. Path parameters (``data_dir``, ``run_dir``) are resolved
against the caller's working directory before any kernel starts, which runs in
``notebooks/``.
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


def check_record(
    folder: Path, profile: str, params: dict[str, Any], chapters: list[str]
) -> None:
    """Refuse to run ``chapters`` in ``folder`` where it holds a run of another profile,
    or one of these chapters executed with other parameters: one run never replaces
    another's chapters (reads only). Other chapters may join a folder with parameters of
    their own, e.g. chapter 5 on Aff-Wild2 beside chapters 1-4 and 6 on CMU-MOSEI."""
    path = folder / RUN_RECORD
    record = read_json(path) if path.is_file() else None
    if record is None:
        return
    if record.get("profile") != profile:
        raise BookError(
            f"{folder} holds a run of the {record.get('profile')!r} profile; this "
            f"{profile!r} run needs another folder: give --name, or delete that folder"
        )
    for chapter in chapters:
        done = record.get("chapters", {}).get(chapter)
        if done is not None and done.get("parameters") != params:
            raise BookError(
                f"{folder} holds {chapter} run with parameters {done['parameters']}; "
                f"this run ({params}) needs another folder: give --name, or delete "
                "that folder"
            )


def start_record(
    folder: Path,
    root: Path,
    name: str,
    profile: str,
    params: dict[str, Any],
    chapters: list[str],
) -> dict[str, Any]:
    """Record in ``run.json`` that ``chapters`` of a ``profile`` run with ``params`` run
    in ``folder`` now (after :func:`check_record`): per chapter its parameters, the
    commit and the date."""
    check_record(folder, profile, params, chapters)
    path = folder / RUN_RECORD
    record = read_json(path) if path.is_file() else {}
    commit = git_output(root, "rev-parse", "HEAD")
    dirty = git_output(root, "status", "--porcelain") not in ("", "unknown")
    stamp = {
        "parameters": params,
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record.update(name=name, profile=profile)
    record["chapters"] = {
        **record.get("chapters", {}),
        **dict.fromkeys(chapters, stamp),
    }
    write_json(path, record)
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
        "chapters": {
            stem: {"parameters": entry.get("parameters", {})}
            for stem, entry in record.get("notebooks", {}).items()
        },
    }
