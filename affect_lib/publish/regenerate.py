"""``make notebooks`` (``affect-book notebooks``): store fresh outputs in the committed
notebooks.

:func:`regenerate` re-executes the jupytext sources ``notebooks/NN_*.py`` in place into
their paired ``.ipynb`` in the ``book`` profile, with the kernels' environment of
:func:`affect_lib.publish.kernel.kernel_env`, deterministic cell ids and no timestamps,
so a rerun that computes the same outputs leaves no diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from affect_lib.io import atomic_path
from affect_lib.paths import project_root
from affect_lib.publish.kernel import (
    KERNEL,
    LocalKernelManager,
    kernel_env,
    warm_font_cache,
)
from affect_lib.publish.notebooks import BookError

__all__ = ["regenerate"]


def _deterministic(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Stable cell ids, no timing metadata, no interpreter patch version, no machine
    record (the ``affect_book`` key that older versions wrote): reruns give no diff."""
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
    """``make notebooks``: execute each ``notebooks/NN_*.py`` (book profile) into its
    ``.ipynb``."""
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
                kernel_manager_class=LocalKernelManager,
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
