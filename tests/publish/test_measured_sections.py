"""Sections of the book's pages rendered at build time from benchmark results: this
machine's result before the committed one, and a note when there is none."""

import json
import shutil
import subprocess
import sys

import pytest

from affect_lib.publish.measured_sections import SECTIONS, fill_page, result_files

PAPER, REAL = SECTIONS


def _result(root, section):
    return json.loads((root / result_files(section.benchmark)[1]).read_text())


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.page)
def test_each_page_has_its_marker_and_a_committed_result(root, section):
    template = (root / "book" / section.page).read_text()
    assert template.count(section.marker) == 1
    data = _result(root, section)
    assert data["benchmark"] == section.benchmark and section.accept(data)
    assert all(c["ok"] for c in data["checks"].values())
    page = fill_page(root, section, template)
    assert section.marker not in page and "could not be read" not in page
    assert data["machine"]["processor"] in page and data["commit"] in page


def test_the_paper_profile_section_shows_measurements_and_estimates(root):
    data = _result(root, PAPER)
    page = fill_page(root, PAPER, PAPER.marker)
    total = next(r["parameters"] for r in data["rows"] if r["name"] == "total")
    assert f"**{total:,}**" in page and "estimate" in page
    assert f"{data['measured']['train_step_gflops']:.1f} GFLOP" in page


def test_the_real_layout_section_lists_every_chapter(root):
    data = _result(root, REAL)
    page = fill_page(root, REAL, REAL.marker)
    for row in data["rows"]:
        assert f"| {row['notebook']} | {row['seconds']:.0f} | ok |" in page
    assert f"{data['segments']:,} labelled segments" in page


def _fake_root(tmp_path, root, section, mine=None):
    build, committed = result_files(section.benchmark)
    (tmp_path / committed).parent.mkdir(parents=True)
    shutil.copy(root / committed, tmp_path / committed)
    if mine is not None:
        (tmp_path / build).parent.mkdir(parents=True)
        (tmp_path / build).write_text(json.dumps(mine))
    return tmp_path


def test_this_machines_result_wins_unless_it_is_not_acceptable(tmp_path, root):
    data = _result(root, PAPER)
    mine = data | {"machine": data["machine"] | {"processor": "Test CPU 9000"}}
    build, committed = result_files(PAPER.benchmark)
    page = fill_page(_fake_root(tmp_path / "a", root, PAPER, mine), PAPER, PAPER.marker)
    assert "Test CPU 9000" in page and build.as_posix() in page
    quick = mine | {"profile_name": "smoke"}  # a quick run of another profile
    page = fill_page(
        _fake_root(tmp_path / "b", root, PAPER, quick), PAPER, PAPER.marker
    )
    assert "Test CPU 9000" not in page and committed.as_posix() in page


def test_missing_or_broken_results_say_so(tmp_path, root):
    for section in SECTIONS:
        page = fill_page(tmp_path, section, f"x\n{section.marker}\n")
        assert f"bench_{section.benchmark}.py" in page
    broken = _fake_root(tmp_path / "b", root, PAPER, {"profile_name": "paper"})
    assert "could not be read" in fill_page(broken, PAPER, PAPER.marker)
    with pytest.raises(ValueError, match="paper-profile-measurements"):
        fill_page(tmp_path, PAPER, "no marker")


@pytest.mark.slow
def test_the_paper_benchmark_writes_what_the_page_reads(tmp_path, root):
    """A quick run of the benchmark (smoke profile, two steps) yields a result the page
    renders once it is labelled as the paper profile's."""
    out = tmp_path / "pp.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "bench_paper_profile.py"),
            "--profile=smoke",
            "--steps=2",
            f"--out={out}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    measured = data["measured"]
    assert data["steps_run"] == 2 and measured["train_step_gflops"] > 0
    assert measured["train_step_ops"] > measured["sampling_step_ops_guided"]
    mine = data | {"profile_name": "paper"}
    page = fill_page(_fake_root(tmp_path, root, PAPER, mine), PAPER, PAPER.marker)
    assert f"ran 2 real optimisation steps at batch {data['batch_size']}" in page
