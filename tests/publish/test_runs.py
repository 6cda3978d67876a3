"""Runs as folders: names, paths as typed, run.json, what a chapter needs."""

from pathlib import Path

import pytest

from affect_lib.io import write_json
from affect_lib.publish.notebooks import BookError
from affect_lib.publish.runs import (
    check_needs,
    find_run,
    resolve_paths,
    run_folder,
    run_name,
    start_record,
)


def test_run_names_come_from_the_parameters():
    assert run_name("book", {}) == "book"
    assert run_name("book", {"seed": 3}) == "book-seed_3"
    assert run_name("book", {"seed": 3, "n_train": 300}) == "book-n_train_300-seed_3"
    name = run_name("book", {"data_dir": "/data/CMU_MOSEI", "data_source": "cmu_mosei"})
    assert name == "book-data_dir_CMU_MOSEI-data_source_cmu_mosei"
    long = run_name("paper", {f"k{i}": "x" * 20 for i in range(5)})
    assert long.startswith("paper-") and len(long) == len("paper-") + 10
    with pytest.raises(BookError, match="no path"):
        run_folder(Path("/r"), "../elsewhere")


def test_paths_are_resolved_where_they_were_typed(tmp_path):
    (tmp_path / "data").mkdir()
    out = resolve_paths({"data_dir": "data", "run_dir": "runs/a", "seed": 1}, tmp_path)
    assert out == {
        "data_dir": str(tmp_path / "data"),
        "run_dir": str(tmp_path / "runs" / "a"),
        "seed": 1,
    }
    with pytest.raises(BookError, match=str(tmp_path / "missing")):
        resolve_paths({"data_dir": "missing"}, tmp_path)


def test_a_folder_never_replaces_a_chapter_run_with_other_parameters(tmp_path):
    folder = tmp_path / "_build" / "runs" / "book-seed_3"
    start_record(folder, tmp_path, "book-seed_3", "book", {"seed": 3}, ["01_data"])
    record = start_record(
        folder, tmp_path, "book-seed_3", "book", {"seed": 3}, ["01_data"]
    )
    assert record["chapters"]["01_data"]["parameters"] == {"seed": 3}
    assert record["chapters"]["01_data"]["date"]
    with pytest.raises(BookError, match="holds 01_data run with parameters"):
        start_record(folder, tmp_path, "x", "book", {"seed": 4}, ["01_data"])
    with pytest.raises(BookError, match="holds a run of the 'book' profile"):
        start_record(folder, tmp_path, "x", "smoke", {"seed": 3}, ["02_graph"])
    # another chapter may join with parameters of its own (real data per chapter)
    record = start_record(folder, tmp_path, "x", "book", {"fps": 10}, ["05_lasca"])
    assert set(record["chapters"]) == {"01_data", "05_lasca"}


def test_chapter_4_needs_chapter_3s_checkpoint(tmp_path):
    command = "affect-book run --profile book -p seed 3 --name x"
    with pytest.raises(BookError) as exc:
        check_needs(tmp_path, ["04"], command)
    assert f"`{command} --only 03` first" in str(exc.value)
    check_needs(tmp_path, ["03", "04"], command)  # chapter 3 runs first
    ckpt = tmp_path / "affect_diff" / "checkpoints" / "best.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"")
    check_needs(tmp_path, ["04"], command)


def test_find_run_by_name_or_folder(tmp_path):
    folder = tmp_path / "_build" / "runs" / "book-seed_3"
    (folder / "notebooks").mkdir(parents=True)
    chapters = {"01_data": {"parameters": {"seed": 3}}}
    write_json(folder / "run.json", {"profile": "book", "chapters": chapters})
    assert find_run(tmp_path, "book-seed_3")[0] == folder
    assert find_run(tmp_path, str(folder))[1]["chapters"] == chapters
    with pytest.raises(BookError, match="runs here: book-seed_3"):
        find_run(tmp_path, "book-seed_4")
