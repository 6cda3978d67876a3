"""The runner: parameter routing and validation, a real smoke run, and failure reporting."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from affect_lib.publish.cli import main, parse_value
from affect_lib.publish.run import BookError, notebook_paths, run


@pytest.mark.parametrize(
    "text,value",
    [
        ("3", 3),
        ("0.5", 0.5),
        ("1e-3", 1e-3),
        ("True", True),
        ("false", False),
        ("None", None),
        ("[0.7, 0.15, 0.15]", [0.7, 0.15, 0.15]),
        ("cpu", "cpu"),
        ("/data/mosei", "/data/mosei"),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_unknown_profile_fails_with_choices(capsys):
    assert main(["run", "--profile", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "smoke, book, paper" in err


def test_unknown_parameter_fails_with_choices(capsys):
    assert main(["run", "--profile", "smoke", "-p", "no_such_key", "1"]) == 2
    err = capsys.readouterr().err
    assert (
        "no_such_key" in err
        and "valid parameters" in err
        and "seed" in err
        and "probe_C" in err
    )


def test_bad_value_fails_before_running(capsys):
    assert main(["run", "--profile", "smoke", "-p", "seed", "abc"]) == 2
    assert "'seed' expects int" in capsys.readouterr().err


def test_text_parameters_keep_their_value_as_typed(monkeypatch):
    from affect_lib.publish import run as book

    seen = {}

    def fake_run(profile, params, only):
        seen.update(params)
        return book.RunResult(profile, Path("."), {})

    monkeypatch.setattr(book, "run", fake_run)
    assert (
        main(
            [
                "run",
                "--profile",
                "smoke",
                "-p",
                "data_dir",
                "2024",
                "-p",
                "run_dir",
                "001",
                "-p",
                "seed",
                "3",
            ]
        )
        == 0
    )
    assert seen == {
        "data_dir": "2024",
        "run_dir": "001",
        "seed": 3,
    }  # folder names stay text, numbers numbers
    assert main(["run", "--profile", "smoke", "-p", "run_dir", "None"]) == 0
    assert seen["run_dir"] is None


def test_a_typo_in_the_profile_writes_nothing(tmp_path, monkeypatch):
    import os

    py, ipynb = _paired_notebook(tmp_path, "stored", "edited")
    os.utime(
        ipynb, (1_000_000, 1_000_000)
    )  # an edited .py: the runner would stage it under _build/runs/<profile>
    monkeypatch.setenv("AFFECT_BOOK_ROOT", str(tmp_path))
    assert main(["run", "--profile", "bok"]) == 2
    assert main(["run", "--profile", "../../../escape"]) == 2
    assert (
        not (tmp_path / "_build").exists() and not (tmp_path.parent / "escape").exists()
    )


def test_a_corrupt_run_record_is_a_clear_error(tmp_path, monkeypatch, capsys):
    _paired_notebook(tmp_path, "stored", "stored")
    record = tmp_path / "_build" / "runs" / "smoke" / "timings.json"
    record.parent.mkdir(parents=True)
    monkeypatch.setenv("AFFECT_BOOK_ROOT", str(tmp_path))
    for text in ('{"profile": "smoke", "notebooks": {', '["not", "a", "record"]'):
        record.write_text(text)
        assert main(["run", "--profile", "smoke"]) == 2
        err = capsys.readouterr().err
        assert (
            "affect-book: error:" in err
            and f"delete {record}" in err
            and "Traceback" not in err
        )
        assert record.read_text() == text  # left as it was


def test_notebook_parameters_must_have_their_defaults_type():
    from affect_lib.publish.run import check_knob_types

    knobs = {
        Path("04_x.ipynb"): {
            "eta": "1.0",
            "n_edit": "300",
            "mode": '"pooled"',
            "fast": "False",
            "scales": "[0.0, 2.0]",
            "data_dir": "None",
            "when": "time.time()",
        }
    }
    good = {
        "eta": 0,
        "n_edit": 10,
        "mode": "template",
        "fast": True,
        "scales": [1.0],
        "data_dir": "/x",
        "when": 3,
    }
    check_knob_types(
        good, knobs
    )  # an int where a float is expected; anything for a None default or an expression
    for key, value in (
        ("eta", "abc"),
        ("n_edit", 2.5),
        ("n_edit", True),
        ("mode", 3),
        ("fast", 1),
        ("scales", 1.0),
    ):
        with pytest.raises(BookError, match=f"parameter '{key}' of 04_x.ipynb expects"):
            check_knob_types({key: value}, knobs)


def test_a_mistyped_notebook_parameter_fails_before_any_kernel(capsys):
    assert main(["run", "--profile", "smoke", "--only", "04", "-p", "eta", "abc"]) == 2
    assert (
        "parameter 'eta' of 04_counterfactuals.ipynb expects float"
        in capsys.readouterr().err
    )


def test_only_rejects_unknown_notebook(root):
    with pytest.raises(BookError, match="--only 99"):
        notebook_paths(root, ["99"])


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.glob("*")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_smoke_run_writes_executed_copy_and_timings(root):
    before = _digest(root / "notebooks")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "affect_lib.publish.cli",
            "run",
            "--profile",
            "smoke",
            "--only",
            "01",
            "-p",
            "seed",
            "3",
            "-p",
            "n_train",
            "300",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _digest(root / "notebooks") == before  # sources untouched
    run_dir = root / "_build" / "runs" / "smoke"
    timings = json.loads((run_dir / "timings.json").read_text())
    assert (
        timings["profile"] == "smoke"
        and timings["notebooks"]["01_data_prep"]["status"] == "ok"
    )
    assert timings["notebooks"]["01_data_prep"]["seconds"] > 0
    nb = nbformat.read(run_dir / "notebooks" / "01_data_prep.ipynb", as_version=4)
    injected = next(
        c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert "seed = 3" in injected.source and '"n_train": 300' in injected.source
    summary = json.loads((run_dir / "data" / "synth_mosei_summary.json").read_text())
    assert summary["seed"] == 3 and summary["sizes"]["train"] == 300


@pytest.mark.slow
def test_failing_cell_names_notebook_cell_and_error(tmp_path):
    (tmp_path / "_toc.yml").write_text("root: x\n")
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        }
    )
    params = nbformat.v4.new_code_cell('profile = "smoke"\noverrides = {}')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise KeyError('boom')"),
    ]
    nbformat.write(nb, tmp_path / "notebooks" / "01_fail.ipynb")
    nbformat.write(nb, tmp_path / "notebooks" / "02_never.ipynb")
    with pytest.raises(BookError) as exc:
        run("smoke", {}, root=tmp_path)
    msg = str(exc.value)
    assert (
        "01_fail.ipynb" in msg and "KeyError" in msg and "boom" in msg and "cell" in msg
    )
    timings = json.loads(
        (tmp_path / "_build" / "runs" / "smoke" / "timings.json").read_text()
    )
    assert timings["notebooks"] == {
        "01_fail": {"seconds": None, "status": "failed", "parameters": {}}
    }  # it stopped


def _paired_notebook(root: Path, stored: str, edited: str) -> tuple[Path, Path]:
    """notebooks/01_pair.ipynb whose last cell prints ``stored`` and its .py pair printing ``edited``."""
    import jupytext

    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    for name, text in (("_toc.yml", "root: x\n"), ("pyproject.toml", "")):
        (root / name).write_text(text)
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        }
    )
    params = nbformat.v4.new_code_cell('profile = "smoke"\noverrides = {}')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(f"print({edited!r})")]
    py = root / "notebooks" / "01_pair.py"
    jupytext.write(nb, py, fmt="py:percent")
    nb.cells[-1] = nbformat.v4.new_code_cell(f"print({stored!r})")
    ipynb = py.with_suffix(".ipynb")
    nbformat.write(nb, ipynb)
    return py, ipynb


def test_run_source_picks_the_newer_of_two_pairs_that_differ(tmp_path):
    import os

    from affect_lib.publish.run import run_source

    py, ipynb = _paired_notebook(tmp_path, "stored", "edited")
    os.utime(
        ipynb, (1_000_000, 1_000_000)
    )  # the .py was edited after the .ipynb was stored
    staged, note = run_source(ipynb, tmp_path / "staging")
    assert (
        staged == tmp_path / "staging" / "01_pair.ipynb" and "running the .py" in note
    )
    cells = nbformat.read(staged, as_version=4).cells
    assert cells[-1].source == "print('edited')" and cells[0].metadata["tags"] == [
        "parameters"
    ]
    os.utime(
        py, (500_000, 500_000)
    )  # now the .ipynb is the newer file (edited in Jupyter without jupytext)
    chosen, note = run_source(ipynb, tmp_path / "staging")
    assert chosen == ipynb and "running the .ipynb" in note
    in_sync = _paired_notebook(tmp_path / "sync", "same", "same")[1]
    assert run_source(in_sync, tmp_path / "staging") == (in_sync, None)
    py.unlink()
    assert run_source(ipynb, tmp_path / "staging") == (
        ipynb,
        None,
    )  # no pair: the stored notebook


@pytest.mark.slow
def test_run_executes_an_edited_py_and_records_it(tmp_path, capsys):
    import os

    _, ipynb = _paired_notebook(tmp_path, "stored", "edited")
    os.utime(ipynb, (1_000_000, 1_000_000))
    run("smoke", {}, root=tmp_path)
    assert (
        "01_pair.py has other cells than 01_pair.ipynb: running the .py"
        in capsys.readouterr().out
    )
    run_dir = tmp_path / "_build" / "runs" / "smoke"
    executed = nbformat.read(run_dir / "notebooks" / "01_pair.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "edited\n"
    assert (
        json.loads((run_dir / "timings.json").read_text())["notebooks"]["01_pair"][
            "source"
        ]
        == "01_pair.py"
    )
    assert (
        nbformat.read(ipynb, as_version=4).cells[-1].source == "print('stored')"
    )  # the stored pair untouched


@pytest.mark.slow
def test_a_plain_nbval_run_gives_kernels_the_runners_environment(root):
    """``pytest --nbval`` without make's exports: the root conftest applies kernel_env first."""
    import os
    import shutil
    import uuid

    folder = (
        root / "_build" / f"nbval-env-{uuid.uuid4().hex[:8]}"
    )  # inside the checkout: the root conftest applies
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        }
    )
    cell = nbformat.v4.new_code_cell(
        "import os\nimport lightning  # tqdm.auto: a widget warning on stderr\n"
        "print(os.environ['PYTHONHASHSEED'], os.environ['HF_HUB_OFFLINE'])"
    )
    cell.outputs, cell.execution_count = (
        [nbformat.v4.new_output("stream", name="stdout", text="0 1\n")],
        1,
    )
    nb.cells = [cell]
    nbformat.write(nb, folder / "env.ipynb")
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONHASHSEED",
            "HF_HUB_OFFLINE",
            "TRANSFORMERS_OFFLINE",
            "PYTHONWARNINGS",
        )
    }
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "--nbval",
                str(folder / "env.ipynb"),
            ],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_nbval_collects_only_the_chapters_from_notebooks(root):
    """A papermill output saved in notebooks/ (``out.ipynb``) is not a stored chapter: nbval skips it."""
    import uuid

    stray = root / "notebooks" / f"out-{uuid.uuid4().hex[:8]}.ipynb"
    stray.write_text((root / "notebooks" / "01_data_prep.ipynb").read_text())
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "--collect-only",
                "--nbval",
                "notebooks",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stray.unlink()
    assert done.returncode == 0, done.stdout[-2000:]
    collected = {
        line.split("::")[0] for line in done.stdout.splitlines() if "::" in line
    }
    assert collected == {f"notebooks/{p.name}" for p in notebook_paths(root)}, collected


def test_kernel_env_is_offline_and_keeps_its_caches_in_the_checkout(
    tmp_path, monkeypatch
):
    from affect_lib.publish.run import kernel_env

    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # would make every figure vanish
    code_paths = (
        "OPENBLAS_CORETYPE",
        "MKL_CBWR",
        "ONEDNN_MAX_CPU_ISA",
        "ATEN_CPU_CAPABILITY",
    )
    for name in code_paths:
        monkeypatch.delenv(name, raising=False)
    env = kernel_env(tmp_path)
    assert not set(code_paths) & set(
        env
    )  # the libraries pick their CPU code unless the user sets these
    assert env["MPLCONFIGDIR"] == str(
        tmp_path / "_build" / "mplconfig"
    )  # not a font cache of another environment
    assert env["NUMBA_CACHE_DIR"] == str(tmp_path / "_build" / "numba-cache")
    assert (
        "MPLBACKEND" not in env
        and env["HF_HUB_OFFLINE"] == "1"
        and env["PYTHONHASHSEED"] == "0"
    )
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mine"))
    assert kernel_env(tmp_path)["MPLCONFIGDIR"] == str(
        tmp_path / "mine"
    )  # a chosen folder is kept


def test_font_cache_is_built_before_any_kernel(tmp_path, monkeypatch):
    from affect_lib.publish.run import kernel_env, warm_font_cache

    monkeypatch.delenv(
        "MPLCONFIGDIR", raising=False
    )  # `make` exports the checkout's own
    env = kernel_env(tmp_path)
    warm_font_cache(env)
    built = list((tmp_path / "_build" / "mplconfig").glob("fontlist-*.json"))
    assert (
        len(built) == 1 and "DejaVu Sans" in built[0].read_text()
    )  # matplotlib's own fonts are in it
    stamp = built[0].stat().st_mtime_ns
    warm_font_cache(env)  # present: not rebuilt
    assert built[0].stat().st_mtime_ns == stamp
