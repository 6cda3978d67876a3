"""Headless Chromium driven over the DevTools protocol through a pipe, for
``affect_lib.publish.browser``.

``--remote-debugging-pipe`` makes Chromium read NUL-separated JSON commands on fd 3 and
write answers and events on fd 4: no websocket package, no debugging port.
:class:`Chromium` starts the browser with a fresh profile, sends commands (flat
sessions, ``Target.attachToTarget(flatten=True)``) and keeps each session's events. The
executable is found (or installed) by :mod:`affect_lib.publish.chromium`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any

from affect_lib.publish.chromium import BrowserCheckError, ensure_chromium

__all__ = ["Chromium", "FLAGS", "WIDTH", "HEIGHT"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    # every host name except the local server's fails to resolve: nothing leaves the
    # machine
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
WIDTH, HEIGHT = 1280, 900


# -- the DevTools protocol over a pipe -------------------------------------------------
class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (NUL-separated JSON on
    fds 3 and 4).

    ``send`` waits for the answer to one command; events are kept per session and read
    with :meth:`events` / :meth:`wait_event`. Use as a context manager: the browser and
    its profile go away.
    """

    def __init__(self, executable: str | None = None, *, timeout: float = 60.0) -> None:
        self.executable = executable or ensure_chromium()
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="affect-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # fds 3 and 4 of the child: copy the ends above 10 first, so dup2 cannot clobber
        # one with the other
        child_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)

        def fds_3_and_4() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        cmd = [
            self.executable,
            *FLAGS,
            f"--user-data-dir={self._profile}",
            "--remote-debugging-pipe",
            f"--window-size={WIDTH},{HEIGHT}",
            "about:blank",
        ]
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            pass_fds=(3, 4),
            preexec_fn=fds_3_and_4,
            start_new_session=True,
        )
        for fd in (to_child_r, from_child_w, child_in, child_out):
            os.close(fd)
        self._next_id = 0
        self._lock = threading.Condition()
        self._write_lock = threading.Lock()
        self._answers: dict[int, dict[str, Any]] = {}
        self._events: dict[str | None, list[dict[str, Any]]] = {}
        self._closed = False
        self._reader = threading.Thread(
            target=self._read, name="cdp-reader", daemon=True
        )
        self._reader.start()
        try:
            self.version = self.send("Browser.getVersion").get("product", "?")
        except BrowserCheckError:
            self.close()
            raise

    def _read(self) -> None:
        buf = bytearray()
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while (end := buf.find(b"\0")) >= 0:
                msg = json.loads(bytes(buf[:end]))
                del buf[: end + 1]
                with self._lock:
                    if "id" in msg:
                        self._answers[msg["id"]] = msg
                    else:
                        self._events.setdefault(msg.get("sessionId"), []).append(msg)
                    self._lock.notify_all()
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def _browser_log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and return its ``result``; a protocol error raises
        BrowserCheckError."""
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = memoryview(json.dumps(msg).encode() + b"\0")
        with self._write_lock:
            try:
                while data:
                    data = data[os.write(self._to_child, data) :]
            except OSError as exc:
                raise BrowserCheckError(
                    f"Chromium is gone ({exc}); its log:\n{self._browser_log()}"
                ) from None
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._lock:
            while msg_id not in self._answers:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    what = (
                        "exited"
                        if self._closed
                        else (
                            f"did not answer {method} within "
                            f"{timeout or self.timeout:g} s"
                        )
                    )
                    raise BrowserCheckError(
                        f"Chromium {what}; its log:\n{self._browser_log()}"
                    )
                self._lock.wait(left)
            answer = self._answers.pop(msg_id)
        if "error" in answer:
            raise BrowserCheckError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def events(self, session: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events.get(session, []))

    def forget(self, session: str) -> None:
        """Drop the events kept for a closed session."""
        with self._lock:
            self._events.pop(session, None)

    def wait_event(
        self, session: str | None, method: str, timeout: float
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                hit = next(
                    (e for e in self._events.get(session, []) if e["method"] == method),
                    None,
                )
                left = deadline - time.monotonic()
                if hit or self._closed or left <= 0:
                    return hit
                self._lock.wait(left)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except BrowserCheckError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                # the browser we started and its helpers
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._reader.join(5)  # EOF once the browser is gone
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
