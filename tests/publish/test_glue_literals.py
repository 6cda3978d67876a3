"""Issue #30: every glue key that LaScA's pages quote can be traced, by ``git grep`` of
its literal name, to the notebook cell that computes it."""

import re
from pathlib import Path

import pytest

from conftest import ROOT

# {glue:text}`[path::]key[:format]`, and the other glue roles
GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
LITERAL_PAGES = ("notebooks/05_lasca.py", "notebooks/07_lasca_mechanism.py")


def _refs(page: Path) -> list[tuple[Path, str]]:
    """(notebook source, key) of every glue reference on ``page``."""
    refs = []
    for ref in GLUE_REF.findall(page.read_text()):
        path, _, rest = ref.rpartition("::")
        source = (page.parent / path).with_suffix(".py") if path else page
        refs.append((source.resolve(), rest.split(":")[0]))
    return refs


def _code(source: Path) -> str:
    """The code of a jupytext source, without its markdown and comments."""
    return "\n".join(
        line for line in source.read_text().splitlines() if not line.startswith("#")
    )


@pytest.mark.parametrize("page", [*LITERAL_PAGES, "book/results.md"])
def test_lasca_glue_keys_are_literals_in_the_cell_that_computes_them(page):
    page = ROOT / page
    refs = [
        (source, key)
        for source, key in _refs(page)
        if str(source.relative_to(ROOT)) in LITERAL_PAGES
    ]
    assert refs, f"{page} quotes no LaScA glue key"
    missing = sorted({f"{s.name}: {k}" for s, k in refs if f'"{k}"' not in _code(s)})
    assert not missing, f"glue keys with no literal in their notebook: {missing}"


def test_the_check_sees_a_key_built_by_an_f_string(tmp_path):
    page = tmp_path / "05_x.py"
    page.write_text(
        "# # A page\n# {glue:text}`lasca_gap_arousal:+.3f`\n\n# %%\n"
        'glue(f"lasca_gap_{target}", 0.1)\n'
    )
    ((source, key),) = _refs(page)
    assert key == "lasca_gap_arousal" and f'"{key}"' not in _code(source)
