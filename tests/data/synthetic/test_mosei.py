import numpy as np
import pytest

from affect_lib.config import load_profile
from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.data.synthetic.mosei import SPLITS, generate_synth_mosei
from affect_lib.schema import EMOTIONS, MODALITIES


def test_label_order_is_cmu_mosei():
    # A public Affect-Diff implementation swaps fear and surprise: pin the order.
    assert EMOTIONS == ("happy", "sad", "anger", "surprise", "disgust", "fear")
    assert MODALITIES == ("text", "audio", "video")


def test_shapes_dtypes_and_sizes(smoke_cfg, smoke_corpora):
    d = smoke_cfg.data
    assert list(smoke_corpora) == list(SPLITS)
    for split, n in zip(SPLITS, (d.n_train, d.n_val, d.n_test), strict=True):
        c = smoke_corpora[split]
        assert len(c) == n
        assert c.text.shape == (n, d.seq_len, d.text_dim) and c.text.dtype == np.float32
        assert c.audio.shape == (n, d.seq_len, d.audio_dim)
        assert c.video.shape == (n, d.seq_len, d.video_dim)
        assert (
            c.mask.dtype == bool
            and c.label.dtype == np.int64
            and c.driver.dtype == np.int64
        )
        assert len(set(c.ids)) == n


def test_left_padding_and_zero_padding_rows(smoke_cfg, smoke_corpora):
    c = smoke_corpora["train"]
    lengths = c.mask.sum(axis=1)
    assert (
        lengths.min() >= smoke_cfg.data.min_len
        and lengths.max() <= smoke_cfg.data.seq_len
    )
    # valid steps are the last `length` ones, like the CMU-MultimodalSDK's left padding
    t = np.arange(c.seq_len)
    assert np.array_equal(c.mask, t[None, :] >= (c.seq_len - lengths)[:, None])
    for m in MODALITIES:
        x = getattr(c, m)
        assert np.all(x[~c.mask] == 0)
        assert np.all(np.isfinite(x))
        assert np.all(np.abs(x[c.mask]).sum(axis=-1) > 0)


def test_labels_and_intensities(smoke_corpora):
    for c in smoke_corpora.values():
        e = c.emotions
        assert e.min() >= 0 and e.max() <= 3
        # multiples of 1/3
        np.testing.assert_allclose(e * 3, np.round(e * 3), atol=1e-5)
        assert np.array_equal(c.label, e.argmax(axis=1))
        dom = e[np.arange(len(c)), c.label]
        assert np.all(dom >= 1)
        others = np.where(np.eye(6, dtype=bool)[c.label], -1, e)
        # the dominant emotion is strictly the largest
        assert np.all(others.max(axis=1) < dom)


def test_windows_lie_in_valid_steps(smoke_corpora):
    for c in smoke_corpora.values():
        start, end = c.window.T
        assert np.all(end > start)
        assert np.all(c.mask[np.arange(len(c)), start]) and np.all(
            c.mask[np.arange(len(c)), end - 1]
        )
        # the driver never conflicts
        assert not np.any(c.conflict[np.arange(len(c)), c.driver])


def test_speaker_disjoint_splits(smoke_corpora):
    spk = {s: set(c.speaker.tolist()) for s, c in smoke_corpora.items()}
    assert (
        not spk["train"] & spk["val"]
        and not spk["train"] & spk["test"]
        and not spk["val"] & spk["test"]
    )


def test_deterministic_and_thread_independent(smoke_cfg, smoke_corpora):
    again = generate_synth_mosei(smoke_cfg.data, seed=0, workers=1)
    for split in SPLITS:
        assert again[split].fingerprint() == smoke_corpora[split].fingerprint()
    other = generate_synth_mosei(smoke_cfg.data, seed=1)
    assert other["train"].fingerprint() != smoke_corpora["train"].fingerprint()


def test_driver_mix_and_class_probs_are_followed():
    cfg = load_profile(
        "smoke",
        n_train=3000,
        driver_mix=[0.6, 0.3, 0.1],
        class_probs=[0.5, 0.1, 0.1, 0.1, 0.1, 0.1],
    ).data
    train = generate_synth_mosei(cfg, seed=0)["train"]
    np.testing.assert_allclose(
        np.bincount(train.driver, minlength=3) / len(train), [0.6, 0.3, 0.1], atol=0.03
    )
    assert abs(np.mean(train.label == 0) - 0.5) < 0.03


def test_driver_carries_the_evidence():
    """Inside the window, the driver's features project onto the true class prototype
    direction far more than any other modality's do: the planted causal structure is
    really there."""
    cfg = load_profile(
        "smoke", noise_std=0.0, latent_noise=0.0, speaker_std=0.0, conflict_prob=0.0
    ).data
    c = generate_synth_mosei(cfg, seed=0)["train"]
    energy = np.zeros((len(c), 3))
    for m_idx, m in enumerate(MODALITIES):
        x = getattr(c, m) / cfg.modality_scale[m_idx]
        for i in range(len(c)):
            s, e = c.window[i]
            energy[i, m_idx] = np.linalg.norm(x[i, s:e], axis=-1).mean()
    assert np.mean(energy.argmax(axis=1) == c.driver) == 1.0


def test_corpus_validates_shapes(smoke_corpora):
    c = smoke_corpora["val"]
    with pytest.raises(ValueError, match="audio has shape"):
        MultimodalCorpus(**{**_fields(c), "audio": c.audio[:, :-1]})
    with pytest.raises(ValueError, match="label out of range"):
        MultimodalCorpus(**{**_fields(c), "label": c.label + 6})
    sub = c.subset(np.array([2, 0]))
    assert sub.ids == (c.ids[2], c.ids[0]) and np.array_equal(sub.text[1], c.text[0])


def _fields(c):
    from dataclasses import fields

    return {f.name: getattr(c, f.name) for f in fields(c)}


def _with(c, name, fn):
    """The corpus fields with ``name`` replaced by ``fn(copy of it)``."""
    value = getattr(c, name).copy()
    return {**_fields(c), name: fn(value)}


def _poke(index, value):
    def fn(arr):
        arr[index] = value
        return arr

    return fn


@pytest.mark.parametrize(
    ("name", "fn", "match"),
    [
        (
            "audio",
            _poke((3, 2, 1), np.nan),
            r"corpus: audio\[3, 2, 1\] is nan, expected finite",
        ),
        (
            "text",
            _poke((0, 0, 0), np.inf),
            r"corpus: text\[0, 0, 0\] is inf, expected finite",
        ),
        (
            "label",
            lambda a: a.astype(np.float32),
            r"corpus: label has dtype float32, expected int64",
        ),
        (
            "driver",
            _poke(4, 3),
            r"corpus: driver\[4\] is 3, expected 0=text 1=audio 2=video or -1",
        ),
        ("driver", _poke(1, -2), r"corpus: driver\[1\] is -2"),
        (
            "emotions",
            _poke((2, 5), np.nan),
            r"corpus: emotions\[2, 5\] is nan, expected finite",
        ),
        (
            "emotions",
            _poke((2, 3), 3.5),
            r"corpus: emotions\[2, 3\] \(surprise\) is 3\.5, expected .* \[0, 3\]",
        ),
        (
            "emotions",
            _poke((0, 0), -0.1),
            r"corpus: emotions\[0, 0\] \(happy\) is -0\.1",
        ),
        (
            "mask",
            lambda a: a.astype(np.int64),
            r"corpus: mask has shape \(\d+, \d+\) dtype int64, expected an \(N, T\) "
            r"bool",
        ),
        (
            "mask",
            lambda a: a[:, :, None],
            r"corpus: mask has shape \(\d+, \d+, 1\) .* expected an \(N, T\) bool",
        ),
    ],
)
def test_corpus_rejects_bad_values_with_their_index(smoke_corpora, name, fn, match):
    with pytest.raises(ValueError, match=match):
        MultimodalCorpus(**_with(smoke_corpora["val"], name, fn))


def test_corpus_accepts_the_documented_ranges(smoke_corpora):
    c = smoke_corpora["val"]
    edge = _with(
        c, "emotions", _poke((0, slice(None)), np.array([0, 3, 0, 0, 0, 0], np.float32))
    )
    edge["driver"] = np.full(len(c), -1, np.int64)  # real data: driver unknown
    assert MultimodalCorpus(**edge).fingerprint() != c.fingerprint()
