import json

import pytest

from affect_lib.io import atomic_path, read_json, sha256_file, write_json


def test_write_json_roundtrip(tmp_path):
    write_json(tmp_path / "a" / "m.json", {"b": 1, "a": [1.5]})
    assert read_json(tmp_path / "a" / "m.json") == {"a": [1.5], "b": 1}


def test_crash_while_writing_keeps_previous_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"version": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"version": 2, "trunc')
            raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left behind


def test_nan_becomes_null_and_inf_is_refused_without_a_file(tmp_path):
    write_json(tmp_path / "m.json", {"x": float("nan"), "y": [1.0, float("nan")]})
    assert read_json(tmp_path / "m.json") == {"x": None, "y": [1.0, None]}
    with pytest.raises(ValueError):
        write_json(tmp_path / "inf.json", {"x": float("inf")})
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_corrupt_json_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        read_json(bad)


def test_sha256_file(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert sha256_file(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
