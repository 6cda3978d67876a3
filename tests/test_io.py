import json
import os
import stat

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
    # no temp file left behind
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


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
    assert (
        sha256_file(tmp_path / "f")
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


@pytest.mark.reliability
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], ids=["022", "002", "077"])
def test_artifacts_get_the_permissions_of_a_plain_open(tmp_path, umask):
    """Atomic writes create files like ``open(path, "w")`` does (0o666 minus the umask),
    not 0o600."""
    previous = os.umask(umask)
    try:
        with open(tmp_path / "plain.txt", "w") as fh:
            fh.write("x")
        write_json(tmp_path / "atomic.json", {"x": 1})
        with atomic_path(tmp_path / "other.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(previous)
    expected = stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert expected == 0o666 & ~umask
    for name in ("atomic.json", "other.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name


def test_temp_names_never_reuse_an_existing_file(tmp_path, monkeypatch):
    """The temp file is created exclusively: a leftover file with the drawn name is
    skipped, not truncated."""
    import affect_lib.io as aio

    tokens = iter(["aaaaaaaaaaaa", "aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    monkeypatch.setattr(aio.secrets, "token_hex", lambda n: next(tokens))
    leftover = tmp_path / ".m.json.aaaaaaaaaaaa.tmp"
    leftover.write_text("someone else's")
    write_json(tmp_path / "m.json", {"v": 1})
    assert leftover.read_text() == "someone else's" and read_json(
        tmp_path / "m.json"
    ) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".m.json.aaaaaaaaaaaa.tmp",
        "m.json",
    ]
