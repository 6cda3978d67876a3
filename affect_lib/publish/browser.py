"""Open every page of the built HTML book in headless Chromium and fail on what a reader would see broken.

``make browser-test`` (``affect-book browser-check``) serves ``_build/html`` from ``127.0.0.1`` (a thread of
this process), starts Chromium headless and drives it over the DevTools protocol through a pipe
(``--remote-debugging-pipe``, :mod:`affect_lib.publish.cdp`: no websocket package, no debugging port). For each page it opens a fresh tab,
waits for the load event, for every image and for ``MathJax.startup.promise``, then checks:

- every ``<img>`` loaded (``complete && naturalWidth > 0``) and no local request answered 4xx/5xx or failed;
- no request left the local server (any other host, port or scheme than ``http://127.0.0.1:<port>``,
  ``data:``, ``blob:`` and ``about:`` fails; other host names do not even resolve, so nothing leaves the machine);
- no JavaScript exception, ``console.error`` or error log entry;
- every ``.math`` element holds a rendered ``mjx-container`` and MathJax reported no ``mjx-merror``;
- every ``{glue:text}`` / ``{glue}`` reference of the page's source (``_sources/``) was rendered with the value
  stored in the notebook, and no literal ``{glue`` role, ``.problematic`` or system message is left.

It writes a full-page PNG per page under ``_build/screenshots/`` (``notebooks__01_data_prep.png``) and a
``report.json`` beside them. ``index.html`` and other meta-refresh redirects are skipped: they are not pages.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from affect_lib.publish.cdp import (
    HEIGHT,
    WIDTH,
    BrowserCheckError,
    Chromium,
    ensure_chromium,
    find_chromium,
)

__all__ = [
    "BrowserCheckError",
    "PageReport",
    "Chromium",
    "find_chromium",
    "ensure_chromium",
    "book_pages",
    "expected_glue",
    "serve",
    "check_pages",
    "check_book",
    "main",
]

LOCAL_SCHEMES = ("data:", "blob:", "about:")
MAX_SHOT_HEIGHT = 16000
REDIRECT = re.compile(r"<meta[^>]+http-equiv=[\"']?refresh", re.I)
GLUE_ROLE = re.compile(r"\{glue(?::(text|any))?\}`([^`]+)`")


@dataclass
class PageReport:
    """What one page showed; ``errors`` empty means the page passed."""

    page: str
    errors: list[str] = field(default_factory=list)
    images: int = 0
    math: int = 0
    math_rendered: int = 0
    glue_checked: int = 0
    requests: int = 0
    screenshot: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


# -- serving the book ---------------------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on ``http://127.0.0.1:<free port>`` from a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, name="book-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# -- what to check ------------------------------------------------------------------------------------------
def book_pages(html_dir: Path) -> list[str]:
    """Every ``.html`` page below ``html_dir`` (relative, sorted) except assets and redirects."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        if rel.parts[0] in ("_static", "_sources", "_images", "_downloads"):
            continue
        if REDIRECT.search(path.read_text(errors="replace")[:4000]):
            continue
        pages.append(rel.as_posix())
    return pages


def _glue_values(notebook: Path) -> dict[str, str]:
    """``key -> text/plain`` of every ``glue`` output stored in ``notebook``."""
    try:
        nb = json.loads(notebook.read_text())
    except (OSError, ValueError):
        return {}
    values = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            scrapbook = out.get("metadata", {}).get("scrapbook", {})
            plain = out.get("data", {}).get(
                scrapbook.get("mime_prefix", "") + "text/plain"
            )
            if scrapbook.get("name") and plain is not None:
                values[scrapbook["name"]] = "".join(plain)
    return values


def _source_of(html_dir: Path, page: str) -> Path | None:
    stem = page.removesuffix(".html")
    for suffix in (".ipynb", ".md", ".md.txt", ".ipynb.txt"):
        candidate = html_dir / "_sources" / (stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def expected_glue(html_dir: Path, page: str) -> list[tuple[str, str]]:
    """``(reference, text)`` for every ``{glue:text}`` / ``{glue}`` role in the page's source (``_sources``)."""
    from myst_nb.core.variables import format_plain_text

    source = _source_of(html_dir, page)
    if source is None:
        return []
    if source.name.endswith((".ipynb", ".ipynb.txt")):
        cells = json.loads(source.read_text()).get("cells", [])
        markdown = "\n".join(
            "".join(c["source"]) for c in cells if c.get("cell_type") == "markdown"
        )
    else:
        markdown = source.read_text()
    expected = []
    here = Path(page).parent
    for _kind, ref in GLUE_ROLE.findall(markdown):
        doc, _, key = ref.rpartition("::")
        key, _, fmt = key.partition(":")
        doc = doc.removesuffix(".ipynb").removesuffix(
            ".md"
        )  # `../notebooks/03_x.ipynb::key` names a source file
        target = (
            source
            if not doc
            else _source_of(html_dir, (here / doc).as_posix() + ".html")
        )
        values = _glue_values(target) if target is not None else {}
        if key not in values:
            expected.append((ref, f"<no stored value for glue key {key!r}>"))
            continue
        try:
            expected.append((ref, format_plain_text(values[key], fmt)))
        except (ValueError, TypeError):
            expected.append((ref, values[key]))
    return expected


# Runs in the page: waits for images and MathJax, then reports what rendered.
PAGE_JS = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  for (const img of document.images) img.loading = 'eager';
  await Promise.all([...document.images].map(img => img.complete ? 0 :
      new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); })));
  const math = [...document.querySelectorAll('.math')];
  const mj = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
  for (let i = 0; math.length && !mj() && i < 100; i++) await sleep(100);
  let mathjax = 'absent';
  if (mj()) { await MathJax.startup.promise; mathjax = 'ready'; }
  const root = document.querySelector('main') || document.body;
  return {
    mathjax,
    images: [...document.images].map(img => ({src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0})),
    math: math.length,
    unrendered: math.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.trim().slice(0, 60)),
    mathErrors: [...document.querySelectorAll('mjx-merror')].map(el =>
        (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 100)),
    problems: [...document.querySelectorAll('.problematic, .system-message')].map(el => el.textContent.trim().slice(0, 100)),
    text: root.textContent,
  };
})()
"""


def _console_text(args: list[dict[str, Any]]) -> str:
    return " ".join(
        str(a.get("value", a.get("description", a.get("type", "")))) for a in args
    )[:300]


def _is_local(url: str, base: str) -> bool:
    return url.startswith(base) or url.startswith(LOCAL_SCHEMES)


def _screenshot(browser: Chromium, session: str, target: Path) -> None:
    """Full-page PNG: the viewport is made as tall as the page (``captureBeyondViewport`` shifts this
    theme's layout), then restored."""
    height = int(
        browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"][
            "height"
        ]
    )
    height = max(HEIGHT, min(height, MAX_SHOT_HEIGHT))
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    browser.send(
        "Runtime.evaluate",
        {
            "expression": "new Promise(r => requestAnimationFrame(() => "
            "requestAnimationFrame(r)))",
            "awaitPromise": True,
        },
        session=session,
    )
    shot = browser.send(
        "Page.captureScreenshot", {"format": "png"}, session=session, timeout=120
    )
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base64.b64decode(shot["data"]))


def check_page(
    browser: Chromium,
    base: str,
    page: str,
    *,
    expected: list[tuple[str, str]] = (),
    screenshot: Path | None = None,
    timeout: float = 60.0,
) -> PageReport:
    """Open ``base + page`` in a fresh tab and check it (see the module docstring)."""
    start = time.monotonic()
    report = PageReport(page)
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send(
        "Target.attachToTarget", {"targetId": target, "flatten": True}
    )["sessionId"]
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        nav = browser.send("Page.navigate", {"url": base + page}, session=session)
        if nav.get("errorText"):
            report.errors.append(f"navigation failed: {nav['errorText']}")
            return report
        if browser.wait_event(session, "Page.loadEventFired", timeout) is None:
            report.errors.append(f"no load event within {timeout:g} s")
        try:
            value = browser.send(
                "Runtime.evaluate",
                {"expression": PAGE_JS, "awaitPromise": True, "returnByValue": True},
                session=session,
                timeout=timeout,
            )
        except BrowserCheckError as exc:
            if browser.proc.poll() is not None:
                raise
            report.errors.append(
                f"images or MathJax never finished loading: {str(exc).splitlines()[0]}"
            )
            return report
        if "exceptionDetails" in value:
            report.errors.append(
                f"page check script failed: {value['exceptionDetails'].get('text')}"
            )
            return report
        seen = value["result"]["value"]
        report.images = len(seen["images"])
        report.errors += [
            f"image did not load: {img['src']}"
            for img in seen["images"]
            if not img["ok"]
        ]
        report.math = seen["math"]
        report.math_rendered = seen["math"] - len(seen["unrendered"])
        if seen["math"] and seen["mathjax"] != "ready":
            report.errors.append(
                f"{seen['math']} math element(s) but MathJax never started"
            )
        report.errors += [f"math not rendered: {m!r}" for m in seen["unrendered"][:5]]
        report.errors += [f"MathJax error: {m}" for m in seen["mathErrors"][:5]]
        report.errors += [
            f"unresolved reference or system message: {p!r}"
            for p in seen["problems"][:5]
        ]
        if "{glue" in seen["text"]:
            report.errors.append("literal {glue...} role in the page text")
        for ref, text in expected:
            if text not in seen["text"]:
                report.errors.append(
                    f"glued value missing: glue reference `{ref}` should show {text!r}"
                )
        report.glue_checked = len(expected)
        time.sleep(0.2)  # late console messages and requests of the load
        if screenshot is not None:
            _screenshot(browser, session, screenshot)
            report.screenshot = str(screenshot)
        for event in browser.events(session):
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                report.requests += 1
                url = params["request"]["url"]
                if not _is_local(url, base):
                    report.errors.append(f"non-local request: {url[:200]}")
            elif (
                method == "Network.responseReceived"
                and params["response"]["status"] >= 400
                and params["response"]["url"] != base + "favicon.ico"
            ):  # the browser asks, not the page
                report.errors.append(
                    f"HTTP {params['response']['status']}: {params['response']['url'][:200]}"
                )
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                report.errors.append(
                    f"request failed ({params.get('errorText')}): request {params['requestId']}"
                )
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get(
                    "text"
                )
                report.errors.append(f"JavaScript exception: {str(text)[:300]}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in (
                "error",
                "assert",
            ):
                report.errors.append(
                    f"console.{params['type']}: {_console_text(params.get('args', []))}"
                )
            elif (
                method == "Log.entryAdded"
                and params["entry"]["level"] == "error"
                and params["entry"].get("source") not in ("network", "javascript")
            ):
                report.errors.append(
                    f"console error ({params['entry'].get('source')}): {params['entry']['text'][:300]}"
                )
        # a failed request is reported once, with its URL where the browser gave one
        urls = {
            e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in browser.events(session)
            if e["method"] == "Network.requestWillBeSent"
        }
        report.errors = [_with_url(err, urls, base) for err in report.errors]
        report.errors = [e for e in dict.fromkeys(report.errors) if e]
    finally:
        try:
            browser.send("Target.closeTarget", {"targetId": target}, timeout=10)
        except BrowserCheckError:
            pass
        browser.forget(session)
        report.seconds = round(time.monotonic() - start, 2)
    return report


def _with_url(error: str, urls: dict[str, str], base: str) -> str:
    match = re.match(r"request failed \((.*)\): request (\S+)$", error)
    if not match:
        return error
    url = urls.get(match.group(2), "?")
    if not _is_local(url, base):
        return ""  # already reported as a non-local request
    return f"request failed ({match.group(1)}): {url[:200]}"


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
    """Check every page of a built book (see :func:`book_pages`); screenshots and report.json go to ``screenshots``."""
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
    """Check the book, print one line per page and return the exit status (0 = every page passed)."""
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
            f"[browser-check] {status} {r.page:45s} images {r.images:2d}  math {r.math_rendered:3d}/{r.math:<3d} "
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
