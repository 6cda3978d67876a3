"""Which Chromium the browser check drives: found on PATH (or ``$CHROMIUM``), else
apt-get installed.

:func:`find_chromium` looks for ``$CHROMIUM`` or the first of :data:`CANDIDATES` on
PATH; :func:`ensure_chromium` also installs Debian's ``chromium`` with apt-get when
asked to. :class:`BrowserCheckError` is the error of the whole browser check (no
browser, a browser that died, a page that never finished loading).
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["BrowserCheckError", "CANDIDATES", "find_chromium", "ensure_chromium"]

CANDIDATES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
)


class BrowserCheckError(RuntimeError):
    """No browser, a browser that died, or a page that never finished loading."""


# -- finding (and installing) a browser ------------------------------------------------
def find_chromium() -> str | None:
    """``$CHROMIUM`` if set, else the first of chromium / chromium-browser /
    google-chrome on PATH."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def ensure_chromium(install: bool = False) -> str:
    """A Chromium executable; with ``install``, Debian's ``chromium`` via apt-get when
    none is found."""
    found = find_chromium()
    if found or not install:
        if not found:
            raise BrowserCheckError(
                "no Chromium found (looked for $CHROMIUM, "
                + ", ".join(CANDIDATES)
                + "); install it (`apt-get install chromium`) or pass --install"
            )
        return found
    if not shutil.which("apt-get"):
        raise BrowserCheckError(
            "no Chromium found and no apt-get to install it; install Chromium or "
            "Chrome "
            "and put it on PATH (or set $CHROMIUM)"
        )
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    print("[browser-check] installing Debian's chromium (apt-get) ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        proc = subprocess.run(sudo + cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BrowserCheckError(
                f"`{' '.join(sudo + cmd)}` failed:\n{proc.stderr[-2000:]}"
            )
    found = find_chromium()
    if not found:
        raise BrowserCheckError(
            "apt-get installed chromium, but no chromium is on PATH"
        )
    return found
