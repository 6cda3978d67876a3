"""What a page's tab reported while it loaded: its requests, HTTP and network failures,
console errors.

:func:`event_errors` reads the DevTools events that
:class:`affect_lib.publish.cdp.Chromium` kept for one tab and turns each request that
left the local server (any other host, port or scheme than the served book's, ``data:``,
``blob:`` and ``about:`` excepted), each 4xx/5xx answer, failed request, JavaScript
exception, ``console.error`` and error log entry into a line of the page's report;
:func:`with_request_urls` then names each failed request by its URL and drops repeats.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LOCAL_SCHEMES", "event_errors", "with_request_urls"]

LOCAL_SCHEMES = ("data:", "blob:", "about:")


def _console_text(args: list[dict[str, Any]]) -> str:
    return " ".join(
        str(a.get("value", a.get("description", a.get("type", "")))) for a in args
    )[:300]


def _is_local(url: str, base: str) -> bool:
    return url.startswith(base) or url.startswith(LOCAL_SCHEMES)


def event_errors(events: list[dict[str, Any]], base: str) -> tuple[int, list[str]]:
    """The number of requests a page made and an error line for each non-local request,
    HTTP error, failed request, JavaScript exception, ``console.error`` and error log
    entry among the DevTools ``events`` of its tab."""
    requests, errors = 0, []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            requests += 1
            url = params["request"]["url"]
            if not _is_local(url, base):
                errors.append(f"non-local request: {url[:200]}")
        # the browser asks, not the page
        elif (
            method == "Network.responseReceived"
            and params["response"]["status"] >= 400
            and params["response"]["url"] != base + "favicon.ico"
        ):
            errors.append(
                f"HTTP {params['response']['status']}: "
                f"{params['response']['url'][:200]}"
            )
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            errors.append(
                f"request failed ({params.get('errorText')}): request "
                f"{params['requestId']}"
            )
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get(
                "text"
            )
            errors.append(f"JavaScript exception: {str(text)[:300]}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in (
            "error",
            "assert",
        ):
            errors.append(
                f"console.{params['type']}: {_console_text(params.get('args', []))}"
            )
        elif (
            method == "Log.entryAdded"
            and params["entry"]["level"] == "error"
            and params["entry"].get("source") not in ("network", "javascript")
        ):
            errors.append(
                f"console error ({params['entry'].get('source')}): "
                f"{params['entry']['text'][:300]}"
            )
    return requests, errors


def with_request_urls(
    errors: list[str], events: list[dict[str, Any]], base: str
) -> list[str]:
    """``errors`` without repeats, each failed request named by its URL where the
    browser gave one (one that left the local server is dropped: it is already reported
    as a non-local request)."""
    urls = {
        e["params"]["requestId"]: e["params"]["request"]["url"]
        for e in events
        if e["method"] == "Network.requestWillBeSent"
    }
    errors = [_with_url(err, urls, base) for err in errors]
    return [e for e in dict.fromkeys(errors) if e]


def _with_url(error: str, urls: dict[str, str], base: str) -> str:
    match = re.match(r"request failed \((.*)\): request (\S+)$", error)
    if not match:
        return error
    url = urls.get(match.group(2), "?")
    if not _is_local(url, base):
        return ""  # already reported as a non-local request
    return f"request failed ({match.group(1)}): {url[:200]}"
