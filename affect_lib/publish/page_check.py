"""One page of the built book opened in a fresh headless-Chromium tab and checked as a
reader sees it.

:func:`check_page` navigates the tab, waits for the load event, for every image and for
``MathJax.startup.promise`` (:data:`PAGE_JS` runs in the page), then checks that every
``<img>`` loaded, every ``.math`` element holds a rendered ``mjx-container`` without
``mjx-merror``, every expected glued value is in the page text and no literal ``{glue``
role, ``.problematic`` or system message is left; what the tab logged and requested is
judged by :mod:`affect_lib.publish.page_events`. It can write a full-page PNG, and
returns a :class:`PageReport`.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path

from affect_lib.publish.cdp import HEIGHT, WIDTH, Chromium
from affect_lib.publish.chromium import BrowserCheckError
from affect_lib.publish.page_events import event_errors, with_request_urls

__all__ = ["PageReport", "PAGE_JS", "check_page"]

MAX_SHOT_HEIGHT = 16000


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


# Runs in the page: waits for images and MathJax, then reports what rendered.
PAGE_JS = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  for (const img of document.images) img.loading = 'eager';
  await Promise.all([...document.images].map(img => img.complete ? 0 :
      new Promise(r => {
        img.addEventListener('load', r);
        img.addEventListener('error', r);
      })));
  const math = [...document.querySelectorAll('.math')];
  const mj = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
  for (let i = 0; math.length && !mj() && i < 100; i++) await sleep(100);
  let mathjax = 'absent';
  if (mj()) { await MathJax.startup.promise; mathjax = 'ready'; }
  const root = document.querySelector('main') || document.body;
  return {
    mathjax,
    images: [...document.images].map(img => ({
      src: img.currentSrc || img.src,
      ok: img.complete && img.naturalWidth > 0,
    })),
    math: math.length,
    unrendered: math.filter(el => !el.querySelector('mjx-container'))
      .map(el => el.textContent.trim().slice(0, 60)),
    mathErrors: [...document.querySelectorAll('mjx-merror')].map(el =>
        (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 100)),
    problems: [...document.querySelectorAll('.problematic, .system-message')]
      .map(el => el.textContent.trim().slice(0, 100)),
    text: root.textContent,
  };
})()
"""


def _screenshot(browser: Chromium, session: str, target: Path) -> None:
    """Full-page PNG: the viewport is made as tall as the page
    (``captureBeyondViewport`` shifts this theme's layout), then restored."""
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
    """Open ``base + page`` in a fresh tab and check it (see
    :mod:`affect_lib.publish.browser`)."""
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
        requests, errors = event_errors(browser.events(session), base)
        report.requests += requests
        report.errors += errors
        # a failed request is reported once, with its URL where the browser gave one
        report.errors = with_request_urls(report.errors, browser.events(session), base)
    finally:
        try:
            browser.send("Target.closeTarget", {"targetId": target}, timeout=10)
        except BrowserCheckError:
            pass
        browser.forget(session)
        report.seconds = round(time.monotonic() - start, 2)
    return report
