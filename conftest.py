"""Root pytest hooks: an nbval run gets the notebook kernels' environment, however
pytest is started.

The stored outputs were computed by kernels with
:func:`affect_lib.publish.kernel.kernel_env` (offline Hugging Face,
``PYTHONHASHSEED=0``, caches in the checkout, tqdm's widget warning silenced). ``make
nbval`` exports the same, but a plain ``pytest --nbval notebooks`` from a shell would
start kernels without it, and a warning on stderr or another hash order fails cells that
are fine.

Cells listed in ``notebooks/tolerances.json`` (their outputs change with the CPU's code
paths) are compared number by number within the tolerances measured by ``make
tolerances``; all others exactly.

Only the chapters (``notebooks/NN_*.ipynb``) are collected from ``notebooks/``: a
papermill output or a scratch copy saved there is not a stored notebook, and nbval would
re-execute it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    path = Path(collection_path)
    if (
        path.suffix == ".ipynb"
        and path.parent == NOTEBOOKS
        and not re.fullmatch(r"\d\d_\w+\.ipynb", path.name)
    ):
        return True
    return None


def pytest_configure(config) -> None:
    if not (
        config.getoption("nbval", default=False)
        or config.getoption("nbval_lax", default=False)
    ):
        return
    from affect_lib.publish.kernel import kernel_env, warm_font_cache

    # nbval's kernels inherit this process's environment
    env = kernel_env(Path(__file__).resolve().parent)
    warm_font_cache(env)
    os.environ.clear()
    os.environ.update(env)
    _compare_within_tolerance()


def _compare_within_tolerance() -> None:
    """nbval compares a cell listed in ``notebooks/tolerances.json`` number by number,
    each within its measured tolerance (:mod:`affect_lib.publish.compare`); every other
    cell exactly, as nbval does."""
    from nbval.plugin import IPyNbCell

    from affect_lib.publish.compare import Tolerances, nbval_compare

    tolerances = Tolerances.load(NOTEBOOKS / "tolerances.json")
    IPyNbCell.compare_outputs = nbval_compare(IPyNbCell.compare_outputs, tolerances)
