"""Book orchestration: run the notebooks with papermill, regenerate stored outputs, build the HTML.

- :func:`run` executes ``notebooks/NN_*.ipynb`` in order into ``_build/runs/<profile>/notebooks/``
  (sources untouched) and records wall times in ``_build/runs/<profile>/timings.json``. Where the
  paired ``NN_*.py`` has other cells and is the newer file (an edit not regenerated yet), it runs the
  ``.py`` instead and says so (:func:`run_source`).
- :func:`regenerate` re-executes the ``.py`` sources in place into their paired ``.ipynb`` in the
  ``book`` profile, with deterministic cell ids and no timestamps (``make notebooks``).
- :func:`build` stages the book (pages + one profile's executed notebooks + local MathJax) under
  ``_build/site/<profile>`` and runs Jupyter Book v1 into ``_build/html``.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat

from affect_lib.config import load_profile, override_keys
from affect_lib.io import atomic_path, read_json, write_json
from affect_lib.paths import project_root

__all__ = [
    "BookError",
    "notebook_paths",
    "notebook_parameters",
    "run_source",
    "run",
    "regenerate",
    "build",
    "kernel_env",
    "warm_font_cache",
]

KERNEL = "python3"
STAGED = ("_config.yml", "_toc.yml", "book", "data_cards")


class BookError(RuntimeError):
    """A run or build that cannot proceed; the message names the notebook, cell or file."""


def notebook_paths(root: Path, only: list[str] | None = None) -> list[Path]:
    """``notebooks/NN_*.ipynb`` in order; ``only`` keeps those whose NN (or name) is listed."""
    paths = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return paths
    wanted = {o.removesuffix(".ipynb") for o in only}
    chosen = [p for p in paths if p.name[:2] in wanted or p.stem in wanted]
    known = {p.name[:2] for p in paths}
    unknown = sorted(
        w for w in wanted if w not in known and w not in {p.stem for p in paths}
    )
    if unknown:
        raise BookError(
            f"--only {', '.join(unknown)}: no such notebook; valid: {', '.join(sorted(known))}"
        )
    return chosen


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def run_source(path: Path, staging: Path) -> tuple[Path, str | None]:
    """The notebook :func:`run` executes for ``path`` (``NN_*.ipynb``) and a note, or None when there
    is nothing to say.

    The stored ``.ipynb``, unless its jupytext pair ``NN_*.py`` has other cells: then the newer of the
    two files wins (as jupytext's own pairing does), so an edited ``.py`` runs before ``make
    notebooks`` has regenerated its pair. The ``.py`` is written as a notebook into ``staging``.
    """
    import jupytext

    src = path.with_suffix(".py")
    if not src.is_file():
        return path, None
    text_nb = jupytext.read(src)
    if _cells(text_nb) == _cells(nbformat.read(path, as_version=4)):
        return path, None
    if src.stat().st_mtime < path.stat().st_mtime:
        return path, (
            f"{path.name} has other cells than {src.name}, which is older: running the .ipynb "
            f"(jupytext --sync notebooks/{path.name} updates the .py)"
        )
    text_nb.metadata.setdefault(
        "kernelspec", {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    )
    staged = staging / path.name
    staging.mkdir(parents=True, exist_ok=True)
    nbformat.write(text_nb, staged)
    return staged, (
        f"{src.name} has other cells than {path.name}: running the .py "
        f"(make notebooks stores its outputs in the .ipynb)"
    )


def notebook_parameters(path: Path) -> dict[str, Any]:
    """Names and defaults (their source text) of the ``parameters`` cell of a notebook."""
    import papermill

    return {
        name: spec["default"]
        for name, spec in papermill.inspect_notebook(str(path)).items()
    }


def _fits(value: Any, default: Any) -> bool:
    if default is None:
        return True  # e.g. data_dir: None or a path
    if isinstance(default, bool) or isinstance(value, bool):
        return type(value) is type(default)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    return isinstance(value, type(default))


def check_knob_types(
    params: dict[str, Any], nb_params: dict[Path, dict[str, Any]]
) -> None:
    """A notebook parameter's value must have its default's type (an int where a float is expected,
    anything where the default is None): ``-p eta abc`` fails here, naming the parameter, not in a
    cell deep inside the notebook."""
    for path, knobs in nb_params.items():
        for key, text in knobs.items():
            if key not in params:
                continue
            try:
                default = ast.literal_eval(str(text))
            except (ValueError, SyntaxError):
                continue  # a default computed by an expression: nothing to compare with
            if not _fits(params[key], default):
                raise BookError(
                    f"parameter {key!r} of {path.name} expects {type(default).__name__} (its default "
                    f"is {text}), got {params[key]!r} ({type(params[key]).__name__})"
                )


KERNEL_WARNING_FILTER = "ignore:IProgress not found"


def kernel_env(root: Path) -> dict[str, str]:
    """Environment for notebook kernels: offline, seeded hashing, numba and matplotlib caches, inline figures."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # a non-inline backend silently drops every figure
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONHASHSEED="0",
        AFFECT_BOOK_ROOT=str(root),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.setdefault("NUMBA_CACHE_DIR", str(root / "_build" / "numba-cache"))
    env.setdefault(
        "MPLCONFIGDIR", str(root / "_build" / "mplconfig")
    )  # font cache per checkout (Makefile)
    # tqdm.auto (imported by lightning once transformers is installed) warns on stderr when ipywidgets
    # is missing; the notebooks show no progress widgets, and stderr in a stored output fails nbval.
    env["PYTHONWARNINGS"] = ",".join(
        filter(None, [env.get("PYTHONWARNINGS"), KERNEL_WARNING_FILTER])
    )
    return env


def warm_font_cache(env: dict[str, str]) -> None:
    """Build matplotlib's font cache in ``env["MPLCONFIGDIR"]`` before any kernel starts, if missing:
    where building it takes more than a few seconds (a slow disk, many system fonts), matplotlib logs
    "Matplotlib is building the font cache" to stderr, which would land in a notebook's outputs."""
    folder = Path(env["MPLCONFIGDIR"])
    if not list(folder.glob("fontlist-*.json")):
        subprocess.run(
            [sys.executable, "-c", "import matplotlib.font_manager"],
            env=env,
            check=True,
            capture_output=True,
        )


@dataclass(frozen=True)
class RunResult:
    profile: str
    out_dir: Path
    timings: dict[str, float]


def _route(user_params: dict[str, Any], nb_params: dict[str, Any]) -> dict[str, Any]:
    """Split user parameters into this notebook's own parameters and config ``overrides``."""
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
) -> RunResult:
    """Execute the notebooks of ``profile`` with ``params`` (config keys or notebook knobs)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    root = root or project_root()
    params = dict(params or {})
    load_profile(
        profile
    )  # an unknown profile fails before anything is written under _build/runs/<profile>
    paths = notebook_paths(root, only)
    if not paths:
        raise BookError(f"no notebooks found under {root / 'notebooks'}")
    run_dir = root / "_build" / "runs" / profile
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
                f"parameter {key!r} is set by the runner; use --profile / -p KEY VALUE instead"
            )
    unknown = [k for k in params if k not in valid]
    if unknown:
        raise BookError(
            f"unknown parameter(s) {', '.join(unknown)}; valid parameters: {', '.join(valid)}"
        )
    load_profile(
        profile, **{k: v for k, v in params.items() if k in override_keys()}
    )  # fail fast
    check_knob_types(params, nb_params)

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
            f"not a run record (a JSON object with 'notebooks'): delete {timings_path} to start a new one"
        )
    record.update(profile=profile, parameters=params)
    record.setdefault("notebooks", {})

    env_before, env = (
        dict(os.environ),
        kernel_env(root),
    )  # kernel_env reads os.environ: before clearing it
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
                    parameters=_route(params, nb_params[path]) | {"profile": profile},
                    kernel_name=KERNEL,
                    cwd=str(path.parent),
                    progress_bar=False,
                )
            except PapermillExecutionError as exc:
                record["notebooks"][path.stem] = {
                    "seconds": None,
                    "status": "failed",
                    "parameters": params,
                }
                write_json(timings_path, record)
                raise BookError(
                    f"{path.name} failed in cell {exc.cell_index} (execution count {exc.exec_count}): "
                    f"{exc.ename}: {exc.evalue}\n  executed copy with the traceback: {out}"
                ) from None
            timings[path.stem] = round(time.perf_counter() - start, 2)
            # parameters per notebook: a later `--only NN -p seed 3` must not relabel the others
            record["notebooks"][path.stem] = {
                "seconds": timings[path.stem],
                "status": "ok",
                "parameters": params,
                "source": path.name if source == path else path.with_suffix(".py").name,
            }
            write_json(timings_path, record)
            print(
                f"[affect-book] {profile}: {path.name} done in {timings[path.stem]:.1f} s",
                flush=True,
            )
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return RunResult(profile, out_dir, timings)


def _deterministic(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Stable cell ids, no timing metadata, no interpreter patch version, no machine record (the
    ``affect_book`` key that older versions wrote): reruns give no diff."""
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
        for key in ("execution", "papermill", "ExecuteTime"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("affect_book", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    return nb


def regenerate(
    root: Path | None = None, only: list[str] | None = None, timeout: int = 1800
) -> list[Path]:
    """``make notebooks``: execute each ``notebooks/NN_*.py`` (book profile) into its ``.ipynb``."""
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    root = root or project_root()
    sources = sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))
    if only:
        sources = [s for s in sources if s.name[:2] in only or s.stem in only]
    written = []
    env_before, env = dict(os.environ), kernel_env(root)
    warm_font_cache(env)
    os.environ.clear()
    os.environ.update(env)
    try:
        for src in sources:
            print(
                f"[affect-book] regenerating {src.with_suffix('.ipynb').name} ...",
                flush=True,
            )
            nb = jupytext.read(src)
            nb.metadata.setdefault(
                "kernelspec",
                {"name": KERNEL, "display_name": "Python 3", "language": "python"},
            )
            client = NotebookClient(
                nb,
                timeout=timeout,
                kernel_name=KERNEL,
                record_timing=False,
                resources={"metadata": {"path": str(src.parent)}},
            )
            try:
                client.execute()
            except CellExecutionError as exc:
                raise BookError(f"{src.name}: {exc}") from None
            target = src.with_suffix(".ipynb")
            text = jupytext.writes(_deterministic(nb), fmt="ipynb")
            with atomic_path(target) as tmp:
                tmp.write_text(text, encoding="utf-8")
            written.append(target)
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return written


def _error_outputs(nb_path: Path) -> list[str]:
    nb = nbformat.read(nb_path, as_version=4)
    return [
        f"{nb_path.name} cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def _mathjax_es5() -> Path:
    """The es5 folder of MathJax 3, shipped by the PyPI package django-static-mathjax."""
    folder = Path(str(resources.files("mathjax"))) / "static" / "mathjax" / "es5"
    if not (folder / "tex-chtml.js").is_file():
        raise BookError(
            f"local MathJax not found at {folder}; install the book extra (pip install -e .[book])"
        )
    return folder


def build(
    profile: str = "book",
    notebooks: str = "auto",
    strict: bool = False,
    root: Path | None = None,
) -> Path:
    """Build ``_build/html`` from ``profile``'s executed notebooks.

    ``notebooks``: ``run`` (``_build/runs/<profile>/notebooks``), ``committed`` (``notebooks/*.ipynb``,
    the stored book-profile outputs) or ``auto`` (committed for ``book``, the run otherwise). ``strict`` turns Sphinx warnings (missing glue, broken references) into errors.
    """
    load_profile(profile)  # names the valid profiles on a typo
    root = root or project_root()
    committed = notebook_paths(root)
    run_nb = root / "_build" / "runs" / profile / "notebooks"
    if notebooks == "auto":
        notebooks = "committed" if profile == "book" else "run"
    if notebooks == "run":
        chosen = [run_nb / p.name for p in committed]
        missing = [p.name for p in chosen if not p.exists()]
        if missing:
            raise BookError(
                f"profile {profile!r} has no executed {', '.join(missing)} under {run_nb}; "
                f"run `affect-book run --profile {profile}` first"
            )
    elif notebooks == "committed":
        chosen = committed
    else:
        raise BookError(f"notebooks must be auto, run or committed; got {notebooks!r}")
    errors = [e for p in chosen for e in _error_outputs(p)]
    if errors:
        raise BookError(
            "notebooks with error outputs cannot be published:\n  "
            + "\n  ".join(errors)
        )

    stage = root / "_build" / "site" / profile
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for name in STAGED:
        src = root / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, stage / name)
    (stage / "notebooks").mkdir()
    for p in chosen:
        shutil.copy2(p, stage / "notebooks" / p.name)
    shutil.copytree(_mathjax_es5(), stage / "_mathjax" / "mathjax")
    from affect_lib.publish.report import performance_page, reproducibility_page

    (stage / "book" / "reproducibility.md").write_text(
        reproducibility_page(root, profile, notebooks)
    )
    (stage / "book" / "performance.md").write_text(
        performance_page(root, figure_dir=stage / "book")
    )
    write_json(stage / "_build_info.json", {"profile": profile, "notebooks": notebooks})

    html = root / "_build" / "html"
    shutil.rmtree(html, ignore_errors=True)
    # --all: Sphinx would otherwise keep every page whose staged source is not newer than its last
    # build, and copy2 keeps the sources' own times, so committed notebooks built after a `make book`
    # would show the run's outputs (its timings, say) instead of their own.
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build",
        str(stage),
        "--path-output",
        str(root),
        "--builder",
        "html",
        "--all",
    ]
    if strict:
        cmd += ["-W", "--keep-going"]
    print(
        f"[affect-book] building the {profile!r} book from {notebooks} notebooks ...",
        flush=True,
    )
    proc = subprocess.run(cmd, env=kernel_env(root), capture_output=True, text=True)
    log = root / "_build" / "book-build.log"
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise BookError(f"jupyter-book build failed (full log: {log}):\n{tail}")
    print(f"[affect-book] HTML book: {html / 'index.html'}", flush=True)
    return html
