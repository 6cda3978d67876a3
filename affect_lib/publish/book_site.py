"""The built HTML book as a site: served locally, its pages listed, the glued values
each must show.

:func:`serve` serves a folder on ``http://127.0.0.1:<free port>`` from a thread of this
process, so the browser check (:mod:`affect_lib.publish.browser`) never needs a network.
:func:`book_pages` lists the pages worth opening (no assets, no meta-refresh redirects
such as ``index.html``), and :func:`expected_glue` reads, from a page's source under
``_sources/`` and the notebooks it refers to, the text every ``{glue:text}`` /
``{glue}`` reference must render to.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["serve", "book_pages", "expected_glue"]


REDIRECT = re.compile(r"<meta[^>]+http-equiv=[\"']?refresh", re.I)
GLUE_ROLE = re.compile(r"\{glue(?::(text|any))?\}`([^`]+)`")


# -- serving the book ------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on ``http://127.0.0.1:<free port>`` from a thread; yields the
    base URL."""
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


# -- what to check ---------------------------------------------------------------------
def book_pages(html_dir: Path) -> list[str]:
    """Every ``.html`` page below ``html_dir`` (relative, sorted) except assets and
    redirects."""
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
    """``(reference, text)`` for every ``{glue:text}`` / ``{glue}`` role in the page's
    source (``_sources``)."""
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
        # `../notebooks/03_x.ipynb::key` names a source file
        doc = doc.removesuffix(".ipynb").removesuffix(".md")
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
