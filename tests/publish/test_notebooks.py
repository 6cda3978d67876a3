"""The runner's view of the notebooks: which ones, which file of a pair runs, typed
parameters."""

from pathlib import Path

import nbformat
import pytest

from affect_lib.publish.notebooks import (
    BookError,
    check_knob_types,
    notebook_paths,
    run_source,
)
from tests.publish.notebook_files import paired_notebook


def test_notebook_parameters_must_have_their_defaults_type():
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
    # an int where a float is expected; anything for a None default or an expression
    check_knob_types(good, knobs)
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


def test_only_rejects_unknown_notebook(root):
    with pytest.raises(BookError, match="--only 99"):
        notebook_paths(root, ["99"])


def test_run_source_picks_the_newer_of_two_pairs_that_differ(tmp_path):
    import os

    py, ipynb = paired_notebook(tmp_path, "stored", "edited")
    # the .py was edited after the .ipynb was stored
    os.utime(ipynb, (1_000_000, 1_000_000))
    staged, note = run_source(ipynb, tmp_path / "staging")
    assert (
        staged == tmp_path / "staging" / "01_pair.ipynb" and "running the .py" in note
    )
    cells = nbformat.read(staged, as_version=4).cells
    assert cells[-1].source == "print('edited')" and cells[0].metadata["tags"] == [
        "parameters"
    ]
    # now the .ipynb is the newer file (edited in Jupyter without jupytext)
    os.utime(py, (500_000, 500_000))
    chosen, note = run_source(ipynb, tmp_path / "staging")
    assert chosen == ipynb and "running the .ipynb" in note
    in_sync = paired_notebook(tmp_path / "sync", "same", "same")[1]
    assert run_source(in_sync, tmp_path / "staging") == (in_sync, None)
    py.unlink()
    # no pair: the stored notebook
    assert run_source(ipynb, tmp_path / "staging") == (
        ipynb,
        None,
    )
