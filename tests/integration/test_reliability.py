"""Reliability guarantees: exact resume, no unsafe deserialisation.

That every notebook runs offline is checked by the seed-rebuild test: its first smoke
run of the whole book goes through :mod:`netguard`, which refuses and records any
non-local connection.
"""

import ast
import dataclasses
import subprocess
import sys

import pytest
import torch
from netguard import guarded_env

from affect_lib.affect_diff.train import train_affect_diff
from affect_lib.data.datamodule import build_datamodule
from conftest import ROOT

pytestmark = pytest.mark.reliability


def test_resume_from_last_ckpt_matches_uninterrupted_run(smoke_cfg, tmp_path):
    dm = build_datamodule(smoke_cfg)
    full = train_affect_diff(
        dataclasses.replace(smoke_cfg, run_dir=str(tmp_path / "a")), dm
    )
    cfg_b = dataclasses.replace(smoke_cfg, run_dir=str(tmp_path / "b"))
    train_affect_diff(cfg_b, dm, max_epochs=1)  # "interrupted" after one epoch
    resumed = train_affect_diff(cfg_b, dm, resume=True)
    a, b = full.module.state_dict(), resumed.module.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(
            a[k], b[k], rtol=0, atol=0, msg=f"parameter {k} differs after resume"
        )
    ma, mb = (
        full.module.trainer.callback_metrics,
        resumed.module.trainer.callback_metrics,
    )
    for key in ("val_loss", "val_acc", "train_loss"):
        assert float(ma[key]) == float(mb[key]), key


def test_resume_without_checkpoint_is_a_clear_error(smoke_cfg, tmp_path):
    dm = build_datamodule(smoke_cfg)
    with pytest.raises(FileNotFoundError, match="last.ckpt"):
        train_affect_diff(
            dataclasses.replace(smoke_cfg, run_dir=str(tmp_path)), dm, resume=True
        )


def test_the_network_guard_blocks_and_records_a_remote_lookup_but_not_a_local_one(
    tmp_path,
):
    """The guard the seed-rebuild test's offline run relies on: it must catch what it
    claims to."""
    env, log = guarded_env(tmp_path)
    code = (
        "import socket\n"
        "socket.getaddrinfo('localhost', 80)\n"
        "try:\n    socket.getaddrinfo('huggingface.co', 443)\nexcept OSError as "
        "e:\n    print('blocked:', e)\n"
        "s = socket.socket()\n"
        "try:\n    s.connect(('203.0.113.1', 443))\nexcept OSError as e:\n    "
        "print('blocked:', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.count("blocked: network access blocked by the offline test") == 2, out
    assert log.read_text().splitlines() == [
        '"huggingface.co"',
        "\"('203.0.113.1', 443)\"",
    ]


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _unsafe_calls(source: str, where: str) -> list[str]:
    """torch.load without weights_only=True, np.load(allow_pickle=True), and pickle
    loads in a module that has no trust_pickle + SHA-256 opt-in."""
    offenders = []
    for call, name in _calls(ast.parse(source)):
        kw = {k.arg: k.value for k in call.keywords}
        line = f"{where}:{call.lineno}"
        if name == "torch.load" and not (
            isinstance(kw.get("weights_only"), ast.Constant)
            and kw["weights_only"].value is True
        ):
            offenders.append(f"{line} torch.load without weights_only=True")
        elif (
            name in ("np.load", "numpy.load")
            and isinstance(kw.get("allow_pickle"), ast.Constant)
            and kw["allow_pickle"].value is True
        ):
            offenders.append(f"{line} np.load(allow_pickle=True)")
        elif name in (
            "pickle.load",
            "pickle.loads",
            "pd.read_pickle",
            "pandas.read_pickle",
        ) and not ("trust_pickle" in source and "sha256" in source):
            offenders.append(
                f"{line} {name} without a trust_pickle + SHA-256 opt-in in its module"
            )
    return offenders


def test_no_unsafe_deserialisation_in_the_library():
    """pickle only behind an explicit, checksummed opt-in; torch.load only with
    weights_only=True."""
    offenders = [
        o
        for path in sorted((ROOT / "affect_lib").rglob("*.py"))
        for o in _unsafe_calls(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert not offenders, "\n".join(offenders)


def test_the_scan_catches_unsafe_loads():
    bad = (
        "import torch, pickle\na = torch.load('x.pt')\nb = torch.load('y.pt', "
        "weights_only=False)\n"
        "c = pickle.load(open('z', 'rb'))\n"
    )
    assert len(_unsafe_calls(bad, "bad.py")) == 3
    good = (
        "import torch\na = torch.load('x.pt', map_location='cpu', weights_only=True)\n"
    )
    assert _unsafe_calls(good, "good.py") == []
