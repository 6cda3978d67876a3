"""A tiny CMU-MOSEI folder in the SDK's layout, shared by the reader tests."""

import pytest
from fixtures_formats import make_mosei_dir


@pytest.fixture()
def mosei(tmp_path):
    return make_mosei_dir(tmp_path / "CMU_MOSEI")
