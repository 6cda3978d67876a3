import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# tests only; notebooks run without it (see affect_lib.publish.kernel)
os.environ.setdefault("MPLBACKEND", "Agg")

# Property-based tests draw the same examples on every run: CI must not turn red on a
# new random draw (to hunt for new failures, run pytest with
# --hypothesis-profile=explore).
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=1000, deadline=None)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def smoke_cfg():
    from affect_lib.config import load_profile

    return load_profile("smoke")


@pytest.fixture(scope="session")
def smoke_corpora(smoke_cfg):
    from affect_lib.data.synthetic.mosei import generate_synth_mosei

    return generate_synth_mosei(smoke_cfg.data, seed=0)
