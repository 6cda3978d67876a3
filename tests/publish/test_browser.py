"""The headless-browser checker fails on a broken page and passes on a good one.

Needs Chromium: skipped (with the reason) when none is on PATH; ``make browser-test``
installs Debian's chromium first and sets ``AFFECT_REQUIRE_CHROMIUM=1``, which turns the
skip into a failure.
"""

import json
import os

import pytest
from PIL import Image

from affect_lib.publish.book_site import book_pages, expected_glue
from affect_lib.publish.browser import check_pages
from affect_lib.publish.build import _mathjax_es5
from affect_lib.publish.chromium import find_chromium


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        if os.environ.get("AFFECT_REQUIRE_CHROMIUM"):
            pytest.fail("no Chromium on PATH although AFFECT_REQUIRE_CHROMIUM is set")
        pytest.skip(
            "no Chromium on PATH ($CHROMIUM, chromium, chromium-browser, "
            "google-chrome); "
            "`make browser-test` installs Debian's chromium (apt-get) and runs this "
            "test"
        )
    return path


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{title}</title>{head}</head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""
MATHJAX = '<script defer src="mathjax/tex-chtml.js"></script>'


def _notebook_source(path, key, value, markdown):
    """A stored notebook (as Sphinx copies it to _sources/) with one glued value."""
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": [markdown]},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": ["glue(...)"],
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {
                            "scrapbook": {
                                "name": key,
                                "mime_prefix": "application/papermill.record/",
                            }
                        },
                        "data": {"application/papermill.record/text/plain": value},
                    }
                ],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))


@pytest.fixture
def site(tmp_path):
    (tmp_path / "mathjax").symlink_to(_mathjax_es5(), target_is_directory=True)
    Image.new("RGB", (8, 8), (200, 30, 30)).save(tmp_path / "figure.png")
    (tmp_path / "good.html").write_text(
        PAGE.format(
            title="Good",
            head=MATHJAX,
            body='<p>A figure <img src="figure.png" alt="red"></p>'
            '<p>Inline <span class="math notranslate nohighlight">\\(x^2 + '
            "1\\)</span> and the accuracy "
            '<span class="pasted-text">0.8533</span>.</p>'
            '<div class="math notranslate nohighlight">\\[\\sum_i a_i\\]</div>',
        )
    )
    _notebook_source(
        tmp_path / "_sources" / "good.ipynb",
        "acc",
        "0.8533",
        "The accuracy {glue:text}`acc`.",
    )
    (tmp_path / "bad.html").write_text(
        PAGE.format(
            title="Bad",
            head="",
            body='<p><img src="missing.png" alt="missing"> <img '
            'src="https://example.com/remote.png" alt="remote"></p>'
            '<p>Math without MathJax: <span class="math notranslate '
            'nohighlight">\\(y\\)</span></p>'
            "<p>The accuracy is .</p>"
            '<script>console.error("boom from console");</script>'
            '<script>throw new Error("boom from a script");</script>',
        )
    )
    _notebook_source(
        tmp_path / "_sources" / "bad.ipynb",
        "acc",
        "0.8533",
        "The accuracy is {glue:text}`acc`.",
    )
    (tmp_path / "index.html").write_text(
        '<meta http-equiv="Refresh" content="0; url=good.html" />'
    )
    return tmp_path


def test_pages_skip_redirects_and_assets(site):
    (site / "_static").mkdir()
    (site / "_static" / "x.html").write_text("<p>asset</p>")
    assert book_pages(site) == ["bad.html", "good.html"]


def test_expected_glue_reads_the_stored_value(site):
    assert expected_glue(site, "good.html") == [("acc", "0.8533")]


def test_expected_glue_follows_references_to_other_documents(site):
    (site / "_sources" / "book").mkdir()
    (site / "_sources" / "book" / "results.md").write_text(
        "Accuracy {glue:text}`../good.ipynb::acc:.2f`, missing "
        "{glue:text}`../good.ipynb::nope`."
    )
    assert expected_glue(site, "book/results.html") == [
        ("../good.ipynb::acc:.2f", "0.85"),
        ("../good.ipynb::nope", "<no stored value for glue key 'nope'>"),
    ]


def test_good_page_passes(site, chromium, tmp_path):
    [report] = check_pages(
        site, ["good.html"], screenshots=tmp_path / "shots", chromium=chromium
    )
    assert report.ok, report.errors
    assert (
        report.images == 1
        and report.math == 2
        and report.math_rendered == 2
        and report.glue_checked == 1
    )
    with Image.open(report.screenshot) as shot:
        assert shot.size[0] == 1280 and shot.size[1] >= 900


def test_broken_page_fails_for_every_reason(site, chromium):
    [report] = check_pages(site, ["bad.html"], chromium=chromium)
    errors = "\n".join(report.errors)
    assert not report.ok
    assert "image did not load: http://127.0.0.1" in errors and "missing.png" in errors
    assert "HTTP 404" in errors
    assert "non-local request: https://example.com/remote.png" in errors
    assert "JavaScript exception" in errors and "boom from a script" in errors
    assert "console.error: boom from console" in errors
    assert "MathJax never started" in errors and "math not rendered" in errors
    assert "glued value missing" in errors and "0.8533" in errors


def test_cli_exit_status_screenshots_and_report(site, chromium, tmp_path, capsys):
    from affect_lib.publish.browser import run_cli

    shots = tmp_path / "shots"
    assert run_cli(site, shots) == 1  # bad.html fails, good.html passes
    report = {r["page"]: r for r in json.loads((shots / "report.json").read_text())}
    assert report["good.html"]["errors"] == [] and report["bad.html"]["errors"]
    assert sorted(p.name for p in shots.glob("*.png")) == ["bad.png", "good.png"]
    assert "1/2 pages passed" in capsys.readouterr().out
