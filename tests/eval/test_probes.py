import numpy as np
import pytest

from affect_lib.eval.probes import linear_probe, pool_features, probe_modalities


def test_pool_is_mean_over_valid_steps(smoke_corpora):
    c = smoke_corpora["val"]
    pooled = pool_features(c, "audio")
    i = 4
    np.testing.assert_allclose(
        pooled[i], c.audio[i][c.mask[i]].mean(axis=0), rtol=1e-5, atol=1e-6
    )
    assert pool_features(c, "concat").shape == (len(c), sum(c.dims.values()))
    with pytest.raises(ValueError, match="unknown modality"):
        pool_features(c, "smell")


def test_probe_separable_vs_noise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, 600)
    x = rng.standard_normal((600, 10))
    x_sep = x + 5 * np.eye(6, 10)[y]
    good = linear_probe(x_sep[:400], y[:400], x_sep[400:], y[400:])
    chance = linear_probe(x[:400], y[:400], x[400:], y[400:])
    assert good.accuracy > 0.95
    assert chance.accuracy < 0.3
    x_bad = x.copy()
    x_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        linear_probe(x_bad[:400], y[:400], x[400:], y[400:], modality="text")


def test_book_probes_meet_the_floor():
    """Notebook 01's claim at book scale: no single modality > 0.9, the concatenation
    beats each."""
    from affect_lib.config import load_profile
    from affect_lib.data.synthetic.mosei import generate_synth_mosei

    c = generate_synth_mosei(load_profile("book").data, seed=0)
    res = probe_modalities(c["train"], c["test"])
    singles = [res[m].accuracy for m in ("text", "audio", "video")]
    assert max(singles) <= 0.9 and min(singles) > 1 / 6
    assert res["concat"].accuracy > max(singles) + 0.1
