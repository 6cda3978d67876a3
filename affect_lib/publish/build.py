"""Build the HTML book: ``affect-book build`` (``make book``).

:func:`build` stages the book (pages + one profile's executed notebooks, either a run's
or the committed ones + local MathJax + the generated reproducibility and performance
pages) under ``_build/site/<profile>`` and runs Jupyter Book v1 into ``_build/html``. A
notebook with an error output is never published; :data:`STAGED` lists the files and
folders of the checkout that the staged book copies.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import nbformat

from affect_lib.config import load_profile
from affect_lib.io import write_json
from affect_lib.paths import project_root
from affect_lib.publish.kernel import kernel_env
from affect_lib.publish.notebooks import BookError, notebook_paths
from affect_lib.publish.runs import find_run

__all__ = ["STAGED", "build"]


STAGED = ("_config.yml", "_toc.yml", "book", "data_cards")


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
    """The es5 folder of MathJax 3, shipped by the PyPI package
    django-static-mathjax."""
    folder = Path(str(resources.files("mathjax"))) / "static" / "mathjax" / "es5"
    if not (folder / "tex-chtml.js").is_file():
        raise BookError(
            f"local MathJax not found at {folder}; install the book extra (pip "
            f"install -e .[book])"
        )
    return folder


def build(
    profile: str = "book",
    notebooks: str = "auto",
    strict: bool = False,
    root: Path | None = None,
    *,
    run: str | None = None,
) -> Path:
    """Build ``_build/html`` from ``profile``'s executed notebooks.

    ``notebooks``: ``run`` (``_build/runs/<profile>/notebooks``), ``committed``
    (``notebooks/*.ipynb``, the stored book-profile outputs) or ``auto`` (committed for
    ``book``, the run otherwise). ``strict`` turns Sphinx warnings (missing glue, broken
    references) into errors. ``run`` (a run's name or folder, see
    :mod:`affect_lib.publish.runs`) builds that run's book: its profile comes from its
    ``run.json``.
    """
    root = root or project_root()
    run_dir = root / "_build" / "runs" / profile
    if run is not None:
        run_dir, record = find_run(root, run)
        profile, notebooks = record["profile"], "run"
    load_profile(profile)  # names the valid profiles on a typo
    committed = notebook_paths(root)
    run_nb = run_dir / "notebooks"
    if notebooks == "auto":
        notebooks = "committed" if profile == "book" else "run"
    if notebooks == "run":
        chosen = [run_nb / p.name for p in committed]
        missing = [p.name for p in chosen if not p.exists()]
        if missing:
            raise BookError(
                f"profile {profile!r} has no executed {', '.join(missing)} under "
                f"{run_nb}; "
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
    from affect_lib.publish.measured_sections import fill_pages
    from affect_lib.publish.performance import performance_page
    from affect_lib.publish.report import reproducibility_page

    (stage / "book" / "reproducibility.md").write_text(
        reproducibility_page(root, profile, notebooks, run_dir)
    )
    (stage / "book" / "performance.md").write_text(
        performance_page(root, figure_dir=stage / "book")
    )
    fill_pages(root, stage / "book")
    write_json(stage / "_build_info.json", {"profile": profile, "notebooks": notebooks})

    html = root / "_build" / "html"
    shutil.rmtree(html, ignore_errors=True)
    # --all: Sphinx would otherwise keep every page whose staged source is not newer
    # than its last build, and copy2 keeps the sources' own times, so committed
    # notebooks built after a `make book` would show the run's outputs (its timings,
    # say) instead of their own.
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
