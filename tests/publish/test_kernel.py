"""The notebook kernels' environment: offline, caches in the checkout, and nbval's
kernels get it too."""

import subprocess
import sys

import nbformat
import pytest

from affect_lib.publish.kernel import kernel_env, warm_font_cache
from affect_lib.publish.notebooks import notebook_paths


@pytest.mark.slow
def test_a_plain_nbval_run_gives_kernels_the_runners_environment(root):
    """``pytest --nbval`` without make's exports: the root conftest applies kernel_env
    first."""
    import os
    import shutil
    import uuid

    # inside the checkout: the root conftest applies
    folder = root / "_build" / f"nbval-env-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        }
    )
    cell = nbformat.v4.new_code_cell(
        "import os\nimport lightning  # tqdm.auto: a widget warning on stderr\n"
        "print(os.environ['PYTHONHASHSEED'], os.environ['HF_HUB_OFFLINE'])"
    )
    cell.outputs, cell.execution_count = (
        [nbformat.v4.new_output("stream", name="stdout", text="0 1\n")],
        1,
    )
    nb.cells = [cell]
    nbformat.write(nb, folder / "env.ipynb")
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONHASHSEED",
            "HF_HUB_OFFLINE",
            "TRANSFORMERS_OFFLINE",
            "PYTHONWARNINGS",
        )
    }
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "--nbval",
                str(folder / "env.ipynb"),
            ],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_nbval_collects_only_the_chapters_from_notebooks(root):
    """A papermill output saved in notebooks/ (``out.ipynb``) is not a stored chapter:
    nbval skips it."""
    import uuid

    stray = root / "notebooks" / f"out-{uuid.uuid4().hex[:8]}.ipynb"
    stray.write_text((root / "notebooks" / "01_data_prep.ipynb").read_text())
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "--collect-only",
                "--nbval",
                "notebooks",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stray.unlink()
    assert done.returncode == 0, done.stdout[-2000:]
    collected = {
        line.split("::")[0] for line in done.stdout.splitlines() if "::" in line
    }
    assert collected == {f"notebooks/{p.name}" for p in notebook_paths(root)}, collected


def test_kernel_env_is_offline_and_keeps_its_caches_in_the_checkout(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # would make every figure vanish
    code_paths = (
        "OPENBLAS_CORETYPE",
        "MKL_CBWR",
        "ONEDNN_MAX_CPU_ISA",
        "ATEN_CPU_CAPABILITY",
    )
    for name in code_paths:
        monkeypatch.delenv(name, raising=False)
    env = kernel_env(tmp_path)
    # the libraries pick their CPU code unless the user sets these
    assert not set(code_paths) & set(env)
    # not a font cache of another environment
    assert env["MPLCONFIGDIR"] == str(tmp_path / "_build" / "mplconfig")
    assert env["NUMBA_CACHE_DIR"] == str(tmp_path / "_build" / "numba-cache")
    assert (
        "MPLBACKEND" not in env
        and env["HF_HUB_OFFLINE"] == "1"
        and env["PYTHONHASHSEED"] == "0"
    )
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mine"))
    # a chosen folder is kept
    assert kernel_env(tmp_path)["MPLCONFIGDIR"] == str(tmp_path / "mine")


def test_font_cache_is_built_before_any_kernel(tmp_path, monkeypatch):
    # `make` exports the checkout's own
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    env = kernel_env(tmp_path)
    warm_font_cache(env)
    built = list((tmp_path / "_build" / "mplconfig").glob("fontlist-*.json"))
    # matplotlib's own fonts are in it
    assert len(built) == 1 and "DejaVu Sans" in built[0].read_text()
    stamp = built[0].stat().st_mtime_ns
    warm_font_cache(env)  # present: not rebuilt
    assert built[0].stat().st_mtime_ns == stamp
