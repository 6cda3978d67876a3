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

Each of those libraries can be told which code path to take, so the notebook kernels are held to
the AVX2 one of every library on x86-64 CPUs with AVX2 and FMA (:func:`kernel_pins`; a value the
environment already sets is kept): numpy's OpenBLAS (``OPENBLAS_CORETYPE=Haswell``), torch's MKL
(``MKL_CBWR=AVX2``, its conditional-numerical-reproducibility branch, which also fixes cache sizes
and reductions), torch's oneDNN (``ONEDNN_MAX_CPU_ISA=AVX2``) and torch's own vector kernels
(``ATEN_CPU_CAPABILITY=avx2``). What was measured: with the OpenBLAS pin alone, chapter 1 (numpy and
scikit-learn only) stored on an AMD EPYC passed nbval unchanged on an Intel Xeon. On an AMD EPYC with
AVX-512, MKL already takes its AVX2 branch (asking for the AVX-512 one changes nothing; measured),
while by its documented dispatch an Intel CPU with AVX-512 takes the AVX-512 one; oneDNN and torch's
own kernels take AVX-512 on both (measured on the AMD; pinning them to AVX2 changes its results).
So before these pins, the AMD and Intel machines seen here most likely ran different matrix-product
code, and an AMD CPU without AVX-512 different convolution and vector code too. The pins remove
every such difference that these libraries let a user choose. Whether the stored outputs then pass
nbval on another kind of CPU is checked by nbval itself; what is left (oneDNN, for one, can size its
blocks by the CPU's caches) cannot be chosen from outside, and it is not enough: outputs stored on
an AMD EPYC with the pins failed nbval on an Intel Xeon with them, in the torch chapters and in one
cell of chapter 5. What the pins cost: ``benchmarks/bench_kernel_pins.py``.

**Which kernels differ.** A stamp also holds :func:`kernel_hashes`: the bits of a small battery of
numpy, scikit-learn and torch operations (:mod:`affect_lib.kernel_probe`) under the kernels' pins and
under the libraries' most conservative code paths. When nbval fails on another kind of machine,
``affect-book provenance`` names the probes that give other bits there, per pin set: which library
rounds differently, and whether the conservative paths would agree across the two kinds.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
from pathlib import Path
from typing import Any

__all__ = ["X86_PINS", "NUMERIC_LIBRARIES", "kernel_pins", "rerun_pinned", "numerics_id", "kernel_hashes",
           "fingerprint", "stamp", "stored_fingerprint", "differences", "kernel_report", "report"]

_KEY = "affect_book"


CPUINFO = Path("/proc/cpuinfo")


def _cpu() -> str:
    """``vendor family/model name`` from /proc/cpuinfo (x86 Linux); ``implementer/part`` there on ARM,
    whose cpuinfo names no vendor; elsewhere :func:`platform.processor` (and on macOS the chip's
    brand string, e.g. ``arm Apple M2``)."""
    fields: dict[str, str] = {}
    try:
        for line in CPUINFO.read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if not line.strip():
                break  # the first processor is enough
    except OSError:
        name = platform.processor() or platform.machine()
        if platform.system() == "Darwin":
            import subprocess

            with contextlib.suppress(OSError, subprocess.SubprocessError):
                brand = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                       text=True, timeout=5).stdout.strip()
                name = " ".join(filter(None, [name, brand]))
        return name
    if "vendor_id" not in fields and "CPU implementer" in fields:  # ARM (aarch64 Linux)
        return " ".join(filter(None, [platform.machine(), f"{fields['CPU implementer']}/{fields.get('CPU part', '?')}",
                                      fields.get("model name")]))
    return " ".join(filter(None, [fields.get("vendor_id"), f"{fields.get('cpu family', '?')}/{fields.get('model', '?')}",
                                  fields.get("model name")]))


def _cpu_flags() -> set[str]:
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


# The code path every x86-64 CPU with AVX2 and FMA runs, per library (see the module docstring).
X86_PINS = {"OPENBLAS_CORETYPE": "Haswell",  # numpy's OpenBLAS (Haswell kernels need AVX2 and FMA)
            "MKL_CBWR": "AVX2",  # torch's MKL: matrix products
            "ONEDNN_MAX_CPU_ISA": "AVX2",  # torch's oneDNN: convolutions, some element-wise ops
            "ATEN_CPU_CAPABILITY": "avx2"}  # torch's own vector kernels (softmax, reductions, ...)


def kernel_pins() -> dict[str, str]:
    """The code-path variables notebook kernels get: ``X86_PINS`` on an x86-64 CPU with AVX2 and FMA,
    each one the environment already sets keeping its value (elsewhere: only those), else ``{}``."""
    chosen = {k: os.environ[k] for k in X86_PINS if os.environ.get(k)}
    if platform.machine().lower() in ("x86_64", "amd64") and {"avx2", "fma"} <= _cpu_flags():
        return {**X86_PINS, **chosen}
    return chosen


def rerun_pinned() -> None:
    """Run this script again, in place, with the notebook kernels' pins (:func:`kernel_pins`) when its
    environment lacks them; return at once when it has them (or the CPU takes none). numpy and torch
    read the variables when they load, so a script that imported them before it could set them is
    replaced instead: its numbers then come out as the chapters' (``scripts/lasca_fusion_sweep.py``)."""
    import sys

    pins = kernel_pins()
    if all(os.environ.get(k) == v for k, v in pins.items()):
        return
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **pins})


# the libraries whose versions change computed bits: matrix products, FFTs and MFCCs, the encoders
NUMERIC_LIBRARIES = ("numpy", "scipy", "librosa", "torch", "transformers", "sentence-transformers", "tokenizers")


def _cpu_signature() -> str:
    """A short hash of the CPU's feature flags (x86 ``flags``; ARM ``Features``, implementer, part): two
    machines of one model name can still differ in what a hypervisor exposes (AVX-512, say)."""
    import hashlib

    try:
        lines = CPUINFO.read_text().splitlines()
    except OSError:
        lines = [platform.machine(), platform.processor(), platform.platform()]
    keys = ("flags", "Features", "CPU implementer", "CPU part", "CPU architecture")
    seen = sorted({ln for ln in lines if ln.split(":")[0].strip() in keys} or set(lines[:3]))
    return hashlib.sha256("\n".join(seen).encode()).hexdigest()[:8]


def numerics_id() -> str:
    """What decides this process's floating-point results besides code and data, as one line: the CPU
    (model and a hash of its feature flags), the code paths numpy's OpenBLAS and torch run (as the
    loaded libraries report them where they are loaded, else as the :data:`X86_PINS` variables will
    set them), the other pins, and the versions of :data:`NUMERIC_LIBRARIES`. A Jupyter kernel
    started without the notebook kernels' pins, another CPU or an upgraded library computes other
    bits; stores of computed results carry this, so those never mix. (Two processes can differ here
    and still compute the same bits, e.g. with torch loaded or not: that costs a recomputation only.)"""
    import importlib.metadata
    import sys

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "none"

    blas = os.environ.get("OPENBLAS_CORETYPE", "").lower() or "native"
    if "numpy" in sys.modules:  # the variable only counts if it was set before numpy loaded
        from threadpoolctl import threadpool_info

        found = sorted({str(i.get("architecture")).lower() for i in threadpool_info()
                        if i.get("internal_api") == "openblas"})
        blas = ",".join(found) or blas
    aten = os.environ.get("ATEN_CPU_CAPABILITY", "").lower() or "native"
    if "torch" in sys.modules:
        aten = sys.modules["torch"].backends.cpu.get_cpu_capability().lower()
    other = ",".join(f"{k}={os.environ[k]}" for k in ("MKL_CBWR", "ONEDNN_MAX_CPU_ISA") if os.environ.get(k))
    versions = ",".join(f"{name} {version(name)}" for name in NUMERIC_LIBRARIES)
    return (f"{_cpu()} (flags {_cpu_signature()}); openblas {blas}; aten {aten}; {other or 'no other pins'}; "
            f"{versions}")


def kernel_hashes() -> dict[str, dict[str, str]]:
    """:mod:`affect_lib.kernel_probe`'s hashes on this machine, ``{pin set: {probe: hash}}``: ``pinned``
    under :func:`kernel_pins` (what the notebook kernels run) and, where those pins apply (x86-64 with
    AVX2 and FMA), ``portable`` under the libraries' most conservative code paths. Two fresh
    interpreters, about 5 s each."""
    from affect_lib.kernel_probe import PORTABLE_PINS, probe

    pins = kernel_pins()
    hashes = {"pinned": probe(pins)}
    if set(X86_PINS) <= set(pins):
        hashes["portable"] = probe(PORTABLE_PINS)
    return hashes


def fingerprint(*, kernels: bool = False) -> dict[str, Any]:
    """What decides the notebook kernels' floating-point results on this machine: CPU, torch's kernel
    level (the pinned one where :func:`kernel_pins` pins it, whether or not this process runs pinned),
    library versions and the pins; with ``kernels``, also :func:`kernel_hashes` (key ``kernels``)."""
    import numpy
    import torch

    pins = kernel_pins()
    level = pins.get("ATEN_CPU_CAPABILITY", "").upper() or torch.backends.cpu.get_cpu_capability()
    fp = {"cpu": _cpu(), "cores": os.cpu_count(), "torch": torch.__version__, "torch_cpu_capability": level,
          "numpy": numpy.__version__, "kernel_pins": pins}  # what the notebook kernels get (kernel_env)
    if kernels:
        fp["kernels"] = kernel_hashes()
    return fp


def stamp(nb: Any, machine: dict[str, Any] | None = None) -> Any:
    """Record ``machine`` (default: this one's :func:`fingerprint` with its kernel hashes) in ``nb``'s
    metadata; returns ``nb``."""
    nb.metadata.setdefault(_KEY, {})["generated_on"] = dict(machine or fingerprint(kernels=True))
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


def kernel_report(stored: dict[str, dict[str, str]] | None, here: dict[str, dict[str, str]]) -> str:
    """Which probes of :mod:`affect_lib.kernel_probe` give other bits here than in a stamp, per pin set."""
    from affect_lib.kernel_probe import PROBES

    parts = []
    for pin_set, hashes in here.items():
        then = (stored or {}).get(pin_set)
        if not then:
            parts.append(f"{pin_set} code paths: not recorded in the stamp")
        elif "error" in then or "error" in hashes:
            parts.append(f"{pin_set} code paths: probe failed ({then.get('error') or hashes.get('error')})")
        else:
            other = [f"{k} ({PROBES[k][0]})" if k in PROBES else k for k in hashes if then.get(k) != hashes[k]]
            parts.append(f"{pin_set} code paths: " + (f"other bits in {', '.join(other)}" if other
                                                       else "the same bits in every probe"))
    return "kernels with the " + "; with the ".join(parts)


def report(notebooks: list[Path]) -> list[str]:
    """One line per stored notebook: same kind of machine, or what differs from this one (with which
    kernels compute other bits here)."""
    here = fingerprint(kernels=True)
    lines, advise = [], False
    for path in notebooks:
        diff = differences(stored_fingerprint(path), here)
        advise = advise or bool(diff)
        if not diff:
            lines.append(f"{path.name}: stored outputs come from this kind of machine ({here['cpu']})")
        elif "stamp" in diff:
            lines.append(f"{path.name}: no record of the machine that produced the stored outputs")
        else:
            what = [f"{k}: stored {a!r}, here {b!r}" for k, (a, b) in diff.items() if k != "kernels"]
            if "kernels" in diff:
                what.append(kernel_report(diff["kernels"][0], here["kernels"]))
            lines.append(f"{path.name}: stored outputs come from another kind of machine ({'; '.join(what)})")
    if advise:
        lines.append("Other CPUs round differently, so trained numbers can differ although the code is right. "
                     "If nbval's differences are only such numbers, run `make notebooks` on this machine and "
                     "commit the regenerated notebooks.")
    return lines
