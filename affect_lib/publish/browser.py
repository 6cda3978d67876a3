"""Open every page of the built HTML book in headless Chromium and fail on what a reader
would see broken.

``make browser-test`` (``affect-book browser-check``) serves ``_build/html`` from
``127.0.0.1`` (a thread of this process, :mod:`affect_lib.publish.book_site`), starts
Chromium headless and drives it over the DevTools protocol through a pipe
(``--remote-debugging-pipe``, :mod:`affect_lib.publish.cdp`: no websocket package, no
debugging port). For each page it opens a fresh tab, waits for the load event, for every
image and for ``MathJax.startup.promise``, then checks
(:mod:`affect_lib.publish.page_check`, :mod:`affect_lib.publish.page_events`):

- every ``<img>`` loaded (``complete && naturalWidth > 0``) and no local request
  answered 4xx/5xx or failed;
- no request left the local server (any other host, port or scheme than
  ``http://127.0.0.1:<port>``, ``data:``, ``blob:`` and ``about:`` fails; other host
  names do not even resolve, so nothing leaves the machine);
- no JavaScript exception, ``console.error`` or error log entry;
- every ``.math`` element holds a rendered ``mjx-container`` and MathJax reported no
  ``mjx-merror``;
- every ``{glue:text}`` / ``{glue}`` reference of the page's source (``_sources/``) was
  rendered with the value stored in the notebook, and no literal ``{glue`` role,
  ``.problematic`` or system message is left.

It writes a full-page PNG per page under ``_build/screenshots/``
(``notebooks__01_data_prep.png``) and a ``report.json`` beside them. ``index.html`` and
other meta-refresh redirects are skipped: they are not pages.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from affect_lib.publish.book_site import book_pages, expected_glue, serve
from affect_lib.publish.cdp import Chromium
from affect_lib.publish.chromium import BrowserCheckError, ensure_chromium
from affect_lib.publish.page_check import PageReport, check_page

__all__ = ["check_pages", "check_book", "main", "run_cli"]


def _shot_name(page: str) -> str:
    return page.removesuffix(".html").replace("/", "__") + ".png"


def check_pages(
    folder: Path,
    pages: list[str],
    *,
    screenshots: Path | None = None,
    chromium: str | None = None,
    glue: bool = True,
    timeout: float = 60.0,
) -> list[PageReport]:
    """Serve ``folder`` and check ``pages`` (paths relative to it) in one browser."""
    folder = Path(folder).resolve()
    reports = []
    with serve(folder) as base, Chromium(chromium) as browser:
        for page in pages:
            expected = expected_glue(folder, page) if glue else []
            shot = screenshots / _shot_name(page) if screenshots is not None else None
            reports.append(
                check_page(
                    browser,
                    base,
                    page,
                    expected=expected,
                    screenshot=shot,
                    timeout=timeout,
                )
            )
    return reports


def check_book(
    html_dir: Path,
    *,
    screenshots: Path | None = None,
    chromium: str | None = None,
    timeout: float = 60.0,
) -> list[PageReport]:
    """Check every page of a built book (see :func:`book_pages`); screenshots and
    report.json go to ``screenshots``."""
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        raise BrowserCheckError(
            f"no built book at {html_dir} (run `affect-book build` first)"
        )
    pages = book_pages(html_dir)
    if screenshots is not None:
        shutil.rmtree(screenshots, ignore_errors=True)
        screenshots.mkdir(parents=True)
    reports = check_pages(
        html_dir, pages, screenshots=screenshots, chromium=chromium, timeout=timeout
    )
    if screenshots is not None:
        (screenshots / "report.json").write_text(
            json.dumps([asdict(r) for r in reports], indent=1) + "\n"
        )
    return reports


def main(argv: list[str] | None = None) -> int:
    from affect_lib.paths import project_root

    root = project_root()
    parser = argparse.ArgumentParser(
        prog="affect-book browser-check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--html",
        type=Path,
        default=root / "_build" / "html",
        help="built book (default _build/html)",
    )
    parser.add_argument(
        "--screenshots", type=Path, default=root / "_build" / "screenshots"
    )
    parser.add_argument(
        "--install",
        action="store_true",
        help="apt-get install chromium when none is found",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per page (default 60)"
    )
    args = parser.parse_args(argv)
    return run_cli(
        args.html, args.screenshots, install=args.install, timeout=args.timeout
    )


def run_cli(
    html: Path, screenshots: Path, *, install: bool = False, timeout: float = 60.0
) -> int:
    """Check the book, print one line per page and return the exit status (0 = every
    page passed)."""
    start = time.monotonic()
    try:
        chromium = ensure_chromium(install)
        reports = check_book(
            html, screenshots=screenshots, chromium=chromium, timeout=timeout
        )
    except BrowserCheckError as exc:
        print(f"affect-book browser-check: error: {exc}", file=sys.stderr)
        return 2
    for r in reports:
        status = "ok  " if r.ok else "FAIL"
        print(
            f"[browser-check] {status} {r.page:45s} images {r.images:2d}  math "
            f"{r.math_rendered:3d}/{r.math:<3d} "
            f"glue {r.glue_checked:2d}  requests {r.requests:3d}  {r.seconds:5.1f} s"
        )
        for err in r.errors:
            print(f"               - {err}")
    failed = [r for r in reports if not r.ok]
    print(
        f"[browser-check] {len(reports) - len(failed)}/{len(reports)} pages passed in "
        f"{time.monotonic() - start:.1f} s; screenshots in {screenshots}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
