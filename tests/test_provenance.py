"""The stamp of the machine that produced the stored notebook outputs, and the comparison with this one."""

import json

import nbformat
import pytest

from affect_lib import provenance
from affect_lib.book import notebook_paths
from affect_lib.cli import main
from conftest import ROOT


def _write(path, machine=None):
    nb = nbformat.v4.new_notebook()
    if machine is not None:
        provenance.stamp(nb, machine)
    path.write_text(nbformat.writes(nb))
    return path


def test_fingerprint_names_what_decides_the_rounding():
    fp = provenance.fingerprint()
    assert {"cpu", "cores", "torch", "torch_cpu_capability", "numpy", "kernel_pins"} <= set(fp)
    assert isinstance(fp["torch_cpu_capability"], str) and fp["torch_cpu_capability"]  # e.g. AVX2, AVX512
    assert fp["cpu"] and fp["cores"] >= 1
    json.dumps(fp)  # stored in notebook metadata: must be plain JSON


def test_kernels_are_pinned_to_avx2_code_paths_on_x86_with_avx2_and_a_chosen_value_is_kept(monkeypatch, tmp_path):
    from affect_lib.book import kernel_env

    for name in provenance.X86_PINS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(provenance.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(provenance, "_cpu_flags", lambda: {"sse2", "avx", "avx2", "fma", "avx512f"})
    pins = {"OPENBLAS_CORETYPE": "Haswell", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
            "ATEN_CPU_CAPABILITY": "avx2"}
    assert provenance.kernel_pins() == pins
    assert {k: kernel_env(tmp_path)[k] for k in pins} == pins
    fp = provenance.fingerprint()  # the stamp says what kernels get, though this process is not pinned
    assert fp["kernel_pins"] == pins and fp["torch_cpu_capability"] == "AVX2"
    monkeypatch.setattr(provenance, "_cpu_flags", lambda: {"sse2", "avx"})  # AVX2 code would not run
    assert provenance.kernel_pins() == {} and not set(pins) & set(kernel_env(tmp_path))
    monkeypatch.setattr(provenance.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(provenance, "_cpu_flags", lambda: {"avx2", "fma"})
    assert provenance.kernel_pins() == {}
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")  # the user's choice wins, and is recorded
    assert provenance.kernel_pins() == {"OPENBLAS_CORETYPE": "SkylakeX"}
    monkeypatch.setattr(provenance.platform, "machine", lambda: "x86_64")
    assert provenance.kernel_pins() == dict(pins, OPENBLAS_CORETYPE="SkylakeX")
    assert kernel_env(tmp_path)["OPENBLAS_CORETYPE"] == "SkylakeX"


def test_the_pins_reach_a_kernel_environment_and_torch_there_runs_its_avx2_kernels(tmp_path):
    """A real kernel environment: torch in it runs its AVX2 kernels (skipped off x86-64 with AVX2)."""
    import subprocess
    import sys

    from affect_lib.book import kernel_env

    if "ATEN_CPU_CAPABILITY" not in provenance.kernel_pins():
        pytest.skip("no pins on this CPU")
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    out = subprocess.run([sys.executable, "-c", code], env=kernel_env(tmp_path), capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == provenance.kernel_pins()["ATEN_CPU_CAPABILITY"].upper() == provenance.fingerprint()["torch_cpu_capability"]


def test_numerics_id_tells_the_code_path_the_libraries_run_not_the_variables(tmp_path):
    """A kernel environment's numerics differ from a process without the pins, and a pin set after numpy
    loaded (too late for OpenBLAS) does not pass for one (skipped off x86-64 with AVX2)."""
    import subprocess
    import sys

    from affect_lib.book import kernel_env

    if "OPENBLAS_CORETYPE" not in provenance.kernel_pins():
        pytest.skip("no pins on this CPU")
    code = ("import os, sys, numpy; os.environ.update(dict(a.split('=') for a in sys.argv[1:])); "
            "from affect_lib.provenance import numerics_id; print(numerics_id())")
    plain = {k: v for k, v in kernel_env(tmp_path).items() if k not in provenance.X86_PINS}

    def numerics(env: dict[str, str], *late: str) -> str:
        return subprocess.run([sys.executable, "-c", code, *late], env=env, capture_output=True, text=True,
                              check=True).stdout.strip()

    pinned, unpinned = numerics(kernel_env(tmp_path)), numerics(plain)
    assert "openblas haswell" in pinned and "aten avx2" in pinned and pinned != unpinned
    assert numerics(kernel_env(tmp_path)) == pinned  # the same in every kernel
    late = numerics(plain, "OPENBLAS_CORETYPE=Haswell")
    assert "openblas haswell" not in late or "openblas haswell" in unpinned  # (a Haswell CPU runs it natively)


def test_a_script_reruns_itself_with_the_pins(tmp_path):
    """scripts/ call rerun_pinned(): a script started without the pins, numpy already loaded, comes back
    with them and runs OpenBLAS's pinned code (skipped off x86-64 with AVX2)."""
    import subprocess
    import sys

    from affect_lib.book import kernel_env

    if "OPENBLAS_CORETYPE" not in provenance.kernel_pins():
        pytest.skip("no pins on this CPU")
    script = tmp_path / "script.py"
    script.write_text("import sys, numpy\nfrom affect_lib.provenance import rerun_pinned, numerics_id\n"
                      "print('start', sys.argv[1:])\nrerun_pinned()\nprint(numerics_id())\n")
    plain = {k: v for k, v in kernel_env(tmp_path).items() if k not in provenance.X86_PINS}
    out = subprocess.run([sys.executable, str(script), "--flag", "x"], env=plain, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[:2] == ["start ['--flag', 'x']"] * 2  # ran twice, with its arguments
    assert "openblas haswell" in out[2] and "aten avx2" in out[2] and len(out) == 3


def test_same_machine_other_machine_and_no_stamp(tmp_path, monkeypatch):
    kernels = {"pinned": {"numpy_matmul": "aaa", "torch_mm": "bbb"}, "portable": {"numpy_matmul": "aaa", "torch_mm": "ccc"}}
    monkeypatch.setattr(provenance, "kernel_hashes", lambda: kernels)  # the real probes: test_kernel_probe.py
    here = provenance.fingerprint(kernels=True)
    other = dict(here, cpu="GenuineIntel 6/85 Intel(R) Xeon(R)", torch_cpu_capability="DEFAULT",
                 kernels={"pinned": {"numpy_matmul": "aaa", "torch_mm": "xxx"}, "portable": kernels["portable"]})
    same, moved, bare = (_write(tmp_path / "01_a.ipynb", here), _write(tmp_path / "02_b.ipynb", other),
                         _write(tmp_path / "03_c.ipynb"))
    assert provenance.stored_fingerprint(same) == here and provenance.stored_fingerprint(bare) is None
    assert provenance.differences(here, here) == {}
    assert provenance.differences(other, here) == {"cpu": (other["cpu"], here["cpu"]),
                                                   "torch_cpu_capability": ("DEFAULT", here["torch_cpu_capability"]),
                                                   "kernels": (other["kernels"], kernels)}
    lines = provenance.report([same, moved, bare])
    assert "this kind of machine" in lines[0]
    assert "another kind of machine" in lines[1] and "Xeon" in lines[1] and "torch_cpu_capability" in lines[1]
    assert "kernels with the pinned code paths: other bits in torch_mm (MKL); with the portable code paths: the same bits" in lines[1]
    assert "no record" in lines[2] and "make notebooks" in lines[-1]
    assert provenance.report([same]) == lines[:1]  # nothing to advise when every notebook matches


def test_kernel_report_names_each_pin_sets_differing_probes_and_what_is_missing():
    here = {"pinned": {"numpy_matmul": "a", "torch_conv1d": "b"}, "portable": {"torch_conv1d": "c"}}
    line = provenance.kernel_report({"pinned": {"numpy_matmul": "a", "torch_conv1d": "z"}}, here)
    assert line == ("kernels with the pinned code paths: other bits in torch_conv1d (oneDNN); "
                    "with the portable code paths: not recorded in the stamp")
    assert "probe failed (boom)" in provenance.kernel_report({"pinned": {"error": "boom"}}, {"pinned": here["pinned"]})
    assert provenance.kernel_report(None, {"pinned": {}}) == "kernels with the pinned code paths: not recorded in the stamp"


def test_unreadable_notebook_has_no_stamp(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{ not json")
    assert provenance.stored_fingerprint(tmp_path / "broken.ipynb") is None
    assert provenance.stored_fingerprint(tmp_path / "missing.ipynb") is None


@pytest.mark.parametrize("nb", notebook_paths(ROOT), ids=lambda p: p.stem)
def test_stored_notebooks_are_stamped(nb):
    """`make notebooks` stamps every notebook it writes (affect_lib.book.regenerate)."""
    from affect_lib.kernel_probe import PROBES

    stored = provenance.stored_fingerprint(nb)
    assert stored is not None and set(stored) == {*provenance.fingerprint(), "kernels"}, f"{nb.name}: run make notebooks"
    assert set(stored["kernels"]["pinned"]) == set(PROBES), f"{nb.name}: kernel probes changed; run make notebooks"


def test_cli_prints_one_line_per_notebook(capsys):
    assert main(["provenance"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if ".ipynb:" in line]) == len(notebook_paths(ROOT))


ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1

processor\t: 1
"""


def test_cpu_is_named_on_arm_and_macos_too(tmp_path, monkeypatch):
    import subprocess

    info = tmp_path / "cpuinfo"
    info.write_text(ARM_CPUINFO)
    monkeypatch.setattr(provenance, "CPUINFO", info)
    monkeypatch.setattr(provenance.platform, "machine", lambda: "aarch64")
    assert provenance._cpu() == "aarch64 0x41/0xd0c"  # Arm Neoverse N1; cpuinfo names no vendor there
    arm = provenance.numerics_id()
    info.write_text(ARM_CPUINFO.replace(" asimddp", " asimddp sve"))  # the same part, other features
    assert provenance.numerics_id() != arm
    monkeypatch.setattr(provenance, "CPUINFO", tmp_path / "absent")  # macOS: no /proc
    monkeypatch.setattr(provenance.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(provenance.platform, "processor", lambda: "arm")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, "Apple M2\n", ""))
    assert provenance._cpu() == "arm Apple M2"
