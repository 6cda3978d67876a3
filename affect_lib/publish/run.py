"""Run the book's notebooks with papermill: ``affect-book run --profile <profile>``.

:func:`run` executes ``notebooks/NN_*.ipynb`` in order into the run's folder
(:mod:`affect_lib.publish.runs`; ``_build/runs/<profile>/`` for the default run of a
profile): ``notebooks/`` (sources untouched), ``timings.json`` (wall times),
``run.json`` and the chapters' artifacts. Where the paired ``NN_*.py`` has other cells
and is the newer file (an edit not regenerated yet), it runs the ``.py`` instead and
says so (:func:`affect_lib.publish.notebooks.run_source`). Each ``-p KEY VALUE`` goes to
the notebooks that have a parameter of that name and, as a config ``overrides`` entry,
to those that do not; unknown names and mistyped values fail before any kernel starts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affect_lib.config import load_profile, override_keys
from affect_lib.io import atomic_path, read_json, write_json
from affect_lib.paths import project_root
from affect_lib.publish.kernel import (
    KERNEL,
    LocalKernelManager,
    kernel_env,
    warm_font_cache,
)
from affect_lib.publish.notebooks import (
    BookError,
    check_knob_types,
    notebook_parameters,
    notebook_paths,
    run_source,
)
from affect_lib.publish.runs import (
    check_needs,
    check_record,
    resolve_paths,
    run_folder,
    run_name,
    start_record,
)

__all__ = ["RunResult", "hide_injected_parameters", "run"]


@dataclass(frozen=True)
class RunResult:
    profile: str
    out_dir: Path  # the executed notebooks: <folder>/notebooks
    timings: dict[str, float]
    folder: Path | None = None  # the run folder (affect_lib.publish.runs)


def hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected-parameters cell of the executed notebook ``path``
    ``remove-cell``: the book shows the parameters cell once (the run's values are on
    the reproducibility page), not a second, generated cell beside it."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    with atomic_path(path) as tmp:
        nbformat.write(nb, tmp)


def _route(user_params: dict[str, Any], nb_params: dict[str, Any]) -> dict[str, Any]:
    """Split user parameters into this notebook's own parameters and config
    ``overrides``."""
    direct = {k: v for k, v in user_params.items() if k in nb_params}
    overrides = {k: v for k, v in user_params.items() if k not in nb_params}
    if overrides:
        direct["overrides"] = overrides
    return direct


def run(
    profile: str,
    params: dict[str, Any] | None = None,
    only: list[str] | None = None,
    root: Path | None = None,
    *,
    name: str | None = None,
    cwd: Path | None = None,
) -> RunResult:
    """Execute the notebooks of ``profile`` with ``params`` (config keys or notebook
    knobs) into the run folder ``_build/runs/<name>`` (the ``run_dir`` parameter, if
    given, is the folder). ``name`` defaults to the profile without parameters, else to
    one derived from them; path parameters are read relative to ``cwd`` (default: the
    working directory)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    root = root or project_root()
    params = resolve_paths(dict(params or {}), cwd or Path.cwd())
    # an unknown profile fails before anything is written under _build/runs/
    load_profile(profile)
    paths = notebook_paths(root, only)
    if not paths:
        raise BookError(f"no notebooks found under {root / 'notebooks'}")
    if "run_dir" in params:
        run_dir = Path(params["run_dir"])
        name = name or run_dir.name
    else:
        name = name or run_name(profile, params)
        run_dir = run_folder(root, name)
    # the default run of a profile keeps its notebooks' default run_dir (None)
    given = (
        {}
        if run_dir == root / "_build" / "runs" / profile
        else {"run_dir": str(run_dir)}
    )
    # before anything is written there
    check_record(run_dir, profile, params, [p.stem for p in paths])
    sources = {p: run_source(p, run_dir / "sources") for p in paths}
    for _, note in sources.values():
        if note:
            print(f"[affect-book] {note}", flush=True)
    nb_params = {p: notebook_parameters(sources[p][0]) for p in paths}
    knobs = set().union(*nb_params.values()) - {"profile", "overrides"}
    valid = sorted(knobs | set(override_keys()))
    for key in ("profile", "overrides"):
        if key in params:
            raise BookError(
                f"parameter {key!r} is set by the runner; use --profile / -p KEY "
                f"VALUE instead"
            )
    unknown = [k for k in params if k not in valid]
    if unknown:
        raise BookError(
            f"unknown parameter(s) {', '.join(unknown)}; valid parameters: "
            f"{', '.join(valid)}"
        )
    # fail fast
    load_profile(profile, **{k: v for k, v in params.items() if k in override_keys()})
    check_knob_types(params, nb_params)
    command = f"affect-book run --profile {profile}" + "".join(
        f" -p {k} {v}" for k, v in params.items()
    )
    check_needs(run_dir, [p.name[:2] for p in paths], command + f" --name {name}")
    start_record(run_dir, root, name, profile, params, [p.stem for p in paths])

    out_dir = run_dir / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    timings_path = run_dir / "timings.json"
    try:
        record = read_json(timings_path) if timings_path.exists() else {}
    except (OSError, ValueError) as exc:
        raise BookError(
            f"unreadable run record: {exc}; delete {timings_path} to start a new one"
        ) from None
    if not isinstance(record, dict) or not isinstance(
        record.get("notebooks", {}), dict
    ):
        raise BookError(
            f"not a run record (a JSON object with 'notebooks'): delete "
            f"{timings_path} to start a new one"
        )
    record.update(profile=profile, parameters=params)
    record.setdefault("notebooks", {})

    # kernel_env reads os.environ: before clearing it
    env_before, env = (
        dict(os.environ),
        kernel_env(root),
    )
    warm_font_cache(env)
    os.environ.clear()
    os.environ.update(env)
    timings: dict[str, float] = {}
    try:
        for path in paths:
            out = out_dir / path.name
            start = time.perf_counter()
            print(f"[affect-book] {profile}: {path.name} ...", flush=True)
            source = sources[path][0]
            try:
                papermill.execute_notebook(
                    str(source),
                    str(out),
                    parameters=_route(params | given, nb_params[path])
                    | {"profile": profile},
                    kernel_name=KERNEL,
                    kernel_manager_class=LocalKernelManager,
                    cwd=str(path.parent),
                    progress_bar=False,
                )
                hide_injected_parameters(out)
            except PapermillExecutionError as exc:
                record["notebooks"][path.stem] = {
                    "seconds": None,
                    "status": "failed",
                    "parameters": params,
                }
                write_json(timings_path, record)
                raise BookError(
                    f"{path.name} failed in cell {exc.cell_index} (execution count "
                    f"{exc.exec_count}): "
                    f"{exc.ename}: {exc.evalue}\n  executed copy with the traceback: "
                    f"{out}"
                ) from None
            timings[path.stem] = round(time.perf_counter() - start, 2)
            # parameters per notebook: a later `--only NN -p seed 3` must not relabel
            # the others
            record["notebooks"][path.stem] = {
                "seconds": timings[path.stem],
                "status": "ok",
                "parameters": params,
                "source": path.name if source == path else path.with_suffix(".py").name,
            }
            write_json(timings_path, record)
            print(
                f"[affect-book] {profile}: {path.name} done in "
                f"{timings[path.stem]:.1f} s",
                flush=True,
            )
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return RunResult(profile, out_dir, timings, run_dir)
