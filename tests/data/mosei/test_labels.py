"""CMU-MOSEI folds: the standard lists, folds files and their errors."""

from __future__ import annotations

import json

import pytest

from affect_lib.data.mosei.labels import (
    read_folds,
    resolve_folds,
    standard_folds,
)
from affect_lib.schema import DataFormatError


def test_standard_folds_are_the_sdk_lists():
    folds = standard_folds()
    assert {k: len(v) for k, v in folds.items()} == {
        "train": 2249,
        "val": 300,
        "test": 678,
    }
    sets = [set(v) for v in folds.values()]
    assert sum(map(len, sets)) == 3227 and not (
        sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2]
    )
    assert folds["train"][:3] == ("hh04W3xXa5s", "GdFP_p4eQX0", "4iG0ffmnCOw")
    assert folds["val"][0] == "188343" and folds["test"][-1] == "vR90Pdx9wxs"


def test_folds_file_errors(tmp_path):
    (tmp_path / "f.json").write_text(
        json.dumps({"train": ["a"], "valid": ["a"], "test": []})
    )
    with pytest.raises(
        DataFormatError, match=r"f\.json: video 'a' is in both train and val"
    ):
        read_folds(tmp_path / "f.json")
    (tmp_path / "g.json").write_text(json.dumps({"train": ["a"]}))
    with pytest.raises(DataFormatError, match=r"g\.json: missing fold"):
        read_folds(tmp_path / "g.json")


def test_folds_unknown_keys_are_named(tmp_path):
    (tmp_path / "f.json").write_text(
        json.dumps({"train": ["a"], "valid": ["b"], "test": [], "tset": ["c"]})
    )
    with pytest.raises(
        DataFormatError,
        match=r"f\.json: unknown key\(s\) \['tset'\]; valid keys: train, valid "
        r"or val, test",
    ):
        read_folds(tmp_path / "f.json")
    with pytest.raises(
        DataFormatError, match=r"folds argument: unknown key\(s\) \['Train'\]"
    ):
        resolve_folds({"Train": [], "train": [], "valid": [], "test": []})
    # the shipped file's descriptive keys are allowed
    (tmp_path / "g.json").write_text(
        json.dumps(
            {
                "source": "x",
                "licence": "y",
                "counts": {},
                "train": ["a"],
                "val": [],
                "test": [],
            }
        )
    )
    assert read_folds(tmp_path / "g.json") == {"train": ("a",), "val": (), "test": ()}
