"""Profiles plus overrides: :func:`load_profile`, the valid override keys and
:func:`config_hash`.

Overrides are flat keyword names (``seed=3``, ``n_train=500``): top-level fields of
:class:`~affect_lib.config.profiles.RunConfig` or fields of one of its sections. Field
names are unique across sections (tested), so a flat name is never ambiguous;
``"data.n_train"`` also works. A value is coerced to the field's type; anything else
raises ConfigError listing the valid choices.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import types
import typing
from pathlib import Path
from typing import Any

from affect_lib.config.profiles import PROFILES, SECTIONS, RunConfig
from affect_lib.config.sections import ConfigError

__all__ = ["config_hash", "load_profile", "override_keys", "text_keys"]


def _section_fields() -> dict[str, str | None]:
    """Map every override key to its section (None for top-level fields)."""
    keys: dict[str, str | None] = {}
    for f in dataclasses.fields(RunConfig):
        if f.name in SECTIONS:
            section_cls = typing.get_type_hints(RunConfig)[f.name]
            for sf in dataclasses.fields(section_cls):
                keys[sf.name] = f.name
        elif f.name != "profile":
            keys[f.name] = None
    return keys


def override_keys() -> list[str]:
    """All parameter names that :func:`load_profile` accepts as overrides."""
    return sorted(_section_fields())


def text_keys() -> set[str]:
    """Override keys whose value is text (``str`` or ``str | None``): a CLI keeps their
    value as typed."""
    keys = set()
    for cls in (RunConfig, *(typing.get_type_hints(RunConfig)[s] for s in SECTIONS)):
        for name, tp in typing.get_type_hints(cls).items():
            if tp is str or (
                typing.get_origin(tp) in (typing.Union, types.UnionType)
                and {a for a in typing.get_args(tp) if a is not type(None)} == {str}
            ):
                keys.add(name)
    return keys - {"profile"}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check ``value`` against the annotation ``tp``; promote int→float and list→tuple
    only."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(
            f"parameter '{key}' expects {_type_name(tp)}, got {value!r} "
            f"({type(value).__name__})"
        )
    if origin is tuple:
        (elem, _ellipsis) = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ConfigError(
                f"parameter '{key}' expects a list of {_type_name(elem)}, got {value!r}"
            )
        return tuple(_coerce(f"{key}[{i}]", v, elem) for i, v in enumerate(value))
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"parameter '{key}' expects float, got {value!r} "
                f"({type(value).__name__})"
            )
        if not math.isfinite(value):
            raise ConfigError(
                f"parameter '{key}' must be a finite number, got {value!r}"
            )
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"parameter '{key}' expects int, got {value!r} ({type(value).__name__})"
            )
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(
                f"parameter '{key}' expects bool (True/False), got {value!r}"
            )
        return value
    if tp is str:
        if isinstance(value, Path):
            return str(value)
        if not isinstance(value, str):
            raise ConfigError(
                f"parameter '{key}' expects str, got {value!r} ({type(value).__name__})"
            )
        return value
    # a bug in this module
    raise TypeError(f"unsupported config annotation {tp!r} for '{key}'")


def _apply(obj: Any, changes: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(type(obj))
    fields = {f.name: f for f in dataclasses.fields(obj)}
    checked = {}
    for key, value in changes.items():
        value = _coerce(key, value, hints[key])
        allowed = fields[key].metadata.get("choices")
        if allowed and value not in allowed:
            raise ConfigError(
                f"parameter '{key}' must be one of {', '.join(allowed)}; got {value!r}"
            )
        checked[key] = value
    return dataclasses.replace(obj, **checked)


def load_profile(name: str, **overrides: Any) -> RunConfig:
    """Return the frozen config of profile ``name`` with ``overrides`` applied and
    validated.

    Raises :class:`ConfigError` naming the valid profiles, the valid parameter names
    (with the closest matches) or the expected type.
    """
    if name not in PROFILES:
        raise ConfigError(
            f"unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}"
        )
    keys = _section_fields()
    per_section: dict[str | None, dict[str, Any]] = {}
    given: dict[str, str] = {}
    for raw_key, value in overrides.items():
        section, dot, key = raw_key.rpartition(".")
        if (
            key not in keys
            or (section and keys[key] != section)
            or (dot and not section)
        ):
            close = difflib.get_close_matches(key, keys, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(
                f"unknown parameter {raw_key!r}{hint}; valid parameters: "
                f"{', '.join(sorted(keys))}"
            )
        # 'n_train' and 'data.n_train': which one was meant is not ours to guess
        if key in given:
            raise ConfigError(
                f"parameter {key!r} given twice (as {given[key]!r} and {raw_key!r})"
            )
        given[key] = raw_key
        per_section.setdefault(keys[key], {})[key] = value
    cfg = PROFILES[name]
    sections = {s: _apply(getattr(cfg, s), per_section.get(s, {})) for s in SECTIONS}
    return _apply(dataclasses.replace(cfg, **sections), per_section.get(None, {}))


def config_hash(
    cfg: Any, *, exclude: tuple[str, ...] = ("run_dir", "device", "data_dir")
) -> str:
    """SHA-256 (hex, 16 chars) of a config's content, ignoring where things live and
    run."""
    content = dataclasses.asdict(cfg)
    for key in exclude:
        content.pop(key, None)
    blob = json.dumps(content, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
