"""A cell's stored outputs as nbval compares them, and the numbers printed in them.

Outputs are flattened as nbval flattens them (:func:`flatten`): streams of one name
merged, then one string per MIME type or stream name, in output order, so
``text/html#1`` is the cell's second HTML output; what nbval never compares
(:data:`SKIPPED`) is left out. :func:`numbers` splits a text into the text around its
numbers and the numbers' own texts, :func:`cell_key` names a cell by the hash of its
source and :func:`glue_names` labels the glued outputs. Both the tolerant comparison
(:mod:`affect_lib.publish.compare`) and the measurement of tolerances
(:mod:`affect_lib.publish.tolerances`) see outputs this way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "SKIPPED",
    "numbers",
    "number_shape",
    "number_value",
    "cell_key",
    "output_text",
    "flatten",
    "glue_names",
    "nbval_ignores",
]

# nbval's own skip list (nbval.plugin.IPyNbFile.skip_compare) plus the images it ignores
# by default.
SKIPPED = frozenset(
    {
        "metadata",
        "traceback",
        "prompt_number",
        "output_type",
        "name",
        "execution_count",
        "application/vnd.jupyter.widget-view+json",
        "image/png",
        "image/jpeg",
    }
)

# A number not glued to a word: "AU12", "mfcc_3", "cell-011" and "x86_64" stay text.
_NUMBER = re.compile(
    r"(?<![\w.+-])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w|\.\d)|(?<!\w)(?:nan|inf)(?!\w)"
)


def numbers(text: str) -> tuple[str, list[str]]:
    """``(skeleton, tokens)``: the text with each number replaced by ``{}`` and the
    numbers' texts.

    >>> numbers("acc 0.973, n=600")
    ('acc {}, n={}', ['0.973', '600'])
    """
    tokens = _NUMBER.findall(text)
    return _NUMBER.sub("{}", text.replace("{", "{{").replace("}", "}}")), tokens


def number_shape(text: str) -> tuple[str, list[str]]:
    """:func:`numbers` with runs of whitespace squashed: a table's padding follows its
    numbers' widths."""
    skeleton, tokens = numbers(text)
    return re.sub(r"\s+", " ", skeleton), tokens


def number_value(token: str) -> float:
    """The value of a number's text, as :func:`numbers` finds it (``nan`` and ``inf``
    included)."""
    return float(token)


def cell_key(source: str | Sequence[str]) -> str:
    """The first 16 hex digits of the SHA-256 of a cell's source (whitespace at the ends
    stripped)."""
    text = "".join(source) if not isinstance(source, str) else source
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


def output_text(value: Any) -> str:
    """An output field's text: a notebook stores multi-line text as a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def _coalesced(outputs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Streams of the same name merged into the first one, as nbval does before
    comparing."""
    merged: list[dict[str, Any]] = []
    streams: dict[str, dict[str, Any]] = {}
    for out in outputs:
        if out.get("output_type") == "stream":
            name = out["name"]
            if name in streams:
                streams[name]["text"] += output_text(out["text"])
                continue
            streams[name] = {
                "output_type": "stream",
                "name": name,
                "text": output_text(out["text"]),
            }
            merged.append(streams[name])
        else:
            merged.append(dict(out))
    return merged


def flatten(outputs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{"<mime or stream>#<i>": text}`` of a cell's outputs, with the labels nbval
    compares."""
    flat: dict[str, str] = {}
    counts: dict[str, int] = {}

    def add(key: str, text: str) -> None:
        i = counts.get(key, 0)
        counts[key] = i + 1
        flat[f"{key}#{i}"] = text

    for out in _coalesced(outputs):
        if out.get("output_type") == "stream":
            add(out["name"], out["text"])
            continue
        for key, value in out.items():
            if key == "data":
                for mime, payload in value.items():
                    if mime not in SKIPPED:
                        add(mime, output_text(payload))
            elif key not in SKIPPED:
                add(key, output_text(value))
    return flat


def nbval_ignores(cell: Mapping[str, Any]) -> bool:
    """nbval does not compare this cell's outputs: its comment marker or tag, or a
    skipped cell."""
    tags = cell.get("metadata", {}).get("tags", [])
    source = cell.get("source", "")
    return (
        "# NBVAL_IGNORE_OUTPUT" in source
        or "nbval-ignore-output" in tags
        or "# NBVAL_SKIP" in source
    )


def glue_names(outputs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{"<mime>#<i>": glue key}`` for the glued outputs among ``outputs`` (readable
    labels)."""
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for out in _coalesced(outputs):
        if out.get("output_type") == "stream":
            counts[out["name"]] = counts.get(out["name"], 0) + 1
            continue
        glued = ((out.get("metadata") or {}).get("scrapbook") or {}).get("name")
        for mime in out.get("data", {}):
            if mime in SKIPPED:
                continue
            i = counts.get(mime, 0)
            counts[mime] = i + 1
            if glued:
                names[f"{mime}#{i}"] = glued
    return names
