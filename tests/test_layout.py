"""The layout's rules: science never imports the publishing machinery, files fit the
page.

Science is every module of affect_lib outside ``affect_lib/publish/``; the publishing
machinery (papermill runs, the book build, student copies, the browser check) imports
the science, never the reverse, so the library can be read, installed and tested without
it.
"""

import ast
import re
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "affect_lib"
PUBLISHING = (
    "affect_lib.publish",
    "papermill",
    "nbformat",
    "nbclient",
    "nbconvert",
    "nbval",
    "jupytext",
    "jupyter_book",
    "myst_nb",
    "sphinx",
)
MAX_LINES = 300
NOTEBOOK_WIDTH = 88


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(path: Path) -> list[str]:
    parts = _module(path).split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def imported_modules(path: Path, package: list[str]) -> set[str]:
    """Absolute names of every module ``path`` (a module of ``package``) imports, at any
    depth, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _forbidden(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PUBLISHING)


SCIENCE = sorted(
    p for p in PACKAGE.rglob("*.py") if "publish" not in p.relative_to(PACKAGE).parts
)


@pytest.mark.parametrize("path", SCIENCE, ids=lambda p: str(p.relative_to(ROOT)))
def test_science_does_not_import_the_publishing_machinery(path):
    bad = sorted(n for n in imported_modules(path, _package(path)) if _forbidden(n))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_import_check_sees_nested_and_relative_imports(tmp_path):
    fake = tmp_path / "probe.py"
    fake.write_text("def f():\n    from ..publish import run\n    import nbformat\n")
    found = imported_modules(fake, ["affect_lib", "lasca"])
    assert {"affect_lib.publish", "affect_lib.publish.run", "nbformat"} <= found
    assert all(_forbidden(n) for n in ("affect_lib.publish.run", "nbformat"))


def test_no_library_file_over_300_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def _code_lines(source: str):
    """(line number, text) of the code cells of a jupytext percent notebook."""
    in_code = False
    for number, line in enumerate(source.splitlines(), 1):
        if line.startswith("# %%"):
            in_code = not re.match(r"# %% \[(markdown|md)\]", line)
            continue
        if in_code:
            yield number, line


@pytest.mark.parametrize(
    "path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")), ids=lambda p: p.stem
)
def test_notebook_code_fits_the_books_code_column(path):
    wide = [
        f"{path.name}:{n} ({len(line)})"
        for n, line in _code_lines(path.read_text(encoding="utf-8"))
        if len(line) > NOTEBOOK_WIDTH
    ]
    assert not wide, f"code lines over {NOTEBOOK_WIDTH} characters: {wide}"


def test_readme_layout_names_every_part_of_the_package():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\naffect_lib/\n(.*?)```", readme, re.S)
    assert block, "README.md: no ``affect_lib/`` tree in the Layout section"
    named = set(re.findall(r"^  (\S+)", block.group(1), re.M))
    parts = {
        p.name + ("/" if p.is_dir() else "")
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py")
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert named == parts, (
        f"README.md layout vs affect_lib/: missing {sorted(parts - named)}, "
        f"gone {sorted(named - parts)}"
    )
