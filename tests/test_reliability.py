"""Reliability guarantees: exact resume, offline notebooks, no unsafe deserialisation."""

import ast
import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest
import torch

from affect_lib.data.datamodule import build_datamodule
from affect_lib.modules.train import train_affect_diff
from conftest import ROOT

pytestmark = pytest.mark.reliability


def test_resume_from_last_ckpt_matches_uninterrupted_run(smoke_cfg, tmp_path):
    dm = build_datamodule(smoke_cfg)
    full = train_affect_diff(dataclasses.replace(smoke_cfg, run_dir=str(tmp_path / "a")), dm)
    cfg_b = dataclasses.replace(smoke_cfg, run_dir=str(tmp_path / "b"))
    train_affect_diff(cfg_b, dm, max_epochs=1)  # "interrupted" after one epoch
    resumed = train_affect_diff(cfg_b, dm, resume=True)
    a, b = full.module.state_dict(), resumed.module.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=f"parameter {k} differs after resume")
    ma, mb = full.module.trainer.callback_metrics, resumed.module.trainer.callback_metrics
    for key in ("val_loss", "val_acc", "train_loss"):
        assert float(ma[key]) == float(mb[key]), key


def test_resume_without_checkpoint_is_a_clear_error(smoke_cfg, tmp_path):
    dm = build_datamodule(smoke_cfg)
    with pytest.raises(FileNotFoundError, match="last.ckpt"):
        train_affect_diff(dataclasses.replace(smoke_cfg, run_dir=str(tmp_path)), dm, resume=True)


GUARD = textwrap.dedent('''
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
        if self.family == getattr(socket, "AF_UNIX", None) or str(host).startswith(_local):
            return _connect(self, address)
        _record(address)
    socket.socket.connect = connect
    _gai = socket.getaddrinfo
    def getaddrinfo(host, *args, **kwargs):
        if host is None or str(host).startswith(_local):
            return _gai(host, *args, **kwargs)
        _record(host)
    socket.getaddrinfo = getaddrinfo
''')


@pytest.mark.slow
def test_notebooks_run_offline_in_smoke_profile(tmp_path):
    """Every notebook in the smoke profile, with any non-local connection attempt recorded and refused."""
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "guard"), "AFFECT_NET_LOG": str(log)}
    proc = subprocess.run([sys.executable, "-m", "affect_lib.cli", "run", "--profile", "smoke", "-p", "run_dir",
                           str(tmp_path / "run")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not log.exists(), f"network access attempted: {log.read_text()[:500]}"
    timings = json.loads((ROOT / "_build" / "runs" / "smoke" / "timings.json").read_text())
    ran = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert ran <= set(timings["notebooks"]) and all(v["status"] == "ok" for v in timings["notebooks"].values())


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _unsafe_calls(source: str, where: str) -> list[str]:
    """torch.load without weights_only=True, np.load(allow_pickle=True), and pickle loads in a module
    that has no trust_pickle + SHA-256 opt-in."""
    offenders = []
    for call, name in _calls(ast.parse(source)):
        kw = {k.arg: k.value for k in call.keywords}
        line = f"{where}:{call.lineno}"
        if name == "torch.load" and not (isinstance(kw.get("weights_only"), ast.Constant)
                                         and kw["weights_only"].value is True):
            offenders.append(f"{line} torch.load without weights_only=True")
        elif name in ("np.load", "numpy.load") and isinstance(kw.get("allow_pickle"), ast.Constant) \
                and kw["allow_pickle"].value is True:
            offenders.append(f"{line} np.load(allow_pickle=True)")
        elif name in ("pickle.load", "pickle.loads", "pd.read_pickle", "pandas.read_pickle") \
                and not ("trust_pickle" in source and "sha256" in source):
            offenders.append(f"{line} {name} without a trust_pickle + SHA-256 opt-in in its module")
    return offenders


def test_no_unsafe_deserialisation_in_the_library():
    """pickle only behind an explicit, checksummed opt-in; torch.load only with weights_only=True."""
    offenders = [o for path in sorted((ROOT / "affect_lib").rglob("*.py"))
                 for o in _unsafe_calls(path.read_text(), str(path.relative_to(ROOT)))]
    assert not offenders, "\n".join(offenders)


def test_the_scan_catches_unsafe_loads():
    bad = "import torch, pickle\na = torch.load('x.pt')\nb = torch.load('y.pt', weights_only=False)\n" \
          "c = pickle.load(open('z', 'rb'))\n"
    assert len(_unsafe_calls(bad, "bad.py")) == 3
    good = "import torch\na = torch.load('x.pt', map_location='cpu', weights_only=True)\n"
    assert _unsafe_calls(good, "good.py") == []
