"""Every data card follows the Hugging Face dataset-card form the book uses.

A YAML front matter with exactly the keys below (values non-empty), the title line
``# Data card: <pretty_name>``, then the eight ``##`` sections in order, each non-empty.
Lines inside fenced code blocks are not headings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

CARDS = sorted((ROOT / "data_cards").glob("*.md"))
KEYS = {"pretty_name", "license", "task", "size", "modalities", "languages"}
SECTIONS = [
    "Description",
    "Structure and features",
    "Collection and annotation",
    "Intended use",
    "Biases and ethical considerations",
    "Consent, licence and how to obtain it",
    "How to point this book at it",
    "Citation",
]
MODALITIES = {"text", "audio", "video"}


def _bib_keys() -> set[str]:
    return set(
        re.findall(
            r"@\w+\{([^,\s]+),",
            (ROOT / "book" / "references.bib").read_text(encoding="utf-8"),
        )
    )


def _split(text: str, card: Path) -> tuple[dict, list[str]]:
    lines = text.splitlines()
    assert lines and lines[0] == "---", (
        f"{card.name}: must start with a '---' YAML front matter line"
    )
    end = (
        lines.index("---", 1)
        if "---" in lines[1:]
        else pytest.fail(f"{card.name}: front matter not closed")
    )
    meta = yaml.safe_load("\n".join(lines[1:end]))
    assert isinstance(meta, dict), f"{card.name}: front matter is not a YAML mapping"
    return meta, lines[end + 1 :]


def _sections(body: list[str], card: Path) -> tuple[str, list[tuple[str, str]]]:
    """(title, [(section heading, section text)]) with fenced code blocks kept as
    text."""
    title, sections, fenced = None, [], False
    for line in body:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and line.startswith("# "):
            assert title is None and not sections, (
                f"{card.name}: one '# ' title, before the sections"
            )
            title = line[2:].strip()
        elif not fenced and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            assert not line.strip(), (
                f"{card.name}: text before the first section: {line!r}"
            )
    assert title is not None, f"{card.name}: missing the '# Data card: ...' title line"
    return title, [(h, "\n".join(t).strip()) for h, t in sections]


def test_the_real_dataset_cards_exist():
    names = {c.name for c in CARDS}
    assert {"cmu_mosei.md", "aff_wild2.md", "sewa.md"} <= names


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.name)
def test_card_follows_the_dataset_card_form(card):
    meta, body = _split(card.read_text(encoding="utf-8"), card)
    assert set(meta) == KEYS, (
        f"{card.name}: front matter keys {sorted(meta)}, expected exactly "
        f"{sorted(KEYS)}"
    )
    for key, value in meta.items():
        items = value if isinstance(value, list) else [value]
        assert items and all(str(v).strip() for v in items), (
            f"{card.name}: {key} is empty"
        )
    for key in ("task", "modalities", "languages"):
        assert isinstance(meta[key], list), f"{card.name}: {key} must be a list"
    assert set(meta["modalities"]) <= MODALITIES, (
        f"{card.name}: modalities must be among {sorted(MODALITIES)}"
    )
    title, sections = _sections(body, card)
    assert title == f"Data card: {meta['pretty_name']}", (
        f"{card.name}: title {title!r} must be 'Data card: {meta['pretty_name']}'"
    )
    assert [h for h, _ in sections] == SECTIONS, (
        f"{card.name}: sections {[h for h, _ in sections]}"
    )
    for heading, text in sections:
        assert text, f"{card.name}: section '{heading}' is empty"


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.name)
def test_card_citations_resolve(card):
    text = card.read_text(encoding="utf-8")
    cited = set(re.findall(r"\{cite\}`([^`]+)`", text))
    keys = {k.strip() for group in cited for k in group.split(",")}
    assert keys, (
        f"{card.name}: cites nothing (use {{cite}}`key` with a key of "
        f"book/references.bib)"
    )
    assert keys <= _bib_keys(), (
        f"{card.name}: unknown bibtex keys {sorted(keys - _bib_keys())}"
    )
