"""Sections of the book's pages made from benchmark results at build time.

A page holds a marker line (an HTML comment); ``affect-book build`` replaces it in the
staged copy with a section rendered from a benchmark's JSON: this machine's latest
result (``_build/bench/<name>.json``, from ``make bench``) when there is an acceptable
one, else the committed measurement (``benchmarks/results/<name>.json``). Each section
names the machine and the commit it was measured on.

=====================  ==========================  ==================================
page                   benchmark                   section
=====================  ==========================  ==================================
training_at_scale.md   bench_paper_profile.py      the paper profile's costs
rerun.md               bench_real_layout_run.py    chapters 1-4, 6 on full-size data
=====================  ==========================  ==================================
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affect_lib.publish.paper_profile_page import paper_profile_section
from affect_lib.publish.report import markdown_table

__all__ = ["SECTIONS", "Section", "fill_page", "fill_pages", "result_files"]


@dataclass(frozen=True)
class Section:
    page: str  # file name under book/
    marker: str
    benchmark: str  # the result's file stem
    render: Callable[[dict[str, Any], Path], str]
    accept: Callable[[dict[str, Any]], bool]  # e.g. not a quick run of another profile


def real_layout_section(data: dict[str, Any], source: Path) -> str:
    """The chapters' wall times on the full-size CMU-MOSEI file set."""
    machine = data["machine"]
    rows = [
        [
            r["notebook"],
            "-" if r["seconds"] is None else f"{r['seconds']:.0f}",
            r["status"],
        ]
        for r in data["rows"]
    ]
    total = sum(r["seconds"] or 0.0 for r in data["rows"])
    rows.append(["**total**", f"**{total:.0f}**", ""])
    return "\n".join(
        [
            f"Measured with `benchmarks/bench_real_layout_run.py` on a file set of "
            f"CMU-MOSEI's full size in the SDK's layout ({data['videos']:,} videos, "
            f"{data['segments']:,} labelled segments, {data['fileset_gb']:.1f} GB; "
            f"synthetic values), typed at the repository root with a relative "
            f"`data_dir`, on {machine.get('cores', '?')} cores "
            f"({machine.get('processor', '?')}; commit `{data.get('commit', '?')}`, "
            f"{data.get('date', '?')}; from `{source.as_posix()}`). Seconds per "
            f"chapter:",
            "",
            markdown_table(rows, ["notebook", "seconds", "status"]),
            "",
        ]
    )


SECTIONS = (
    Section(
        "training_at_scale.md",
        "<!-- paper-profile-measurements -->",
        "paper_profile",
        paper_profile_section,
        lambda data: data.get("profile_name") == "paper",
    ),
    Section(
        "rerun.md",
        "<!-- real-layout-run-times -->",
        "real_layout_run",
        real_layout_section,
        lambda data: bool(data.get("rows")),
    ),
)


def result_files(benchmark: str) -> tuple[Path, Path]:
    """Where a benchmark's result is looked for, relative to the repository: first
    found (and accepted) wins."""
    return (
        Path("_build") / "bench" / f"{benchmark}.json",
        Path("benchmarks") / "results" / f"{benchmark}.json",
    )


def fill_page(root: Path, section: Section, template: str) -> str:
    """``template`` with the section's marker replaced by the rendered section, or by a
    note saying how to produce it when no acceptable result is found."""
    if section.marker not in template:
        raise ValueError(f"book/{section.page} has no {section.marker} line")
    for rel in result_files(section.benchmark):
        path = root / rel
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
            if not section.accept(data):
                continue
            text = section.render(data, rel)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            text = f"`{rel.as_posix()}` could not be read ({exc!r})."
        break
    else:
        script = f"benchmarks/bench_{section.benchmark}.py"
        text = f"No result was found: run `.venv/bin/python {script}`, then rebuild."
    return template.replace(section.marker, text)


def fill_pages(root: Path, book_dir: Path) -> None:
    """Fill every section's page in ``book_dir`` (the staged copy of ``book/``)."""
    for section in SECTIONS:
        page = book_dir / section.page
        page.write_text(fill_page(root, section, page.read_text()))
