"""``affect-book``: value typing, parameter validation and clear errors before anything
runs."""

from pathlib import Path

import pytest

from affect_lib.publish.cli import main, parse_value
from tests.publish.notebook_files import paired_notebook


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

    def fake_run(profile, params, only, name=None):
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
    # folder names stay text, numbers numbers
    assert seen == {
        "data_dir": "2024",
        "run_dir": "001",
        "seed": 3,
    }
    assert main(["run", "--profile", "smoke", "-p", "run_dir", "None"]) == 0
    assert seen["run_dir"] is None


def test_a_typo_in_the_profile_writes_nothing(tmp_path, monkeypatch):
    import os

    py, ipynb = paired_notebook(tmp_path, "stored", "edited")
    # an edited .py: the runner would stage it under _build/runs/<profile>
    os.utime(ipynb, (1_000_000, 1_000_000))
    monkeypatch.setenv("AFFECT_BOOK_ROOT", str(tmp_path))
    assert main(["run", "--profile", "bok"]) == 2
    assert main(["run", "--profile", "../../../escape"]) == 2
    assert (
        not (tmp_path / "_build").exists() and not (tmp_path.parent / "escape").exists()
    )


def test_a_corrupt_run_record_is_a_clear_error(tmp_path, monkeypatch, capsys):
    paired_notebook(tmp_path, "stored", "stored")
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


def test_a_mistyped_notebook_parameter_fails_before_any_kernel(capsys):
    assert main(["run", "--profile", "smoke", "--only", "04", "-p", "eta", "abc"]) == 2
    assert (
        "parameter 'eta' of 04_counterfactuals.ipynb expects float"
        in capsys.readouterr().err
    )
