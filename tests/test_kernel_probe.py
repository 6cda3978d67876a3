"""The kernel probe battery: repeatable bits, sensitive to the code path, and a failure that stops nothing."""

import re

import pytest

from affect_lib import kernel_probe, provenance


def test_every_probe_gives_the_same_bits_twice_in_one_process():
    first, second = kernel_probe.run_probes(), kernel_probe.run_probes()
    assert first == second and set(first) == set(kernel_probe.PROBES)
    assert all(re.fullmatch(r"[0-9a-f]{12}", h) for h in first.values())


def test_the_probes_see_the_code_path_and_the_portable_pins_keep_numpys():
    """Pinned and portable code paths give other torch bits (skipped where nothing is pinned)."""
    pins = provenance.kernel_pins()
    if not set(provenance.X86_PINS) <= set(pins):
        pytest.skip("no pins on this CPU")
    pinned, portable = kernel_probe.probe(pins), kernel_probe.probe(kernel_probe.PORTABLE_PINS)
    assert "error" not in pinned and set(pinned) == set(kernel_probe.PROBES)
    assert pinned["numpy_matmul"] == portable["numpy_matmul"]  # the same OpenBLAS pin in both sets
    assert pinned["torch_mm"] != portable["torch_mm"] and pinned["torch_conv1d"] != portable["torch_conv1d"]


def test_a_probe_that_cannot_run_is_an_error_entry_not_an_exception(monkeypatch):
    monkeypatch.setattr(kernel_probe.sys, "executable", "/bin/false")
    assert kernel_probe.probe({}) == {"error": "kernel probe failed"}
