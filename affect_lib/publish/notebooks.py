"""The book's notebooks as the runner sees them: which ones, which file runs, which
parameters.

:func:`notebook_paths` lists ``notebooks/NN_*.ipynb`` in order (``--only`` picks some);
:func:`run_source` decides whether the stored ``.ipynb`` or its newer, edited jupytext
pair ``.py`` runs; :func:`notebook_parameters` reads a notebook's ``parameters`` cell
and :func:`check_knob_types` rejects a ``-p`` value whose type does not fit its default
before any kernel starts. :class:`BookError` is the error of every runner and build step
of this package.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat

from affect_lib.publish.kernel import KERNEL

__all__ = [
    "BookError",
    "notebook_paths",
    "run_source",
    "notebook_parameters",
    "check_knob_types",
]


class BookError(RuntimeError):
    """A run or build that cannot proceed; the message names the notebook, cell or
    file."""


def notebook_paths(root: Path, only: list[str] | None = None) -> list[Path]:
    """``notebooks/NN_*.ipynb`` in order; ``only`` keeps those whose NN (or name) is
    listed."""
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
            f"--only {', '.join(unknown)}: no such notebook; valid: "
            f"{', '.join(sorted(known))}"
        )
    return chosen


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def run_source(path: Path, staging: Path) -> tuple[Path, str | None]:
    """The notebook :func:`run` executes for ``path`` (``NN_*.ipynb``) and a note, or
    None when there is nothing to say.

    The stored ``.ipynb``, unless its jupytext pair ``NN_*.py`` has other cells: then
    the newer of the two files wins (as jupytext's own pairing does), so an edited
    ``.py`` runs before ``make notebooks`` has regenerated its pair. The ``.py`` is
    written as a notebook into ``staging``.
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
            f"{path.name} has other cells than {src.name}, which is older: running "
            f"the .ipynb "
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
    """Names and defaults (their source text) of the ``parameters`` cell of a
    notebook."""
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
    """A notebook parameter's value must have its default's type (an int where a float
    is expected, anything where the default is None): ``-p eta abc`` fails here, naming
    the parameter, not in a cell deep inside the notebook."""
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
                    f"parameter {key!r} of {path.name} expects "
                    f"{type(default).__name__} (its default "
                    f"is {text}), got {params[key]!r} ({type(params[key]).__name__})"
                )
