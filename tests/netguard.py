"""A network guard for subprocesses: a ``sitecustomize`` that refuses and records
non-local connections.

:func:`guarded_env` returns an environment whose Python processes (the runner and every
notebook kernel it starts, which inherit ``PYTHONPATH``) import the guard first; each
blocked attempt is appended to the log file, so "no log file" means no process tried to
reach the network.
"""

import os
import textwrap
from pathlib import Path

GUARD = textwrap.dedent("""
    # sitecustomize: refuse every network connection that does not stay on this machine
    import json, os, socket
    _log = os.environ["AFFECT_NET_LOG"]
    _local = ("127.", "::1", "localhost", "0.0.0.0")
    def _record(what):
        with open(_log, "a") as fh:
            fh.write(json.dumps(str(what)) + "\\n")
        raise OSError(f"network access blocked by the offline test: {what}")
    _connect = socket.socket.connect
    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        unix = self.family == getattr(socket, "AF_UNIX", None)
        if unix or str(host).startswith(_local):
            return _connect(self, address)
        _record(address)
    socket.socket.connect = connect
    _gai = socket.getaddrinfo
    def getaddrinfo(host, *args, **kwargs):
        if host is None or str(host).startswith(_local):
            return _gai(host, *args, **kwargs)
        _record(host)
    socket.getaddrinfo = getaddrinfo
""")


def guarded_env(folder: Path) -> tuple[dict[str, str], Path]:
    """(environment with the guard on ``PYTHONPATH``, the log file it writes on a
    blocked attempt)."""
    (folder / "guard").mkdir(parents=True)
    (folder / "guard" / "sitecustomize.py").write_text(GUARD)
    log = folder / "net.log"
    return {
        **os.environ,
        "PYTHONPATH": str(folder / "guard"),
        "AFFECT_NET_LOG": str(log),
    }, log
