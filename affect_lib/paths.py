"""Where the project and its run artifacts live, wherever a notebook or test is started
from."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "default_run_dir"]


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``_toc.yml`` and ``pyproject.toml`` (``$AFFECT_BOOK_ROOT``
    wins).

    Notebooks run with ``notebooks/`` as working directory, tests from the root; both
    find it by walking up. Outside a checkout (an installed library) the working
    directory is used.
    """
    env = os.environ.get("AFFECT_BOOK_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    return here


def default_run_dir(profile: str) -> Path:
    """``<project>/_build/runs/<profile>``: dataset caches, checkpoints, metrics,
    figures."""
    return project_root() / "_build" / "runs" / profile
