"""Small Sphinx extension for the book (``_config.yml`` → ``sphinx.extra_extensions``).

Jupyter Book v1 with Sphinx 7.4 writes some inline scripts twice into every page
(sphinx-thebe's ``const THEBE_JS_URL = ...`` and sphinx-togglebutton's selector): the
second ``const`` declaration is a JavaScript ``SyntaxError`` in every reader's console,
which ``make browser-test`` reports. Sphinx adds an inline script registered after the
builder started twice, once directly (filename ``None``) and once from its registry
(filename ``""``), so its own de-duplication misses it. This extension drops exact
duplicates (same file or body, same attributes) from each page's script list.
"""

from __future__ import annotations

from typing import Any

__all__ = ["dedupe_scripts", "setup"]


def dedupe_scripts(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """``html-page-context`` handler: keep the first of identical ``<script>``
    entries."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for js in scripts:
        key = (
            getattr(js, "filename", str(js)) or "",
            tuple(sorted(getattr(js, "attributes", {}).items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app: Any) -> dict[str, Any]:
    # after the extensions that add scripts
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
