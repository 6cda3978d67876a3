"""The checkout and machine a book build ran on, as the reproducibility report states
them.

:func:`git_output` asks git about the checkout (``"unknown"`` outside one),
:func:`package_version` gives an installed distribution's version for each name of
:data:`PACKAGES`, and :func:`hardware` describes the building machine: CPU model (read
from :data:`CPUINFO` on Linux), cores, Python, platform and GPU. Nothing here fails: a
missing tool or driver is reported as such.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = [
    "PACKAGES",
    "CPUINFO",
    "git_output",
    "package_version",
    "cpu_model",
    "hardware",
]


PACKAGES = (
    "affect-lib",
    "torch",
    "lightning",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "matplotlib",
    "hydra-core",
    "jupyter-book",
    "myst-nb",
    "papermill",
    "jupytext",
    "nbval",
)


def git_output(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


CPUINFO = Path("/proc/cpuinfo")


def cpu_model() -> str:
    """The CPU's model name from :data:`CPUINFO` (Linux), else what :mod:`platform`
    reports."""
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, str]:
    info = {
        "CPU": cpu_model(),
        "machine": platform.machine(),
        "cpu cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        import torch

        info["GPU"] = (
            torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        )
    except Exception:  # torch missing or a broken driver: the report still builds
        info["GPU"] = "unknown"
    return info
