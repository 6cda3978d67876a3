"""MMSA pickles: never opened unverified, left-padded sentiment, named errors."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from fixtures_formats import (
    mmsa_payload,
    write_mmsa_pickle,
)

from affect_lib.data.mosei.mmsa import load_mmsa
from affect_lib.data.mosei.mmsa_pickle import UntrustedPickleError
from affect_lib.io import sha256_file
from affect_lib.schema import DataFormatError


class _Boom:
    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_mmsa_never_opens_an_unverified_pickle(tmp_path):
    boom = _Boom()
    boom.target = str(tmp_path / "pwned")
    path = tmp_path / "aligned_50.pkl"
    path.write_bytes(pickle.dumps(boom))
    with pytest.raises(UntrustedPickleError, match="trust_pickle=True"):
        load_mmsa(path)
    with pytest.raises(UntrustedPickleError, match="no known SHA-256"):
        load_mmsa(path, trust_pickle=True)
    with pytest.raises(UntrustedPickleError, match="SHA-256 mismatch"):
        load_mmsa(path, trust_pickle=True, sha256="0" * 64)
    with pytest.raises(
        DataFormatError, match="refusing global"
    ):  # right checksum, still no code runs
        load_mmsa(path, trust_pickle=True, sha256=sha256_file(path))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("aligned", "protocol"), [(True, 4), (False, 4), (True, 5)])
def test_mmsa_loads_left_padded_sentiment_only(tmp_path, aligned, protocol):
    payload = mmsa_payload(aligned=aligned)
    path = write_mmsa_pickle(tmp_path / "p.pkl", payload, protocol=protocol)
    r = load_mmsa(path, trust_pickle=True, sha256=sha256_file(path))
    assert r.aligned is aligned and set(r.corpora) == {"train", "val", "test"}
    src, c = payload["valid"], r.corpora["val"]
    lengths = src["text_bert"][:, 1].sum(axis=1).astype(int)
    np.testing.assert_array_equal(c.mask.sum(axis=1), lengths)
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(c.text[i, -n:], src["text"][i, :n])
        assert np.all(c.text[i, :-n] == 0)
    np.testing.assert_allclose(r.sentiment["val"], src["regression_labels"])
    assert (c.label == 0).all() and (c.emotions == 0).all() and (c.driver == -1).all()
    assert np.isfinite(r.corpora["train"].audio).all()  # the -inf became 0
    L0 = int(payload["train"]["text_bert"][0, 1].sum())
    if aligned:  # source step 0 (which held the -inf) is output step T - L0
        assert r.corpora["train"].audio[0, c.seq_len - L0, 0] == 0
        np.testing.assert_allclose(
            r.corpora["train"].audio[0, -L0:, 1], payload["train"]["audio"][0, :L0, 1]
        )
    else:  # 3 audio frames per text step: pooled means
        L = int(payload["train"]["text_bert"][1, 1].sum())
        np.testing.assert_allclose(
            r.corpora["train"].audio[1, -L:],
            payload["train"]["audio"][1, : 3 * L].reshape(L, 3, 3).mean(axis=1),
            rtol=1e-5,
        )
    with pytest.raises(ValueError, match="sentiment only"):
        load_mmsa(path, trust_pickle=True, sha256=sha256_file(path), labels="emotion")


def test_mmsa_bad_labels_are_named(tmp_path):
    payload = mmsa_payload()
    payload["test"]["regression_labels"][2] = 4.0
    path = write_mmsa_pickle(tmp_path / "p.pkl", payload)
    with pytest.raises(
        DataFormatError, match=r"p\.pkl: \['test'\]\['regression_labels'\]: row 2"
    ):
        load_mmsa(path, trust_pickle=True, sha256=sha256_file(path))


def _mmsa(tmp_path, payload, **kwargs):
    path = write_mmsa_pickle(tmp_path / "p.pkl", payload)
    return load_mmsa(path, trust_pickle=True, sha256=sha256_file(path), **kwargs)


def test_mmsa_split_that_is_not_a_dict(tmp_path):
    payload = mmsa_payload()
    payload["valid"] = [1, 2, 3]
    with pytest.raises(
        DataFormatError,
        match=r"p\.pkl: \['valid'\]: expected a dict of arrays, found list",
    ):
        _mmsa(tmp_path, payload)


@pytest.mark.parametrize("seq_len", [-1, 2.5, True, "6"])
def test_mmsa_seq_len_must_be_an_integer(tmp_path, seq_len):
    with pytest.raises(
        ValueError,
        match=rf"seq_len={seq_len!r}: expected an integer >= 1, or None \(or 0\)",
    ):
        _mmsa(tmp_path, mmsa_payload(), seq_len=seq_len)


def test_mmsa_seq_len_zero_or_none_is_the_files(tmp_path):
    payload = mmsa_payload()
    a, b = _mmsa(tmp_path, payload, seq_len=0), _mmsa(tmp_path, payload)
    assert (
        a.corpora["train"].seq_len == 6
        and a.corpora["train"].fingerprint() == b.corpora["train"].fingerprint()
    )


def test_mmsa_text_bert_longer_than_text(tmp_path):
    payload = mmsa_payload()
    tb = payload["train"]["text_bert"]
    payload["train"]["text_bert"] = np.concatenate(
        [np.ones((4, 3, 6), tb.dtype), tb[:, :, :2]], axis=2
    )
    with pytest.raises(
        DataFormatError,
        match=r"p\.pkl: \['train'\]\['text_bert'\]: row 0 \(trainvid0\$_\$0\) has 8 "
        r"valid steps but 'text' has 6",
    ):
        _mmsa(tmp_path, payload)


@pytest.mark.parametrize("key", ["audio_lengths", "vision_lengths"])
def test_mmsa_negative_lengths_are_named(tmp_path, key):
    payload = mmsa_payload(aligned=False)
    payload["test"][key] = payload["test"][key].copy()
    payload["test"][key][1] = -3
    with pytest.raises(
        DataFormatError,
        match=rf"p\.pkl: \['test'\]\['{key}'\]: row 1 is -3, expected a frame count",
    ):
        _mmsa(tmp_path, payload)
