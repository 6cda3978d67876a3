"""Which numeric kernels give the same bits on two machines? A small battery of the operations the
notebooks train and infer with, each reduced to a short hash of its result bits.

The stored notebooks' trained numbers are bitwise reproducible on one kind of machine only
(:mod:`affect_lib.provenance`). When nbval fails on another kind, the question is *which* library
rounds differently there: numpy's OpenBLAS, torch's MKL (matrix products), oneDNN (convolutions) or
torch's own vector kernels. Each probe below exercises one of them on fixed inputs; two machines
whose hashes agree for a probe run that kernel bit for bit alike. :func:`probe` runs the battery in
a fresh interpreter under given code-path variables (they are read when numpy and torch load, so
they cannot be changed inside a running process), once with the notebook kernels' pins and once
with :data:`PORTABLE_PINS`, the libraries' most conservative code paths: ``make notebooks`` records
both in each notebook's stamp, so the stamps of two kinds of machine say which kernels differ with
today's pins and whether the conservative ones would make them agree (at a cost in speed that
``bench_kernel_pins`` in the benchmarks measures).

Inputs come from numpy's ``default_rng`` (the same bits everywhere), never from torch's generator,
whose vectorised normal sampler itself depends on the CPU. Run ``python -m affect_lib.kernel_probe``
to print this process's hashes as JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["PORTABLE_PINS", "PROBES", "run_probes", "probe"]

# The most conservative code path each library offers, for comparison with the pinned one: MKL's
# "compatible" branch (documented to give the same results on Intel and non-Intel processors),
# oneDNN's SSE4.1 kernels, torch's scalar ("default") kernels; OpenBLAS keeps its Haswell pin, under
# which chapter 1 (numpy only) already matched across an Intel and an AMD machine.
PORTABLE_PINS = {"OPENBLAS_CORETYPE": "Haswell", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41",
                 "ATEN_CPU_CAPABILITY": "default"}


def _digest(*arrays) -> str:
    """First 12 hex digits of the SHA-256 of the arrays' bytes (numpy arrays or torch tensors)."""
    h = hashlib.sha256()
    for a in arrays:
        a = a.detach().contiguous().numpy() if hasattr(a, "detach") else np.ascontiguousarray(a)
        h.update(a.tobytes())
    return h.hexdigest()[:12]


def _data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _np_matmul() -> str:  # OpenBLAS sgemm / dgemm (scikit-learn's MLP, chapter 5)
    a, b = _data(97, 83), _data(83, 71, seed=1)
    return _digest(a @ b, a.astype(np.float64) @ b.astype(np.float64))


def _sklearn_mlp() -> str:  # three Adam epochs of a small MLPClassifier (chapter 5's AdamMLP: the same bits)
    from sklearn.neural_network import MLPClassifier

    X = _data(120, 40)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), alpha=1.0, batch_size=8, random_state=np.random.RandomState(0))
    for _ in range(3):
        mlp.partial_fit(X, y, classes=np.array([0, 1]))
    return _digest(*mlp.coefs_, *mlp.intercepts_)


def _torch(a: np.ndarray, grad: bool = False):
    import torch

    return torch.tensor(a, requires_grad=grad)


def _torch_mm() -> str:  # MKL sgemm
    return _digest(_torch(_data(97, 83)) @ _torch(_data(83, 71, seed=1)))


def _torch_linear() -> str:  # nn.Linear forward and backward
    import torch.nn.functional as F

    x, w, b = _torch(_data(64, 83), True), _torch(_data(71, 83, seed=1), True), _torch(_data(71, seed=2), True)
    out = F.linear(x, w, b)
    (out ** 2).sum().backward()
    return _digest(out, x.grad, w.grad, b.grad)


def _torch_conv1d() -> str:  # oneDNN convolution, forward and backward (the U-Net's building block)
    import torch.nn.functional as F

    x, w = _torch(_data(4, 24, 50), True), _torch(_data(32, 24, 3, seed=1) * 0.2, True)
    out = F.conv1d(x, w, padding=1)
    (out ** 2).sum().backward()
    return _digest(out, x.grad, w.grad)


def _torch_pointwise() -> str:  # torch's own vector kernels: activations, softmax, norms, reductions
    import torch
    import torch.nn.functional as F

    x = _torch(_data(16, 33, 47), True)
    outs = [F.gelu(x), F.silu(x), torch.exp(x), F.softmax(x, -1), F.log_softmax(x, -1),
            F.layer_norm(x, (47,)), F.group_norm(x, 3), x.sum(-1), x.mean((0, 2))]
    sum(o.square().sum() for o in outs).backward()
    return _digest(*outs, x.grad)


def _torch_transformer() -> str:  # one encoder layer (attention, feed-forward, layer norm), eval mode
    import torch

    layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
    with torch.no_grad():
        for k, p in enumerate(layer.parameters()):
            p.copy_(torch.from_numpy(_data(*p.shape, seed=10 + k) * 0.1))
    x = _torch(_data(3, 20, 32), True)
    out = layer(x)
    out.square().sum().backward()
    return _digest(out, x.grad)


def _torch_adamw() -> str:  # ten AdamW steps of a conv + linear net: rounding carried through training
    import torch

    net = torch.nn.Sequential(torch.nn.Conv1d(8, 16, 3, padding=1), torch.nn.SiLU(), torch.nn.Flatten(),
                              torch.nn.Linear(16 * 20, 6))
    with torch.no_grad():
        for k, p in enumerate(net.parameters()):
            p.copy_(torch.from_numpy(_data(*p.shape, seed=20 + k) * 0.1))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    x, y = _torch(_data(32, 8, 20)), torch.from_numpy(np.arange(32) % 6)
    for _ in range(10):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return _digest(*net.parameters())


# probe name -> (library whose code path it exercises, function)
PROBES: dict[str, tuple[str, Callable[[], str]]] = {
    "numpy_matmul": ("OpenBLAS", _np_matmul),
    "sklearn_mlp": ("OpenBLAS", _sklearn_mlp),
    "torch_mm": ("MKL", _torch_mm),
    "torch_linear": ("MKL", _torch_linear),
    "torch_conv1d": ("oneDNN", _torch_conv1d),
    "torch_pointwise": ("ATen", _torch_pointwise),
    "torch_transformer": ("MKL + ATen", _torch_transformer),
    "torch_adamw": ("all of torch", _torch_adamw),
}


def run_probes() -> dict[str, str]:
    """``{probe: hash}`` for every probe of :data:`PROBES`, computed in this process."""
    return {name: fn() for name, (_, fn) in PROBES.items()}


def probe(pins: Mapping[str, str], *, timeout: float = 120) -> dict[str, str]:
    """Run the battery in a fresh interpreter whose environment is this one's with ``pins`` set.

    Returns ``{probe: hash}``; ``{"error": message}`` when the interpreter fails (a stamp must not
    stop ``make notebooks``).
    """
    env = {**os.environ, **pins}
    try:
        done = subprocess.run([sys.executable, "-m", "affect_lib.kernel_probe"], env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"kernel probe took more than {timeout:g} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["kernel probe failed"])[-1]}
    return json.loads(done.stdout)


if __name__ == "__main__":
    print(json.dumps(run_probes()))
