"""Fuzzing papermill / CLI parameters: only ConfigError, naming what was wrong; never a
crash or a hang."""

import dataclasses
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affect_lib.config import ConfigError, load_profile, override_keys
from affect_lib.publish.cli import parse_value

pytestmark = pytest.mark.reliability

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.floats(-5, 5), max_size=8),
    st.lists(st.integers(-3, 9), max_size=4),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(override_keys()), value=VALUES)
def test_any_value_of_a_known_key_is_accepted_or_named(key, value):
    try:
        cfg = load_profile("smoke", **{key: value})
    except ConfigError as exc:
        assert key in str(exc) or "must" in str(exc) or "need" in str(exc), str(exc)
    else:
        assert cfg.profile == "smoke"
        # nothing non-finite gets through
        for section in (
            cfg,
            cfg.data,
            cfg.model,
            cfg.train,
        ):
            for f in dataclasses.fields(section):
                v = getattr(section, f.name)
                for x in v if isinstance(v, tuple) else (v,):
                    assert not (isinstance(x, float) and not math.isfinite(x)), (
                        f.name,
                        v,
                    )


@settings(max_examples=200, deadline=None)
@given(
    key=st.text(min_size=1, max_size=20).filter(
        lambda k: k.rpartition(".")[2] not in override_keys()
    )
)
def test_unknown_keys_are_named_with_the_valid_ones(key):
    with pytest.raises(ConfigError) as exc:
        load_profile("book", **{key: 1})
    assert repr(key) in str(exc.value) and "valid parameters" in str(exc.value)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_parse_value_never_raises(text):
    parse_value(text)


@settings(max_examples=100, deadline=None)
@given(name=st.text(max_size=10).filter(lambda n: n not in ("smoke", "book", "paper")))
def test_unknown_profiles_are_named(name):
    with pytest.raises(ConfigError, match="valid profiles: smoke, book, paper"):
        load_profile(name)


def _float_keys():
    from affect_lib.config import DataConfig, ModelConfig, RunConfig, TrainConfig

    keys = []
    for cls in (RunConfig, DataConfig, ModelConfig, TrainConfig):
        hints = __import__("typing").get_type_hints(cls)
        keys += [
            f.name
            for f in dataclasses.fields(cls)
            if hints[f.name] in (float, tuple[float, ...])
        ]
    return keys


@pytest.mark.parametrize("key", _float_keys())
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused_for_every_float_key(key, bad):
    value = (
        [bad, 0.5, 0.5]
        if key in ("driver_mix", "modality_scale")
        else ([bad] * 6 if key == "class_probs" else bad)
    )
    with pytest.raises(ConfigError, match=key):
        load_profile("smoke", **{key: value})
