"""The environment every notebook kernel of the book gets, whoever starts it.

:func:`kernel_env` is what :func:`affect_lib.publish.run.run`,
:func:`affect_lib.publish.regenerate.regenerate`, the book build and the root
``conftest.py`` (nbval) hand to their kernels: offline Hugging Face, seeded hashing,
numba and matplotlib caches inside the checkout, inline figures and no stray warnings on
stderr. :func:`warm_font_cache` builds matplotlib's font cache before any kernel starts,
so its "building the font cache" message never lands in a stored output; :data:`KERNEL`
names the Jupyter kernel they all run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import default

__all__ = [
    "KERNEL",
    "KERNEL_WARNING_FILTER",
    "LocalKernelManager",
    "kernel_env",
    "warm_font_cache",
]


KERNEL = "python3"


class LocalKernelManager(AsyncKernelManager):
    """Kernels that talk over local IPC sockets where the system has them (POSIX).

    Over TCP, ipykernel prints a warning on every start that the traffic is not
    encrypted; the book's kernels never leave the machine, so sockets in the runtime
    folder are enough.
    """

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc" if os.name == "posix" else "tcp"

    @default("ip")
    def _default_ip(self) -> str:
        # An absolute socket path: a relative one resolves against the notebook's folder
        # in the kernel but against ours in the client.
        if self.transport != "ipc":
            return "127.0.0.1"
        folder = Path(jupyter_runtime_dir())
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder / f"affect-{uuid.uuid4().hex[:12]}-ipc")


KERNEL_WARNING_FILTER = "ignore:IProgress not found"


def kernel_env(root: Path) -> dict[str, str]:
    """Environment for notebook kernels: offline, seeded hashing, numba and matplotlib
    caches, inline figures."""
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
    # font cache per checkout (Makefile)
    env.setdefault("MPLCONFIGDIR", str(root / "_build" / "mplconfig"))
    # tqdm.auto (imported by lightning once transformers is installed) warns on stderr
    # when ipywidgets is missing; the notebooks show no progress widgets, and stderr in
    # a stored output fails nbval.
    env["PYTHONWARNINGS"] = ",".join(
        filter(None, [env.get("PYTHONWARNINGS"), KERNEL_WARNING_FILTER])
    )
    return env


def warm_font_cache(env: dict[str, str]) -> None:
    """Build matplotlib's font cache in ``env["MPLCONFIGDIR"]`` before any kernel
    starts, if missing: where building it takes more than a few seconds (a slow disk,
    many system fonts), matplotlib logs "Matplotlib is building the font cache" to
    stderr, which would land in a notebook's outputs."""
    folder = Path(env["MPLCONFIGDIR"])
    if not list(folder.glob("fontlist-*.json")):
        subprocess.run(
            [sys.executable, "-c", "import matplotlib.font_manager"],
            env=env,
            check=True,
            capture_output=True,
        )
