"""Which kind of machine produced the stored notebook outputs, and does this one compute the same?

Training on the CPU is deterministic on one machine, but not bitwise across kinds of CPU: torch
picks its vector kernels (AVX2, AVX-512), oneDNN its convolutions and MKL its matrix products by
the processor, and each rounds differently. A model trained for a few epochs turns those last-bit
differences into other printed numbers (measured: chapter 4's attribution accuracy 0.91 on one CPU,
0.76 on another, same seed). So nbval passes on the kind of machine that ran ``make notebooks`` and
may fail on another while nothing is wrong with the code.

:func:`affect_lib.book.regenerate` (``make notebooks``) stamps each stored notebook with :func:`fingerprint` under
``metadata.affect_book.generated_on``; :func:`differences` compares a stamp with this machine, and
``affect-book provenance`` (run by ``make nbval`` when it fails) says whether the stored outputs
come from another kind of machine, in which case ``make notebooks`` here is the remedy once the
differences are confirmed to be only numbers that training produced.

numpy's OpenBLAS also picks its kernels by the processor, but it can be told which: the notebook
kernels run with ``OPENBLAS_CORETYPE=Haswell`` on x86-64 CPUs with AVX2 (:func:`openblas_coretype`),
unless the environment already names one. With it, chapter 1 (numpy and scikit-learn only) stored
on an AMD EPYC passed nbval unchanged on an Intel Xeon (measured); chapter 5 did not, in two cells
of pairwise accuracies (not traced further: its sentence embeddings come from torch).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

__all__ = ["openblas_coretype", "fingerprint", "stamp", "stored_fingerprint", "differences", "report"]

_KEY = "affect_book"


def _cpu() -> str:
    """``vendor family/model name`` from /proc/cpuinfo (Linux), else :func:`platform.processor`."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if not line.strip():
                break  # the first processor is enough
    except OSError:
        return platform.processor() or platform.machine()
    return " ".join(filter(None, [fields.get("vendor_id"), f"{fields.get('cpu family', '?')}/{fields.get('model', '?')}",
                                  fields.get("model name")]))


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def openblas_coretype() -> str | None:
    """The OpenBLAS kernel family notebook kernels use: the environment's ``OPENBLAS_CORETYPE`` if set,
    else ``"Haswell"`` where this is an x86-64 CPU with AVX2 (Haswell kernels need AVX2 and FMA), else
    None (OpenBLAS chooses)."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    if platform.machine().lower() in ("x86_64", "amd64") and {"avx2", "fma"} <= _cpu_flags():
        return "Haswell"
    return None


def fingerprint() -> dict[str, Any]:
    """What decides this machine's floating-point results: CPU, torch's kernel level, library versions."""
    import numpy
    import torch

    return {"cpu": _cpu(), "cores": os.cpu_count(), "torch": torch.__version__,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(), "numpy": numpy.__version__,
            "openblas_coretype": openblas_coretype()}  # what the notebook kernels get (kernel_env)


def stamp(nb: Any, machine: dict[str, Any] | None = None) -> Any:
    """Record ``machine`` (default: this one's :func:`fingerprint`) in ``nb``'s metadata; returns ``nb``."""
    nb.metadata.setdefault(_KEY, {})["generated_on"] = dict(machine or fingerprint())
    return nb


def stored_fingerprint(path: Path) -> dict[str, Any] | None:
    """The stamp of a stored ``.ipynb``, or None when it has none (or cannot be read)."""
    try:
        return json.loads(Path(path).read_text())["metadata"][_KEY]["generated_on"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def differences(stored: dict[str, Any] | None, here: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{field: (stored, here)}`` for every field that differs; ``{}`` when both agree."""
    if stored is None:
        return {"stamp": (None, "present")}
    return {k: (stored.get(k), here.get(k)) for k in sorted(set(stored) | set(here)) if stored.get(k) != here.get(k)}


def report(notebooks: list[Path]) -> list[str]:
    """One line per stored notebook: same kind of machine, or what differs from this one."""
    here = fingerprint()
    lines, advise = [], False
    for path in notebooks:
        diff = differences(stored_fingerprint(path), here)
        advise = advise or bool(diff)
        if not diff:
            lines.append(f"{path.name}: stored outputs come from this kind of machine ({here['cpu']})")
        elif "stamp" in diff:
            lines.append(f"{path.name}: no record of the machine that produced the stored outputs")
        else:
            what = "; ".join(f"{k}: stored {a!r}, here {b!r}" for k, (a, b) in diff.items())
            lines.append(f"{path.name}: stored outputs come from another kind of machine ({what})")
    if advise:
        lines.append("Other CPUs round differently, so trained numbers can differ although the code is right. "
                     "If nbval's differences are only such numbers, run `make notebooks` on this machine and "
                     "commit the regenerated notebooks.")
    return lines
